"""A loop budget for learners' codelets: an endless loop stops with a named error.

Code compiled by numba cannot be interrupted, so a ``while`` whose condition
never becomes false would hang the kernel.  Every ``while`` and ``for`` of a
learner's codelet is rewritten to count its iterations (one counter per call,
shared by all its loops); every 65,536 iterations, and when the budget is
passed, it calls ``tick``, which raises :class:`LoopBudgetExceeded` past the
budget and lets a Jupyter interrupt through.  Both backends run the rewritten
function, so both stop at the same iteration.  Built-in codelets are not
rewritten.  Loops in functions that a codelet calls are not counted.
"""
from __future__ import annotations

import ast
import copy
import inspect
import signal
import threading
import time
from contextlib import contextmanager

from .. import _env

TICK_EVERY = 1 << 16          # iterations between two calls of tick (a power of two)
_COUNTER, _TICK = "_ipukit_n", "_ipukit_tick"


class LoopBudgetExceeded(Exception):
    """Raised inside a codelet whose loops ran more than the budget; the executors name the vertex."""

    def __init__(self, line: int, budget: int):
        super().__init__(line, budget)
        self.line, self.budget = line, budget


def budgeted(fn, tick):
    """``fn`` with its loops counted (see module docstring), or None where that cannot be done
    faithfully: no source, or a source file edited since ``fn`` was defined."""
    parsed = _parse(fn)
    if parsed is None:
        return None
    node, shift = parsed
    if not _same_code(_inner_code(_compile(copy.deepcopy(node), fn, shift), fn.__name__), fn.__code__):
        return None
    _CountLoops(_env.loop_budget(), shift).visit_body(node)
    node.body.insert(0, _at(ast.parse(f"{_COUNTER} = 0").body[0], node.body[0]))
    namespace = {}
    exec(_compile(node, fn, shift), fn.__globals__, namespace)
    try:
        cells = [c.cell_contents for c in fn.__closure__ or ()]
    except ValueError:    # a free variable not assigned yet
        return None
    new = namespace["_make"](tick, *cells)
    new.__defaults__ = fn.__defaults__
    new.__doc__, new.__qualname__ = fn.__doc__, fn.__qualname__
    return new


def _parse(fn):
    """(the ``def`` of ``fn`` without decorators, line shift to the file), or None."""
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    source = "".join(lines)
    indented = source[:1].isspace()
    try:
        tree = ast.parse("if 1:\n" + source if indented else source)
    except SyntaxError:
        return None
    node = tree.body[0].body[0] if indented else tree.body[0]
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        return None       # e.g. a lambda
    node.decorator_list = []
    return node, first - 1 - indented          # parsed line + shift = line in the file


def _compile(node, fn, shift):
    """``def _make(tick, <fn's free variables>): <node>; return fn``, compiled as in fn's file."""
    free = fn.__code__.co_freevars
    make = ast.parse(f"def _make({', '.join((_TICK,) + free)}):\n    return {fn.__name__}").body[0]
    make.body.insert(0, node)
    module = ast.Module(body=[make], type_ignores=[])
    ast.increment_lineno(module, shift)
    ast.fix_missing_locations(module)
    return compile(module, fn.__code__.co_filename, "exec")


def _inner_code(module_code, name):
    make = next(c for c in module_code.co_consts if inspect.iscode(c))
    return next((c for c in make.co_consts if inspect.iscode(c) and c.co_name == name), None)


def _same_code(a, b) -> bool:
    """Same bytecode, names and constants (nested functions compared the same way)."""
    if a is None or any(getattr(a, k) != getattr(b, k) for k in ("co_code", "co_names", "co_varnames",
                                                                   "co_freevars", "co_cellvars")):
        return False
    return len(a.co_consts) == len(b.co_consts) and all(
        _same_code(x, y) if inspect.iscode(x) and inspect.iscode(y) else
        type(x) is type(y) and (x == y or repr(x) == repr(y))          # (repr: nan != nan)
        for x, y in zip(a.co_consts, b.co_consts))


