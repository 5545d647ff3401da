"""The numba executor: compiled loops over all vertices of a group, and over exchange runs.

For each (codelet, field types) group the engine generates a small *driver*:
one compiled loop that, for every vertex, makes array views of its fields out
of the flat SRAM and calls the compiled codelet.  No Python runs per vertex.
Every group has a parallel driver (``prange`` over its vertices) and a sequential
one; a group runs in parallel only when it is big enough and when that is faster
now (see :class:`_Choice`), on as many threads as the process may really use
(:func:`thread_count`).  Built-ins' drivers are cached on disk.  A learner's
codelet gets bounds checks and counted loops (:mod:`ipukit.core.loops`), never
cached; its parallel driver marks the vertices that raised, and the first of them
is run again alone on the sequential driver, so the error names the vertex as
the sequential path does.  Its group's input bytes must come out unchanged
(:mod:`ipukit.run.guard`).  The readable twin of this file is
:mod:`ipukit.run.reference`.
"""
from __future__ import annotations

import os
import time

# OpenMP threads that spin while they wait steal the CPU from a process's own main thread
# when other processes load the cores: every parallel launch then waits for a descheduled
# thread (measured: 5-10x slower than one thread on a busy 2-core machine).  Waiting
# passively costs a wake-up per launch instead.  Set before numba loads its OpenMP layer.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..core import loops
from ..core.errors import CodeletError
from . import reference
from .drivers import Drivers, make_driver  # noqa: F401  (Drivers: part of this module's API)
from .guard import input_guard, needs_guard
from .threads import thread_count, usable_cpus  # noqa: F401  (usable_cpus: part of this module's API)

