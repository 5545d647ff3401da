"""The numba executor: compiled loops over all vertices of a group, and over exchange runs.

For each (codelet, field types) group the engine generates a small *driver*:
one compiled loop that, for every vertex, makes array views of its fields out
of the flat SRAM and calls the compiled codelet.  No Python runs per vertex.
Built-in codelets get parallel drivers cached on disk; a learner's codelet gets
a sequential driver (so an exception can name the vertex) with bounds checks
and counted loops (:mod:`ipukit.core.loops`), never cached, and its group's input
bytes must come out unchanged (:mod:`ipukit.run.guard`).  The readable twin of
this file is :mod:`ipukit.run.reference`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys

import numba
import numpy as np
from numba import njit, prange, types
from numba.core import cgutils, event
from numba.extending import intrinsic

from .. import _env
from ..core import loops
from . import reference
from ..core.errors import CodeletError
from .guard import input_guard

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


def driver_source(codelet, dtypes, ndims, scalar_slots, parallel: bool, kernel_import: str) -> str:
    """Python source of the driver for one group signature (see module docstring)."""
    lines = ["import numpy as np", "from numba import njit, prange", kernel_import, "",
             f"@njit(cache={parallel}, parallel={parallel}, boundscheck=False, nogil=True)",
             "def drive(mem, tab, sf, si, where):",
             f"    for v in {'prange' if parallel else 'range'}(tab.shape[0]):"]
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
    lines.append("        _kernel(" + ", ".join(names[p] for p in codelet.params) + ")")
    return "\n".join(lines) + "\n"


def make_driver(group):
    """The compiled driver for ``group``, or None where the group must run in Python.

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
    drive = None
    if codelet.builtin:
        drive = _cached_driver(group)
    if drive is None:
        source = driver_source(codelet, group.dtypes, group.ndims, group.scalar_slots, parallel=False,
                               kernel_import="")
        namespace = {"_kernel": codelet.kernel}
        exec(compile(source, f"<ipukit driver for {codelet.name}>", "exec"), namespace)
        drive = namespace["drive"]
    what = f"codelet '{codelet.name}'" if not codelet.builtin else "the built-in codelets"
    with event.install_listener("numba:compile", _CompileNotice(what)):
        _warm_up(drive, group)
    drivers[key] = drive
    return drive


def _cached_driver(group):
    """Load a built-in's driver from a generated module file, so numba can cache it."""
    codelet = group.codelet
    module = sys.modules.get(codelet.fn.__module__)
    if getattr(module, codelet.fn.__name__, None) is not codelet:
        return None
    directory = _env.cache_dir()
    if directory is None:
        return None
    import numba
    kernel_import = (f"from {codelet.fn.__module__} import {codelet.fn.__name__} as _codelet\n"
                     "_kernel = _codelet.kernel")
    source = driver_source(codelet, group.dtypes, group.ndims, group.scalar_slots, parallel=True,
                           kernel_import=kernel_import)
    digest = hashlib.sha1("\n".join([source, inspect.getsource(codelet.fn), numba.__version__,
                                     np.__version__]).encode()).hexdigest()[:16]
    name = f"ipukit_driver_{codelet.name}_{digest}"
    if name not in sys.modules:
        path = directory / f"{name}.py"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module        # numba's cache finds the module by name
        spec.loader.exec_module(module)
    return sys.modules[name].drive


def _warm_up(drive, group) -> None:
    """Compile now (on an empty table), so errors show when the engine is built."""
    nf = group.table.shape[1]
    try:
        drive(np.zeros(8, np.uint8), np.zeros((0, nf, group.table.shape[2]), np.int64),
              np.zeros((0, group.sf.shape[1])), np.zeros((0, group.si.shape[1]), np.int64),
              np.zeros(1, np.int64))
    except Exception as e:
        if type(e).__module__.startswith("numba"):
            raise CodeletError(
                f"codelet {group.codelet.name} does not compile with numba (field types "
                f"{', '.join(f'{f.name}: {d}' for f, d in zip(group.codelet.fields, group.dtypes))}). "
                "A codelet may only use its array fields, numbers, loops and NumPy functions that numba "
                f"supports; no lists, dicts or Python objects. numba says:\n{e}") from e
        raise


class NumbaExecutor:
    name = "numba"

    def __init__(self, mem):
        self.mem = mem
        self._where = np.zeros(1, np.int64)

    def prepare(self, groups) -> None:
        for g in groups:
            g.driver = make_driver(g)
            g.guard = input_guard(g) if g.driver is not None and not g.codelet.builtin else None

    def copy_runs(self, src, dst, nbytes) -> None:
        if len(src):
            big = len(src) > 1 and int(nbytes.sum()) > PARALLEL_COPY_BYTES
            (copy_runs_parallel if big else copy_runs)(self.mem, src, dst, nbytes)

    def run_group(self, group) -> None:
        if group.driver is None:
            reference.run_group(self.mem, group)
        elif group.guard is None:
            self._drive(group)
        else:
            self._run_learner(group)

    def _drive(self, group) -> None:
        self._where[0] = -1
        try:
            group.driver(self.mem, group.table, group.sf, group.si, self._where)
        except loops.LoopBudgetExceeded as e:
            raise reference.loop_budget_error(group.vertices[int(self._where[0])], group.codelet, e) from None
        except Exception as e:
            raise self._explain(group, int(self._where[0]), e) from e

    def _run_learner(self, group) -> None:
        """A learner's group: interruptible, and its inputs must come out unchanged (ipukit.run.guard)."""
        saved = group.guard.save(self.mem)
        with loops.interruptible():
            self._drive(group)
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
