"""Where an op's data and work go: elements grouped by tile, layouts cloned, blocks resident.

Every op here follows the same rule as PopLibs: the work on an element is done by
the tile that holds it, so a tensor's tile mapping decides where an op computes,
and outputs are laid out like the inputs they come from.  The helpers below work
on whole arrays of element ids (never one element at a time in Python), so an
op over a million elements builds in under a second.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import MappingError
from ..core.intervals import id_runs
from ..core.programs import Copy
from ..core.intervals import split_bounds
from ..core.tensor import Tensor, concat


def grain_bounds(size: int, parts: int, grain: int) -> np.ndarray:
    """At most ``parts`` near-equal chunks of ``size`` whose sizes are multiples of ``grain``
    (except the last): chunks that start on a 64-bit boundary keep vector loads aligned."""
    grains = -(-int(size) // grain)
    b = split_bounds(grains, min(parts, max(grains, 1))) * grain
    b[-1] = size
    return np.unique(np.minimum(b, size))


def element_tiles(g, t: Tensor, op: str, map_if_unmapped: bool = False, grain: int = 1) -> np.ndarray:
    """Tiles of ``t``'s elements, flattened; an unmapped tensor is mapped linearly if asked."""
    tiles = g.element_tiles(t).reshape(-1).astype(np.int64)
    if tiles.size and (tiles < 0).any():
        if map_if_unmapped and (tiles < 0).all():
            g.map_linearly(t, grain_size=grain)
            return g.element_tiles(t).reshape(-1).astype(np.int64)
        missing = int((tiles < 0).sum())
        raise MappingError(f"{op}: {missing:,} of {tiles.size:,} elements of '{t.name}' are not mapped to a "
                           "tile; map the tensor first (graph.map_linearly or graph.set_tile_mapping)")
    return tiles


def tile_order(ids: np.ndarray, tiles: np.ndarray):
    """Positions sorted by (tile, id), and for each tile its ``[lo, hi)`` range in that order.

    Within one tile, elements of one variable sit in id order, so this order is the
    order of memory: a run of it is contiguous SRAM.
    """
    order = np.lexsort((ids, tiles))
    present, first = np.unique(tiles[order], return_index=True)
    last = np.append(first[1:], order.size)
    return order, list(zip(present.tolist(), first.tolist(), last.tolist()))


def store_with_order(g, shape, dtype, name: str, order: np.ndarray, tile_of_store: np.ndarray):
    """A new tensor of ``shape`` whose flat position ``order[s]`` is the ``s``-th element of its store.

    The store (a 1-D variable) is mapped so that store element ``s`` lives on
    ``tile_of_store[s]``.  Returns ``(tensor, store)``: ops write through the store
    (contiguous, fast to compile) and hand the tensor to the user.
    """
    n = int(np.prod(shape, dtype=np.int64))
    store = g.add_variable(n, dtype, name=name)
    map_runs(g, store, tile_of_store)
    ids = np.empty(n, np.int64)
    ids[order] = store.ids
    view = Tensor(g, ids.reshape(shape), store.dtype, name)
    return view, store


def map_runs(g, flat: Tensor, tile_of: np.ndarray) -> None:
    """Map a 1-D tensor element by element, one interval per run of equal tiles."""
    tile_of = np.asarray(tile_of, np.int64)
    if tile_of.size == 0:
        return
    starts = np.flatnonzero(np.diff(tile_of, prepend=-1))
    ends = np.append(starts[1:], tile_of.size)
    mapping = [[] for _ in range(g.num_tiles)]
    for s, e in zip(starts.tolist(), ends.tolist()):
        mapping[tile_of[s]].append((s, e))
    g.set_tile_mapping(flat, mapping)


def map_segments(g, flat: Tensor, starts, sizes, tiles) -> None:
    """Map ``flat[starts[x]:starts[x] + sizes[x]]`` to ``tiles[x]`` for every x, in one call."""
    mapping = [[] for _ in range(g.num_tiles)]
    for s, n, t in zip(np.asarray(starts).tolist(), np.asarray(sizes).tolist(), np.asarray(tiles).tolist()):
        if n:
            mapping[t].append((s, s + n))
    g.set_tile_mapping(flat, mapping)


def clone(g, t: Tensor, name: str, dtype=None) -> Tensor:
    """A new tensor mapped like ``t``: same tile for every element, same order on each tile
    (Poplar's ``graph.clone``).  ``t`` must be fully mapped."""
    ids = t.ids.reshape(-1)
    tiles = element_tiles(g, t, f"clone('{t.name}')")
    order, _ = tile_order(ids, tiles)
    view, _ = store_with_order(g, t.shape, dtype or t.dtype, name, order, tiles[order])
    return view


