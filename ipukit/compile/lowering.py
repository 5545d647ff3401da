"""Compiling a graph and its programs: addresses, exchange plans, steps.

Everything here runs once, when an ``Engine`` is built, and is vectorised with
NumPy so that graphs of 100,000 vertices compile in seconds.  The output is
plain arrays that the executors (``reference.py``, ``fast.py``) run without
looking at Python objects per vertex.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import cost
from .compute_set import ComputePlan, local_bytes, plan_compute_set
from ..core.errors import (CopyOverlapError, HostTransferError, MappingError, ProgramError,
                     TileMemoryError, WriteConflictError)
from .exchange import Plan, merge_runs
from ..core.graph import ComputeSet, HostStream, RemoteBuffer
from ..core.host_values import advice, first_changed, host_values
from .sram import CATEGORIES, DataRuns, MemoryReport, align_up, allocate_data
from ..core.intervals import first_overlap, id_runs, locate, self_overlap, sorted_unique
from ..core.programs import Copy, Execute, If, Program, Repeat, RepeatWhileTrue, Sequence
from ..core.tensor import Tensor

@dataclass(eq=False)
class Step:
    """One executable step of a program; its phases are its (static) cost."""
    kind: str                   # "execute", "copy", "host", "remote" or "control"
    name: str
    phases: list
    compute: ComputePlan | None = None
    plan: Plan | None = None                # Copy between tensors
    stream: HostStream | RemoteBuffer | None = None   # host stream / remote buffer copies
    tensor: Tensor | None = None            # the tensor side of a stream copy / predicate
    where: Placement | None = None          # where `tensor` sits in SRAM


@dataclass(eq=False)
class Layout:
    data: DataRuns              # where every element lives (runs of one variable on one tile)
    report: MemoryReport | None
    compute: dict               # ComputeSet -> ComputePlan

    @property
    def breaks(self) -> np.ndarray:
        return self.data.breaks

    def lookup(self, ids):
        """(tile, byte address) of each global element id."""
        return self.data.lookup(ids)


@dataclass(eq=False)
class Placement:
    """Where a tensor's elements sit in the flat SRAM, for host reads and writes.

    Runs of consecutive elements are copied as slices; a tensor scattered in
    many short runs gets an element index instead (a few bytes per element, but
    one NumPy call rather than a Python loop over thousands of tiny slices).
    """
    dtype: np.dtype
    shape: tuple
    pos: np.ndarray        # (runs,) first position in the tensor flattened
    n: np.ndarray          # (runs,) elements
    offset: np.ndarray     # (runs,) byte offset in the flat SRAM
    tiles: np.ndarray      # (runs,) tile of each run
    index: np.ndarray | None = None

    SLICES = 512           # copy slice by slice up to this many runs...
    SHORT = 64             # ...or when runs are this long on average

    def __post_init__(self):
        runs = len(self.n)
        if runs > self.SLICES and self.n.sum() < self.SHORT * runs:   # runs sorted by position, covering all
            within = np.arange(int(self.n.sum())) - np.repeat(self.pos, self.n)
            self.index = np.repeat(self.offset // self.dtype.itemsize, self.n) + within

    def write(self, mem, flat) -> None:
        typed = mem.view(self.dtype)
        if self.index is not None:
            typed[self.index] = flat
            return
        isz = self.dtype.itemsize
        for p, n, o in zip(self.pos.tolist(), self.n.tolist(), self.offset.tolist()):
            typed[o // isz:o // isz + n] = flat[p:p + n]

    def read(self, mem) -> np.ndarray:
        typed = mem.view(self.dtype)
        if self.index is not None:
            return typed[self.index].reshape(self.shape)
        out = np.empty(int(self.n.sum()), self.dtype)
        isz = self.dtype.itemsize
        for p, n, o in zip(self.pos.tolist(), self.n.tolist(), self.offset.tolist()):
            out[p:p + n] = typed[o // isz:o // isz + n]
        return out.reshape(self.shape)


def placement(graph, layout, t: Tensor) -> Placement:
    p = locate(graph, layout, [t])
    order = np.argsort(p.pos, kind="stable")
    p = p.select(order)
    stride = graph.spec.sram_bytes_per_tile
    return Placement(t.dtype, t.shape, p.pos, p.n, p.tile * stride + p.addr, p.tile)


# --- layout ----------------------------------------------------------------------
def walk(program):
    """Every node of a program tree, checking that each is a program."""
    if not isinstance(program, Program):
        raise ProgramError(f"expected a program (Execute, Copy, Sequence, Repeat, RepeatWhileTrue, If), "
                           f"got {type(program).__name__}: {program!r}")
    yield program
    if isinstance(program, Sequence):
        for p in program.programs:
            yield from walk(p)
    elif isinstance(program, Repeat):
        yield from walk(program.body)
    elif isinstance(program, RepeatWhileTrue):
        yield from walk(program.cond)
        yield from walk(program.body)
    elif isinstance(program, If):
        yield from walk(program.then)
        yield from walk(program.else_)


def used_compute_sets(graph, programs) -> list:
    if programs is None:
        return list(graph.compute_sets)
    seen = {}
    for prog in programs:
        for node in walk(prog):
            if isinstance(node, Execute):
                cs = node.compute_set
                if not isinstance(cs, ComputeSet) or cs.graph is not graph:
                    raise ProgramError(f"Execute({cs!r}): not a compute set of this graph")
                seen[id(cs)] = cs
    return list(seen.values())


def check_mapping(graph) -> None:
    problems = []
    for var in graph.variables:
        if var.size == 0:
            continue
        starts, ends, tiles = graph.tile_map.runs(var.base, var.base + var.size)
        holes = tiles < 0
        unmapped = int((ends - starts)[holes].sum())
        if unmapped:
            how = "not mapped to any tile" if unmapped == var.size else \
                f"only partly mapped: {unmapped:,} of {var.size:,} elements have no tile, " \
                f"the first is {graph.describe_element(starts[holes][0])}"
            problems.append(f"tensor '{var.name}' {var.shape} is {how}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise MappingError("; ".join(problems[:3]) + more + ". Every element must live on a tile: call "
                           "graph.set_tile_mapping(t, tile) or graph.map_linearly(t).")


def plan_layout(graph, programs=None, strict=True) -> Layout:
    """Place tensors, vertex state and exchange buffers; plan every compute set."""
    spec, num_tiles = graph.spec, graph.num_tiles
    if strict:
        check_mapping(graph)
    compute_sets = used_compute_sets(graph, programs)
    runs, data_end, segments = allocate_data(graph)
    layout = Layout(runs, None, {})
    state = np.zeros(num_tiles, np.int64)
    for cs in compute_sets:
        for v in cs.vertices:
            state[v.tile] += cost.vertex_state_bytes(len(v.codelet.fields), len(v.codelet.scalars))
    state = align_up(state, spec.alignment)
    buffer_base = data_end + state
    buffers = np.zeros(num_tiles, np.int64)
    for cs in compute_sets:
        plan = plan_compute_set(graph, cs, layout, buffer_base)
        layout.compute[cs] = plan
        buffers = np.maximum(buffers, plan.buffer_bytes)
    layout.report = report = MemoryReport(spec, np.stack([data_end, state, buffers], axis=1),
                                          segments, [v.name for v in graph.variables])
    assert report.by_category.shape[1] == len(CATEGORIES)
    if strict and len(report.over_tiles):
        raise TileMemoryError(report.overflow_message(), report)
    return layout


# --- programs -------------------------------------------------------------------
STEP, SEQ, REPEAT, WHILE, IF = range(5)


class Lowering:
    """Turns a program tree into nested tuples over a flat list of steps."""

    def __init__(self, graph, layout: Layout):
        self.graph = graph
        self.layout = layout
        self.steps: list[Step] = []
        self.stride = graph.spec.sram_bytes_per_tile

    def lower(self, p):
        if isinstance(p, Sequence):
            return (SEQ, tuple(self.lower(c) for c in p.programs))
        if isinstance(p, Execute):
            plan = self.layout.compute[p.compute_set]
            n = len(p.compute_set.vertices)
            return self._step(Step("execute", f"Execute '{p.compute_set.name}' ({n} vertices)",
                                   plan.phases, compute=plan))
        if isinstance(p, Copy):
            return self._copy(p)
        if isinstance(p, Repeat):
            if not isinstance(p.count, (int, np.integer)) or p.count < 0:
                raise ProgramError(f"Repeat count must be a non-negative int, got {p.count!r}")
            return (REPEAT, int(p.count), self.lower(p.body))
        if isinstance(p, RepeatWhileTrue):
            pred = self._predicate(p.predicate, "RepeatWhileTrue")
            return (WHILE, self.lower(p.cond), pred, self.lower(p.body))
        if isinstance(p, If):
            pred = self._predicate(p.predicate, "If")
            return (IF, pred, self.lower(p.then), self.lower(p.else_))
        raise ProgramError(f"expected a program, got {type(p).__name__}: {p!r}")

    def _step(self, step: Step):
        self.steps.append(step)
        return (STEP, len(self.steps) - 1)

    def placement(self, t: Tensor) -> Placement:
        return placement(self.graph, self.layout, t)

    def _predicate(self, t, where):
        if not isinstance(t, Tensor) or t.graph is not self.graph:
            raise ProgramError(f"{where}: the predicate must be a tensor of this graph, got {t!r}")
        if t.size != 1:
            raise ProgramError(f"{where}: predicate '{t.name}' has {t.size} elements; it must be a single "
                               "element (a 1-element variable, or a view like t[0])")
        spec = self.graph.spec
        return self._step(Step("control", f"{where} '{t.name}'", [cost.sync_phase(spec, spec.num_ipus)],
                               tensor=t, where=self.placement(t)))[1]

    def _copy(self, p: Copy):
        src, dst = p.src, p.dst
        spec, num_tiles = self.graph.spec, self.graph.num_tiles
        if isinstance(src, HostStream) or isinstance(dst, HostStream):
            stream, t = (src, dst) if isinstance(src, HostStream) else (dst, src)
            to_device = stream is src
            want = "to_device" if to_device else "from_device"
            if stream.direction != want:
                raise ProgramError(f"Copy: stream '{stream.name}' goes {stream.direction.replace('_', ' ')}; "
                                   "use Copy(" + ("stream, tensor" if stream.direction == "to_device"
                                                  else "tensor, stream") + ")")
            self._check_tensor(t, "Copy")
            if to_device:
                self._check_not_constant(*id_runs(t), f"Copy('{stream.name}' -> '{t.name}')")
            if t.size != stream.size or t.dtype != stream.dtype:
                raise ProgramError(f"Copy: stream '{stream.name}' carries {stream.size} x {stream.dtype} but "
                                   f"tensor '{t.name}' is {t.size} x {t.dtype}")
            where = self.placement(t)
            phase = cost.host_phase(spec, num_tiles, where.tiles, where.n * t.dtype.itemsize, to_device)
            arrow = f"'{stream.name}' -> '{t.name}'" if to_device else f"'{t.name}' -> '{stream.name}'"
            return self._step(Step("host", f"Copy stream {arrow}", [cost.sync_phase(spec, phase.ipus), phase],
                                   stream=stream, tensor=t, where=where))
        if isinstance(src, RemoteBuffer) or isinstance(dst, RemoteBuffer):
            return self._remote_copy(src, dst)
        self._check_tensor(src, "Copy")
        self._check_tensor(dst, "Copy")
        if src.shape != dst.shape or src.dtype != dst.dtype:
            raise ProgramError(f"Copy('{src.name}' -> '{dst.name}'): shapes and dtypes must match, got "
                               f"{src.shape} {src.dtype} and {dst.shape} {dst.dtype}; reshape one side")
        plan = self._copy_plan(src, dst)
        # one sync, then the on-tile part (compute at store bandwidth) and the exchange
        work = []
        local = local_bytes(plan, num_tiles)
        if local.any():
            work.append(cost.compute_phase(spec, num_tiles, np.zeros(0, np.int64), np.zeros(0, np.int64), local))
        ex = cost.exchange_phase(spec, num_tiles, plan)
        if ex:
            work.append(ex)
        phases = [cost.sync_phase(spec, max((p.ipus for p in work), default=1))] + work
        return self._step(Step("copy", f"Copy '{src.name}' -> '{dst.name}'", phases, plan=plan))

    def _remote_copy(self, src, dst):
        spec, num_tiles = self.graph.spec, self.graph.num_tiles
        buffer, t = (src, dst) if isinstance(src, RemoteBuffer) else (dst, src)
        to_device = buffer is src
        name = (f"Copy remote '{buffer.name}' -> '{getattr(t, 'name', t)}'" if to_device
                else f"Copy '{getattr(t, 'name', t)}' -> remote '{buffer.name}'")
        if isinstance(t, (RemoteBuffer, HostStream)):
            raise ProgramError(f"{name}: a remote buffer is copied to or from a tensor; copy through a "
                               "tensor on the tiles")
        if self.graph.remote_buffers.get(buffer.name) is not buffer:
            raise ProgramError(f"{name}: remote buffer '{buffer.name}' belongs to another graph")
        self._check_tensor(t, "Copy")
        if to_device:
            self._check_not_constant(*id_runs(t), name)
        if t.size != buffer.size or t.dtype != buffer.dtype:
            raise ProgramError(f"{name}: the buffer holds {buffer.size} x {buffer.dtype} but tensor "
                               f"'{t.name}' is {t.size} x {t.dtype}; copy a tensor of the buffer's size")
        where = self.placement(t)
        phase = remote_phase(spec, num_tiles, where.tiles, where.n * t.dtype.itemsize, to_device)
        return self._step(Step("remote", name, [cost.sync_phase(spec, phase.ipus), phase],
                               stream=buffer, tensor=t, where=where))

    def _copy_plan(self, src: Tensor, dst: Tensor) -> Plan:
        """Runs moving each element of ``src`` to the same position of ``dst``."""
        name = f"Copy('{src.name}' -> '{dst.name}')"
        sp, dp = (locate(self.graph, self.layout, [t]) for t in (src, dst))
        pair = first_overlap(sp.start, sp.end, dp.start, dp.end)
        if pair:
            i, j = pair
            first = max(sp.start[i], dp.start[j])
            raise CopyOverlapError(f"{name}: source and destination share elements, e.g. "
                                   f"{self.graph.describe_element(first)}; copy through a temporary tensor "
                                   "instead")
        self._check_not_constant(dp.start, dp.n, name)
        pair = self_overlap(dp.start, dp.end)
        if pair:
            first = max(dp.start[pair[0]], dp.start[pair[1]])
            raise WriteConflictError(f"{name}: the destination lists {self.graph.describe_element(first)} "
                                     "more than once")
        # cut both sides at every piece boundary of either side
        bounds = sorted_unique(np.concatenate([sp.pos, dp.pos]))
        lengths = np.diff(np.append(bounds, src.size))
        isz = src.dtype.itemsize
        si = np.searchsorted(sp.pos, bounds, side="right") - 1
        di = np.searchsorted(dp.pos, bounds, side="right") - 1
        return merge_runs(sp.tile[si], sp.addr[si] + (bounds - sp.pos[si]) * isz,
                          dp.tile[di], dp.addr[di] + (bounds - dp.pos[di]) * isz, lengths * isz)

    def _check_not_constant(self, starts, lengths, name):
        hit = self.graph.first_constant(starts, lengths)
        if hit is not None:
            raise ProgramError(f"{name}: the destination is constant {self.graph.describe_element(hit[1])}; "
                               "constants are read-only. Copy into a tensor made with add_variable.")

    def _check_tensor(self, t, where):
        if not isinstance(t, Tensor):
            raise ProgramError(f"{where}: expected a tensor or host stream, got {type(t).__name__}")
        if t.graph is not self.graph:
            raise ProgramError(f"{where}: tensor '{t.name}' belongs to another graph")


def remote_phase(spec, num_tiles, tiles, nbytes, to_device: bool):
    """Streaming Memory <-> tiles: each IPU's bytes at ``spec.streaming_memory_bytes_per_cycle``
    (an ASSUMPTION, see ipukit.core.spec.GC200), or each tile's 4 B/cycle exchange port,
    whichever is slower; like a host transfer, with the Streaming Memory's rate."""
    per_tile = np.bincount(tiles, weights=nbytes, minlength=num_tiles).astype(np.int64)
    per_ipu = per_tile.reshape(spec.num_ipus, spec.tiles).sum(axis=1)
    tile_cycles = -(-per_tile // spec.exchange_bytes_per_cycle)
    cycles = max(int(np.ceil(per_ipu.max() / spec.streaming_memory_bytes_per_cycle)),
                 int(tile_cycles.max(initial=0)))
    zeros = np.zeros(num_tiles, np.int64)
    sent, received = (zeros, per_tile) if to_device else (per_tile, zeros)
    ipus = max(1, int((per_ipu > 0).sum()))
    return cost.Phase("remote", cycles, tile_cycles, sent, received, ipus=ipus)


def check_host_array(t: Tensor, values, what: str) -> np.ndarray:
    """Validate an array written to ``t`` from the host.

    A NumPy array must already have ``t``'s dtype (the hint says whether
    ``.astype`` keeps every value); anything else is converted by the host
    value rule (:mod:`ipukit.core.host_values`).
    """
    if isinstance(values, np.ndarray):
        arr = values
        if arr.dtype != t.dtype:
            problem = first_changed(arr, t.dtype)
            fix = (f"convert it with .astype(np.{t.dtype})" if problem is None else
                   f".astype(np.{t.dtype}) would not keep every value: {problem}. {advice(arr, t.dtype)}")
            raise HostTransferError(f"{what}: tensor '{t.name}' is {t.dtype} but the array is {arr.dtype}; {fix}")
    else:
        arr = host_values(values, t.dtype, what)
    if arr.shape != t.shape:
        raise HostTransferError(f"{what}: tensor '{t.name}' has shape {t.shape} but the array has shape "
                                f"{arr.shape}")
    return arr
