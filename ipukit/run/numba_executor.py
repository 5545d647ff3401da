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

import hashlib
import importlib.util
import inspect
import math
import os
import sys
import time
from pathlib import Path

# OpenMP threads that spin while they wait steal the CPU from a process's own main thread
# when other processes load the cores: every parallel launch then waits for a descheduled
# thread (measured: 5-10x slower than one thread on a busy 2-core machine).  Waiting
# passively costs a wake-up per launch instead.  Set before numba loads its OpenMP layer.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange, types
from numba.core import cgutils, event
from numba.extending import intrinsic

from .. import _env
from ..core import loops
from ..core.errors import CodeletError
from . import debug, reference
from .guard import input_guard, needs_guard

_announced = False


def _announce(what: str) -> None:
    global _announced
    if not _announced and not _env.quiet():
        print(f"ipukit: compiling {what} with numba (first use only; later runs reuse the compiled code)",
              flush=True)
        _announced = True


class _CompileNotice(event.Listener):
    """Announces a compile when numba really starts one: numba fires ``numba:compile`` only on a
    miss of its in-memory and disk caches, so a warm cache prints nothing."""

    def __init__(self, what: str):
        self.what = what

    def on_start(self, ev) -> None:
        _announce(self.what)

    def on_end(self, ev) -> None:
        pass


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

_NUMBA_DTYPE = {"bool": "np.bool_"}


def driver_source(codelet, dtypes, ndims, scalar_slots, parallel: bool, kernel_import: str,
                  cache: bool | None = None, name: str = "drive") -> str:
    """Python source of one driver for one group signature (see module docstring).

    A sequential driver records the vertex it is at in ``where[0]``.  A parallel driver
    of a learner's codelet (``cache=False``) calls the kernel through ``_call``, which
    catches what it raises: the driver marks the vertex in ``where`` (one byte a vertex)
    and returns how many raised.  (numba cannot raise out of a parallel loop.)
    """
    cache = parallel if cache is None else cache
    catch = parallel and not cache
    lines = [f"@njit(cache={cache}, parallel={parallel}, boundscheck=False, nogil=True)",
             f"def {name}(mem, tab, sf, si, where):"]
    if catch:
        lines.append("    bad = 0")
    lines.append(f"    for v in {'prange' if parallel else 'range'}(tab.shape[0]):")
    if not parallel:
        lines.append("        where[0] = v")
    for j, (dtype, ndim) in enumerate(zip(dtypes, ndims)):
        np_dtype = _NUMBA_DTYPE.get(dtype.name, f"np.{dtype.name}")
        view = f"mem[o{j}:o{j} + tab[v, {j}, 1] * {dtype.itemsize}].view({np_dtype})"
        if ndim > 1:
            view += ".reshape((" + ", ".join(f"tab[v, {j}, {2 + a}]" for a in range(ndim)) + "))"
        lines += [f"        o{j} = tab[v, {j}, 0]", f"        f{j} = {view}"]
    names = {f.name: f"f{j}" for j, f in enumerate(codelet.fields)}
    for s, (kind, col) in zip(codelet.scalars, scalar_slots):
        names[s] = f"sf[v, {col}]" if kind == "f" else f"si[v, {col}]" + (" != 0" if kind == "b" else "")
    args = ", ".join(names[p] for p in codelet.params)
    if catch:
        lines += [f"        if _call({args}):", "            where[v] = 1", "            bad += 1",
                  "    return bad"]
    else:
        lines.append(f"        _kernel({args})")
    return "\n".join(lines) + "\n"


def _call_source(codelet) -> str:
    """``_call(*params)``: 1 if the kernel raised, else 0 (for parallel learner drivers)."""
    params = ", ".join(f"p{i}" for i in range(len(codelet.params)))
    return (f"@njit(nogil=True)\ndef _call({params}):\n    try:\n        _kernel({params})\n"
            f"    except Exception:\n        return 1\n    return 0\n")


class Drivers:
    """The compiled drivers of one group signature: ``parallel`` (over all cores) and
    ``sequential`` (one vertex after another, recording where it is).  A learner's
    parallel driver only marks the vertices that raised (see :func:`driver_source`)."""

    def __init__(self, parallel, sequential, catches: bool):
        self.parallel, self.sequential, self.catches = parallel, sequential, catches


_HEADER = "import numpy as np\nfrom numba import njit, prange\n"


def make_driver(group):
    """The compiled :class:`Drivers` for ``group``, or None where the group must run in Python.

    numba has no float16 arithmetic on the CPU, and ``jit=False`` codelets ask
    for Python; those groups run through the reference loop on both backends.
    """
    codelet = group.codelet
    if not codelet.jit or any(d == np.float16 for d in group.dtypes):
        return None
    drivers = codelet._drivers
    key = group.signature
    if key in drivers:
        return drivers[key]
    made = None
    if codelet.builtin:
        made = _cached_driver(group)
    if made is None:
        args = (codelet, group.dtypes, group.ndims, group.scalar_slots)
        source = (_HEADER + driver_source(*args, parallel=False, kernel_import="", cache=False,
                                          name="drive_seq") + "\n"
                  + _call_source(codelet) + "\n"
                  + driver_source(*args, parallel=True, kernel_import="", cache=False))
        namespace = {"_kernel": codelet.kernel}
        debug.show_driver(f"codelet '{codelet.name}'", source)
        exec(compile(source, f"<ipukit driver for {codelet.name}>", "exec"), namespace)
        made = Drivers(namespace["drive"], namespace["drive_seq"], catches=True)
    what = f"codelet '{codelet.name}'" if not codelet.builtin else "the built-in codelets"
    with event.install_listener("numba:compile", _CompileNotice(what)):
        _warm_up(made.sequential, group)
        _warm_up(made.parallel, group, np.zeros(1, np.uint8) if made.catches else None)
    drivers[key] = made
    return made


