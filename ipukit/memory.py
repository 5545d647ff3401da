"""Tile SRAM: where every tensor lives, and the per-tile memory report.

Each tile's SRAM is laid out as::

    [ tensors (data) | vertex state | exchange buffers ]

Tensors are placed in the order they were created; the elements of one
tensor on one tile sit together, in element order, starting on an
``spec.alignment`` boundary.  Vertex state is always live.  Exchange buffers
(fields gathered from other tiles) live only during their compute set, so the
compute sets share that region, as Poplar's liveness analysis lets them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("data", "vertex state", "exchange buffers")


def align_up(nbytes, alignment):
    return -(-nbytes // alignment) * alignment


def allocate_data(graph):
    """Give every mapped element a byte address on its tile.

    Works on *runs* (consecutive ids of one variable on one tile), so the cost
    grows with the number of runs, not of elements.  Returns ``(elem_addr,
    data_end, segments, breaks)``: the address of each global element id (-1
    where unmapped), the bytes used per tile (aligned), the placements
    ``(tile, variable, offset, nbytes)`` as a dict of arrays, and the ids where a
    run starts (a new tile or a new variable).
    """
    spec, num_tiles = graph.spec, graph.num_tiles
    elem_tile = graph.elem_tile
    n_ids = elem_tile.size
    elem_addr = np.full(n_ids, -1, np.int64)
    var_starts = np.array([v.base for v in graph.variables if v.size], np.int64)
    brk = np.zeros(n_ids, bool)
    brk[var_starts] = True
    if n_ids:
        brk[1:] |= elem_tile[1:] != elem_tile[:-1]
    starts = np.flatnonzero(brk)
    lengths = np.diff(np.append(starts, n_ids))
    tiles = elem_tile[starts].astype(np.int64)
    mapped = tiles >= 0
    r_start, r_len, r_tile = starts[mapped], lengths[mapped], tiles[mapped]
    r_var = graph.variable_of(r_start)
    itemsize = graph.itemsize_of(r_start)
    order = np.lexsort((r_start, r_tile))                 # by tile, then by id
    r_start, r_len, r_tile, r_var, itemsize = (a[order] for a in (r_start, r_len, r_tile, r_var, itemsize))
    # a segment is one variable on one tile: its runs sit back to back, in id order
    new_seg = np.ones(r_start.size, bool)
    new_seg[1:] = (r_tile[1:] != r_tile[:-1]) | (r_var[1:] != r_var[:-1])
    seg_first = np.flatnonzero(new_seg)
    seg = np.cumsum(new_seg) - 1
    run_bytes = r_len * itemsize
    seg_bytes = np.add.reduceat(run_bytes, seg_first) if r_start.size else np.zeros(0, np.int64)
    padded = align_up(seg_bytes, spec.alignment)
    seg_tile = r_tile[seg_first]
    excl = np.cumsum(padded) - padded                     # restarted on every tile below
    seg_off = excl - excl[np.searchsorted(seg_tile, seg_tile, side="left")]
    run_excl = np.cumsum(run_bytes) - run_bytes
    run_addr = seg_off[seg] + run_excl - run_excl[seg_first[seg]]
    # every element: its run's address plus its rank in the run
    run_of = np.repeat(np.arange(r_start.size), r_len)
    ids = np.repeat(r_start, r_len) + (np.arange(run_of.size) - np.repeat(np.cumsum(r_len) - r_len, r_len))
    elem_addr[ids] = run_addr[run_of] + (ids - r_start[run_of]) * itemsize[run_of]
    data_end = np.bincount(seg_tile, weights=padded, minlength=num_tiles).astype(np.int64)
    segments = {"tile": seg_tile, "variable": r_var[seg_first], "offset": seg_off, "nbytes": seg_bytes}
    return elem_addr, data_end, segments, np.append(starts, n_ids).astype(np.int64)


@dataclass
class MemoryReport:
    """Bytes per tile by category and by tensor, against the tile's SRAM."""
    spec: object
    by_category: np.ndarray      # (tiles, 3) int64, columns as CATEGORIES
    segments: dict               # tensor placements: tile, variable, offset, nbytes arrays
    tensor_names: list           # variable index -> name

    @property
    def num_tiles(self) -> int:
        return self.by_category.shape[0]

    @property
    def capacity(self) -> int:
        return self.spec.sram_bytes_per_tile

    @property
    def used(self) -> np.ndarray:
        return self.by_category.sum(axis=1)

    @property
    def free(self) -> np.ndarray:
        return self.capacity - self.used

    @property
    def over_tiles(self) -> np.ndarray:
        """Tiles that need more SRAM than they have."""
        return np.flatnonzero(self.used > self.capacity)

    @property
    def total_used(self) -> int:
        return int(self.used.sum())

    @property
    def max_tile(self) -> int:
        return int(np.argmax(self.used))

    @property
    def peak_bytes(self) -> int:
        return int(self.used.max(initial=0))

    def category(self, name: str) -> np.ndarray:
        return self.by_category[:, CATEGORIES.index(name)]

    def tensor_bytes(self, name: str) -> np.ndarray:
        """Bytes of tensor ``name`` on each tile."""
        mask = np.array([self.tensor_names[v] == name for v in self.segments["variable"]], bool)
        if not mask.any() and name not in self.tensor_names:
            raise KeyError(f"no tensor named '{name}' in this memory report")
        return np.bincount(self.segments["tile"][mask], weights=self.segments["nbytes"][mask],
                           minlength=self.num_tiles).astype(np.int64)

    def by_tensor(self, top: int = 8) -> dict:
        """Per-tile bytes of the ``top`` largest tensors, the rest summed as 'other tensors'."""
        seg_var, seg_tile, nbytes = self.segments["variable"], self.segments["tile"], self.segments["nbytes"]
        totals = np.bincount(seg_var, weights=nbytes, minlength=len(self.tensor_names))
        order = [int(v) for v in np.argsort(-totals, kind="stable") if totals[v] > 0]
        out = {}
        for v in order[:top]:
            m = seg_var == v
            out[self.tensor_names[v]] = np.bincount(seg_tile[m], weights=nbytes[m],
                                                    minlength=self.num_tiles).astype(np.int64)
        if len(order) > top:
            m = np.isin(seg_var, order[top:])
            out["other tensors"] = np.bincount(seg_tile[m], weights=nbytes[m],
                                               minlength=self.num_tiles).astype(np.int64)
        return out

    def tensors_on(self, tile: int) -> list:
        """``(name, nbytes, offset)`` of each tensor placed on ``tile``, largest first."""
        m = self.segments["tile"] == tile
        rows = [(self.tensor_names[v], int(b), int(o)) for v, b, o in
                zip(self.segments["variable"][m], self.segments["nbytes"][m], self.segments["offset"][m])]
        return sorted(rows, key=lambda r: -r[1])

    def describe_tile(self, tile: int, limit: int = 5) -> str:
        used, cap = int(self.used[tile]), self.capacity
        parts = [f"'{n}' {b:,} B" for n, b, _ in self.tensors_on(tile)[:limit]]
        more = len(self.tensors_on(tile)) - limit
        if more > 0:
            parts.append(f"{more} more tensors")
        for c in CATEGORIES[1:]:
            b = int(self.category(c)[tile])
            if b:
                parts.append(f"{c} {b:,} B")
        return (f"tile {tile} needs {used:,} B but has {cap:,} B ({cap / 1024:g} KiB), "
                f"{used - cap:,} B too many. On it: " + ", ".join(parts or ["nothing"]))

    def overflow_message(self) -> str:
        over = self.over_tiles
        worst = int(over[np.argmax(self.used[over])])
        others = f" ({len(over) - 1} other tiles are over too)" if len(over) > 1 else ""
        return (f"Out of memory: {self.describe_tile(worst)}{others}. The IPU has no DRAM to spill to: "
                "spread big tensors over more tiles (graph.map_linearly), use smaller tensors or "
                "fewer vertices per tile, or a target with more SRAM per tile.")

    def summary(self) -> str:
        used = self.used
        lines = [f"Memory: {self.total_used:,} B used of {self.capacity * self.num_tiles:,} B "
                 f"({self.num_tiles} tiles x {self.capacity / 1024:g} KiB)",
                 f"  busiest tile {self.max_tile}: {self.peak_bytes:,} B "
                 f"({100 * self.peak_bytes / self.capacity:.1f}% of its SRAM); "
                 f"mean {used.mean():,.0f} B; tiles in use {int((used > 0).sum())}"]
        for i, c in enumerate(CATEGORIES):
            lines.append(f"  {c:<17}{int(self.by_category[:, i].sum()):>14,} B")
        if len(self.over_tiles):
            lines.append(f"  OVER CAPACITY on {len(self.over_tiles)} tiles, e.g. tile {int(self.over_tiles[0])}")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()
