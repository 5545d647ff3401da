"""Collectives over tiles: broadcast, reduce, all-reduce and all-to-all, built from supersteps.

Every function here only *builds*: it adds variables, compute sets and vertices to
the graph and returns ``(result, program)``; nothing moves until an ``Engine``
runs the program.  The data movement is the IPU's own: a ``Copy`` between tiles
is one exchange, and an ``Execute`` whose vertices read data from another tile
first gathers it over the exchange, then sums it in its compute phase.

Parts.  A reduction combines P *parts* of equal shape: a tensor whose first axis
indexes them (``add_parts`` makes one, row i on tile i) or a list of tensors.
A part may live on one tile or be spread over many (a gradient spread over an
IPU's tiles is one part); results are mapped exactly like the parts.

Costs, for P parts of N elements of ``b`` bytes each, one part per tile:

=====================  ==================  ==================================================
collective             supersteps          exchange per superstep
=====================  ==================  ==================================================
broadcast to T tiles   1                   sender sends N*b once; each receiver gets N*b
reduce, gather         1                   the root receives (P-1)*N*b
reduce, tree           ceil(log2 P)        each receiving tile gets N*b; half as many each time
all_reduce, direct     2                   reduce-scatter then all-gather: each tile sends and
                                           receives (P-1)*N/P elements per step
all_reduce, gather     1                   each tile sends N*b once, receives (P-1)*N*b
all_reduce, tree       ceil(log2 P) + 1    tree reduce, then one broadcast of the sum
all_reduce, ring       2(P-1)              each tile sends and receives N/P elements
reduce_scatter         1                   each tile sends and receives (P-1)*N/P elements
reduce_scatter, ring   P-1                 each tile sends and receives N/P elements
all_gather             1                   each tile sends its piece once, receives the P-1 others
all_gather, ring       P-1                 each tile passes one piece to the next part
all_to_all             1                   each tile sends and receives (P-1) blocks
=====================  ==================  ==================================================

On one chip every tile reaches every other in one exchange, so the direct
all-reduce (about 2(P-1)N/P elements per tile, 2 supersteps) is the default there:
it moves as little per tile as the ring and syncs twice instead of 2(P-1) times.
The ring is for links whose bandwidth is per neighbour: IPU-Links between chips
(:mod:`ipukit.lib.parallel` uses it across replicas).
"""
from __future__ import annotations

import math

import numpy as np

from ..core import cost
from .codelets import add, builtin, reduce_rows
from ..core.errors import MappingError
from ..core.programs import Copy, Execute, Sequence
from ..core.tensor import Tensor, concat

REDUCE_METHODS = ("gather", "tree")
ALL_REDUCE_METHODS = ("direct", "ring", "tree", "gather")
REDUCE_SCATTER_METHODS = ("direct", "ring")
ALL_GATHER_METHODS = ("direct", "ring")


@builtin(inputs={"a": "T[n]"}, inouts={"acc": "T[n]"},
          cycles=lambda acc, spec, dtype: cost.elementwise_cycles(acc, spec, dtype))
def accumulate(a, acc):
    """acc += a: adds a partial sum that arrived over the exchange to a running sum."""
    for i in range(acc.size):
        acc[i] += a[i]


