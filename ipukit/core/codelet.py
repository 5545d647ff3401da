"""Codelets (vertex types) and the ``@codelet`` decorator.

A codelet is a plain Python function over NumPy arrays, like a Poplar
``Vertex`` class's ``compute()``: its parameters are *fields*.  Fields declared
in ``inputs``/``outputs``/``inouts`` are connected to tensors; any other
parameter is a constant scalar given when the vertex is added.  ipukit compiles
the function with numba (nopython) and runs every vertex of a compute set in one
compiled loop.

Field specs are short strings that say what a field may be connected to::

    "float32[n]"   a 1-D float32 vector of n elements
    "T[m,k]"       a 2-D matrix whose dtype T is shared with the fields that say T
    "[n]"          any dtype, 1-D          "float32"  any shape     "*"  anything

Dimension names bind across fields, so ``a: "T[n]"``, ``b: "T[n]"`` demands
equal lengths.  ``cycles`` is the author's estimate of one vertex's cycles on
one worker, as ``graph.setPerfEstimate`` / PopLibs cycle estimators give it.

``multi=True`` makes a MultiVertex, as Poplar's ``MultiVertex``: one vertex run by
all the tile's workers at once.  The function then takes two more parameters,
``worker`` (0 to workers-1) and ``workers`` (the count), which the engine fills in;
each call does its share (e.g. every ``workers``-th vector from ``worker``), and
``cycles`` is one worker's share (it may ask for ``workers``)::

    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"}, multi=True,
                    cycles=lambda out, workers: 10 + -(-out // workers))
    def double(a, out, worker, workers):
        for i in range(worker, out.size, workers):
            out[i] = 2 * a[i]
"""
from __future__ import annotations

import ast
import inspect
import keyword
import textwrap
from dataclasses import dataclass

import numpy as np

from .errors import VertexFieldError
from .tensor import IPU_DTYPES, Tensor

_DTYPE_NAMES = {str(d): d for d in IPU_DTYPES} | {"half": np.dtype("float16")}
_MAX_NDIM = 4
WORKER_PARAMS = ("worker", "workers")       # filled in by the engine for a MultiVertex


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str                 # "in", "out" or "inout"
    dtype: np.dtype | None    # a fixed dtype, or None
    dtype_var: str | None     # a dtype variable shared between fields ("T"), or None
    dims: tuple | None        # None = any shape; else one int or name per axis

    @property
    def writes(self) -> bool:
        return self.kind != "in"

    @property
    def reads(self) -> bool:
        return self.kind != "out"

    def describe(self) -> str:
        dt = self.dtype or self.dtype_var or "any dtype"
        dims = "" if self.dims is None else "[" + ",".join(map(str, self.dims)) + "]"
        return f"{dt}{dims}"


def parse_field_spec(name: str, kind: str, text) -> FieldSpec:
    """Parse ``"float32[n]"``-style specs (see module docstring)."""
    text = "*" if text is None else str(text).replace(" ", "")
    if text in ("*", ""):
        return FieldSpec(name, kind, None, None, None)
    head, dims = text, None
    if "[" in text:
        if not text.endswith("]"):
            raise ValueError(f"field '{name}': spec {text!r} should look like 'float32[n]'")
        head, inner = text[:-1].split("[", 1)
        tokens = [t for t in inner.split(",") if t]
        dims = tuple(int(t) if t.isdigit() else t for t in tokens)
        for t in dims:
            if isinstance(t, str) and not t.isidentifier():
                raise ValueError(f"field '{name}': dimension {t!r} in {text!r} must be a name or a number")
        if len(dims) > _MAX_NDIM:
            raise ValueError(f"field '{name}': at most {_MAX_NDIM} dimensions are supported")
    dtype = dtype_var = None
    if head in _DTYPE_NAMES:
        dtype = _DTYPE_NAMES[head]
    elif head.isidentifier():
        dtype_var = head
    elif head:
        raise ValueError(f"field '{name}': {head!r} is neither an IPU dtype ({', '.join(_DTYPE_NAMES)}) "
                         "nor a dtype variable name like T")
    return FieldSpec(name, kind, dtype, dtype_var, dims)


