"""Compiling one compute set: where each vertex field is, what moves, what it costs.

For every field of every vertex: is it already on the vertex's tile, in order
(used in place)?  If not, a buffer on the tile receives it in the exchange
before the compute phase and, for outputs, sends it back after.  Vertices are
grouped by codelet and field types into flat tables the executors run in one
loop.  Conflicts (two writers, a reader of what another vertex writes, a write
to a constant) are refused here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import cost
from ..core.errors import VertexFieldError, WriteConflictError
from .exchange import Plan, merge_runs
from ..core.graph import ComputeSet
from .sram import align_up
from ..core.intervals import first_overlap, locate, self_overlap

MAX_NDIM = 4


@dataclass(eq=False)
class Group:
    """The vertices of one compute set that share a codelet and field types.

    ``table[v, j]`` describes field ``j`` of vertex ``v``: byte offset in the
    flat SRAM, element count, then the shape padded with 1s to 4 axes.
    """
    codelet: object
    vertices: list
    dtypes: tuple            # per tensor field
    ndims: tuple             # per tensor field (0-d fields arrive as 1-element vectors)
    scalar_slots: tuple      # per scalar parameter: ("f"|"i"|"b", column)
    table: np.ndarray        # (vertices, fields, 6) int64
    sf: np.ndarray           # (vertices, >=1) float64 scalars
    si: np.ndarray           # (vertices, >=1) int64 scalars (ints and bools)

    @property
    def signature(self) -> tuple:
        return (tuple(d.str for d in self.dtypes), self.ndims, tuple(k for k, _ in self.scalar_slots))


@dataclass(eq=False)
class ComputePlan:
    compute_set: ComputeSet
    groups: list
    gather: Plan                # exchange in (and on-tile gathers) before compute: what is charged
    gather_run: Plan            # the part of it the emulator really copies (see plan_compute_set)
    scatter: Plan               # write-backs after compute
    vertex_tiles: np.ndarray
    vertex_cycles: np.ndarray   # per vertex, worker cycles (a MultiVertex: each worker's share)
    buffer_bytes: np.ndarray    # (tiles,) exchange-buffer bytes this compute set needs
    phases: list = field(default_factory=list)
    vertex_multi: np.ndarray | None = None   # per vertex: a MultiVertex (run by all the tile's workers)



def plan_compute_set(graph, cs, layout, buffer_base) -> ComputePlan:
    """Where each vertex field is, what must be gathered and written back, and the cost."""
    spec, num_tiles = graph.spec, graph.num_tiles
    stride = spec.sram_bytes_per_tile
    verts = cs.vertices
    vtiles = np.fromiter((v.tile for v in verts), np.int64, len(verts))
    cycles = np.empty(len(verts), np.int64)
    views, inst_v, inst_isz, inst_reads, inst_writes, inst_shape, inst_field = [], [], [], [], [], [], []
    for vi, v in enumerate(verts):
        counts, dtype = {}, None
        for f in v.codelet.fields:
            t = v.tensors[f.name]
            views.append(t)
            inst_v.append(vi)
            inst_isz.append(t.dtype.itemsize)
            inst_reads.append(f.reads)
            inst_writes.append(f.writes)
            inst_shape.append(t.shape)
            inst_field.append(f.name)
            counts[f.name] = t.size
            if dtype is None:
                dtype = t.dtype
        cycles[vi] = v.codelet.estimate(counts, v.dims, v.scalars, spec, dtype)
    n_inst = len(views)
    inst_v = np.asarray(inst_v, np.int64)
    inst_n = np.fromiter((t.size for t in views), np.int64, n_inst)
    inst_isz = np.asarray(inst_isz, np.int64)
    inst_reads = np.asarray(inst_reads, bool)
    inst_writes = np.asarray(inst_writes, bool)
    inst_tile = vtiles[inst_v] if n_inst else np.zeros(0, np.int64)

    p = locate(graph, layout, views)
    writes = np.flatnonzero(inst_writes[p.owner])
    hit = graph.first_constant(p.start[writes], p.n[writes])
    if hit is not None:
        i = int(writes[hit[0]])
        v = cs.vertices[inst_v[p.owner[i]]]
        raise VertexFieldError(f"{v.where()}: field '{inst_field[p.owner[i]]}' writes to constant "
                               f"{graph.describe_element(hit[1])}; constants are read-only. Create the "
                               "tensor with graph.add_variable and write its first values with engine.write.")
    _check_conflicts(graph, cs, p, inst_v, inst_reads, inst_writes, inst_field)

    # a field is contiguous if its pieces follow each other in one tile's memory
    isz = inst_isz[p.owner]
    gap = np.zeros(p.owner.size, bool)
    gap[1:] = (p.owner[1:] == p.owner[:-1]) & ((p.tile[1:] != p.tile[:-1])
                                                 | (p.addr[1:] != p.addr[:-1] + p.n[:-1] * isz[:-1]))
    contiguous = np.bincount(p.owner, weights=gap, minlength=n_inst) == 0
    has = np.bincount(p.owner, minlength=n_inst) > 0
    first = np.searchsorted(p.owner, np.arange(n_inst))[has]
    first_tile, first_addr = inst_tile.copy(), np.zeros(n_inst, np.int64)
    first_tile[has], first_addr[has] = p.tile[first], p.addr[first]
    in_place = contiguous & (first_tile == inst_tile)
    # An input stored contiguously on another tile is still charged its exchange and
    # its buffer, but the emulator reads it where it lives instead of copying it: no
    # vertex may write what another reads in the same compute set, so the bytes it
    # sees are exactly those a copy would hold.
    read_at_home = contiguous & ~in_place & ~inst_writes

    # Vertices on one tile that read the same remote view share one received copy.
    shared = _shared_inputs(views, inst_tile, ~in_place & ~inst_writes)
    owner_of = np.arange(n_inst)
    owner_of[list(shared)] = list(shared.values())
    duplicate = owner_of != np.arange(n_inst)

    # exchange buffers for fields that are not in place, packed per tile in vertex order
    sizes = np.where(in_place | duplicate, 0, align_up(inst_n * inst_isz, spec.alignment))
    order = np.argsort(inst_tile, kind="stable")
    t_sorted = inst_tile[order]
    excl = np.cumsum(sizes[order]) - sizes[order]
    buf_off = np.empty(n_inst, np.int64)
    buf_off[order] = excl - excl[np.searchsorted(t_sorted, t_sorted, side="left")]
    buffer_bytes = np.bincount(inst_tile, weights=sizes, minlength=num_tiles).astype(np.int64)
    buf_addr = (buffer_base[inst_tile] + buf_off)[owner_of]
    offset = np.where(in_place | read_at_home, first_tile * stride + first_addr, inst_tile * stride + buf_addr)

    o = p.owner
    p_buf = buf_addr[o] + p.pos * isz
    p_tile = inst_tile[o]
    mapped = p.tile >= 0          # always true once the mapping is checked (Engine)
    m = (~in_place & ~duplicate & inst_reads)[o] & mapped
    gather = merge_runs(p.tile[m], p.addr[m], p_tile[m], p_buf[m], p.n[m] * isz[m])
    m &= ~read_at_home[o]
    gather_run = merge_runs(p.tile[m], p.addr[m], p_tile[m], p_buf[m], p.n[m] * isz[m])
    m = (~in_place & inst_writes)[o] & mapped
    scatter = merge_runs(p_tile[m], p_buf[m], p.tile[m], p.addr[m], p.n[m] * isz[m])

    dims = np.ones((n_inst, MAX_NDIM), np.int64)
    for i, shape in enumerate(inst_shape):
        dims[i, :len(shape)] = shape
    groups = _make_groups(verts, offset, inst_n, dims, spec.workers_per_tile)
    multi = np.fromiter((v.codelet.multi for v in verts), bool, len(verts))
    plan = ComputePlan(cs, groups, gather, gather_run, scatter, vtiles, cycles, buffer_bytes, vertex_multi=multi)
    plan.phases = _execute_phases(spec, num_tiles, plan)
    return plan


def _shared_inputs(views, inst_tile, candidates) -> dict:
    """{instance: first instance} for read-only fields that repeat a view on the same tile."""
    first, shared = {}, {}
    for i in np.flatnonzero(candidates):
        key = (int(inst_tile[i]), views[i].key())
        shared_with = first.setdefault(key, int(i))
        if shared_with != i:
            shared[int(i)] = shared_with
    return shared


def local_bytes(plan: Plan, num_tiles) -> np.ndarray:
    local = plan.src_tile == plan.dst_tile
    return np.bincount(plan.dst_tile[local], weights=plan.nbytes[local], minlength=num_tiles).astype(np.int64)


def _execute_phases(spec, num_tiles, plan: ComputePlan) -> list:
    phases = []
    ex_in = cost.exchange_phase(spec, num_tiles, plan.gather)
    if ex_in:
        phases += [cost.sync_phase(spec, ex_in.ipus), ex_in]
    local = local_bytes(plan.gather, num_tiles) + local_bytes(plan.scatter, num_tiles)
    comp = cost.compute_phase(spec, num_tiles, plan.vertex_tiles, plan.vertex_cycles, local, plan.vertex_multi)
    phases += [cost.sync_phase(spec, comp.ipus), comp]
    ex_out = cost.exchange_phase(spec, num_tiles, plan.scatter)
    if ex_out:
        phases += [cost.sync_phase(spec, ex_out.ipus), ex_out]
    return phases


def _make_groups(verts, offset, inst_n, dims, workers) -> list:
    """The vertices grouped for the executors; a MultiVertex gets one row per worker,
    whose ``worker`` and ``workers`` scalars say which share that call does."""
    keys = {}
    first_inst = 0
    for vi, v in enumerate(verts):
        c = v.codelet
        nf = len(c.fields)
        dtypes = tuple(v.tensors[f.name].dtype for f in c.fields)
        ndims = tuple(max(1, v.tensors[f.name].ndim) for f in c.fields)
        kinds = tuple("i" if s not in v.scalars else "b" if isinstance(v.scalars[s], bool)
                      else "i" if isinstance(v.scalars[s], int) else "f" for s in c.scalars)
        keys.setdefault((id(c), dtypes, ndims, kinds), []).append((vi, first_inst))
        first_inst += nf
    groups = []
    for (_, dtypes, ndims, kinds), members in keys.items():
        c = verts[members[0][0]].codelet
        nf = len(c.fields)
        shares = workers if c.multi else 1
        vis = np.repeat(np.array([m[0] for m in members], np.int64), shares)
        firsts = np.repeat(np.array([m[1] for m in members], np.int64), shares)
        share = np.tile(np.arange(shares), len(members))
        inst = firsts[:, None] + np.arange(nf)[None, :]              # (vertices, fields)
        table = np.empty((len(vis), nf, 2 + MAX_NDIM), np.int64)
        table[:, :, 0] = offset[inst]
        table[:, :, 1] = inst_n[inst]
        table[:, :, 2:] = dims[inst]
        slots, nfs, nis = [], 0, 0
        for k in kinds:
            if k == "f":
                slots.append(("f", nfs))
                nfs += 1
            else:
                slots.append((k, nis))
                nis += 1
        sf = np.zeros((len(vis), max(nfs, 1)), np.float64)
        si = np.zeros((len(vis), max(nis, 1)), np.int64)
        for row, vi in enumerate(vis):
            v = verts[vi]
            given = v.scalars | ({"worker": int(share[row]), "workers": workers} if c.multi else {})
            for s, (k, col) in zip(c.scalars, slots):
                (sf if k == "f" else si)[row, col] = given[s]
        groups.append(Group(c, [verts[i] for i in vis], dtypes, ndims, tuple(slots), table, sf, si))
    return groups


def _check_conflicts(graph, cs, p, inst_v, inst_reads, inst_writes, inst_field):
    """Two writers of one element, or a reader of what another vertex writes: refuse.

    On the IPU the vertices of a compute set run at the same time, so either
    would make the result depend on timing.
    """
    w = p.select(inst_writes[p.owner])
    pair = self_overlap(w.start, w.end)
    if pair:
        a, b = w.owner[pair[0]], w.owner[pair[1]]
        va, vb = cs.vertices[inst_v[a]], cs.vertices[inst_v[b]]
        elem = graph.describe_element(max(w.start[pair[0]], w.start[pair[1]]))
        who = (f"{va.where()} writes {elem} twice (fields '{inst_field[a]}' and '{inst_field[b]}')"
               if va is vb else f"{va.where()} (field '{inst_field[a]}') and {vb.where()} (field "
               f"'{inst_field[b]}') both write {elem}")
        raise WriteConflictError(f"{who}. The vertices of a compute set run at the same time, so the "
                                 "result would depend on timing: give each vertex its own part of the output.")
    r = p.select(inst_reads[p.owner] & ~inst_writes[p.owner])
    pair = first_overlap(r.start, r.end, w.start, w.end,
                         ignore=lambda i, j: inst_v[r.owner[i]] == inst_v[w.owner[j]])
    if pair:
        i, j = pair
        reader, writer = cs.vertices[inst_v[r.owner[i]]], cs.vertices[inst_v[w.owner[j]]]
        elem = graph.describe_element(max(r.start[i], w.start[j]))
        raise WriteConflictError(
            f"{reader.where()} reads {elem} (field '{inst_field[r.owner[i]]}') which {writer.where()} writes "
            f"(field '{inst_field[w.owner[j]]}') in the same compute set. They run at the same time, so what "
            "is read would depend on timing: write to a separate tensor, or put the two vertices in "
            "different compute sets.")


def worker_schedule(plan, spec, tile: int) -> list:
    """``(worker, start, length, vertex)`` in tile cycles for every vertex on ``tile``, in order.

    Each vertex starts on the next free worker (:func:`ipukit.cost.list_schedule`);
    a MultiVertex appears once per worker.  The pictures and the trace export draw
    this schedule.
    """
    w = spec.workers_per_tile
    on_tile = np.flatnonzero(plan.vertex_tiles == tile)
    multi = plan.vertex_multi[on_tile] if plan.vertex_multi is not None else None
    shares = cost.list_schedule(plan.vertex_cycles[on_tile], multi, w)
    vertices = plan.compute_set.vertices
    return [(worker, w * start, w * length, vertices[v])
            for v, runs in zip(on_tile, shares, strict=True) for worker, start, length in runs]
