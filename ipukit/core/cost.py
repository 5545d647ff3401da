"""The cycle model: how long compute, exchange, sync and host phases take.

All constants of the model live here or in :mod:`ipukit.core.spec`, each with its
source; ASSUMPTION marks a number chosen where nothing is published.

Compute.  A tile has 6 worker contexts that share one pipeline round-robin
(ASM §4.2; COOK "scheduling-multiple-workers-per-tile"): each worker issues one
instruction every 6 tile cycles, so a lone worker runs at 1/6 of the tile's
speed.  A vertex's estimate counts *worker* cycles (instructions).  The
supervisor starts the vertices in the order they were added, each on the next
worker to become free (the lowest-numbered on a tie): list scheduling, which is
round-robin (k mod 6) only when the vertices are equal.  A MultiVertex runs on
all six workers, each running its share for the vertex's estimate (ASM ch. 4;
Poplar user guide, MultiVertex); ASSUMPTION: it starts when every worker is free
(when a worker that is still busy would start its share is not published).  The tile
is busy for 6 x its latest worker finish; the compute phase lasts as long as the
slowest tile.

Exchange.  Each tile sends and receives at ``exchange_bytes_per_cycle``
(4 B/cycle), both at once; a value broadcast to many tiles is sent once.  A
tile's exchange time is max(bytes sent, bytes received) / 4, and the phase
lasts as long as the busiest tile, or the busiest IPU-Link between chips.

Sync.  Every phase starts with a sync of all tiles (the BSP barrier):
``spec.sync_cycles`` on one chip, ``spec.global_sync_cycles`` when the step
involves tiles on more than one IPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- building blocks of the built-in vertices' estimates (worker cycles) ----------
# ASSUMPTION: fixed cost of starting a vertex (load field pointers, loop set-up,
# return). PopLibs' cycle estimators use fixed overheads of this order (PLB
# lib/popops/*CycleEstimators.cpp); the exact value differs per vertex.
VERTEX_OVERHEAD = 10
# ASSUMPTION: cycles per 64-bit vector of a binary elementwise op: two loads, the
# op and a store, paired two-by-two by the dual-issue pipeline (ASM §4.2 notes the
# tile is a dual-pipeline LIW core).
BINARY_CYCLES_PER_VECTOR = 2
UNARY_CYCLES_PER_VECTOR = 1
# ASSUMPTION: a vertex without its own estimate costs the overhead plus one cycle
# per element of its fields. Only a placeholder: write a ``cycles=`` estimate.
DEFAULT_CYCLES_PER_ELEMENT = 1
# Bytes of always-live vertex state on the tile: a small header plus a (pointer,
# size) pair per tensor field and a word per scalar. ASSUMPTION: modelled on
# Poplar's Vector<T> field layout (32-bit pointer + 32-bit size).
VERTEX_STATE_HEADER_BYTES = 4
VERTEX_STATE_FIELD_BYTES = 8
VERTEX_STATE_SCALAR_BYTES = 4


def vector_elements(spec, dtype) -> int:
    """Elements per 64-bit vector op: 2 x float32 or 4 x float16."""
    return max(1, spec.vector_bytes // np.dtype(dtype).itemsize)


def elementwise_cycles(n: int, spec, dtype, per_vector: int = BINARY_CYCLES_PER_VECTOR) -> int:
    return VERTEX_OVERHEAD + per_vector * -(-n // vector_elements(spec, dtype))


def copy_cycles(nbytes: int, spec) -> int:
    """One worker moving ``nbytes``: one 64-bit store per instruction."""
    return VERTEX_OVERHEAD + -(-nbytes // spec.vector_bytes)


def amp_cycles(m: int, k: int, n: int, spec, dtype) -> int:
    """A partial matmul on the AMP unit: 2*m*k*n FLOP.

    One worker issuing AMP instructions retires ``spec.flops_per_cycle`` FLOP per
    instruction, so six workers together reach the tile's peak (16 FLOP/cycle for
    float32 on GC2, 64 for float16).
    """
    return VERTEX_OVERHEAD + -(-2 * m * k * n // spec.flops_per_cycle(dtype))


def default_vertex_cycles(elements: int) -> int:
    return VERTEX_OVERHEAD + DEFAULT_CYCLES_PER_ELEMENT * elements


def vertex_state_bytes(num_fields: int, num_scalars: int) -> int:
    return (VERTEX_STATE_HEADER_BYTES + VERTEX_STATE_FIELD_BYTES * num_fields
            + VERTEX_STATE_SCALAR_BYTES * num_scalars)


# --- phases -----------------------------------------------------------------------
@dataclass
class Phase:
    """One phase of a step. ``cycles`` is its length: the slowest tile or link."""
    kind: str                                  # "sync", "compute", "exchange" or "host"
    cycles: int
    tile_cycles: np.ndarray | None = None      # (tiles,) busy cycles of each tile
    bytes_sent: np.ndarray | None = None       # (tiles,) exchange / host phases
    bytes_received: np.ndarray | None = None   # (tiles,)
    link_bytes: int = 0                        # bytes over IPU-Links
    ipus: int = 1                              # how many IPUs the phase involves


def list_schedule(cycles, multi=None, workers: int = 6) -> list:
    """One tile's schedule, in worker cycles: per vertex, a list of ``(worker, start, length)``.

    The plain statement of the rule (:func:`worker_loads` is its vectorised twin):
    vertices start in order, each on the worker that becomes free first (lowest
    index on a tie); a MultiVertex waits until all workers are free, then runs its
    estimate on each of them.
    """
    clock = [0] * workers
    out = []
    for k, c in enumerate(cycles):
        c = int(c)
        if multi is not None and multi[k]:
            start = max(clock)
            out.append([(w, start, c) for w in range(workers)])
            clock = [start + c] * workers
        else:
            w = clock.index(min(clock))
            out.append([(w, clock[w], c)])
            clock[w] += c
    return out


def worker_loads(spec, num_tiles: int, tiles: np.ndarray, cycles: np.ndarray, multi=None) -> np.ndarray:
    """(tiles, workers): when each worker finishes, in worker cycles, under :func:`list_schedule`.

    Tiles whose vertices are all equal (and none a MultiVertex) are dealt round-robin
    in one step, which is what list scheduling gives them; the others are scheduled
    one rank at a time (the k-th vertex of every such tile together).
    """
    w = spec.workers_per_tile
    loads = np.zeros((num_tiles, w), np.int64)
    tiles = np.asarray(tiles, np.int64)
    if not len(tiles):
        return loads
    cycles = np.asarray(cycles, np.int64)
    multi = np.zeros(len(tiles), bool) if multi is None else np.asarray(multi, bool)
    order = np.argsort(tiles, kind="stable")
    t, c, m = tiles[order], cycles[order], multi[order]
    first = np.searchsorted(t, t, side="left")
    rank = np.arange(len(t)) - first
    starts = np.flatnonzero(np.diff(t, prepend=-1))
    uneven = np.zeros(num_tiles, bool)
    uneven[t[starts]] = ((np.maximum.reduceat(c, starts) != np.minimum.reduceat(c, starts))
                         | (np.add.reduceat(m.astype(np.int64), starts) > 0))
    even = ~uneven[t]
    loads[:] = np.bincount(t[even] * w + rank[even] % w, weights=c[even],
                           minlength=num_tiles * w).reshape(num_tiles, w)
    rest = np.flatnonzero(~even)
    if rest.size:
        by_rank = rest[np.argsort(rank[rest], kind="stable")]
        bounds = np.searchsorted(rank[by_rank], np.arange(int(rank[rest].max()) + 2))
        for r in range(len(bounds) - 1):
            sel = by_rank[bounds[r]:bounds[r + 1]]          # one vertex per tile at most
            one = sel[~m[sel]]
            if one.size:
                free = np.argmin(loads[t[one]], axis=1)
                loads[t[one], free] += c[one]
            many = sel[m[sel]]
            if many.size:
                loads[t[many]] = loads[t[many]].max(axis=1, keepdims=True) + c[many][:, None]
    return loads


def compute_phase(spec, num_tiles, tiles, cycles, local_copy_bytes=None, multi=None) -> Phase:
    """Compute phase: 6 x the latest worker finish per tile, plus on-tile copies.

    ``multi`` marks the MultiVertex vertices (None: none is).  On-tile copies
    (fields gathered from elsewhere on the same tile) run at the
    tile's store bandwidth, ``memory_write_bytes_per_cycle`` (8 B/cycle, JIA §3).
    """
    tile_cycles = spec.workers_per_tile * worker_loads(spec, num_tiles, tiles, cycles, multi).max(axis=1)
    if local_copy_bytes is not None:
        tile_cycles = tile_cycles + -(-local_copy_bytes // spec.memory_write_bytes_per_cycle)
    return Phase("compute", int(tile_cycles.max(initial=0)), tile_cycles,
                 ipus=_ipus_involved(spec, tile_cycles))


def exchange_phase(spec, num_tiles, plan) -> Phase | None:
    """Exchange phase for the off-tile runs of ``plan`` (None if there are none)."""
    remote = plan.src_tile != plan.dst_tile
    if not remote.any():
        return None
    src_tile, src_off = plan.src_tile[remote], plan.src_off[remote]
    dst_tile, nbytes = plan.dst_tile[remote], plan.nbytes[remote]
    stride = spec.sram_bytes_per_tile
    sent = _union_bytes_per_tile(src_tile * stride + src_off, nbytes, stride, num_tiles)
    received = np.bincount(dst_tile, weights=nbytes, minlength=num_tiles).astype(np.int64)
    busy = np.maximum(sent, received)
    tile_cycles = -(-busy // spec.exchange_bytes_per_cycle)
    cycles = int(tile_cycles.max())
    link_bytes = 0
    src_ipu, dst_ipu = src_tile // spec.tiles, dst_tile // spec.tiles
    cross = src_ipu != dst_ipu
    if cross.any():
        out_b = _union_bytes_per_tile((src_tile * stride + src_off)[cross], nbytes[cross], stride, num_tiles)
        out_ipu = out_b.reshape(spec.num_ipus, spec.tiles).sum(axis=1)
        in_ipu = np.bincount(dst_ipu[cross], weights=nbytes[cross], minlength=spec.num_ipus)
        link_bytes = int(out_ipu.sum())
        link_cycles = int(np.ceil(np.maximum(out_ipu, in_ipu).max() / spec.ipu_link_bytes_per_cycle))
        cycles = max(cycles, link_cycles)
    return Phase("exchange", cycles, tile_cycles, sent, received, link_bytes, _ipus_involved(spec, busy))


def host_phase(spec, num_tiles, tiles, nbytes, to_device: bool) -> Phase:
    """Host <-> IPU transfer: host bandwidth per IPU, and each tile's 4 B/cycle port."""
    per_tile = np.bincount(tiles, weights=nbytes, minlength=num_tiles).astype(np.int64)
    per_ipu = per_tile.reshape(spec.num_ipus, spec.tiles).sum(axis=1)
    tile_cycles = -(-per_tile // spec.exchange_bytes_per_cycle)
    cycles = max(int(np.ceil(per_ipu.max() / spec.host_bytes_per_cycle)), int(tile_cycles.max(initial=0)))
    zeros = np.zeros(num_tiles, np.int64)
    sent, received = (zeros, per_tile) if to_device else (per_tile, zeros)
    return Phase("host", cycles, tile_cycles, sent, received, ipus=_ipus_involved(spec, per_tile))


def sync_phase(spec, ipus: int) -> Phase:
    cycles = spec.global_sync_cycles if ipus > 1 else spec.sync_cycles
    return Phase("sync", cycles, ipus=ipus)


def _ipus_involved(spec, per_tile: np.ndarray) -> int:
    if spec.num_ipus == 1:
        return 1
    return max(1, int((per_tile.reshape(spec.num_ipus, spec.tiles) > 0).any(axis=1).sum()))


def _union_bytes_per_tile(starts, nbytes, stride, num_tiles) -> np.ndarray:
    """Bytes covered per tile by byte ranges given in absolute addresses.

    Overlapping ranges (the same data sent to several tiles) count once.  Ranges
    of different tiles never overlap in absolute addresses, so one sort suffices.
    """
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], starts[order] + nbytes[order]
    reach = np.maximum.accumulate(e)
    prev = np.concatenate(([np.iinfo(np.int64).min], reach[:-1]))
    new = np.clip(e - np.maximum(s, prev), 0, None)
    return np.bincount(s // stride, weights=new, minlength=num_tiles).astype(np.int64)
