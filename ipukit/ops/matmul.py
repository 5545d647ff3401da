"""Matrix multiplication on tiles: ``out, prog = matmul(g, a, b)``, like ``poplin::matMul``.

The program has one or two steps (see :mod:`ipukit.ops.planner` for the plan):

1. **partial products** (an ``Execute``): every tile multiplies its block of A by
   its block of B with up to six ``matmul_partial`` vertices, one per worker.
   Blocks that live on another tile are gathered by the vertex fields in this
   step's exchange phase; a block needed by many tiles is broadcast, sent once,
   and vertices of one tile reading the same panel share the copy it receives;
2. **reduction** (an ``Execute``, when K is split or the inputs are float16):
   the tiles of each output block add up their partial sums, each one slice.

Inputs made by :func:`create_matmul_inputs` already live where the plan wants
them; any other mapping works too and pays a bigger operand exchange.

Layouts.  Each tile's share of B, of the output and of the partials is stored
as *panels*, one per vertex, one after another; so every vertex field that
lives on its tile is one contiguous run of memory, read in place.  The output tensor is
a view onto that store, like any Poplar tensor with a planned layout.
"""
from __future__ import annotations

import numpy as np

from ..lib import codelets as C
from ..core.programs import Copy, Execute, Sequence
from ..core.tensor import Tensor, concat
from .codelets import reduce_partials_half
from .layout import map_segments
from .planner import AVAILABLE_MEMORY_PROPORTION, Geometry, MatmulPlan, plan_matmul