def is_resident(g, t: Tensor, tile: int) -> bool:
    """True if ``t``'s elements all live on ``tile`` one after the other in its memory.

    Then a vertex on ``tile`` reads the field in place; otherwise the elements are
    copied (over the exchange if they live elsewhere).  Elements of one variable on
    one tile sit in id order, so the test is: increasing ids of one variable, all on
    ``tile``, and no other element of that variable on ``tile`` between them.
    """
    if t.size == 0:
        return True
    starts, lengths = id_runs(t)
    ends = starts + lengths
    if g.tile_map.lookup(starts[0]) != tile or (starts[1:] < ends[:-1]).any():
        return False
    lo, hi = int(starts[0]), int(ends[-1])
    if g.variable_of(lo) != g.variable_of(hi - 1) or (g.tile_runs(t)[2] != tile).any():
        return False
    s, e, tiles = g.tile_map.runs(lo, hi)
    return int((e - s)[tiles == tile].sum()) == t.size


class Picker:
    """Sub-views of a 1-D tensor by positions, made cheaply: a slice when the
    positions are a run (a strided view: fast to compile), else an index into the
    tensor's ids, listed once rather than for every sub-view."""

    def __init__(self, flat: Tensor):
        self.flat = flat
        self._ids = None

    def __call__(self, pos: np.ndarray) -> Tensor:
        if pos.size and pos[-1] - pos[0] + 1 == pos.size and (pos.size == 1 or (np.diff(pos) == 1).all()):
            return self.flat[int(pos[0]):int(pos[-1]) + 1]
        if self._ids is None:
            self._ids = self.flat.ids.reshape(-1)
        return Tensor(self.flat.graph, self._ids[pos], self.flat.dtype, f"{self.flat.name}[<{pos.size} picked>]")


def broadcast_view(t: Tensor, shape) -> Tensor:
    """``t`` repeated to ``shape`` by NumPy's broadcasting rules: a view, no data."""
    try:
        ids = np.broadcast_to(t.ids, shape)
    except ValueError:
        raise ValueError(f"tensor '{t.name}' of shape {t.shape} cannot be broadcast to {tuple(shape)}") from None
    return Tensor(t.graph, ids, t.dtype, t.name if ids.shape == t.shape else f"{t.name} (broadcast)")


def replicate(g, tensors: dict, tiles, name: str):
    """A copy of each small tensor on each of ``tiles``, for vertices that all read it (gamma, a bias).

    ``tensors`` maps labels to tensors.  Returns ``({label: {tile: view}}, program or
    None)``.  The copies are one exchange in which the owner of each element sends
    it once and every tile receives it: cheaper than letting each vertex gather its
    own copy.  Tiles where a tensor already lives, contiguous, use it in place.
    """
    tiles = [int(x) for x in tiles]
    views, src, dst = {}, [], []
    for label, t in tensors.items():
        views[label] = {x: t for x in tiles if is_resident(g, t, x)}
        need = [x for x in tiles if x not in views[label]]
        if not need:
            continue
        reps = g.add_variable((len(need), t.size), t.dtype, name=f"{name}/{label} per tile")
        for row, x in enumerate(need):
            g.set_tile_mapping(reps[row], x)
            views[label][x] = reps[row].reshape(t.shape)
        src += [t.flatten()] * len(need)
        dst.append(reps.flatten())
    if not src:
        return views, None
    return views, Copy(concat(src), concat(dst) if len(dst) > 1 else dst[0])


def row_homes(g, x2: Tensor, op: str) -> np.ndarray:
    """For each row of a 2-D tensor, the tile holding most of its elements (ties: the lowest).

    Row-wise ops (softmax, layer norm) compute a whole row on one tile: its home.
    """
    rows, width = x2.shape
    tiles = element_tiles(g, x2, op).reshape(rows, width)
    if width == 0 or rows == 0:
        return np.zeros(rows, np.int64)
    key = np.repeat(np.arange(rows, dtype=np.int64), width) * g.num_tiles + tiles.reshape(-1)
    uniq, counts = np.unique(key, return_counts=True)
    row, tile = uniq // g.num_tiles, uniq % g.num_tiles
    order = np.lexsort((tile, -counts, row))
    first = np.unique(row[order], return_index=True)[1]
    return tile[order][first]