class _CountLoops(ast.NodeTransformer):
    """Counts the iterations of every loop of one function (not of functions nested in it).

    A ``while`` counts each iteration.  A ``for`` over ``range(...)`` is charged
    its length when it starts, so the hot inner loops of a codelet stay as
    fast as before, unless a ``break`` or ``return`` may end it early: then
    it counts each iteration too.  Other ``for`` loops walk an array or a
    tuple, which ends.
    """

    def __init__(self, budget: int, shift: int):
        self.budget, self.shift, self.ranges = budget, shift, 0

    def visit_body(self, fn: ast.FunctionDef) -> None:
        body = []
        for s in fn.body:
            new = self.visit(s)
            body.extend(new if isinstance(new, list) else [new])
        fn.body = body

    def _count(self, node, code: str, test: str) -> list:
        """Statements ``code``, then ``if test or past the budget: tick(...)``, at the loop's line."""
        line = node.lineno + self.shift
        check = f"if {test} or {_COUNTER} > {self.budget}:\n    {_TICK}({_COUNTER}, {self.budget}, {line})\n"
        return [_at(s, node) for s in ast.parse(code + check).body]

    def visit_While(self, node):
        self.generic_visit(node)
        return self._each_iteration(node)

    def _each_iteration(self, node):
        node.body = self._count(node, f"{_COUNTER} += 1\n", f"{_COUNTER} & {TICK_EVERY - 1} == 0") + node.body
        return node

    def visit_For(self, node):
        self.generic_visit(node)          # (splices the lists returned for inner loops)
        it = node.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                and not it.keywords):
            return node
        if _may_end_early(node.body):
            return self._each_iteration(node)
        self.ranges += 1
        r = f"_ipukit_range{self.ranges}"
        count = self._count(node, f"{r} = range(0)\n_ipukit_was = {_COUNTER}\n{_COUNTER} += len({r})\n",
                            f"({_COUNTER} ^ _ipukit_was) >= {TICK_EVERY}")
        count[0].value = it
        node.iter = _at(ast.Name(r, ast.Load()), node)
        return count + [node]

    def _leave(self, node):
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _leave


def _may_end_early(nodes, inner=False) -> bool:
    """Does a ``return``, or a ``break`` of this loop (not of an inner one), occur in ``nodes``?"""
    for n in nodes:
        if isinstance(n, ast.Return) or (isinstance(n, ast.Break) and not inner):
            return True
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(n, (ast.For, ast.While)):
            if _may_end_early(n.body, True) or _may_end_early(n.orelse, inner):
                return True
        elif _may_end_early(ast.iter_child_nodes(n), inner):
            return True
    return False


def _at(stmt, where):
    for n in ast.walk(stmt):
        if "lineno" in n._attributes:
            n.lineno = n.end_lineno = where.lineno
            n.col_offset = n.end_col_offset = where.col_offset
    return stmt


# --- tick: the budget, and a way out for Ctrl+C / Jupyter's interrupt ------------------
_interrupted = False
_deadline = None              # monotonic time after which a diagnostic re-run gives up


class GaveUp(Exception):
    """A diagnostic re-run of a vertex took too long (see :func:`time_limit`)."""


def py_tick(n, budget, line) -> None:
    """Called by a counted loop every ``TICK_EVERY`` iterations and past the budget."""
    if n > budget:
        raise LoopBudgetExceeded(line, budget)
    if _interrupted:
        raise KeyboardInterrupt
    if _deadline is not None and time.monotonic() > _deadline:
        raise GaveUp


class Interrupted(Exception):
    """Raised in compiled code for a Jupyter interrupt; the numba executor turns it into
    ``KeyboardInterrupt`` (numba can raise only ``Exception`` subclasses)."""


def _tick_code(n, budget, line) -> int:
    """``py_tick`` as a number: 0 go on, 1 past the budget, 2 interrupted, 3 gave up."""
    try:
        py_tick(n, budget, line)
    except LoopBudgetExceeded:
        return 1
    except KeyboardInterrupt:
        return 2
    except GaveUp:
        return 3
    return 0


def numba_tick():
    """``py_tick`` callable from compiled code.  It asks Python through numba's object mode
    for a number and raises in compiled code: an exception raised inside object mode would
    leave Python's error set in a worker thread of a parallel driver."""
    global _numba_tick
    if _numba_tick is None:
        from numba import njit, objmode

        @njit
        def tick(n, budget, line):
            with objmode(code="int64"):
                code = _tick_code(n, budget, line)
            if code == 1:
                raise LoopBudgetExceeded(line, budget)
            if code == 2:
                raise Interrupted()
            if code == 3:
                raise GaveUp()

        _numba_tick = tick
    return _numba_tick


_numba_tick = None


@contextmanager
def interruptible():
    """Let SIGINT stop compiled learner code: it sets a flag that the next tick turns into
    ``KeyboardInterrupt`` (Python's own handler cannot run while compiled code runs)."""
    global _interrupted
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        global _interrupted
        _interrupted = True

    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):            # SIGINT ignored, or handled outside Python: leave it alone
        yield
        return
    _interrupted = False
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        stopped, _interrupted = _interrupted, False
    if stopped:
        raise KeyboardInterrupt


@contextmanager
def time_limit(seconds: float):
    """Make counted loops raise :class:`GaveUp` after ``seconds`` (for diagnostic re-runs)."""
    global _deadline
    _deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline = None
