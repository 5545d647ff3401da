"""Where the elements of tensor views live, as *pieces* rather than elements.

A piece is a run of a view's elements that are consecutive in the view, have
consecutive global ids, and sit at consecutive addresses on one tile.  A block
of a matrix is one piece per row, however many elements it has, so compiling a
graph costs time in proportion to its pieces, not its elements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EMPTY = np.zeros(0, np.int64)


def id_runs(t):
    """Runs of consecutive global ids in tensor ``t`` flattened: (starts, lengths).

    A strided view (slices, transposes, reshapes of a variable) gives its runs
    from its strides, without listing its elements: a block of a matrix is one
    run per row.  Other views are scanned element by element.
    """
    if t.size == 0:
        return _EMPTY, _EMPTY
    if t._strided is not None:
        base, shape, strides = t._strided
        axes = [(n, s) for n, s in zip(shape, strides) if n != 1]
        inner = 1
        while axes and axes[-1][1] == inner:
            inner *= axes.pop()[0]
        if not axes:                      # the common case: one contiguous run
            return np.array([base], np.int64), np.array([inner], np.int64)
        starts = np.full([n for n, _ in axes], base, np.int64)
        for k, (n, s) in enumerate(axes):
            starts += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(axes) - k - 1))
        starts = starts.reshape(-1)
        return merge_consecutive(starts, np.full(starts.size, inner, np.int64))
    flat = t.ids.reshape(-1)
    brk = np.flatnonzero(np.diff(flat) != 1) + 1
    bounds = np.concatenate(([0], brk, [flat.size]))
    return flat[bounds[:-1]].astype(np.int64), np.diff(bounds)


def split_runs(starts, lengths, breaks):
    """Cut runs ``[starts[k], starts[k] + lengths[k])`` at every value of sorted ``breaks``
    strictly inside them: returns (piece starts, piece lengths, run of each piece)."""
    starts, lengths = np.asarray(starts, np.int64), np.asarray(lengths, np.int64)
    lo = np.searchsorted(breaks, starts, side="right")
    hi = np.searchsorted(breaks, starts + lengths, side="left")
    rep = np.maximum(hi - lo, 0) + 1
    run = np.repeat(np.arange(starts.size), rep)
    k = np.arange(run.size) - (np.cumsum(rep) - rep)[run]
    pstart = starts[run].copy()
    inner = k > 0
    pstart[inner] = breaks[lo[run][inner] + k[inner] - 1]
    pend = np.empty_like(pstart)
    pend[:-1] = pstart[1:]
    last = k == rep[run] - 1
    pend[last] = (starts + lengths)[run][last]
    return pstart, pend - pstart, run


def sorted_unique(values) -> np.ndarray:
    """``np.unique`` by sorting: NumPy 2's hash-based unique is many times slower on big arrays."""
    s = np.sort(np.asarray(values).reshape(-1))
    if s.size:
        s = s[np.concatenate(([True], s[1:] != s[:-1]))]
    return s


def merge_consecutive(starts, lengths):
    """Join runs where one ends exactly where the next begins."""
    if starts.size <= 1:
        return starts.astype(np.int64), lengths.astype(np.int64)
    new = np.ones(starts.size, bool)
    new[1:] = starts[1:] != starts[:-1] + lengths[:-1]
    first = np.flatnonzero(new)
    return starts[first].astype(np.int64), np.add.reduceat(lengths, first).astype(np.int64)


@dataclass
class Pieces:
    """Pieces of several views; ``owner`` says which view each piece belongs to."""
    owner: np.ndarray    # (pieces,) index of the view
    pos: np.ndarray      # element offset of the piece within its view (flattened)
    start: np.ndarray    # first global id
    n: np.ndarray        # elements
    tile: np.ndarray     # tile of the piece (-1: unmapped)
    addr: np.ndarray     # byte address of its first element on that tile

    @property
    def end(self) -> np.ndarray:
        return self.start + self.n

    def select(self, mask) -> "Pieces":
        return Pieces(*(getattr(self, f)[mask] for f in ("owner", "pos", "start", "n", "tile", "addr")))