@intrinsic
def _memmove(typingctx, mem, dst, src, nbytes):
    """``memmove`` inside one byte array: block copies run at memory speed."""
    sig = types.void(mem, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        arr, d, s, n = args
        data = context.make_array(signature.args[0])(context, builder, arr).data
        cgutils.raw_memmove(builder, builder.gep(data, [d]), builder.gep(data, [s]), n, 1)
        return context.get_dummy_value()

    return sig, codegen


def _copy_runs(mem, src, dst, nbytes):
    for r in range(src.size):
        _memmove(mem, dst[r], src[r], nbytes[r])


def _copy_runs_parallel(mem, src, dst, nbytes):
    for r in prange(src.size):        # runs never overlap, so any order gives the same bytes
        _memmove(mem, dst[r], src[r], nbytes[r])


if numba.config.DISABLE_JIT:          # the intrinsic needs the compiler: fall back to slices
    copy_runs = copy_runs_parallel = reference.copy_runs
else:
    copy_runs = njit(cache=True, nogil=True)(_copy_runs)
    copy_runs_parallel = njit(cache=True, nogil=True, parallel=True)(_copy_runs_parallel)


# Runs bigger than this in total are copied by all cores.
PARALLEL_COPY_BYTES = 1 << 20

# A group runs in parallel only when its field bytes are at least this many (below, the
# launch of the worker threads costs more than it saves); measured by benchmarks/run.py
# (section "threshold"), like PARALLEL_COPY_BYTES for copies.
PARALLEL_GROUP_BYTES = 256 << 10
# Above it, each group keeps timing both ways and runs the faster: on a machine whose cores
# are busy with other processes a parallel launch waits for a descheduled thread, and one
# thread is faster (see _Choice).
EXPLORE, EXPLORE_MAX = 16, 1024
# "auto" (the above), or "parallel" / "sequential" for every group (tests, benchmarks/run.py).
MODE = "auto"


class _Choice:
    """Whether one group runs in parallel: never below PARALLEL_GROUP_BYTES or with one
    thread; above, whichever way its recent runs were faster.  The slower way is tried
    again after EXPLORE runs, then after twice as many each time it loses again (up to
    EXPLORE_MAX), so a machine that gets busy or idle is noticed without paying much."""

    def __init__(self, group, threads: int):
        nbytes = 0
        for j, d in enumerate(getattr(group, "dtypes", ())):
            nbytes += int(group.table[:, j, 1].sum()) * d.itemsize
        self.timing = threads > 1 and nbytes >= PARALLEL_GROUP_BYTES
        self.fail = np.zeros(max(1, group.table.shape[0]), np.uint8)
        self.seconds = [None, None]          # recent time of a run: sequential, parallel
        self.wait = EXPLORE                  # runs until the slower way is tried again
        self.countdown = EXPLORE

    def parallel(self) -> bool:
        if MODE != "auto":
            return MODE == "parallel"
        if not self.timing:
            return False
        seq, par = self.seconds
        if seq is None or par is None:
            return par is None
        faster = par <= seq
        self.countdown -= 1
        if self.countdown > 0:
            return faster
        self.countdown = self.wait
        return not faster

    def record(self, parallel: bool, seconds: float) -> None:
        other = self.seconds[not parallel]
        old = self.seconds[parallel]
        was_slower = other is not None and old is not None and old > other
        # A run of the slower way replaces its stale time; the way in use keeps a running mean.
        self.seconds[parallel] = seconds if old is None or was_slower else 0.5 * old + 0.5 * seconds
        if was_slower:      # this run tried the slower way
            still = self.seconds[parallel] > other
            self.wait = min(2 * self.wait, EXPLORE_MAX) if still else EXPLORE


class NumbaExecutor:
    name = "numba"

    def __init__(self, mem):
        self.mem = mem
        self._where = np.zeros(1, np.int64)
        self.threads = thread_count()
        if not numba.config.DISABLE_JIT:
            numba.set_num_threads(self.threads)

    def prepare(self, groups) -> None:
        for g in groups:
            g.driver = make_driver(g)
            learner = g.driver is not None and not g.codelet.builtin
            g.guard = input_guard(g) if learner and needs_guard(g) else None
            g.choice = _Choice(g, self.threads)

    def copy_runs(self, src, dst, nbytes) -> None:
        if len(src):
            big = self.threads > 1 and len(src) > 1 and int(nbytes.sum()) > PARALLEL_COPY_BYTES
            (copy_runs_parallel if big else copy_runs)(self.mem, src, dst, nbytes)

    def run_group(self, group) -> None:
        if group.driver is None:
            reference.run_group(self.mem, group)
        elif group.codelet.builtin:
            self._timed(group)
        else:
            self._run_learner(group)

    def _timed(self, group) -> None:
        choice = group.choice
        parallel = choice.parallel()
        if choice.timing and MODE == "auto":
            t = time.perf_counter()
            self._drive(group, parallel)
            choice.record(parallel, time.perf_counter() - t)
        else:
            self._drive(group, parallel)

    def _drive(self, group, parallel: bool) -> None:
        drivers = group.driver
        if parallel and drivers.catches:
            fail = group.choice.fail
            if drivers.parallel(self.mem, group.table, group.sf, group.si, fail):
                rows = np.flatnonzero(fail)
                fail[:] = 0
                if loops._interrupted:
                    raise KeyboardInterrupt
                # Run the first vertex that raised again, alone and in order, to learn what it raised.
                row = int(rows[0])
                self._sequential(group, group.table[row:row + 1], group.sf[row:row + 1],
                                 group.si[row:row + 1], row)
                raise CodeletError(f"{group.vertices[row].where()}: codelet {group.codelet.name} raised "
                                   "an exception in parallel but not when run again alone")
        elif parallel:
            drivers.parallel(self.mem, group.table, group.sf, group.si, self._where)
        else:
            self._sequential(group, group.table, group.sf, group.si, 0)

    def _sequential(self, group, table, sf, si, first) -> None:
        self._where[0] = -1
        try:
            group.driver.sequential(self.mem, table, sf, si, self._where)
        except loops.Interrupted:
            raise KeyboardInterrupt from None
        except loops.LoopBudgetExceeded as e:
            row = first + int(self._where[0])
            raise reference.loop_budget_error(group.vertices[row], group.codelet, e) from None
        except Exception as e:
            row = first + int(self._where[0]) if self._where[0] >= 0 else -1
            raise self._explain(group, row, e) from e

    def _run_learner(self, group) -> None:
        """A learner's group: interruptible, and its inputs must come out unchanged (ipukit.run.guard)."""
        if group.guard is None:          # it cannot write an input (ipukit.run.guard.needs_guard)
            with loops.interruptible():
                self._timed(group)
            return
        saved = group.guard.save(self.mem)
        with loops.interruptible():
            self._timed(group)
        changed = group.guard.first_change(self.mem, saved, group)
        if changed is not None:
            row, col, element = changed
            group.guard.restore(self.mem, saved)
            line = self._input_write_line(group, row)
            raise CodeletError(reference.input_write_message(
                group.vertices[row], group.codelet, group.codelet.fields[col].name, element, line))

    def _explain(self, group, row, e) -> CodeletError:
        """Word the error: re-run the vertex on the reference path, whose traceback has the
        learner's line; keep that message if it raises the same kind of exception."""
        codelet = group.codelet
        if row < 0:
            return CodeletError(f"a vertex of codelet {codelet.name} raised {type(e).__name__}: {e}")
        if not codelet.builtin:
            try:
                with loops.time_limit(reference.DIAGNOSE_SECONDS):
                    reference.run_vertex(self.mem, group, row)
            except CodeletError as again:
                if type(again.__cause__) is type(e):
                    return again
        return CodeletError(f"{group.vertices[row].where()}: codelet {codelet.name} raised "
                            f"{type(e).__name__}: {e}")

    def _input_write_line(self, group, row) -> str:
        """The learner's line that wrote the input, from a re-run on read-only views (or "")."""
        try:
            with loops.time_limit(reference.DIAGNOSE_SECONDS):
                group.codelet.python(*reference.field_views(self.mem, group, row))
        except Exception as e:
            if isinstance(e, ValueError) and "read-only" in str(e):
                return reference.learner_line(group.codelet, e)
        return ""
