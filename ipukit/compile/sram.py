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

from ..core.intervals import sorted_unique

CATEGORIES = ("data", "vertex state", "exchange buffers")


def align_up(nbytes, alignment):
    return -(-nbytes // alignment) * alignment


@dataclass
class DataRuns:
    """Where every element lives, as runs of consecutive ids of one variable on one tile."""
    start: np.ndarray      # (runs,) first id, sorted; the runs cover every id
    tile: np.ndarray       # (runs,) tile, -1 if unmapped
    addr: np.ndarray       # (runs,) byte address of the first element, -1 if unmapped
    itemsize: np.ndarray   # (runs,) bytes per element
    end: int               # one past the last id

    @property
    def breaks(self) -> np.ndarray:
        return np.append(self.start, self.end)

    def lookup(self, ids):
        """(tile, byte address) of each id."""
        ids = np.asarray(ids, np.int64)
        r = np.searchsorted(self.start, ids, side="right") - 1
        tile = self.tile[r].astype(np.int64)
        addr = np.where(tile >= 0, self.addr[r] + (ids - self.start[r]) * self.itemsize[r], -1)
        return tile, addr


def allocate_data(graph):
    """Give every mapped element a byte address on its tile.

    Works on runs (consecutive ids of one variable on one tile), so the cost
    grows with the number of runs, not of elements.  Returns ``(runs, data_end,
    segments)``: a :class:`DataRuns`, the bytes used per tile (aligned), and the
    placements ``(tile, variable, offset, nbytes)`` as a dict of arrays.
    """
    spec, num_tiles = graph.spec, graph.num_tiles
    n_ids = graph.num_ids
    bases = np.array([v.base for v in graph.variables if v.size], np.int64)
    starts = sorted_unique(np.concatenate([graph.tile_map.starts, bases]))
    starts = starts[starts < n_ids]
    lengths = np.diff(np.append(starts, n_ids))
    tiles = graph.tile_map.lookup(starts).astype(np.int64)
    var = graph.variable_of(starts)
    itemsize = graph.itemsize_of(starts)
    addr = np.full(starts.size, -1, np.int64)
    mapped = np.flatnonzero(tiles >= 0)
    order = mapped[np.lexsort((starts[mapped], tiles[mapped]))]      # by tile, then by id
    r_tile, r_var = tiles[order], var[order]
    # a segment is one variable on one tile: its runs sit back to back, in id order
    new_seg = np.ones(order.size, bool)
    new_seg[1:] = (r_tile[1:] != r_tile[:-1]) | (r_var[1:] != r_var[:-1])
    seg_first = np.flatnonzero(new_seg)
    seg = np.cumsum(new_seg) - 1
    run_bytes = lengths[order] * itemsize[order]
    seg_bytes = np.add.reduceat(run_bytes, seg_first) if order.size else np.zeros(0, np.int64)
    padded = align_up(seg_bytes, spec.alignment)
    seg_tile = r_tile[seg_first]
    excl = np.cumsum(padded) - padded                     # restarted on every tile below
    seg_off = excl - excl[np.searchsorted(seg_tile, seg_tile, side="left")]
    run_excl = np.cumsum(run_bytes) - run_bytes
    addr[order] = seg_off[seg] + run_excl - run_excl[seg_first[seg]]
    data_end = np.bincount(seg_tile, weights=padded, minlength=num_tiles).astype(np.int64)
    segments = {"tile": seg_tile, "variable": r_var[seg_first], "offset": seg_off, "nbytes": seg_bytes}
    return DataRuns(starts, tiles, addr, itemsize, n_ids), data_end, segments


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
        if name not in self.tensor_names:
            raise KeyError(f"no tensor named '{name}' in this memory report")
        mask = np.isin(self.segments["variable"], [v for v, n in enumerate(self.tensor_names) if n == name])
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