def locate(graph, layout, tensors) -> Pieces:
    """Split each tensor into pieces of the layout (runs of one variable on one tile)."""
    runs = [id_runs(t) for t in tensors]
    counts = np.fromiter((len(s) for s, _ in runs), np.int64, len(runs))
    if counts.sum() == 0:
        return Pieces(*([_EMPTY] * 6))
    s = np.concatenate([r[0] for r in runs])
    length = np.concatenate([r[1] for r in runs])
    owner = np.repeat(np.arange(len(runs)), counts)
    excl = np.cumsum(length) - length
    pos = excl - excl[np.cumsum(counts)[owner] - counts[owner]]
    pstart, plen, run = split_runs(s, length, layout.breaks)
    tile, addr = layout.lookup(pstart)
    p = Pieces(owner[run], pos[run] + pstart - s[run], pstart, plen, tile, addr)
    return _merge_adjacent(graph, p)


def _merge_adjacent(graph, p: Pieces) -> Pieces:
    """Join neighbouring pieces of one view that continue on the same tile."""
    if p.n.size <= 1:
        return p
    itemsize = graph.itemsize_of(p.start)
    new = np.ones(p.n.size, bool)
    new[1:] = ((p.owner[1:] != p.owner[:-1]) | (p.tile[1:] != p.tile[:-1])
               | (p.addr[1:] != p.addr[:-1] + p.n[:-1] * itemsize[:-1])
               | (p.start[1:] != p.start[:-1] + p.n[:-1]))
    if new.all():
        return p
    first = np.flatnonzero(new)
    return Pieces(p.owner[first], p.pos[first], p.start[first], np.add.reduceat(p.n, first),
                  p.tile[first], p.addr[first])


def first_overlap(a_start, a_end, b_start, b_end, ignore=None):
    """The first pair (i, j) where interval a[i] overlaps b[j], or None.

    ``b`` must not overlap itself.  ``ignore(i, j)`` returns a mask of pairs
    that may overlap (e.g. fields of the same vertex).
    """
    if a_start.size == 0 or b_start.size == 0:
        return None
    order = np.flatnonzero(b_end > b_start)           # empty intervals overlap nothing
    order = order[np.argsort(b_start[order], kind="stable")]
    bs, be = b_start[order], b_end[order]
    j_lo = np.searchsorted(be, a_start, side="right")
    j_hi = np.searchsorted(bs, a_end, side="left")
    cnt = np.maximum(j_hi - j_lo, 0)
    if cnt.sum() == 0:
        return None
    i = np.repeat(np.arange(a_start.size), cnt)
    j = j_lo[i] + np.arange(i.size) - (np.cumsum(cnt) - cnt)[i]
    j = order[j]
    hit = a_start[i] < a_end[i]
    if ignore is not None:
        hit &= ~ignore(i, j)
    found = np.flatnonzero(hit)
    return None if found.size == 0 else (int(i[found[0]]), int(j[found[0]]))


def self_overlap(start, end):
    """The first pair (i, j), i != j, of overlapping intervals, or None."""
    if start.size <= 1:
        return None
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    reach = np.maximum.accumulate(e)
    bad = np.flatnonzero((s[1:] < reach[:-1]) & (e[1:] > s[1:]))
    if bad.size == 0:
        return None
    j = bad[0] + 1
    i = int(np.flatnonzero(e[:j] > s[j])[0])
    return int(order[i]), int(order[j])


def split_bounds(size: int, parts: int) -> np.ndarray:
    """``parts + 1`` boundaries cutting ``range(size)`` into near-equal parts, the bigger ones first.

    The one rule every library split uses (rows over tiles, a tile's block over
    its six workers): part sizes differ by at most one element.
    """
    base, extra = divmod(int(size), int(parts))
    sizes = base + (np.arange(parts) < extra)
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def split_ranges(size: int, parts: int) -> list:
    """The same split as :func:`split_bounds`, as ``(start, stop)`` pairs."""
    b = split_bounds(size, parts).tolist()
    return list(zip(b[:-1], b[1:]))
