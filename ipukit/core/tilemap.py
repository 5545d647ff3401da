"""Which tile holds each element, stored as runs of consecutive element ids.

A graph's elements have global ids (each variable owns a block of them).  The
tile map keeps ``tiles[i]`` for the ids ``[starts[i], starts[i+1])``, so mapping
a matrix of a billion elements over 1472 tiles costs 1472 runs, not a billion
entries.
"""
from __future__ import annotations

import numpy as np

from .intervals import sorted_unique

_EMPTY = np.zeros(0, np.int64)


class TileMap:
    """Runs of ids on tiles.  Mapping calls are queued and applied together on the
    next read, so mapping a thousand blocks one by one stays fast."""

    def __init__(self):
        self._starts = _EMPTY                  # (runs,) first id of each run, sorted
        self._tiles = np.zeros(0, np.int32)    # (runs,) tile of the run, -1 = unmapped
        self._queue = []                       # pending (starts, ends, tiles) assignments, in order
        self.size = 0                          # ids in use

    @property
    def starts(self) -> np.ndarray:
        self._flush()
        return self._starts

    @property
    def tiles(self) -> np.ndarray:
        self._flush()
        return self._tiles

    def extend(self, n: int) -> None:
        """Make room for ``n`` new, unmapped ids."""
        if n:
            self._flush()
            self._starts = np.append(self._starts, self.size)
            self._tiles = np.append(self._tiles, np.int32(-1))
            self.size += n
            self._compress()

    def lookup(self, ids) -> np.ndarray:
        """Tile of each id (any shape)."""
        ids = np.asarray(ids, np.int64)
        return self.tiles[np.searchsorted(self.starts, ids, side="right") - 1]

    def assign(self, starts, lengths, tiles) -> None:
        """Put ids ``[starts[k], starts[k] + lengths[k])`` on ``tiles[k]`` (or one tile for all)."""
        a = np.asarray(starts, np.int64)
        b = a + np.asarray(lengths, np.int64)
        v = np.broadcast_to(np.asarray(tiles, np.int32), a.shape)
        keep = b > a
        if keep.any():
            self._queue.append((a[keep], b[keep], v[keep]))

    def _flush(self) -> None:
        """Apply the queued assignments: all at once if they do not overlap, else in order."""
        if not self._queue:
            return
        queue, self._queue = self._queue, []
        a, b, v = (np.concatenate([q[k] for q in queue]) for k in range(3))
        order = np.argsort(a, kind="stable")
        if len(queue) > 1 and (a[order][1:] < b[order][:-1]).any():
            for qa, qb, qv in queue:           # later calls must win where they overlap
                self._apply(qa, qb, qv)
        else:
            self._apply(a, b, v)

    def _apply(self, a, b, v) -> None:
        order = np.argsort(a, kind="stable")
        a, b, v = a[order], b[order], v[order]
        if (a[1:] < b[:-1]).any():          # a view repeating elements: last write wins, element by element
            dense = np.repeat(self._tiles, np.diff(np.append(self._starts, self.size)))
            for s, e, t in zip(a.tolist(), b.tolist(), v.tolist()):
                dense[s:e] = t
            self._set_dense(dense)
            return
        bounds = sorted_unique(np.concatenate([self._starts, a, b[b < self.size]]))
        run = np.searchsorted(a, bounds, side="right") - 1
        covered = (run >= 0) & (bounds < b[np.maximum(run, 0)])
        old = self._tiles[np.searchsorted(self._starts, bounds, side="right") - 1]
        self._tiles = np.where(covered, v[np.maximum(run, 0)], old).astype(np.int32)
        self._starts = bounds
        self._compress()

    def runs(self, lo: int, hi: int):
        """The runs that cover ids ``[lo, hi)``: (starts, ends, tiles), clipped to the range."""
        first = np.searchsorted(self.starts, lo, side="right") - 1
        last = np.searchsorted(self.starts, hi, side="left")
        s = self.starts[first:last].copy()
        e = np.append(self.starts[first + 1:last], hi)
        s[0] = lo
        return s, np.minimum(e, hi), self.tiles[first:last]

    def dense(self) -> np.ndarray:
        """The tile of every id, one entry per id (for small graphs and tests)."""
        return np.repeat(self.tiles, np.diff(np.append(self.starts, self.size)))

    def _set_dense(self, dense) -> None:
        brk = np.ones(dense.size, bool)
        brk[1:] = dense[1:] != dense[:-1]
        self._starts = np.flatnonzero(brk).astype(np.int64)
        self._tiles = dense[self._starts].astype(np.int32)

    def _compress(self) -> None:
        keep = np.ones(self._tiles.size, bool)
        keep[1:] = self._tiles[1:] != self._tiles[:-1]
        if not keep.all():
            self._starts, self._tiles = self._starts[keep], self._tiles[keep]


class TileLookup:
    """``graph.elem_tile[ids]``: the tile of each id, looked up in the tile map."""

    def __init__(self, tile_map: TileMap):
        self._map = tile_map

    def __getitem__(self, ids):
        if isinstance(ids, slice):
            return self._map.dense()[ids]
        return self._map.lookup(ids)

    def __len__(self):
        return self._map.size

    @property
    def size(self):
        return self._map.size

    def __array__(self, dtype=None, copy=None):
        dense = self._map.dense()
        return dense if dtype is None else dense.astype(dtype)
