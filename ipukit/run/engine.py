"""The engine: compile a graph and its programs once, then run them.

``Engine(graph, program)`` checks the mapping, lays out every tile's SRAM,
plans every exchange as flat byte runs and groups vertices by codelet.  Then::

    engine.write(x, array)       # host -> tiles, outside the program
    engine.run()                 # interpret the program; cost in engine.profile
    engine.read(y)               # tiles -> host

``run()`` in pseudo-code, for each step the program reaches::

    Execute(cs):  [sync, exchange fields in]; sync, every vertex computes on its tile;
                  [sync, exchange outputs back]        (bracketed phases only when needed)
    Copy(a, b):   sync; on-tile part and exchange

A ``Repeat`` whose body is only execute and copy steps runs as one flat loop of
precomputed calls (:meth:`Engine._repeat_steps`), with the same counts and trace.
"""
from __future__ import annotations

import mmap

import numpy as np

from .. import _env
from ..compile.lowering import IF, REPEAT, SEQ, STEP, WHILE, Lowering, check_host_array, plan_layout
from ..core.errors import HostTransferError, ProgramError, StepBudgetError
from ..core.graph import Graph
from ..core.intervals import id_runs
from .profile import Profile
from ..core.programs import Program
from . import debug
from .executor import Executor
from .reference import ReferenceExecutor
from ..core.tensor import Tensor

TRACE_LIMIT = 20_000     # executed steps remembered in order, for the execution trace view


