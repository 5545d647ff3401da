"""Planning a matrix multiplication over tiles, the way poplin's planner does.

``C = A @ B`` with A (M x K) and B (K x N) is cut into blocks: M into ``m_parts``,
N into ``n_parts`` and K into ``k_parts``.  Tile ``(i, j, d)`` multiplies block
``(i, d)`` of A by block ``(d, j)`` of B; for ``k_parts > 1`` that gives a partial
sum, and the ``k_parts`` partials of each output block are then added up by the
tiles that made them (each sums one slice).  On every tile the block product is
split into up to six panels, one vertex each, so that all six workers run.

The planner tries every split, estimates each one with the emulator's own cost
model (:mod:`ipukit.cost`) and keeps the fastest that fits in memory:

- **operand exchange**: every block of A (and of B) lives on one tile, its
  *host*, and is broadcast to the other tiles that multiply it; a broadcast is
  sent once.  The vertex fields gather the blocks in the partial-products step,
  into exchange buffers that live only during it; vertices of one tile reading
  the same panel share one received copy.
- **partial products**: the vertices at the AMP rate (:func:`ipukit.cost.amp_cycles`),
  each started on the next free worker, as the engine schedules them.
- **reduction**: each tile receives the other tiles' partials of its slice and sums them.
- a sync before each exchange and compute phase (a global one across IPUs).

Memory: the *temporary* data of the matmul (the partial sums, and the exchange
buffers that receive operand blocks and partials) may use at most
``available_memory_proportion`` of a tile's SRAM, as the option of that name does
in poplin; everything on the tile must fit its SRAM.
Unlike poplin, the planner does not split a product into serial passes when it
does not fit: it says so (``TileMemoryError``) and suggests what to change.

The estimate is exact for inputs made by :func:`create_matmul_inputs`: it
builds the same byte runs and vertex lists the engine will, and prices them with
the same functions.  Inputs mapped another way cost a different exchange (the
engine's profile shows it): usually more, e.g. when one tile holds a whole
operand; sometimes a little less, since a linear mapping spreads the sending
over more tiles.  The planner does not look at where the inputs are.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lib import codelets as C
from ..core import cost
from ..core.errors import TileMemoryError
from ..compile.exchange import Plan
from ..compile.sram import align_up
from .codelets import reduce_partials_half
from .layout import split_bounds

# The share of a tile's SRAM a matmul's temporary data may use: PopLibs' default for the
# poplin::matMul / convolution option availableMemoryProportion (PopLibs API reference,
# "Matrix multiply options": availableMemoryProportion, decimal between 0 and 1, [=0.6]).
AVAILABLE_MEMORY_PROPORTION = 0.6
PARTIAL_BYTES = 4        # partial sums are float32, also for half inputs (poplin's partialsType default)
MEMORY_CATEGORIES = ("A and B blocks", "partials", "output", "exchange buffers", "vertex state")
TEMPORARY = ("partials", "exchange buffers")
STEP_NAMES = ("partial products", "reduction")
_EXACT_CANDIDATES = 12     # best quick estimates re-priced exactly before choosing
_QUICK_MEMORY_SLACK = 1.15  # the quick memory estimate is rough: let the exact one judge splits near the limit


def _dtype_name(dtype) -> str:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float16):
        raise TypeError(f"matmul works on float32 or float16 tensors, got {dt}")
    return str(dt)


@dataclass(frozen=True)
class MatmulPlan:
    """How one (batched) matmul is cut over tiles, and what it should cost.

    ``splits = (m_parts, n_parts, k_parts)``; a batch is spread over ``groups``
    groups of ``m_parts * n_parts * k_parts`` tiles, each group taking every
    ``groups``-th batch element (``layers`` of them).  ``worker_split = (rows,
    cols)`` cuts each tile's block product into ``rows * cols`` vertices.
    ``steps`` holds the estimated phases of each program step; ``tile_bytes`` the
    busiest tile's memory by category.
    """
    spec: object = field(repr=False, compare=False)
    m: int
    k: int
    n: int
    batch: int
    dtype: str
    splits: tuple
    groups: int
    worker_split: tuple
    available_memory_proportion: float
    steps: tuple = field(repr=False)          # ((step name, {phase kind: cycles}), ...)
    tile_bytes: dict = field(repr=False)      # busiest tile: category -> bytes
    busiest_tile: int = 0
    temporary_bytes: int = 0                  # the most any tile needs for temporaries
    fits: bool = True

    # --- shape of the plan --------------------------------------------------------
    @property
    def tiles_per_group(self) -> int:
        sm, sn, sk = self.splits
        return sm * sn * sk

    @property
    def tiles_used(self) -> int:
        return self.groups * self.tiles_per_group

    @property
    def layers(self) -> int:
        """Batch elements per tile group (they share the group's compute sets)."""
        return -(-self.batch // self.groups)

    @property
    def out_dtype(self) -> str:
        return self.dtype

    @property
    def needs_reduction(self) -> bool:
        """A reduction step: partials over K to add, or float32 partials to round to float16."""
        return self.splits[2] > 1 or self.dtype == "float16"

    @property
    def m_bounds(self) -> np.ndarray:
        return split_bounds(self.m, self.splits[0])

    @property
    def n_bounds(self) -> np.ndarray:
        return split_bounds(self.n, self.splits[1])

    @property
    def k_bounds(self) -> np.ndarray:
        return split_bounds(self.k, self.splits[2])

    def block_shape(self) -> tuple:
        """The largest (rows of A, K depth, columns of B) block a tile multiplies."""
        sm, sn, sk = self.splits
        return -(-self.m // sm), -(-self.k // sk), -(-self.n // sn)

    def tile(self, b: int, i: int, j: int, d: int) -> int:
        """The tile computing batch element ``b``'s block ``(i, j)`` over K slice ``d``."""
        sm, sn, sk = self.splits
        return (b % self.groups) * self.tiles_per_group + (i * sn + j) * sk + d

    def a_host(self, i: int, d: int) -> int:
        """Which ``j`` holds block (i, d) of A (the other tiles of its row receive it)."""
        return _a_hosts(*self.splits)[i, d]

    def b_host(self, d: int, j: int) -> int:
        """Which ``i`` holds block (d, j) of B."""
        return _b_hosts(*self.splits)[d, j]

    # --- cost -----------------------------------------------------------------------
    @property
    def cycles(self) -> int:
        """Estimated cycles of the whole matmul program."""
        return sum(sum(phases.values()) for _, phases in self.steps)

    def cycles_by_phase(self) -> dict:
        out = {"compute": 0, "exchange": 0, "sync": 0}
        for _, phases in self.steps:
            for kind, c in phases.items():
                out[kind] += c
        return out

    @property
    def flops(self) -> int:
        return 2 * self.batch * self.m * self.k * self.n

    @property
    def seconds(self) -> float:
        return self.cycles / self.spec.clock_hz

    @property
    def peak_tile_bytes(self) -> int:
        return int(sum(self.tile_bytes.values()))

    def describe(self) -> str:
        """The plan in words and numbers: splits, blocks, memory and estimated cycles."""
        sm, sn, sk = self.splits
        mb, kb, nb = self.block_shape()
        rv, cv = self.worker_split
        spec = self.spec
        batch = f"{self.batch} x " if self.batch > 1 else ""
        lines = [f"Matmul plan: {batch}({self.m} x {self.k}) @ ({self.k} x {self.n}), {self.dtype}, "
                 f"on {self.tiles_used} of {spec.total_tiles} tiles ({spec.name})",
                 f"  splits: M in {sm} (blocks of up to {mb} rows), N in {sn} (up to {nb} columns), "
                 f"K in {sk} (up to {kb})",
                 f"  = {sm} x {sn} x {sk} = {self.tiles_per_group} tiles per group"
                 + (f"; {self.groups} groups, {self.layers} batch element(s) each" if self.batch > 1 else "")]
        per = " per batch element" if self.layers > 1 else " (one per worker)" \
            if rv * cv == spec.workers_per_tile else ""
        lines.append(f"  each tile: A block {mb} x {kb} @ B block {kb} x {nb} -> {mb} x {nb}, as "
                     f"{rv} x {cv} = {rv * cv} vertices{per}")
        if self.needs_reduction:
            what = f"the {sk} partials of each output block are summed by their {sk} tiles" if sk > 1 \
                else "float32 results are rounded to float16"
            lines.append(f"  reduction: {what}")
        cap = spec.sram_bytes_per_tile
        lines.append(f"  busiest tile {self.busiest_tile}: {self.peak_tile_bytes:,} B of {cap:,} B "
                     f"({100 * self.peak_tile_bytes / cap:.0f}%): "
                     + ", ".join(f"{k} {v:,}" for k, v in self.tile_bytes.items() if v))
        lines.append(f"  temporary memory: {self.temporary_bytes:,} B, limit "
                     f"{int(self.available_memory_proportion * cap):,} B "
                     f"(available_memory_proportion={self.available_memory_proportion:g})"
                     + ("" if self.fits else "  ** DOES NOT FIT **"))
        lines += ["", "Estimated cycles", f"  {'step':<20}{'sync':>9}{'exchange':>11}{'compute':>11}{'total':>11}"]
        for name, ph in self.steps:
            lines.append(f"  {name:<20}{ph['sync']:>9,}{ph['exchange']:>11,}{ph['compute']:>11,}"
                         f"{sum(ph.values()):>11,}")
        total = self.cycles
        peak = spec.flops_per_cycle(self.dtype) * spec.total_tiles * spec.clock_hz
        rate = self.flops / self.seconds if total else 0.0
        lines.append(f"  {'total':<20}{'':>31}{total:>11,}  = {self.seconds * 1e6:,.2f} us, "
                     f"{rate / 1e9:,.0f} GFLOP/s ({100 * rate / peak:.1f}% of the {spec.name}'s "
                     f"{self.dtype} peak)")
        return "\n".join(lines)

    def __str__(self):
        return self.describe()


# --- the geometry shared by the estimate and the graph builder -----------------------
def _a_hosts(sm, sn, sk) -> np.ndarray:
    """(sm, sk): the j whose tile holds block (i, d) of A; spread so hosts differ."""
    i, d = np.meshgrid(np.arange(sm), np.arange(sk), indexing="ij")
    return (i + d) % sn


def _b_hosts(sm, sn, sk) -> np.ndarray:
    """(sk, sn): the i whose tile holds block (d, j) of B, avoiding tiles that hold A."""
    a = _a_hosts(sm, sn, sk)
    out = np.zeros((sk, sn), np.int64)
    for d in range(sk):
        for j in range(sn):
            start = (j + d + 1) % sm
            out[d, j] = start
            for t in range(sm):
                i = (start + t) % sm
                if a[i, d] != j:
                    out[d, j] = i
                    break
    return out


class Geometry:
    """Every (batch element, block row, block column, K slice) *unit* of a plan, as arrays.

    Units are ordered b, i, j, d: the order in which :func:`ipukit.ops.matmul`
    adds vertices, so the workers' schedule (next free worker) is the same in the estimate and the graph.
    """

    def __init__(self, spec, m, k, n, batch, dtype, splits, groups, worker_split):
        self.spec, self.m, self.k, self.n, self.batch, self.dtype = spec, m, k, n, batch, dtype
        self.sm, self.sn, self.sk = sm, sn, sk = splits
        self.groups, (self.rv, self.cv) = groups, worker_split
        self.tpg = sm * sn * sk
        self.mbnd, self.nbnd, self.kbnd = split_bounds(m, sm), split_bounds(n, sn), split_bounds(k, sk)
        b, i, j, d = (a.ravel() for a in np.meshgrid(np.arange(batch), np.arange(sm), np.arange(sn),
                                                    np.arange(sk), indexing="ij"))
        self.b, self.i, self.j, self.d = b, i, j, d
        self.group, self.layer = b % groups, b // groups
        self.tile = self.group * self.tpg + (i * sn + j) * sk + d
        self.mb, self.nb, self.kb = np.diff(self.mbnd)[i], np.diff(self.nbnd)[j], np.diff(self.kbnd)[d]
        self.a_hosts, self.b_hosts = _a_hosts(sm, sn, sk), _b_hosts(sm, sn, sk)
        self.a_res = j == self.a_hosts[i, d]           # the unit's tile holds its A block
        self.b_res = i == self.b_hosts[d, j]
        self.bij = (b * sm + i) * sn + j                # which output block
        self.isz = np.dtype(dtype).itemsize
        self.half = np.dtype(dtype) == np.float16
        self.reduce = sk > 1 or self.half
        self.lmax = int(np.diff(self.mbnd).max() * np.diff(self.nbnd).max())

    def tile_of(self, b, i, j, d):
        return (b % self.groups) * self.tpg + (i * self.sn + j) * self.sk + d

    def panels(self):
        """Per unit and vertex: (unit, rows, cols, row offset, col offset, offset in the block)."""
        rv, cv = self.rv, self.cv
        u = np.repeat(np.arange(self.b.size), rv * cv)
        r = np.tile(np.repeat(np.arange(rv), cv), self.b.size)
        c = np.tile(np.arange(cv), self.b.size * rv)
        mb, nb = self.mb[u], self.nb[u]
        rows = mb // rv + (r < mb % rv)
        cols = nb // cv + (c < nb % cv)
        r0 = r * (mb // rv) + np.minimum(r, mb % rv)
        c0 = c * (nb // cv) + np.minimum(c, nb % cv)
        offset = r0 * nb + rows * c0                    # panels of a block are stored one after another
        return u, rows, cols, r0, c0, offset

    def slices(self):
        """Reduction: per unit, the slice [e0, e1) of its output block it sums."""
        length = self.mb * self.nb
        sk = self.sk
        base, extra = length // sk, length % sk
        e0 = self.d * base + np.minimum(self.d, extra)
        e1 = e0 + base + (self.d < extra)
        return e0, e1

    def reduce_vertices(self):
        """Per reduction vertex: (unit, start, end) within the output block, up to 6 per unit."""
        e0, e1 = self.slices()
        size = e1 - e0
        w = np.minimum(self.spec.workers_per_tile, size)
        u = np.repeat(np.arange(size.size), w)
        rank = np.arange(u.size) - np.repeat(np.cumsum(w) - w, w)
        base, extra = size[u] // w[u], size[u] % w[u]
        s0 = e0[u] + rank * base + np.minimum(rank, extra)
        return u, s0, s0 + base + (rank < extra)


# --- the exact estimate --------------------------------------------------------------
def _phases_cycles(phases) -> dict:
    out = {"sync": 0, "exchange": 0, "compute": 0}
    for p in phases:
        out[p.kind] += p.cycles
    return out


def evaluate(geo: Geometry):
    """Price a plan: ``(steps, memory)``, steps as ((name, phases), ...), memory (tiles, categories).

    Builds the byte runs of each exchange and the vertex lists of each compute set
    exactly as :func:`ipukit.ops.matmul` will, and prices them with :mod:`ipukit.cost`.
    """
    spec, T = geo.spec, geo.spec.total_tiles
    big = spec.replace(sram_bytes_per_tile=1 << 40)   # synthetic addresses never run off a tile
    U = geo.b.size
    steps = []
    # partial products: one vertex per panel; each tile receives the panels of A and B
    # it does not hold, once each however many of its vertices read them
    a_bytes, b_bytes = geo.mb * geo.kb * geo.isz, geo.kb * geo.nb * geo.isz
    amax, bmax = int(a_bytes.max()), int(b_bytes.max())
    b_region = -(-geo.batch // geo.groups) * amax           # synthetic addresses: A blocks, then B blocks
    src_a = geo.tile_of(geo.b, geo.i, geo.a_hosts[geo.i, geo.d], geo.d)
    src_b = geo.tile_of(geo.b, geo.b_hosts[geo.d, geo.j], geo.j, geo.d)
    u, rows, cols, r0, c0, _ = geo.panels()
    mm = C.matmul_partial_half if geo.half else C.matmul_partial
    v_cycles = np.asarray(mm.cycles(m=rows, k=geo.kb[u], n=cols, spec=spec), np.int64)
    kb = geo.kb[u]
    col = np.tile(np.arange(geo.cv), U * geo.rv)
    row = np.tile(np.repeat(np.arange(geo.rv), geo.cv), U)
    fa = ~geo.a_res[u] & (col == 0)            # the first vertex reading each A panel receives it
    fb = ~geo.b_res[u] & (row == 0)
    a_panel, b_panel = rows * kb * geo.isz, kb * cols * geo.isz
    gather = Plan(np.concatenate([src_a[u][fa], src_b[u][fb]]),
                  np.concatenate([(geo.layer[u] * amax + r0 * kb * geo.isz)[fa],
                                  (b_region + geo.layer[u] * bmax + c0 * kb * geo.isz)[fb]]),
                  np.concatenate([geo.tile[u][fa], geo.tile[u][fb]]), np.zeros(int(fa.sum() + fb.sum()), np.int64),
                  np.concatenate([a_panel[fa], b_panel[fb]]))
    phases = []
    ex_mm = cost.exchange_phase(big, T, gather) if len(gather) else None
    if ex_mm is not None:
        phases += [cost.sync_phase(spec, ex_mm.ipus), ex_mm]
    comp = cost.compute_phase(spec, T, geo.tile[u], v_cycles)
    steps.append((STEP_NAMES[0], phases + [cost.sync_phase(spec, comp.ipus), comp]))
    al = spec.alignment
    mm_buffers = (np.bincount(geo.tile[u][fa], weights=align_up(a_panel[fa], al), minlength=T)
                  + np.bincount(geo.tile[u][fb], weights=align_up(b_panel[fb], al), minlength=T)).astype(np.int64)
    state = np.bincount(geo.tile[u], minlength=T) * cost.vertex_state_bytes(3, 0)
    buffers = np.zeros(T, np.int64)
    if geo.reduce:
        ru, s0, s1 = geo.reduce_vertices()
        size = s1 - s0
        red = reduce_partials_half if geo.half else C.reduce_rows
        r_cycles = np.asarray(red.cycles(a=geo.sk * size, spec=spec, dtype=np.dtype(np.float32)), np.int64)
        rt = geo.tile[ru]
        state += np.bincount(rt, minlength=T) * cost.vertex_state_bytes(2, 0)
        phases = []
        local = None
        if geo.sk > 1:
            # each vertex gathers its slice from all k_parts tiles of its output block
            others = np.arange(geo.sk)
            src_d = np.broadcast_to(others, (ru.size, geo.sk))
            src_tile = geo.tile_of(geo.b[ru][:, None], geo.i[ru][:, None], geo.j[ru][:, None], src_d)
            src_off = (geo.layer[ru] * geo.lmax)[:, None] + s0[:, None] + 0 * src_d
            nbytes = np.broadcast_to((size * PARTIAL_BYTES)[:, None], src_d.shape)
            dst = np.broadcast_to(rt[:, None], src_d.shape)
            gather = Plan(src_tile.ravel(), (src_off * PARTIAL_BYTES).ravel(), dst.ravel().copy(),
                          np.zeros(src_d.size, np.int64), nbytes.ravel().copy())
            ex_r = cost.exchange_phase(big, T, gather)
            if ex_r is not None:
                phases += [cost.sync_phase(spec, ex_r.ipus), ex_r]
            local = np.bincount(rt, weights=size * PARTIAL_BYTES, minlength=T).astype(np.int64)
            buffers = np.bincount(rt, weights=align_up(geo.sk * size * PARTIAL_BYTES, spec.alignment),
                                  minlength=T).astype(np.int64)
        comp_r = cost.compute_phase(spec, T, rt, r_cycles, local)
        phases += [cost.sync_phase(spec, comp_r.ipus), comp_r]
        steps.append((STEP_NAMES[1], phases))
    buffers = np.maximum(buffers, mm_buffers)           # buffers live only during their compute set
    # memory per tile, as the engine lays it out (one aligned segment per variable per tile)

    def per_tile(mask, nbytes):
        return align_up(np.bincount(geo.tile[mask], weights=nbytes[mask], minlength=T).astype(np.int64), al)

    every = np.ones(U, bool)
    inputs = per_tile(geo.a_res, a_bytes) + per_tile(geo.b_res, b_bytes)
    osz = geo.isz
    if geo.reduce:
        e0, e1 = geo.slices()
        partials = per_tile(every, np.full(U, geo.lmax * PARTIAL_BYTES))
        output = per_tile(every, (e1 - e0) * osz)
    else:
        partials = np.zeros(T, np.int64)
        output = per_tile(every, geo.mb * geo.nb * osz)
    memory = np.stack([inputs, partials, output, buffers, align_up(state, al)], axis=1)
    return tuple((name, _phases_cycles(ph)) for name, ph in steps), memory


def _make_plan(spec, shape, dtype, splits, groups, wsplit, amp) -> MatmulPlan:
    m, k, n, batch = shape
    geo = Geometry(spec, m, k, n, batch, dtype, splits, groups, wsplit)
    steps, memory = evaluate(geo)
    totals = memory.sum(axis=1)
    temps = memory[:, [MEMORY_CATEGORIES.index(c) for c in TEMPORARY]].sum(axis=1)
    busiest = int(np.argmax(totals))
    cap = spec.sram_bytes_per_tile
    fits = bool(totals.max() <= cap and temps.max() <= amp * cap)
    return MatmulPlan(spec, m, k, n, batch, dtype, tuple(splits), groups, tuple(wsplit), amp, steps,
                      {c: int(memory[busiest, x]) for x, c in enumerate(MEMORY_CATEGORIES)}, busiest,
                      int(temps.max()), fits)


# --- the search ----------------------------------------------------------------------
def _worker_splits(workers: int) -> list:
    pairs = [(r, c) for r in range(1, workers + 1) for c in range(1, workers + 1) if r * c <= workers]
    return sorted(pairs, key=lambda p: (p[0] * p[1], -p[0]))


def _candidates(m, n, k, batch, tiles):
    """Every (groups, m_parts, n_parts, k_parts) that fits in ``tiles`` tiles."""
    out = []
    for groups in sorted({-(-batch // q) for q in range(1, batch + 1)}):
        if groups > tiles:
            continue
        per = tiles // groups
        sm = np.arange(1, min(m, per) + 1)
        sn = np.arange(1, min(n, per) + 1)
        SM, SN = np.meshgrid(sm, sn, indexing="ij")
        ok = SM * SN <= per
        SM, SN = SM[ok], SN[ok]
        count = np.minimum(per // (SM * SN), k)
        SMr, SNr = np.repeat(SM, count), np.repeat(SN, count)
        SK = np.arange(SMr.size) - np.repeat(np.cumsum(count) - count, count) + 1
        out.append(np.stack([np.full(SMr.size, groups), SMr, SNr, SK], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 4), np.int64)


def _quick(spec, m, k, n, batch, dtype, cand, amp):
    """Vectorised estimate of every candidate from its largest block.

    Returns (cycles, worker split index, memory excess); an excess above 1 means the
    split needs more than the memory limits allow.
    """
    G, sm, sn, sk = (cand[:, x].astype(np.int64) for x in range(4))
    W = spec.workers_per_tile
    q = -(-batch // G)
    mb, nb, kb = -(-m // sm), -(-n // sn), -(-k // sk)
    mmin, nmin = m // sm, n // sn
    isz = np.dtype(dtype).itemsize
    half = np.dtype(dtype) == np.float16
    splits = _worker_splits(W)
    best, pick = np.full(G.size, np.inf), np.zeros(G.size, np.int64)
    mm = C.matmul_partial_half if half else C.matmul_partial
    for x, (r, c) in enumerate(splits):
        vmax = mm.cycles(m=-(-mb // r), k=kb, n=-(-nb // c), spec=spec)
        load = np.where((r <= mmin) & (c <= nmin), -(-q * r * c // W) * vmax, np.inf)
        better = load < best
        best[better], pick[better] = load[better], x
    sync, xb, wb, al = spec.sync_cycles, spec.exchange_bytes_per_cycle, spec.memory_write_bytes_per_cycle, \
        spec.alignment
    r_of = np.array([r for r, _ in splits])[pick]
    c_of = np.array([c for _, c in splits])[pick]
    a, bb = mb * kb * isz, kb * nb * isz
    gathered = q * ((sn > 1) * a + (sm > 1) * bb)        # received by a tile that holds neither block
    total = np.where(gathered > 0, sync + -(-gathered // xb), 0) + sync + W * best
    need = (sk > 1) | half
    L = mb * nb
    s = -(-L // sk)
    w = np.minimum(W, s)
    ln = -(-s // w)
    red = reduce_partials_half if half else C.reduce_rows
    vr = np.asarray(red.cycles(a=sk * ln, spec=spec, dtype=np.dtype(np.float32)))
    comp_r = W * -(-q * w // W) * vr + (sk > 1) * -(-q * s * PARTIAL_BYTES // wb)
    exch_r = -(-q * np.maximum((sk - 1) * s, L - L // sk) * PARTIAL_BYTES // xb)
    total = total + need * (sync + comp_r) + (sk > 1) * (sync + exch_r)
    V = r_of * c_of
    state = align_up(q * (V * cost.vertex_state_bytes(3, 0) + need * w * cost.vertex_state_bytes(2, 0)), al)
    reduce_buffers = (sk > 1) * q * w * align_up(sk * ln * PARTIAL_BYTES, al)
    # For memory, a lower bound: when both A and B are cut, the host layout lets a tile
    # keep one of its two blocks at home, so it receives at least the smaller one. The
    # quick filter may let a split through that does not fit (the exact plan decides),
    # but never drops one that does.
    received = q * np.where((sn > 1) & (sm > 1), np.minimum(a, bb), (sn > 1) * a + (sm > 1) * bb)
    buffers = np.maximum(reduce_buffers, align_up(received, al))
    partials = need * align_up(q * L * PARTIAL_BYTES, al)
    output = align_up(q * np.where(need, s, L) * isz, al)
    held = align_up(q * a, al) + align_up(q * bb, al)              # a tile hosting both blocks
    temps = partials + buffers
    cap = spec.sram_bytes_per_tile
    busiest = partials + output + state + np.maximum(held + reduce_buffers, buffers)
    excess = np.maximum(temps / (amp * cap), busiest / cap)
    return total, pick, excess


def plan_matmul(spec, m: int, k: int, n: int, dtype="float32", batch: int = 1,
                available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION, tiles: int | None = None,
                splits=None, check_memory: bool = True) -> MatmulPlan:
    """The fastest way (by the cost model) to compute ``(m x k) @ (k x n)`` on ``spec``.

    Args:
        batch: independent products of the same shape (a batched matmul).
        available_memory_proportion: share of each tile's SRAM the matmul's
            temporaries (partial sums and exchange buffers) may use.
        tiles: use only the first ``tiles`` tiles (default: all).
        splits: force ``(m_parts, n_parts, k_parts)`` instead of searching, e.g.
            to compare with a naive split.  With ``check_memory=False`` a plan that
            does not fit is returned (``plan.fits`` is False) instead of raising.

    Raises:
        TileMemoryError: no split fits in the tiles' memory.
    """
    dtype = _dtype_name(dtype)
    for label, v in (("m", m), ("k", k), ("n", n), ("batch", batch)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"plan_matmul: {label} must be a positive int, got {v!r}")
    m, k, n, batch = int(m), int(k), int(n), int(batch)
    if not 0 < available_memory_proportion <= 1:
        raise ValueError(f"plan_matmul: available_memory_proportion must be in (0, 1], got "
                         f"{available_memory_proportion!r}")
    T = spec.total_tiles if tiles is None else int(tiles)
    if not 1 <= T <= spec.total_tiles:
        raise ValueError(f"plan_matmul: tiles={tiles} but the {spec.name} target has {spec.total_tiles}")
    shape, amp = (m, k, n, batch), float(available_memory_proportion)
    wsplits = _worker_splits(spec.workers_per_tile)
    if splits is not None:
        sm, sn, sk = (int(s) for s in splits)
        if not (1 <= sm <= m and 1 <= sn <= n and 1 <= sk <= k):
            raise ValueError(f"plan_matmul: splits {tuple(splits)} must cut M={m}, N={n}, K={k} into 1 to "
                             "that many parts each")
        if sm * sn * sk > T:
            raise ValueError(f"plan_matmul: splits {tuple(splits)} need {sm * sn * sk} tiles; {T} available")
        groups = min(batch, T // (sm * sn * sk))
        cand = np.array([[groups, sm, sn, sk]])
        _, pick, _ = _quick(spec, m, k, n, batch, dtype, cand, amp)
        plan = _make_plan(spec, shape, dtype, (sm, sn, sk), groups, wsplits[int(pick[0])], amp)
        if check_memory and not plan.fits:
            raise TileMemoryError(_no_fit(plan, "these splits"))
        return plan
    cand = _candidates(m, n, k, batch, T)
    cycles, pick, excess = _quick(spec, m, k, n, batch, dtype, cand, amp)
    tiles_used = cand[:, 0] * cand[:, 1] * cand[:, 2] * cand[:, 3]
    order = np.lexsort((cand[:, 3], cand[:, 2], cand[:, 1], tiles_used, cycles))
    order = order[excess[order] <= _QUICK_MEMORY_SLACK]       # the exact estimate has the last word
    best = None
    for start in range(0, min(order.size, 20 * _EXACT_CANDIDATES), _EXACT_CANDIDATES):
        for x in order[start:start + _EXACT_CANDIDATES]:
            G, sm, sn, sk = (int(v) for v in cand[x])
            plan = _make_plan(spec, shape, dtype, (sm, sn, sk), G, wsplits[int(pick[x])], amp)
            if plan.fits and (best is None or (plan.cycles, plan.tiles_used) < (best.cycles, best.tiles_used)):
                best = plan
        if best is not None:
            return best
    x = int(np.argmin(excess))             # the split closest to fitting, to say how far off it is
    smallest = _make_plan(spec, shape, dtype, tuple(int(v) for v in cand[x, 1:]), int(cand[x, 0]),
                          wsplits[int(pick[x])], amp)
    raise TileMemoryError(_no_fit(smallest, "any split"))


def _no_fit(plan: MatmulPlan, what: str) -> str:
    cap = plan.spec.sram_bytes_per_tile
    return (f"matmul ({plan.m} x {plan.k}) @ ({plan.k} x {plan.n})"
            + (f" x {plan.batch}" if plan.batch > 1 else "")
            + f" in {plan.dtype} does not fit with {what}: e.g. splits {plan.splits} need "
            f"{plan.peak_tile_bytes:,} B on tile {plan.busiest_tile} ({plan.temporary_bytes:,} B of temporaries, "
            f"limit {int(plan.available_memory_proportion * cap):,} B of its {cap:,} B). Use more tiles, a "
            "larger available_memory_proportion, float16, or split the product into smaller ones.")


__all__ = ["MatmulPlan", "plan_matmul", "Geometry", "evaluate", "MEMORY_CATEGORIES"]