def _cached_driver(group):
    """Load a built-in's drivers from a generated module file, so numba can cache them."""
    codelet = group.codelet
    module = sys.modules.get(codelet.fn.__module__)
    if getattr(module, codelet.fn.__name__, None) is not codelet:
        return None
    directory = _env.cache_dir()
    if directory is None:
        return None
    import numba
    kernel_import = (f"from {codelet.fn.__module__} import {codelet.fn.__name__} as _codelet\n"
                     "_kernel = _codelet.kernel\n")
    args = (codelet, group.dtypes, group.ndims, group.scalar_slots)
    source = (_HEADER + kernel_import + "\n"
              + driver_source(*args, parallel=True, kernel_import="") + "\n"
              + driver_source(*args, parallel=False, kernel_import="", cache=True, name="drive_seq"))
    digest = hashlib.sha1("\n".join([source, inspect.getsource(codelet.fn), numba.__version__,
                                     np.__version__]).encode()).hexdigest()[:16]
    name = f"ipukit_driver_{codelet.name}_{digest}"
    debug.show_driver(f"built-in codelet '{codelet.name}' ({path_hint(directory, name)})", source)
    if name not in sys.modules:
        path = directory / f"{name}.py"
        if not path.exists():
            prune_stale_drivers(directory)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(driver_header(codelet, group) + source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module        # numba's cache finds the module by name
        spec.loader.exec_module(module)
    module = sys.modules[name]
    return Drivers(module.drive, module.drive_seq, catches=False)


def _versions() -> str:
    import numba
    return f"numba {numba.__version__}, numpy {np.__version__}"


def driver_header(codelet, group) -> str:
    """The first lines of a generated driver file: what made it, for whom, and that it is disposable."""
    types = ", ".join(f"{d}[{'x'.join(['n'] * k)}]" for d, k in zip(group.dtypes, group.ndims))
    return (f"# Generated by ipukit (ipukit/run/numba_executor.py) for the built-in codelet '{codelet.name}'\n"
            f"# with fields {types}; {_versions()}.\n"
            "# Safe to delete: ipukit writes it again when needed (IPUKIT_DEBUG=1 prints it).\n")


def path_hint(directory, name) -> str:
    return str(Path(directory) / f"{name}.py")


_pruned = set()


def prune_stale_drivers(directory) -> int:
    """Delete driver files made by another numba or NumPy version (once per folder and process)."""
    directory = Path(directory)
    if directory in _pruned:
        return 0
    _pruned.add(directory)
    mine, removed = f"; {_versions()}.", 0
    for path in directory.glob("ipukit_driver_*.py"):
        try:
            with open(path) as f:
                head = f.readline() + f.readline()
            if head.startswith("# Generated by ipukit") and mine not in head:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def _warm_up(drive, group, where=None) -> None:
    """Compile now (on an empty table, with ``where`` typed as in a run: one int64, or one
    byte a vertex for a learner's parallel driver), so errors show when the engine is built."""
    nf = group.table.shape[1]
    try:
        drive(np.zeros(8, np.uint8), np.zeros((0, nf, group.table.shape[2]), np.int64),
              np.zeros((0, group.sf.shape[1])), np.zeros((0, group.si.shape[1]), np.int64),
              np.zeros(1, np.int64) if where is None else where)
    except Exception as e:
        if type(e).__module__.startswith("numba"):
            raise CodeletError(
                f"codelet {group.codelet.name} does not compile with numba (field types "
                f"{', '.join(f'{f.name}: {d}' for f, d in zip(group.codelet.fields, group.dtypes))}). "
                "A codelet may only use its array fields, numbers, loops and NumPy functions that numba "
                f"supports; no lists, dicts or Python objects. numba says:\n{e}") from e
        raise


def usable_cpus(affinity=None, cgroup_root="/sys/fs/cgroup") -> int:
    """How many CPUs this process may really use: the CPUs it may run on (``sched_getaffinity``),
    capped by the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)
    rounded up.  Binder and JupyterHub limit a container by quota while ``os.cpu_count()``
    shows every core of the host."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            affinity = range(os.cpu_count() or 1)
    cpus = max(1, len(affinity))
    quota = _cgroup_quota(Path(cgroup_root))
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota - 1e-9)))
    return cpus


def _cgroup_quota(root: Path):
    """CPUs' worth of the cgroup quota (a float), or None when there is none or it cannot be read."""
    def read(path):
        try:
            return path.read_text().split()
        except (OSError, UnicodeDecodeError):
            return None

    v2 = read(root / "cpu.max")
    if v2 is not None:
        if len(v2) >= 2 and v2[0] != "max":
            try:
                return int(v2[0]) / int(v2[1])
            except (ValueError, ZeroDivisionError):
                return None
        return None
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu", "."):
        q, per = read(root / sub / "cpu.cfs_quota_us"), read(root / sub / "cpu.cfs_period_us")
        if q and per:
            try:
                quota, period = int(q[0]), int(per[0])
            except ValueError:
                return None
            return quota / period if quota > 0 and period > 0 else None
    return None


def thread_count() -> int:
    """Threads for parallel drivers: ``IPUKIT_THREADS`` if set, else :func:`usable_cpus`
    (never more than numba was started with)."""
    wanted = _env.threads() or usable_cpus()
    return max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))


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
