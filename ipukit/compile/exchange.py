"""Exchange plans: data movement as flat arrays of contiguous byte runs.

A plan is what the IPU's compiler would schedule for an exchange phase: each row
moves ``nbytes`` from ``(src_tile, src_off)`` to ``(dst_tile, dst_off)``.  Plans
are built once per engine, from the pieces of the tensors involved, by merging neighbours
that are consecutive on both sides; running one is a single loop of block copies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EMPTY = np.zeros(0, np.int64)


@dataclass
class Plan:
    src_tile: np.ndarray   # (runs,) int64
    src_off: np.ndarray    # (runs,) int64, byte offset in the source tile's SRAM
    dst_tile: np.ndarray
    dst_off: np.ndarray
    nbytes: np.ndarray     # (runs,) int64

    def __len__(self) -> int:
        return len(self.nbytes)

    @classmethod
    def empty(cls) -> "Plan":
        return cls(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)

    @classmethod
    def concat(cls, plans) -> "Plan":
        plans = [p for p in plans if len(p)]
        if not plans:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in plans]) for f in
                     ("src_tile", "src_off", "dst_tile", "dst_off", "nbytes")))

    def absolute(self, stride: int):
        """(src, dst, nbytes) as offsets into the flat SRAM of all tiles."""
        return (self.src_tile * stride + self.src_off, self.dst_tile * stride + self.dst_off, self.nbytes)

    @property
    def total_bytes(self) -> int:
        return int(self.nbytes.sum())

    def rows(self):
        """The runs as (src_tile, src_off, dst_tile, dst_off, nbytes) tuples."""
        return list(zip(*(a.tolist() for a in (self.src_tile, self.src_off, self.dst_tile,
                                                self.dst_off, self.nbytes))))


def merge_runs(src_tile, src_off, dst_tile, dst_off, nbytes) -> Plan:
    """Merge a list of moves into maximal contiguous runs.

    All arguments are (moves,) arrays in move order.  A move joins the one
    before it when both its source and its destination continue where that
    one ended, on the same tiles.
    """
    n = len(src_tile)
    if n == 0:
        return Plan.empty()
    nbytes = np.broadcast_to(np.asarray(nbytes, np.int64), (n,))
    brk = np.ones(n, bool)
    brk[1:] = ((src_tile[1:] != src_tile[:-1]) | (dst_tile[1:] != dst_tile[:-1])
               | (src_off[1:] != src_off[:-1] + nbytes[:-1])
               | (dst_off[1:] != dst_off[:-1] + nbytes[:-1]))
    starts = np.flatnonzero(brk)
    return Plan(src_tile[starts].astype(np.int64), src_off[starts].astype(np.int64),
                dst_tile[starts].astype(np.int64), dst_off[starts].astype(np.int64),
                np.add.reduceat(nbytes, starts).astype(np.int64))