class Codelet:
    """A vertex type: a function, its fields and its cycle estimate.

    Calling a codelet calls the plain Python function, which is handy for
    trying it on NumPy arrays before putting it on tiles.
    """

    def __init__(self, fn, inputs=(), outputs=(), inouts=(), cycles=None,
                 name=None, jit=True, builtin=False, multi=False):
        self.fn = fn
        self.name = name or fn.__name__
        self.jit = jit
        self.builtin = builtin
        self.cycles = cycles
        self.multi = bool(multi)
        params = _plain_parameters(fn)
        if self.multi:
            lacking = [p for p in WORKER_PARAMS if p not in params]
            if lacking:
                raise ValueError(f"codelet {self.name}: a MultiVertex (multi=True) takes the parameters "
                                 f"'worker' and 'workers', which the engine fills in; add "
                                 f"{' and '.join(repr(p) for p in lacking)} to {fn.__name__}({', '.join(params)})")
        declared = {}
        for kind, group in (("in", inputs), ("out", outputs), ("inout", inouts)):
            items = group.items() if isinstance(group, dict) else ((n, None) for n in _names(group))
            for field_name, text in items:
                if field_name in declared:
                    raise ValueError(f"codelet {self.name}: field '{field_name}' is declared twice")
                if field_name not in params:
                    raise ValueError(f"codelet {self.name}: field '{field_name}' is not a parameter of "
                                     f"{fn.__name__}({', '.join(params)})")
                if self.multi and field_name in WORKER_PARAMS:
                    raise ValueError(f"codelet {self.name}: '{field_name}' is the worker id or count of a "
                                     "MultiVertex, given by the engine; it cannot be a field")
                declared[field_name] = parse_field_spec(field_name, kind, text)
        self.params = params                                         # in call order
        self.fields = tuple(declared[p] for p in params if p in declared)
        self.scalars = tuple(p for p in params if p not in declared)
        self.dims = tuple(dict.fromkeys(d for f in self.fields for d in (f.dims or ()) if isinstance(d, str)))
        self._cycle_names = self._check_cycles()
        _refuse_writes_to_inputs(self)
        self._kernel = None
        self._python = None
        self._estimates = {}
        self._drivers = {}      # compiled drivers by field types (see ipukit.run.numba_executor)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        fields = ", ".join(f"{f.kind} {f.name}: {f.describe()}" for f in self.fields)
        scalars = "".join(f", scalar {s}" for s in self.scalars)
        return f"<codelet {self.name}({fields}{scalars})>"

    # --- cycle estimate ---------------------------------------------------------
    def _check_cycles(self):
        if self.cycles is None or isinstance(self.cycles, (int, np.integer)):
            return ()
        if not callable(self.cycles):
            raise TypeError(f"codelet {self.name}: cycles must be a number or a function, "
                            f"got {type(self.cycles).__name__}")
        known = ([f.name for f in self.fields] + list(self.dims) + list(self.given_scalars) + ["spec", "dtype"]
                 + ["workers"] * self.multi)
        sig = inspect.signature(self.cycles)
        if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return tuple(known)
        wanted = tuple(sig.parameters)
        for w in wanted:
            if w not in known:
                raise ValueError(f"codelet {self.name}: the cycles function asks for '{w}', but it can "
                                 f"only be given: {', '.join(known)} (field names give element counts)")
        return wanted

    @property
    def given_scalars(self) -> tuple:
        """The scalar parameters ``add_vertex`` takes (a MultiVertex's worker id and count are not)."""
        return tuple(s for s in self.scalars if not (self.multi and s in WORKER_PARAMS))

    def estimate(self, counts: dict, dims: dict, scalars: dict, spec, dtype) -> int:
        """Cycles of one vertex on one worker (memoised on the arguments it uses).

        For a MultiVertex: of each worker's share (all the workers run one).
        """
        if self.cycles is None:
            from .cost import default_vertex_cycles
            total = sum(counts.values())
            return default_vertex_cycles(-(-total // spec.workers_per_tile) if self.multi else total)
        if not callable(self.cycles):
            return int(self.cycles)
        pool = {**counts, **dims, **scalars, "spec": spec, "dtype": dtype, "workers": spec.workers_per_tile}
        args = tuple(pool[n] for n in self._cycle_names)
        cycles = self._estimates.get(args)
        if cycles is None:
            cycles = self.cycles(**dict(zip(self._cycle_names, args)))
            if not isinstance(cycles, (int, float, np.integer, np.floating)) or cycles < 0:
                raise ValueError(f"codelet {self.name}: the cycles function returned {cycles!r}; "
                                 "it must return a non-negative number")
            cycles = int(np.ceil(cycles))
            self._estimates[args] = cycles
        return cycles

    # --- connecting a vertex ----------------------------------------------------
    def bind(self, values: dict, where: str):
        """Check a vertex's fields against the specs; return (tensors, scalars, dims).

        ``where`` names the vertex for error messages.
        """
        given = [p for p in WORKER_PARAMS if self.multi and p in values]
        if given:
            raise VertexFieldError(f"{where}: '{given[0]}' of MultiVertex codelet {self.name} is filled in by "
                                   "the engine (each worker's call gets its own); do not pass it to add_vertex")
        missing = [p for p in self.params if p not in values and not (self.multi and p in WORKER_PARAMS)]
        unknown = [k for k in values if k not in self.params]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(f"'{m}'" for m in missing))
            if unknown:
                parts.append("unknown " + ", ".join(f"'{u}'" for u in unknown))
            raise VertexFieldError(f"{where}: {'; '.join(parts)}. Codelet {self.name} takes "
                                   f"{', '.join(self.params)}")
        tensors, dims, dvars = {}, {}, {}
        for f in self.fields:
            t = values[f.name]
            if not isinstance(t, Tensor):
                raise VertexFieldError(f"{where}: field '{f.name}' is an {f.kind}put and needs a tensor, "
                                       f"got {type(t).__name__}")
            if f.dtype is not None and t.dtype != f.dtype:
                raise VertexFieldError(f"{where}: field '{f.name}' must be {f.dtype}, but '{t.name}' is "
                                       f"{t.dtype}")
            if f.dtype_var is not None:
                seen = dvars.setdefault(f.dtype_var, (t.dtype, f.name))
                if seen[0] != t.dtype:
                    raise VertexFieldError(
                        f"{where}: field '{f.name}' ('{t.name}') is {t.dtype} but field '{seen[1]}' is "
                        f"{seen[0]}; both are {f.dtype_var} in codelet {self.name}, so they must match")
            if t.ndim > _MAX_NDIM:
                raise VertexFieldError(f"{where}: field '{f.name}' is {t.ndim}-D; at most {_MAX_NDIM}-D "
                                       "is supported, reshape it first")
            if f.dims is not None:
                if t.ndim != len(f.dims):
                    raise VertexFieldError(
                        f"{where}: field '{f.name}' must be {len(f.dims)}-D ({f.describe()}), but "
                        f"'{t.name}' has shape {t.shape}; reshape or slice it")
                for axis, (d, size) in enumerate(zip(f.dims, t.shape)):
                    if isinstance(d, int):
                        if size != d:
                            raise VertexFieldError(f"{where}: field '{f.name}' axis {axis} must have {d} "
                                                   f"elements, '{t.name}' has {size}")
                    else:
                        seen = dims.setdefault(d, (size, f.name))
                        if seen[0] != size:
                            raise VertexFieldError(
                                f"{where}: field '{f.name}' has {d} = {size} ('{t.name}' shape {t.shape}) "
                                f"but field '{seen[1]}' has {d} = {seen[0]}; codelet {self.name} needs "
                                "them equal")
            tensors[f.name] = t
        scalars = {}
        for s in self.given_scalars:
            v = values[s]
            if isinstance(v, Tensor):
                raise VertexFieldError(f"{where}: '{s}' is a scalar parameter of codelet {self.name}, "
                                       f"not a field; declare it in inputs=... to connect tensor '{v.name}'")
            if isinstance(v, (bool, np.bool_)):
                v = bool(v)
            elif isinstance(v, (int, np.integer)):
                v = int(v)
            elif isinstance(v, (float, np.floating)):
                v = float(v)
            else:
                raise VertexFieldError(f"{where}: scalar '{s}' must be an int, float or bool, got "
                                       f"{type(v).__name__}")
            scalars[s] = v
        return tensors, scalars, {d: size for d, (size, _) in dims.items()}

    # --- compiled form ----------------------------------------------------------
    @property
    def kernel(self):
        """The numba-compiled function (compiled on first use)."""
        if self._kernel is None:
            from numba import njit
            # Built-ins are trusted and cached on disk; learner code gets bounds checks
            # (an out-of-range index must raise, not scribble over the tile) and no cache.
            # Learner code also gets its loops counted, so that an endless loop stops (ipukit.core.loops).
            if self.builtin:
                self._kernel = njit(cache=True)(self.fn)
            else:
                from .loops import budgeted, numba_tick
                self._kernel = njit(boundscheck=True)(budgeted(self.fn, numba_tick()) or self.fn)
        return self._kernel

    @property
    def python(self):
        """The function the reference path calls: a learner's with its loops counted."""
        if self._python is None:
            from .loops import budgeted, py_tick
            self._python = self.fn if self.builtin else budgeted(self.fn, py_tick) or self.fn
        return self._python


def codelet(fn=None, *, inputs=(), outputs=(), inouts=(), cycles=None, name=None, jit=True, multi=False):
    """Turn a plain function over arrays into a vertex type (a Poplar codelet).

    ``multi=True``: a MultiVertex, run by all the tile's workers (see the module docstring).

    Example::

        @ipukit.codelet(inputs={"x": "float32[n]"}, outputs={"y": "float32[n]"},
                        cycles=lambda x: 10 + x)
        def double(x, y):
            for i in range(x.size):
                y[i] = 2 * x[i]
    """
    def wrap(f):
        return Codelet(f, inputs=inputs, outputs=outputs, inouts=inouts, cycles=cycles,
                       name=name, jit=jit, multi=multi)
    return wrap if fn is None else wrap(fn)


def _names(group):
    if isinstance(group, str):
        return (group,)
    return tuple(group)


def _plain_parameters(fn) -> tuple:
    if not callable(fn):
        raise TypeError(f"@codelet decorates a function, got {type(fn).__name__}")
    params = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            raise ValueError(f"codelet {fn.__name__}: parameter '{p.name}' must be a plain positional "
                             "parameter (no *args, **kwargs or keyword-only)")
        if keyword.iskeyword(p.name):
            raise ValueError(f"codelet {fn.__name__}: parameter name '{p.name}' is a Python keyword")
        params.append(p.name)
    return tuple(params)


def _refuse_writes_to_inputs(c: Codelet) -> None:
    """Catch ``a[i] = ...`` on an input field when the codelet is defined.

    numba cannot make the input arrays read-only, so this is where the mistake
    is caught for the compiled path (the reference path also makes them read-only).
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(c.fn)))
    except (OSError, TypeError, SyntaxError):
        return
    inputs = {f.name for f in c.fields if f.kind == "in"}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in inputs:
                    raise VertexFieldError(
                        f"codelet {c.name} writes to its input field '{t.value.id}' (line "
                        f"{t.lineno}): inputs are read-only; declare it in inouts=... or outputs=...")