def _check_operands(a, b, name):
    for label, t in (("a", a), ("b", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {label} must be an ipukit.Tensor, got {type(t).__name__}")
    if a.graph is not b.graph:
        raise ValueError(f"{name}: '{a.name}' and '{b.name}' belong to different graphs")
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: '{a.name}' is {a.dtype} but '{b.name}' is {b.dtype}; both must be float32 "
                        "or both float16")
    if a.dtype not in (np.float32, np.float16):
        raise TypeError(f"{name}: matmul needs float32 or float16 tensors, '{a.name}' is {a.dtype}")
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError(f"{name}: a and b must be 2-D matrices or 3-D batches of them; got '{a.name}' "
                         f"{a.shape} and '{b.name}' {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"{name}: inner dimensions differ: '{a.name}' {a.shape} @ '{b.name}' {b.shape}; "
                         "the last axis of a must equal the second-to-last axis of b")
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise ValueError(f"{name}: batch sizes differ: '{a.name}' {a.shape} and '{b.name}' {b.shape}")


def matmul(g, a: Tensor, b: Tensor, name: str = "matmul", plan: MatmulPlan | None = None,
           available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION, rearrange: bool = False):
    """``a @ b`` as NumPy's ``matmul`` computes it; returns ``(out, program)``.

    ``a`` (M x K) and ``b`` (K x N) may also be batches (B x M x K) and (B x K x N);
    a batch times a matrix is folded into one bigger matmul ((B*M) x K times
    K x N: plan it so).  float32 inputs give
    a float32 result; float16 inputs are multiplied in float32 (AMP FP16.32) and
    the result is rounded to float16.  ``plan`` defaults to
    ``plan_matmul(g.spec, M, K, N, ...)``.

    ``rearrange=True``: an operand that is not where the plan wants it (mapped
    linearly, say) is first copied, in one superstep, into the layout of
    :func:`create_matmul_inputs`; the copy's exchange moves only the elements
    whose tile changes, as contiguous runs, and the partial products then read
    their blocks in place.  Without it the vertex fields gather their blocks
    straight from wherever they are.  (Not for a 2-D operand shared by a batch.)
    """
    _check_operands(a, b, name)
    if a.ndim == 3 and b.ndim == 2:       # a batch of rows times one matrix: one big matmul
        bsz, m, k = a.shape
        out, prog = matmul(g, a.reshape(bsz * m, k), b, name, plan, available_memory_proportion)
        view = out.reshape(bsz, m, b.shape[1])
        view.name = out.name
        return view, prog
    batched = a.ndim == 3 or b.ndim == 3
    batch = a.shape[0] if a.ndim == 3 else b.shape[0] if b.ndim == 3 else 1
    m, k = a.shape[-2:]
    n = b.shape[-1]
    a3 = a if a.ndim == 3 else _broadcast_batch(a, batch)
    b3 = b if b.ndim == 3 else _broadcast_batch(b, batch)
    if plan is None:
        plan = plan_matmul(g.spec, m, k, n, a.dtype, batch, available_memory_proportion)
    elif (plan.m, plan.k, plan.n, plan.batch, plan.dtype) != (m, k, n, batch, str(a.dtype)):
        raise ValueError(f"{name}: the plan is for {plan.batch} x ({plan.m} x {plan.k}) @ ({plan.k} x {plan.n}) "
                         f"{plan.dtype}, but the operands are {batch} x ({m} x {k}) @ ({k} x {n}) {a.dtype}")
    if plan.spec != g.spec:
        raise ValueError(f"{name}: the plan was made for {plan.spec.describe()}, the graph is for "
                         f"{g.spec.describe()}")
    before = None
    if rearrange and (batch == 1 or (a.ndim == 3 and b.ndim == 3)):
        a3, b3, before = _rearranged(g, plan, a3, b3, name)
    out, prog = _build(g, plan, a3, b3, name)
    if before is not None:
        prog = Sequence(before, prog)
    if not batched:
        view = out.reshape(m, n)
        view.name = out.name
        out = view
    return out, prog


def _rearranged(g, plan, a3: Tensor, b3: Tensor, name: str):
    """``(a, b, copy)``: the operands in the plan's layout and one Copy that puts them there
    (None when both already are)."""
    ap, bp = create_matmul_inputs(g, plan.m, plan.k, plan.n, plan=plan, batch=plan.batch, name=f"{name}/arranged")
    src, dst = [], []
    out = []
    for t, planned in ((a3, ap), (b3, bp)):
        if np.array_equal(g.element_tiles(t), g.element_tiles(planned)):
            out.append(t)                  # already where the plan wants it: read in place
        else:
            src.append(t.flatten())
            dst.append(planned.flatten())
            out.append(planned)
    if not src:
        return a3, b3, None
    return out[0], out[1], Copy(concat(src), concat(dst))


def _broadcast_batch(t: Tensor, batch: int) -> Tensor:
    return Tensor(t.graph, np.broadcast_to(t.ids, (batch, *t.shape)), t.dtype, t.name)


def create_matmul_inputs(g, m: int, k: int, n: int, plan: MatmulPlan | None = None, dtype="float32",
                         batch: int | None = None, name: str = "matmul",
                         available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION):
    """New variables A (M x K) and B (K x N) mapped the way ``plan`` wants them.

    Like poplin's ``createMatMulInputLHS`` / ``RHS``: every block of A and of B
    lives, contiguous, on one of the tiles that multiply it, so the exchange
    only sends each block to the other tiles that need it, once.  With
    ``batch`` the tensors get a leading batch axis.  Pass the same ``plan`` (or
    the same arguments) to :func:`matmul`.
    """
    if plan is None:
        plan = plan_matmul(g.spec, m, k, n, dtype, batch or 1, available_memory_proportion)
    if (plan.m, plan.k, plan.n, plan.batch) != (m, k, n, batch or 1):
        raise ValueError(f"create_matmul_inputs: the plan is for {plan.batch} x ({plan.m} x {plan.k}) @ "
                         f"({plan.k} x {plan.n}), not {batch or 1} x ({m} x {k}) @ ({k} x {n})")
    geo = _geometry(plan)
    bsz = plan.batch
    a = g.add_variable((bsz, m, k), plan.dtype, name=f"{name}/A")
    for b in range(bsz):
        for i in range(geo.sm):
            for d in range(geo.sk):
                rows, depth = slice(*geo.mbnd[i:i + 2]), slice(*geo.kbnd[d:d + 2])
                g.set_tile_mapping(a[b, rows, depth], geo.tile_of(b, i, geo.a_hosts[i, d], d))
    if geo.cv == 1:
        bt = g.add_variable((bsz, k, n), plan.dtype, name=f"{name}/B")
        for b in range(bsz):
            for d in range(geo.sk):
                for j in range(geo.sn):
                    g.set_tile_mapping(bt[b, slice(*geo.kbnd[d:d + 2]), slice(*geo.nbnd[j:j + 2])],
                                       geo.tile_of(b, geo.b_hosts[d, j], j, d))
    else:
        # panels of columns, one per vertex, each contiguous
        pos, block_start = panel_positions(geo.kbnd, geo.nbnd, 1, geo.cv)
        store = g.add_variable(bsz * k * n, plan.dtype, name=f"{name}/B")
        b, d, j = (x.ravel() for x in np.meshgrid(np.arange(bsz), np.arange(geo.sk), np.arange(geo.sn),
                                                  indexing="ij"))
        sizes = np.diff(geo.kbnd)[d] * np.diff(geo.nbnd)[j]
        map_segments(g, store, b * k * n + block_start[d, j], sizes, geo.tile_of(b, geo.b_hosts[d, j], j, d))
        ids = store.ids.reshape(bsz, k * n)[:, pos.reshape(-1)].reshape(bsz, k, n)
        bt = Tensor(g, ids, store.dtype, f"{name}/B")
    if batch is None:
        a, bt = a.reshape(m, k), bt.reshape(k, n)
        a.name, bt.name = f"{name}/A", f"{name}/B"
    return a, bt


def _geometry(plan: MatmulPlan) -> Geometry:
    return Geometry(plan.spec, plan.m, plan.k, plan.n, plan.batch, plan.dtype, plan.splits, plan.groups,
                    plan.worker_split)


def panel_positions(row_bounds, col_bounds, rsplit, csplit):
    """Where each element of a blocked matrix sits in a store of panels.

    The store holds the blocks one after another (block rows, then block
    columns); each block as ``rsplit x csplit`` panels one after another; each
    panel row by row.  Returns ``(pos, block_start)``: ``pos[r, c]`` is the store
    position of element (r, c), ``block_start[bi, bj]`` where each block begins.
    """
    rows, cols = int(row_bounds[-1]), int(col_bounds[-1])
    heights, widths = np.diff(row_bounds), np.diff(col_bounds)
    sizes = heights[:, None] * widths[None, :]
    block_start = (np.cumsum(sizes.reshape(-1)) - sizes.reshape(-1)).reshape(sizes.shape)

    def axis(bounds, parts, n):
        idx = np.arange(n)
        blk = np.searchsorted(bounds, idx, side="right") - 1
        size = np.diff(bounds)[blk]
        inner = idx - bounds[blk]
        base, extra = size // parts, size % parts
        # panel p covers [p*base + min(p, extra), ...) of the block
        big = (base + 1) * extra
        p = np.where(inner < big, inner // np.maximum(base + 1, 1), extra + (inner - big) // np.maximum(base, 1))
        start = p * base + np.minimum(p, extra)
        length = base + (p < extra)
        return blk, inner - start, start, length

    bi, ri, r0, rh = axis(row_bounds, rsplit, rows)
    bj, ci, c0, cw = axis(col_bounds, csplit, cols)
    pos = (block_start[bi[:, None], bj[None, :]] + r0[:, None] * widths[bj][None, :]
           + rh[:, None] * c0[None, :] + ri[:, None] * cw[None, :] + ci[None, :])
    return pos, block_start


def _build(g, plan: MatmulPlan, a3: Tensor, b3: Tensor, name: str):
    geo = _geometry(plan)
    bsz, m, n = plan.batch, plan.m, plan.n
    dtype = np.dtype(plan.dtype)
    U = geo.b.size
    # the output: a store of panels, block by block, each block cut in k_parts slices
    pos, block_start = panel_positions(geo.mbnd, geo.nbnd, geo.rv, geo.cv)
    c_store = g.add_variable(bsz * m * n, dtype, name=f"{name}/out")
    c_base = geo.b * m * n + block_start[geo.i, geo.j]          # per unit: its block in the store
    if geo.reduce:
        e0, e1 = geo.slices()
    else:
        e0, e1 = np.zeros(U, np.int64), geo.mb * geo.nb
    map_segments(g, c_store, c_base + e0, e1 - e0, geo.tile)
    out_ids = c_store.ids.reshape(bsz, m * n)[:, pos.reshape(-1)].reshape(bsz, m, n)
    out = Tensor(g, out_ids, dtype, f"{name}/out")

    partials = None
    if geo.reduce:
        partials = g.add_variable((bsz * geo.sm * geo.sn, geo.sk, geo.lmax), np.float32, name=f"{name}/partials")
        map_segments(g, partials.flatten(), (geo.bij * geo.sk + geo.d) * geo.lmax, np.full(U, geo.lmax), geo.tile)

    # operands: the vertex fields read the blocks (in place on their host tile); the
    # vertices of a tile that read the same panel share the copy the exchange brings
    a_view, b_view = [None] * U, [None] * U
    for u in range(U):
        b, i, j, d = (int(x[u]) for x in (geo.b, geo.i, geo.j, geo.d))
        rows, depth, cols = slice(*geo.mbnd[i:i + 2]), slice(*geo.kbnd[d:d + 2]), slice(*geo.nbnd[j:j + 2])
        a_view[u] = a3[b, rows, depth]
        blk_b = b3[b, depth, cols]
        b_view[u] = [blk_b[:, slice(*c)] for c in _parts(blk_b.shape[1], geo.cv)]

    # partial products: one vertex per panel, in the order the plan priced
    mm = g.add_compute_set(f"{name}/partial products")
    codelet = C.matmul_partial_half if geo.half else C.matmul_partial
    pu, prow, pcol, pr0, pc0, poff = geo.panels()
    panel_c = np.tile(np.arange(geo.cv), U * geo.rv)
    for x in range(pu.size):
        u = int(pu[x])
        r0, r1 = int(pr0[x]), int(pr0[x] + prow[x])
        av = a_view[u][r0:r1]
        bv = b_view[u][int(panel_c[x])]
        o0, o1 = int(poff[x]), int(poff[x] + prow[x] * pcol[x])
        if partials is not None:
            ov = partials[int(geo.bij[u]), int(geo.d[u]), o0:o1]
        else:
            ov = c_store[int(c_base[u]) + o0:int(c_base[u]) + o1]
        g.add_vertex(mm, codelet, tile=int(geo.tile[u]), a=av, b=bv, out=ov.reshape(int(prow[x]), int(pcol[x])))
    program = [Execute(mm)]

    if geo.reduce:
        red = g.add_compute_set(f"{name}/reduce")
        rcodelet = reduce_partials_half if geo.half else C.reduce_rows
        ru, s0, s1 = geo.reduce_vertices()
        for x in range(ru.size):
            u = int(ru[x])
            lo, hi = int(s0[x]), int(s1[x])
            g.add_vertex(red, rcodelet, tile=int(geo.tile[u]), a=partials[int(geo.bij[u]), :, lo:hi],
                         out=c_store[int(c_base[u]) + lo:int(c_base[u]) + hi])
        program.append(Execute(red))
    return out, Sequence(*program)


def _parts(size: int, parts: int):
    base, extra = divmod(size, parts)
    bounds = np.concatenate(([0], np.cumsum(base + (np.arange(parts) < extra))))
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