class Engine:
    """Compiles ``graph`` with ``programs`` (one program or a list) and runs them.

    Args:
        backend: ``"numba"`` (compiled, default) or ``"reference"`` (plain
            Python, readable, slow); both give identical SRAM bytes and profiles.
        max_steps: stop a run with :class:`StepBudgetError` after this many
            steps, so a runaway ``RepeatWhileTrue`` cannot hang the kernel.
    """

    def __init__(self, graph: Graph, programs, backend: str | None = None, max_steps: int = 1_000_000):
        if not isinstance(graph, Graph):
            raise TypeError(f"Engine needs an ipukit.Graph, got {type(graph).__name__}")
        self.graph = graph
        self.programs = list(programs) if isinstance(programs, (list, tuple)) else [programs]
        for p in self.programs:
            if not isinstance(p, Program):
                raise ProgramError(f"Engine: expected programs, got {type(p).__name__}")
        self.backend = backend or _env.backend()
        self.max_steps = int(max_steps)
        spec = graph.spec
        self.stride = spec.sram_bytes_per_tile

        self.layout = plan_layout(graph, self.programs, strict=True)
        lowering = Lowering(graph, self.layout)
        self._roots = [lowering.lower(p) for p in self.programs]
        self.steps = lowering.steps
        self._placement = lowering.placement
        debug.show_plans(self.steps)                     # IPUKIT_DEBUG=1

        # One flat byte array holds every tile's SRAM. An anonymous mapping is zero-filled
        # and commits 4 KiB pages only when touched (NumPy would ask for 2 MiB huge pages,
        # committing whole SRAMs as soon as each tile is touched), so a program costs host
        # memory in proportion to the bytes it uses.
        self._sram_buffer = mmap.mmap(-1, graph.num_tiles * self.stride)
        self.sram = np.frombuffer(self._sram_buffer, np.uint8).reshape(graph.num_tiles, self.stride)
        self._mem = self.sram.reshape(-1)
        for var in graph.variables:
            if var.is_constant:
                self._placement(graph.variable_tensor(var)).write(self._mem, var.values.reshape(-1))

        self._executor = self._make_executor()
        groups = [g for plan in self.layout.compute.values() for g in plan.groups]
        self._executor.prepare(groups)
        self._runs = {}
        for step in self.steps:
            for plan in (step.plan, *((step.compute.gather_run, step.compute.scatter) if step.compute else ())):
                if plan is not None and id(plan) not in self._runs:
                    self._runs[id(plan)] = plan.absolute(self.stride)
        self._streams = {}
        self.profile = None

    def _make_executor(self) -> Executor:
        if self.backend == "reference":
            return ReferenceExecutor(self._mem)
        if self.backend == "numba":
            from .numba_executor import NumbaExecutor
            return NumbaExecutor(self._mem)
        raise ValueError(f"unknown backend {self.backend!r}; use 'numba' or 'reference'")

    @property
    def memory(self):
        """The per-tile memory report of the compiled graph."""
        return self.layout.report

    # --- host I/O ---------------------------------------------------------------
    def _tensor(self, t, what) -> Tensor:
        if not isinstance(t, Tensor):
            raise HostTransferError(f"{what}: expected a tensor, got {type(t).__name__}")
        if t.graph is not self.graph:
            raise HostTransferError(f"{what}: tensor '{t.name}' belongs to another graph")
        return t

    def write(self, t: Tensor, values) -> None:
        """Write host values into tensor ``t`` (Poplar's ``engine.writeTensor``)."""
        t = self._tensor(t, "engine.write")
        arr = check_host_array(t, values, f"engine.write('{t.name}')")
        hit = self.graph.first_constant(*id_runs(t))
        if hit is not None:
            const = self.graph.variables[int(self.graph.variable_of(hit[1]))].name
            part = "" if t.name == const else f" (tensor '{t.name}' covers {self.graph.describe_element(hit[1])})"
            raise HostTransferError(
                f"engine.write('{t.name}'): '{const}' is a constant{part}; its values are fixed when the engine "
                f"is built. Write the tensors around '{const}' one by one, or create '{const}' with "
                "add_variable if the host must change it.")
        self._placement(t).write(self._mem, arr.reshape(-1))

    def read(self, t: Tensor) -> np.ndarray:
        """A new host array with the current values of ``t`` (``engine.readTensor``)."""
        t = self._tensor(t, "engine.read")
        return self._placement(t).read(self._mem)

    def connect_stream(self, name: str, array: np.ndarray) -> None:
        """Attach a host array to stream ``name``; copies walk it as a circular buffer."""
        stream = self.graph.streams.get(name)
        if stream is None:
            known = ", ".join(self.graph.streams) or "none"
            raise HostTransferError(f"connect_stream: no stream named '{name}' (streams: {known})")
        if not isinstance(array, np.ndarray) or array.dtype != stream.dtype:
            got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
            raise HostTransferError(f"connect_stream('{name}'): the stream carries {stream.dtype}, got {got}; "
                                    f"pass a NumPy array of dtype {stream.dtype}")
        if not array.flags.c_contiguous:
            raise HostTransferError(f"connect_stream('{name}'): the array must be contiguous; "
                                    "pass np.ascontiguousarray(a)")
        if array.size == 0 or array.size % stream.size:
            raise HostTransferError(f"connect_stream('{name}'): each copy moves {stream.size} elements, so the "
                                    f"buffer size must be a non-zero multiple of {stream.size}; got {array.size}")
        self._streams[name] = [array.reshape(-1), 0]   # buffer, position of the next copy

    # --- Streaming Memory (remote buffers) ---------------------------------------------
    def _remote(self, buffer, what) -> np.ndarray:
        """The contents of a remote buffer (zeros until written), kept by the engine."""
        name = getattr(buffer, "name", buffer)
        known = self.graph.remote_buffers.get(name)
        if known is None or (not isinstance(buffer, str) and known is not buffer):
            listed = ", ".join(self.graph.remote_buffers) or "none"
            raise HostTransferError(f"{what}: no remote buffer {name!r} in this graph (remote buffers: {listed})")
        store = self.__dict__.setdefault("_remote_store", {})
        if name not in store:
            store[name] = np.zeros(known.size, known.dtype)
        return store[name]

    def write_remote(self, buffer, values) -> None:
        """Write host values into a remote buffer (Poplar's ``engine.copyToRemoteBuffer``)."""
        store = self._remote(buffer, "engine.write_remote")
        arr = np.asarray(values)
        if arr.size != store.size or arr.dtype != store.dtype:
            raise HostTransferError(f"engine.write_remote({getattr(buffer, 'name', buffer)!r}): the buffer holds "
                                    f"{store.size} x {store.dtype}, got {arr.size} x {arr.dtype}")
        store[:] = arr.reshape(-1)

    def read_remote(self, buffer) -> np.ndarray:
        """A new host array with a remote buffer's contents (``engine.copyFromRemoteBuffer``)."""
        name = getattr(buffer, "name", buffer)
        return self._remote(buffer, "engine.read_remote").copy().reshape(self.graph.remote_buffers[name].shape)

    # --- running --------------------------------------------------------------------
    def run(self, program: int = 0) -> Profile:
        """Run program number ``program``; returns (and keeps) its profile."""
        if not 0 <= program < len(self._roots):
            raise IndexError(f"engine.run({program}): this engine has {len(self._roots)} program(s)")
        self._counts = np.zeros(len(self.steps), np.int64)
        self._trace = []
        self._executed = 0
        try:
            self._exec(self._roots[program])
        finally:
            self.profile = Profile(self.graph.spec, self.steps, self._counts, self._trace, self.memory,
                                   trace_complete=self._executed <= TRACE_LIMIT)
        return self.profile

    def _exec(self, node) -> None:
        kind = node[0]
        if kind == STEP:
            self._step(node[1])
        elif kind == SEQ:
            for child in node[1]:
                self._exec(child)
        elif kind == REPEAT:
            body = node[2]
            flat = self._flat(body)
            if flat is not None and self._executed + node[1] * len(flat) <= self.max_steps:
                self._repeat_steps(node[1], flat)
                return
            for _ in range(node[1]):
                self._exec(body)
        elif kind == WHILE:
            _, cond, pred, body = node
            self._exec(cond)
            while self._predicate(pred):
                self._exec(body)
                self._exec(cond)
        elif kind == IF:
            _, pred, then, else_ = node
            self._exec(then if self._predicate(pred) else else_)

    # --- a Repeat of plain steps: the same work as _step, with less Python per step ---------
    FLAT_LIMIT = 4096        # steps a Repeat nested in a Repeat's body may be unrolled into

    def _flat(self, node):
        """The step indices ``node`` runs, in order, when it is made only of execute and copy
        steps (in Sequences and Repeats), else None."""
        cache = self.__dict__.setdefault("_flat_cache", {})
        key = id(node)
        if key not in cache:
            cache[key] = (node, self._flatten(node))       # (keeps node alive, so its id stays its own)
        return cache[key][1]

    def _flatten(self, node):
        kind = node[0]
        if kind == STEP:
            return [node[1]] if self.steps[node[1]].kind in ("execute", "copy") else None
        if kind == SEQ:
            out = []
            for child in node[1]:
                part = self._flatten(child)
                if part is None:
                    return None
                out += part
            return out
        if kind == REPEAT:
            part = self._flatten(node[2])
            if part is None or node[1] * len(part) > self.FLAT_LIMIT:
                return None
            return part * node[1]
        return None

    def _actions(self, index: int) -> list:
        """What step ``index`` does, as (function, arguments) pairs; empty copies left out."""
        step, ex = self.steps[index], self._executor
        plans = ([step.compute.gather_run], step.compute.groups, [step.compute.scatter]) \
            if step.kind == "execute" else ([step.plan], [], [])
        acts = [(ex.copy_runs, self._runs[id(p)]) for p in plans[0] if len(self._runs[id(p)][0])]
        acts += [(ex.run_group, (g,)) for g in plans[1]]
        acts += [(ex.copy_runs, self._runs[id(p)]) for p in plans[2] if len(self._runs[id(p)][0])]
        return acts

    def _repeat_steps(self, count: int, indices: list) -> None:
        """Run the steps ``indices`` ``count`` times, as ``count`` calls of :meth:`_step` on each
        would, then count them all at once: the same counts and trace, also when a step raises."""
        actions = [self._actions(i) for i in indices]
        done, at = 0, -1              # whole rounds done; step of the round that raised
        try:
            for done in range(count):  # noqa: B007  (read in the finally clause)
                for at, acts in enumerate(actions):  # noqa: B007
                    for fn, args in acts:
                        fn(*args)
                at = -1
            done = count
        finally:
            partial = indices[:at + 1]
            self._executed += done * len(indices) + len(partial)
            np.add.at(self._counts, indices, done)
            np.add.at(self._counts, partial, 1)
            room = TRACE_LIMIT - len(self._trace)
            if room > 0:
                rounds = min(done, -(-room // max(1, len(indices))))
                self._trace.extend((indices * rounds + partial)[:room])

    def _predicate(self, index: int) -> bool:
        self._step(index)
        step = self.steps[index]
        return bool(step.where.read(self._mem).reshape(-1)[0])

    def _step(self, index: int) -> None:
        self._executed += 1
        if self._executed > self.max_steps:
            raise StepBudgetError(
                f"the program ran more than max_steps={self.max_steps:,} steps without finishing (last: "
                f"{self.steps[index].name}). A RepeatWhileTrue whose predicate never becomes false runs "
                "for ever: check that its body changes the predicate. If the program is just long, pass "
                "a larger max_steps= to Engine.")
        self._counts[index] += 1
        if len(self._trace) < TRACE_LIMIT:
            self._trace.append(index)
        step = self.steps[index]
        if step.kind == "execute":
            plan = step.compute
            self._executor.copy_runs(*self._runs[id(plan.gather_run)])
            for group in plan.groups:
                self._executor.run_group(group)
            self._executor.copy_runs(*self._runs[id(plan.scatter)])
        elif step.kind == "copy":
            self._executor.copy_runs(*self._runs[id(step.plan)])
        elif step.kind == "host":
            self._stream_copy(step)
        elif step.kind == "remote":
            store = self._remote(step.stream, step.name)
            if step.phases[-1].bytes_received.any():        # Streaming Memory -> tiles
                step.where.write(self._mem, store)
            else:
                store[:] = step.where.read(self._mem).reshape(-1)

    def _stream_copy(self, step) -> None:
        stream = step.stream
        if stream.name not in self._streams:
            raise HostTransferError(f"{step.name}: stream '{stream.name}' is not connected; call "
                                    f"engine.connect_stream('{stream.name}', array) before run()")
        buffer, pos = self._streams[stream.name]
        if stream.direction == "to_device":
            step.where.write(self._mem, buffer[pos:pos + stream.size])
        else:
            buffer[pos:pos + stream.size] = step.where.read(self._mem).reshape(-1)
        self._streams[stream.name][1] = (pos + stream.size) % buffer.size
