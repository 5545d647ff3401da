"""Reductions over axes, like ``popops::reduce``: ``out, prog = reduce_sum(g, x, axis=1)``.

Two stages, as on the IPU:

1. **per tile**: every tile reduces the elements it holds, output by output,
   into partial results (one per output and tile; a tile's work is cut into up
   to six vertices, which may cut an output's elements into more partials);
2. **across tiles**: each output's partials are gathered by the exchange to the
   output's tile and reduced there.

When every output's elements live on one tile and each tile holds at least six
outputs (a row-major matrix reduced along its rows, mapped row by row), stage 1
produces the outputs directly and stage 2 is skipped: each output then lives
where its elements did.  Otherwise stage 2 runs and the outputs are spread
evenly over the tiles.  Sums run in a fixed order, in the input's dtype; a mean
is a sum times 1 / count.
"""
from __future__ import annotations

import numpy as np

from ..core.programs import Execute, Sequence
from ..core.tensor import Tensor
from . import codelets as K
from .layout import Picker, element_tiles, map_runs, map_segments, store_with_order

OPS = ("sum", "mean", "max")


def reduce(g, x: Tensor, axis=None, op: str = "sum", name: str | None = None):
    """Reduce ``x`` over ``axis`` (an int, a tuple of ints, or None for all) with ``op``:
    "sum", "mean" or "max".  Returns ``(out, program)``; ``out`` has ``x``'s shape
    without the reduced axes, as NumPy's (``()`` when every axis is reduced)."""
    name = name or f"reduce_{op}"
    if op not in OPS:
        raise ValueError(f"{name}: op must be one of {', '.join(OPS)}, got {op!r}")
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    if op == "mean" and x.dtype.kind != "f":
        raise TypeError(f"{name}: the mean of {x.dtype} '{x.name}' would not be an integer; use a float tensor")
    axes = _axes(axis, x, name)
    keep = [a for a in range(x.ndim) if a not in axes]
    out_shape = tuple(x.shape[a] for a in keep)
    groups = int(np.prod(out_shape, dtype=np.int64))
    length = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if length == 0:
        raise ValueError(f"{name}: reducing '{x.name}' {x.shape} over axes {axes} reduces nothing (length 0)")
    x2 = x.transpose(keep + axes).reshape(groups, length)
    tiles = element_tiles(g, x2, name, map_if_unmapped=True)
    ids = x2.ids.reshape(-1)
    which = np.arange(ids.size) // length                   # the output each element belongs to
    order = np.lexsort((ids, which, tiles))
    codelet = K.reduce_segments_max if op == "max" else K.reduce_segments_sum
    final = {} if op == "max" else {"scale": 1.0 / length if op == "mean" else 1.0}
    workers = g.spec.workers_per_tile

    # stage 1: per tile, chunks of its elements; a partial per output per chunk
    chunks = _chunks(tiles[order], which[order], workers)
    part_out = _segment_owner(which[order], chunks)           # output of each partial, in partial order
    counts = np.bincount(part_out, minlength=groups)
    single = bool((counts == 1).all())
    per_chunk = [len(s) - 1 for _, s, _ in _segment_starts(which[order], chunks)]
    part_tile = np.repeat([t for t, _, _ in chunks], per_chunk)
    xflat = x2.flatten()
    if single:
        out, store = store_with_order(g, out_shape, x.dtype, name, part_out, part_tile)
        first = _add_stage(g, codelet, f"{name}", xflat, order, chunks, which[order], store, final)
        return out, first
    partials = g.add_variable(part_out.size, x.dtype, name=f"{name}/partials")
    map_runs(g, partials, part_tile)
    first = _add_stage(g, codelet, f"{name}/per tile", xflat, order, chunks, which[order], partials,
                       {} if op == "max" else {"scale": 1.0})
    # stage 2: the partials of each output, gathered to the output's tile
    per_tile = -(-groups // g.num_tiles)
    home = np.arange(groups) // per_tile
    order2 = np.lexsort((np.arange(part_out.size), part_out, home[part_out]))
    chunks2 = _chunks(home[part_out][order2], part_out[order2], workers, cut_segments=False)
    out_order = np.unique(part_out[order2], return_index=True)
    outs_in_order = part_out[order2][np.sort(out_order[1])]
    out, store = store_with_order(g, out_shape, x.dtype, name, outs_in_order, home[outs_in_order])
    second = _add_stage(g, codelet, f"{name}/across tiles", partials, order2, chunks2, part_out[order2], store,
                        final)
    return out, Sequence(first, second)


def reduce_sum(g, x: Tensor, axis=None, name: str = "reduce_sum"):
    """Sum over ``axis`` (see :func:`reduce`)."""
    return reduce(g, x, axis, "sum", name)


def reduce_mean(g, x: Tensor, axis=None, name: str = "reduce_mean"):
    """Mean over ``axis`` (see :func:`reduce`)."""
    return reduce(g, x, axis, "mean", name)


def reduce_max(g, x: Tensor, axis=None, name: str = "reduce_max"):
    """Maximum over ``axis`` (see :func:`reduce`); a NaN wins, as in NumPy."""
    return reduce(g, x, axis, "max", name)


def _axes(axis, x, name) -> list:
    if axis is None:
        return list(range(x.ndim))
    raw = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    axes = []
    for a in raw:
        if not isinstance(a, (int, np.integer)) or not -x.ndim <= a < x.ndim:
            raise ValueError(f"{name}: axis {a!r} is out of range for '{x.name}' of shape {x.shape}")
        a = int(a) % x.ndim
        if a in axes:
            raise ValueError(f"{name}: axis {a} is given twice")
        axes.append(a)
    return sorted(axes)


def _chunks(tiles_sorted, owner_sorted, workers, cut_segments=True):
    """Cut each tile's run of elements into up to ``workers`` chunks: ``[(tile, lo, hi)]``.

    With many outputs on the tile, chunks end where an output's elements end
    (balanced by element count); with fewer than ``workers`` outputs, the
    elements are cut evenly and an output may be split between chunks.
    """
    present, first = np.unique(tiles_sorted, return_index=True)
    last = np.append(first[1:], tiles_sorted.size)
    out = []
    for tile, lo, hi in zip(present.tolist(), first.tolist(), last.tolist()):
        own = owner_sorted[lo:hi]
        seg = np.flatnonzero(np.diff(own, prepend=own[0] - 1))           # segment starts, relative
        parts = min(workers, hi - lo)
        if cut_segments is False or seg.size >= workers:
            targets = np.linspace(0, hi - lo, min(workers, seg.size) + 1)[1:-1]
            cuts = seg[np.clip(np.searchsorted(seg, targets), 0, seg.size - 1)]
        else:
            cuts = (np.arange(1, parts) * (hi - lo)) // parts
        bounds = np.unique(np.concatenate(([0], cuts, [hi - lo])))
        out += [(tile, lo + int(a), lo + int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    return out


def _segment_starts(owner_sorted, chunks):
    """Per chunk: (tile, starts relative to the chunk incl. its end, owners of its segments)."""
    for tile, lo, hi in chunks:
        own = owner_sorted[lo:hi]
        seg = np.flatnonzero(np.diff(own, prepend=own[0] - 1))
        yield tile, np.append(seg, hi - lo), own[seg]


def _segment_owner(owner_sorted, chunks) -> np.ndarray:
    return np.concatenate([o for _, _, o in _segment_starts(owner_sorted, chunks)])


def _add_stage(g, codelet, name, source: Tensor, order, chunks, owner_sorted, out_store: Tensor, scalars):
    """One compute set: a vertex per chunk reducing its segments into consecutive outputs."""
    segs = list(_segment_starts(owner_sorted, chunks))
    starts = np.concatenate([s for _, s, _ in segs]).astype(np.int32)
    const = g.add_constant(starts, name=f"{name}/starts")
    sizes = np.array([s.size for _, s, _ in segs], np.int64)
    offs = np.cumsum(sizes) - sizes
    map_segments(g, const, offs, sizes, [t for t, _, _ in segs])
    cs = g.add_compute_set(name)
    pick = Picker(source)
    done = 0
    for (tile, lo, hi), (_, st, _), off in zip(chunks, segs, offs.tolist()):
        pos = order[lo:hi]
        a = pick(pos)
        s = st.size - 1
        g.add_vertex(cs, codelet, tile=tile, a=a, starts=const[off:off + st.size],
                     out=out_store[done:done + s], **scalars)
        done += s
    return Execute(cs)