# --- parts ---------------------------------------------------------------------------
def add_parts(g, count: int, shape, dtype="float32", tiles=None, name: str = "parts") -> Tensor:
    """A ``(count, *shape)`` variable whose row i lives on ``tiles[i]`` (default: tile i).

    The usual input of the collectives: one part per tile, e.g. a partial sum
    each tile computed.  Pass ``tiles=[0, 16, 32]`` to put one part on the first
    tile of each IPU of a 16-tile, 3-IPU target.
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"add_parts('{name}'): count must be a positive int, got {count!r}")
    if tiles is None:
        if count > g.num_tiles:
            raise MappingError(
                f"add_parts('{name}'): {count} parts need {count} tiles (one each), but this "
                f"{g.spec.name} target has {g.num_tiles}; use at most {g.num_tiles} parts or a bigger "
                f"target, e.g. spec.replace(tiles={count})")
        tiles = range(count)
    tiles = list(tiles)
    if len(tiles) != count:
        raise ValueError(f"add_parts('{name}'): {count} parts but {len(tiles)} tiles given; give one tile "
                         "per part")
    if len(set(tiles)) != len(tiles):
        twice = next(t for t in tiles if tiles.count(t) > 1)
        raise MappingError(f"add_parts('{name}'): tile {twice} is listed twice; give each part its own tile")
    t = g.add_variable((count, *shape), dtype, name=name)
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(t[i], tile)
    return t


def as_parts(g, parts, what: str) -> list:
    """``parts`` as a list of P tensors of one shape and dtype, mapped and disjoint."""
    if isinstance(parts, Tensor):
        if parts.ndim < 2:
            raise ValueError(
                f"{what}: '{parts.name}' has shape {parts.shape}; give a tensor whose first axis indexes "
                "the parts, shape (P, N), or a list of P tensors")
        items = [parts[i] for i in range(parts.shape[0])]
    else:
        try:
            items = list(parts)
        except TypeError:
            raise TypeError(f"{what}: parts must be a tensor of shape (P, N) or a list of tensors, got "
                            f"{type(parts).__name__}") from None
    if not items:
        raise ValueError(f"{what}: no parts given; pass at least one tensor")
    first = items[0]
    for i, p in enumerate(items):
        if not isinstance(p, Tensor):
            raise TypeError(f"{what}: part {i} is a {type(p).__name__}, not a tensor")
        if p.graph is not g:
            raise ValueError(f"{what}: part {i} ('{p.name}') belongs to another graph")
        if p.shape != first.shape or p.dtype != first.dtype:
            raise ValueError(f"{what}: all parts must have one shape and dtype; part 0 ('{first.name}') is "
                             f"{first.shape} {first.dtype}, part {i} ('{p.name}') is {p.shape} {p.dtype}")
        if p.size == 0:
            raise ValueError(f"{what}: the parts are empty (shape {p.shape}); there is nothing to move")
        tiles = g.element_tiles(p)
        if (tiles < 0).any():
            raise MappingError(f"{what}: part {i} ('{p.name}') is not fully mapped to tiles; map it first "
                               "with g.set_tile_mapping(part, tile) or g.map_linearly(part)")
    ids = np.concatenate([p.ids.reshape(-1) for p in items])
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{what}: the parts share elements (is one listed twice?); each part must be its "
                         "own tensor")
    return items


def variable_like(g, t: Tensor, name: str) -> Tensor:
    """A new variable with the shape, dtype and tile mapping of ``t``."""
    new = g.add_variable(t.shape, t.dtype, name=name)
    g.set_tile_mapping(new, g.tile_mapping(t))
    return new


# --- vertices ------------------------------------------------------------------------
def tile_runs(g, t: Tensor, lo: int = 0, hi: int | None = None) -> list:
    """``(start, end, tile)`` for each run of ``t`` flattened that sits on one tile."""
    return _runs(g.element_tiles(t).reshape(-1), lo, hi)


def _runs(tiles: np.ndarray, lo: int = 0, hi: int | None = None) -> list:
    part = tiles[lo:hi]
    if part.size == 0:
        return []
    starts = np.flatnonzero(np.diff(part, prepend=part[0] - 1))
    ends = np.append(starts[1:], part.size)
    return [(lo + int(s), lo + int(e), int(part[s])) for s, e in zip(starts, ends)]


def worker_pieces(start: int, end: int, spec, dtype) -> list:
    """Split ``[start, end)`` into up to one piece per worker, whole 64-bit vectors each.

    A tile runs its six workers round-robin, so six vertices of n/6 elements finish
    about six times sooner than one of n.
    """
    n = end - start
    vec = cost.vector_elements(spec, dtype)
    vectors = -(-n // vec)
    pieces = max(1, min(spec.workers_per_tile, vectors))
    step = -(-vectors // pieces) * vec            # elements per piece, whole vectors
    return [(s, min(s + step, end)) for s in range(start, end, step)]


def add_elementwise(g, cs, codelet, along: Tensor, ranges=None, **fields) -> int:
    """Add vertices of ``codelet`` to ``cs`` that work element by element along ``along``.

    Each tensor field is read at the same flat positions as ``along``; a field given
    as a *list* of tensors is stacked into ``(len(list), n)`` (for ``reduce_rows``).
    The vertices sit where ``along``'s elements live, one per worker on each tile, so
    what they write stays in place and their inputs come over the exchange.
    ``ranges`` limits the work to some flat ``(start, end)`` ranges.  Returns the
    number of vertices added.
    """
    flat = {}
    for k, v in fields.items():
        if isinstance(v, Tensor):
            flat[k] = v.flatten()
        elif isinstance(v, (list, tuple)):
            flat[k] = [t.flatten() for t in v]
    tiles = g.element_tiles(along).reshape(-1)
    ranges = [(0, along.size)] if ranges is None else ranges
    count = 0
    for lo, hi in ranges:
        for start, end, tile in _runs(tiles, lo, hi):
            for a, b in worker_pieces(start, end, g.spec, along.dtype):
                args = {}
                for k, v in fields.items():
                    if k not in flat:
                        args[k] = v
                    elif isinstance(flat[k], list):
                        args[k] = concat([t[a:b].reshape(1, b - a) for t in flat[k]])
                    else:
                        args[k] = flat[k][a:b]
                g.add_vertex(cs, codelet, tile=tile, **args)
                count += 1
    return count


def _copy_ranges(pairs, label: str, to: str) -> Copy:
    """One Copy (one exchange) moving several ``(src, dst, start, end)`` flat ranges.

    ``label`` and ``to`` name the two sides, so the profile shows ``Copy 'label' -> 'to'``.
    """
    src = concat([s.flatten()[a:b] for s, _, a, b in pairs])
    dst = concat([d.flatten()[a:b] for _, d, a, b in pairs])
    return Copy(_named(src, label), _named(dst, to))


def _named(t: Tensor, name: str) -> Tensor:
    """The same view under a readable name (profiles name Copy steps after their tensors)."""
    return Tensor(t.graph, t.ids, t.dtype, name)


# --- broadcast and all-to-all --------------------------------------------------------
def broadcast(g, src: Tensor, tiles, name: str = "broadcast"):
    """Copy ``src`` to every tile in ``tiles``: returns ``(copies, program)``.

    ``copies[i]`` (shape ``src.shape``) lives on ``tiles[i]``.  One superstep: the
    exchange is a broadcast, so the sender puts each byte on the exchange once and
    every receiver picks it up at the same time: the sender sends ``src.nbytes``, each
    receiver receives ``src.nbytes``, whatever the number of receivers.
    """
    if not isinstance(src, Tensor) or src.graph is not g:
        raise TypeError(f"{name}: src must be a tensor of this graph, got {src!r}")
    tiles = [g.check_tile(t, name) for t in tiles]
    if not tiles:
        raise ValueError(f"{name}: no tiles given; list the tiles that should receive '{src.name}'")
    if len(set(tiles)) != len(tiles):
        raise MappingError(f"{name}: a tile is listed twice in {tiles}; list each receiving tile once")
    if (g.element_tiles(src) < 0).any():
        raise MappingError(f"{name}: '{src.name}' is not fully mapped; map it to its tile first")
    out = g.add_variable((len(tiles), *src.shape), src.dtype, name=name)
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(out[i], tile)
    one = src.reshape((1, *src.shape))
    copies = _named(concat([one] * len(tiles)), f"{src.name} x {len(tiles)}")
    return out, Sequence(Copy(copies, out))


def all_to_all(g, blocks, name: str = "all_to_all"):
    """Each of P tiles sends a different block to every other tile: returns ``(result, program)``.

    ``blocks`` has shape ``(P, P, ...)`` (or is a list of P tensors of shape ``(P, ...)``):
    ``blocks[i, j]`` is what the owner of row i sends to the owner of row j.  Then
    ``result[j, i] == blocks[i, j]`` and ``result`` is mapped like ``blocks`` (row j
    stays on row j's tile): a transpose of the block matrix.  One superstep; each
    tile sends and receives P-1 blocks, its own block is an on-tile copy.
    """
    parts = as_parts(g, blocks, name)
    p = len(parts)
    if parts[0].ndim < 1 or parts[0].shape[0] != p:
        raise ValueError(f"{name}: {p} tiles each need one block for every tile, so each row must have "
                         f"{p} blocks (shape ({p}, {p}, ...)); row 0 ('{parts[0].name}') has shape "
                         f"{parts[0].shape}")
    stacked = concat([t.reshape((1, *t.shape)) for t in parts])
    out = variable_like(g, stacked, name)
    axes = (1, 0, *range(2, stacked.ndim))
    return out, Sequence(Copy(_named(stacked.transpose(axes), f"{name} blocks, transposed"), out))


# --- reduce ----------------------------------------------------------------------
def reduce(g, parts, method: str = "gather", root: int = 0, name: str = "reduce"):
    """Sum P parts onto the tile(s) of part ``root``: returns ``(total, program)``.

    ``total`` has the shape of a part and the mapping of ``parts[root]``.

    ``method="gather"``: one superstep.  The root's tile(s) gather every other part
    ((P-1)*N elements arrive at the root) and sum them all at once: one long
    exchange into one tile, then one busy tile.
    ``method="tree"``: ceil(log2 P) supersteps.  In step k, the part 2^k places away
    (counting from the root) is added into every 2^(k+1)-th part: each receiver
    gets N elements, and half as many tiles receive as in the step before.
    """
    items = as_parts(g, parts, name)
    _check_method(method, REDUCE_METHODS, name)
    p = len(items)
    if not isinstance(root, (int, np.integer)) or not 0 <= root < p:
        raise ValueError(f"{name}: root must be the index of a part, 0 to {p - 1}; got {root!r}")
    total = variable_like(g, items[root], f"{name}.total")
    if method == "gather":
        cs = g.add_compute_set(f"{name} (gather and sum)")
        add_elementwise(g, cs, reduce_rows, total, a=items, out=total)
        return total, Sequence(Execute(cs))
    if p == 1:
        return total, Sequence(Copy(items[0], total))
    accs = {root: total}
    steps = _tree_steps(g, items, accs, root, name)
    return total, Sequence(*steps)


def _tree_steps(g, items, accs, root, name) -> list:
    """Supersteps of a tree reduction onto ``root``; ``accs`` gives or receives accumulators."""
    p = len(items)
    rel = [(root + r) % p for r in range(p)]          # parts in order of distance from the root
    current = list(items)                             # where each part's running sum is
    steps = []
    for level in range(math.ceil(math.log2(p))):
        stride = 2 ** level
        cs = g.add_compute_set(f"{name} (tree step {level + 1}: add parts {stride} apart)")
        for r in range(0, p - stride, 2 * stride):
            i, j = rel[r], rel[r + stride]
            if i not in accs:
                accs[i] = variable_like(g, items[i], f"{name}.partial{i}")
            if current[i] is items[i]:
                add_elementwise(g, cs, add, accs[i], a=items[i], b=current[j], out=accs[i])
            else:
                add_elementwise(g, cs, accumulate, accs[i], a=current[j], acc=accs[i])
            current[i] = accs[i]
        steps.append(Execute(cs))
    return steps


# --- all-reduce ----------------------------------------------------------------------
def all_reduce(g, parts, method: str | None = None, name: str = "all_reduce"):
    """Every part's owner ends with the sum of all P parts: returns ``(totals, program)``.

    ``totals`` has shape ``(P, *part shape)``; ``totals[i]`` is mapped like part i.
    The parts themselves are left unchanged.

    ``method=None`` picks ``"direct"`` when the parts are on one IPU, ``"ring"`` when
    they span several (the ring's steps only cross to the next chip).
    ``method="direct"``: 2 supersteps, :func:`reduce_scatter` then :func:`all_gather`.
    Each part is cut into P chunks (within each tile's share); part j's tiles
    gather chunk j of every other part and sum it, then send the sum to every other
    part at once (a broadcast, sent once).  Each tile sends and receives about
    (P-1)N/P elements per step: on one chip, where any tile reaches any tile in one
    exchange, the fastest method at every size.
    ``method="ring"``: 2(P-1) supersteps.  The same chunks, passed round a ring.
    Reduce-scatter, P-1 supersteps: part i sends a running sum of one chunk to part
    i+1, which adds its own; afterwards part i holds the complete sum of chunk i+1.
    All-gather, P-1 supersteps: the complete chunks travel once more round the ring.
    Each tile sends and receives N/P elements per step, and each step talks only to
    the next part: what links between neighbouring chips need; on one chip it pays
    2(P-1) syncs for nothing.
    ``method="tree"``: ceil(log2 P) + 1 supersteps: a tree reduce onto part 0, then
    one broadcast of the total (sent once, received by every other part).
    ``method="gather"``: one superstep: every tile gathers all other parts
    ((P-1)*N elements, each sent only once thanks to broadcast) and sums them itself.
    """
    items = as_parts(g, parts, name)
    if method is None:
        tiles = np.concatenate([g.element_tiles(t).reshape(-1) for t in items])
        method = "direct" if np.unique(tiles // g.spec.tiles).size == 1 else "ring"
    _check_method(method, ALL_REDUCE_METHODS, name)
    p = len(items)
    stacked = concat([t.reshape((1, *t.shape)) for t in items])
    totals = variable_like(g, stacked, f"{name}.totals")
    rows = [totals[i] for i in range(p)]
    if p == 1:
        return totals, Sequence(Copy(items[0], rows[0]))
    if method == "gather":
        cs = g.add_compute_set(f"{name} (gather and sum everywhere)")
        for i in range(p):
            add_elementwise(g, cs, reduce_rows, rows[i], a=items, out=rows[i])
        return totals, Sequence(Execute(cs))
    if method == "tree":
        steps = _tree_steps(g, items, {i: rows[i] for i in range(p)}, 0, name)
        n = rows[0].size
        steps.append(_copy_ranges([(rows[0], rows[i], 0, n) for i in range(1, p)],
                                  f"{name} broadcast total", "every other part"))
        return totals, Sequence(*steps)
    if method == "direct":
        chunks = ring_chunks(g, items[0], p)
        return totals, Sequence(_scatter_step(g, items, rows, chunks, name), _gather_step(rows, chunks, name))
    return totals, Sequence(*_ring_steps(g, items, rows, name))


def _scatter_step(g, items, rows, chunks, name) -> Execute:
    """One superstep: the tiles of part j sum chunk j of every part into ``rows[j]``."""
    cs = g.add_compute_set(f"{name} (reduce-scatter: part j sums chunk j)")
    for j, ranges in enumerate(chunks):
        if ranges:
            add_elementwise(g, cs, reduce_rows, rows[j], ranges=ranges, a=items, out=rows[j])
    return Execute(cs)


def _gather_step(rows, chunks, name) -> Copy:
    """One superstep: chunk j of ``rows[j]`` to every other row (one broadcast per chunk)."""
    p = len(rows)
    pairs = [(rows[j], rows[i], a, b) for j in range(p) for a, b in chunks[j] for i in range(p) if i != j]
    return _copy_ranges(pairs, f"{name} all-gather: chunk j from part j", "every other part")


def reduce_scatter(g, parts, method: str = "direct", name: str = "reduce_scatter"):
    """Part j's owner ends with the sum of chunk j of all P parts: returns ``(pieces, program)``.

    Each part is cut into P chunks (:func:`ring_chunks`: within each tile's share
    of the part, so every tile holds a slice of every chunk).  ``pieces[j]`` is a
    1-D tensor, the sum over all parts of chunk j, mapped where chunk j of part j
    lives.  ``method="direct"``: one superstep, each tile receives (P-1)N/P
    elements and sends as many.  ``method="ring"``: P-1 supersteps; in each, part i
    passes a running sum of one chunk to part i+1, which adds its own: each tile
    sends and receives N/P elements per step and talks only to the next part (the
    first half of the ring all-reduce, for links between neighbouring chips).
    ``all_gather(g, pieces)`` completes an all-reduce.
    """
    items = as_parts(g, parts, name)
    _check_method(method, REDUCE_SCATTER_METHODS, name)
    p = len(items)
    stacked = concat([t.reshape((1, *t.shape)) for t in items])
    sums = variable_like(g, stacked, f"{name}.sums")
    rows = [sums[i] for i in range(p)]
    chunks = ring_chunks(g, items[0], p)
    pieces = [_named(concat([rows[j].flatten()[a:b] for a, b in chunks[j]]) if chunks[j]
                     else rows[j].flatten()[0:0], f"{name}.piece{j}") for j in range(p)]
    if method == "ring" and p > 1:
        return pieces, Sequence(*_ring_scatter_steps(g, items, rows, chunks, name))
    return pieces, Sequence(_scatter_step(g, items, rows, chunks, name))


def all_gather(g, pieces, method: str = "direct", name: str = "all_gather"):
    """Every piece's owner ends with all P pieces: returns ``(gathered, program)``.

    ``pieces`` is a list of P 1-D tensors (sizes may differ), each mapped.
    ``gathered`` has shape ``(P, total)``: row i is the pieces one after another,
    mapped linearly over the tiles of piece i.  ``method="direct"``: one superstep,
    each piece is sent once (a broadcast) and each tile receives the P-1 others.
    ``method="ring"``: P-1 supersteps; in step s, part i passes piece i-s to part
    i+1, so each tile sends one piece (its share of it) per step, only to the next
    part.
    """
    _check_method(method, ALL_GATHER_METHODS, name)
    try:
        items = [t.flatten() for t in pieces]
    except AttributeError:
        raise TypeError(f"{name}: pieces must be a list of tensors") from None
    if not items:
        raise ValueError(f"{name}: no pieces given; pass one tensor per part")
    for i, t in enumerate(items):
        if t.graph is not g or t.dtype != items[0].dtype:
            raise ValueError(f"{name}: piece {i} ('{t.name}') must belong to this graph and have the dtype of "
                             f"piece 0 ({items[0].dtype})")
        if t.size and (g.element_tiles(t) < 0).any():
            raise MappingError(f"{name}: piece {i} ('{t.name}') is not fully mapped; map it first")
    p = len(items)
    bounds = np.concatenate(([0], np.cumsum([t.size for t in items]))).astype(int)
    gathered = g.add_variable((p, int(bounds[-1])), items[0].dtype, name=name)
    for i, t in enumerate(items):
        tiles = list(dict.fromkeys(g.element_tiles(t).reshape(-1).tolist())) or [0]
        g.map_linearly(gathered[i], tiles=tiles)
    slot = [[gathered[i, int(bounds[j]):int(bounds[j + 1])] for j in range(p)] for i in range(p)]
    if method == "ring" and p > 1:
        return gathered, Sequence(*_ring_gather_steps(items, slot, name))
    src = concat([items[j] for i in range(p) for j in range(p) if items[j].size])
    dst = concat([slot[i][j] for i in range(p) for j in range(p) if items[j].size])
    return gathered, Sequence(Copy(_named(src, f"{name} pieces"), _named(dst, name)))


def _ring_gather_steps(items, slot, name) -> list:
    """P-1 Copies: in step s part i passes piece i-s to part i+1 (step 0 also fills each part's own slot)."""
    p = len(items)
    steps = []
    for s in range(p - 1):
        pairs = []
        for i in range(p):
            j = (i - s) % p                                      # the piece part i passes on
            if items[j].size:
                pairs.append((items[j] if s == 0 else slot[i][j], slot[(i + 1) % p][j]))
            if s == 0 and items[i].size:
                pairs.append((items[i], slot[i][i]))
        src = concat([a for a, _ in pairs])
        dst = concat([b for _, b in pairs])
        steps.append(Copy(_named(src, f"{name} ring all-gather {s + 1}/{p - 1}"), _named(dst, "next part")))
    return steps


def ring_chunks(g, part: Tensor, p: int) -> list:
    """The P chunks of a ring all-reduce: for each, a list of flat ``(start, end)`` ranges.

    Each run of ``part`` on one tile is cut into P nearly equal slices and chunk c
    takes slice c of every run, so every tile sends and receives in every step.
    """
    chunks = [[] for _ in range(p)]
    for lo, hi, _ in tile_runs(g, part):
        bounds = lo + (np.arange(p + 1) * (hi - lo)) // p
        for c in range(p):
            if bounds[c + 1] > bounds[c]:
                chunks[c].append((int(bounds[c]), int(bounds[c + 1])))
    return chunks


def _ring_scatter_steps(g, items, rows, chunks, name) -> list:
    """P-1 supersteps: chunk c's running sum starts at part c+1 and goes round to part c.

    In step s part i sends its running sum of chunk i-1-s to part i+1, which adds its
    own share; after the last step ``rows[c]`` holds the complete sum of chunk c.
    """
    p = len(items)
    steps = []
    for s in range(p - 1):
        cs = g.add_compute_set(f"{name} (ring reduce-scatter {s + 1}/{p - 1})")
        for i in range(p):
            j, c = (i + 1) % p, (i - 1 - s) % p
            if chunks[c]:
                running = items[i] if s == 0 else rows[i]
                add_elementwise(g, cs, add, rows[j], ranges=chunks[c], a=running, b=items[j], out=rows[j])
        steps.append(Execute(cs))
    return steps


def _ring_steps(g, items, rows, name) -> list:
    """The ring all-reduce: the ring reduce-scatter, then the complete chunks go round once more."""
    p = len(items)
    chunks = ring_chunks(g, items[0], p)
    steps = _ring_scatter_steps(g, items, rows, chunks, name)
    for s in range(p - 1):                      # all-gather: part i passes chunk i-s to part i+1
        pairs = [(rows[i], rows[(i + 1) % p], a, b) for i in range(p) for a, b in chunks[(i - s) % p]]
        steps.append(_copy_ranges(pairs, f"{name} ring all-gather {s + 1}/{p - 1}", "next part"))
    return steps


def _check_method(method, allowed, name):
    if method not in allowed:
        raise ValueError(f"{name}: unknown method {method!r}; choose one of {', '.join(allowed)}")
