"""The numba executor's code generator: one small compiled *driver* per (codelet, field types) group.

A driver is a loop over a group's vertices that makes array views of each vertex's fields out
of the flat SRAM and calls the compiled codelet, so no Python runs per vertex
(:func:`driver_source` writes it; ``IPUKIT_DEBUG=1`` prints it).  Built-ins' drivers are
written to files in the cache folder, so numba caches their machine code on disk; a learner's
are compiled in memory each session, with bounds checks and counted loops.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

import numba
import numpy as np
from numba.core import event

from .. import _env
from ..core.errors import CodeletError
from . import debug


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
