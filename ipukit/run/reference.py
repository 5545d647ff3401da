"""The reference executor: the emulator's semantics in plain NumPy and Python.

It is the readable twin of :mod:`ipukit.run.numba_executor`: the same steps, one vertex and
one run at a time.  ``Engine(..., backend="reference")`` uses it; the tests run
programs on both and require identical SRAM bytes and identical profiles.
A learner's codelet runs with its loops counted (:mod:`ipukit.core.loops`), so an
endless loop stops on both backends at the same iteration.  The errors a
codelet can cause are worded here, for both backends.
"""
from __future__ import annotations

import linecache

import numpy as np

from ..core import loops
from ..core.errors import CodeletError, LoopBudgetError

DIAGNOSE_SECONDS = 2.0      # a re-run made only to word an error gives up after this long


def copy_runs(mem, src, dst, nbytes) -> None:
    """Apply an exchange plan: for each run, move ``nbytes`` from ``src`` to ``dst``."""
    for s, d, n in zip(src.tolist(), dst.tolist(), nbytes.tolist()):
        mem[d:d + n] = mem[s:s + n]


def field_views(mem, group, row) -> list:
    """The arguments of vertex ``row`` of ``group``: SRAM views, then scalars, in call order.

    Input fields are read-only views: writing to one raises.
    """
    codelet = group.codelet
    views = {}
    for j, f in enumerate(codelet.fields):
        offset, n = int(group.table[row, j, 0]), int(group.table[row, j, 1])
        dtype = group.dtypes[j]
        arr = mem[offset:offset + n * dtype.itemsize].view(dtype)
        if group.ndims[j] > 1:
            arr = arr.reshape(tuple(group.table[row, j, 2:2 + group.ndims[j]]))
        if not f.writes:
            arr.flags.writeable = False
        views[f.name] = arr
    # Scalars as NumPy scalars, so that mixed arithmetic promotes as it does in numba.
    for s, (kind, col) in zip(codelet.scalars, group.scalar_slots):
        views[s] = (np.float64(group.sf[row, col]) if kind == "f" else
                    np.int64(group.si[row, col]) if kind == "i" else bool(group.si[row, col]))
    return [views[p] for p in codelet.params]


def run_group(mem, group) -> None:
    """Run every vertex of a group by calling the codelet's Python function."""
    for row in range(len(group.vertices)):
        run_vertex(mem, group, row)


def run_vertex(mem, group, row) -> None:
    """Run one vertex; a codelet that raises becomes a :class:`CodeletError` saying where."""
    try:
        group.codelet.python(*field_views(mem, group, row))
    except Exception as e:  # a learner's codelet may raise anything: report where
        raise codelet_error(mem, group, row, e) from e


def codelet_error(mem, group, row, e) -> CodeletError:
    """The error to raise when vertex ``row`` of ``group`` raised ``e`` on the reference path."""
    vertex, codelet = group.vertices[row], group.codelet
    if isinstance(e, loops.LoopBudgetExceeded):
        return loop_budget_error(vertex, codelet, e)
    line = learner_line(codelet, e)
    if isinstance(e, ValueError) and "read-only" in str(e):
        changed = _changed_input(mem, group, row)
        return CodeletError(input_write_message(vertex, codelet, *(changed or (None, None)), line))
    return CodeletError(f"{vertex.where()}: codelet {codelet.name} raised {type(e).__name__}: {e}{line}")


def loop_budget_error(vertex, codelet, e) -> LoopBudgetError:
    return LoopBudgetError(
        f"{vertex.where()}: codelet {codelet.name} did not finish: its loops ran {e.budget:,} iterations "
        f"in one call{_line_text(codelet.fn.__code__.co_filename, e.line, 'the loop at')}. A while loop "
        "whose condition never becomes false runs for ever: check that the loop changes what its condition "
        "tests. If this vertex really has that much work, share it among more vertices (or raise the "
        "limit with the environment variable IPUKIT_LOOP_BUDGET).")


def input_write_message(vertex, codelet, field, element, line) -> str:
    """A codelet wrote to one of its input fields (through another name: ``b = a; b[0] = ...``)."""
    what = "one of its input fields"
    if field is not None:
        t = vertex.tensors[field]
        index = np.unravel_index(element, t.shape) if t.shape else ()
        which = t.graph.describe_element(t.ids.reshape(-1)[element])
        what = f"its input field '{field}' at [{', '.join(str(int(i)) for i in index)}] ({which})"
    name = f"'{field}'" if field else "the field"
    return (f"{vertex.where()}: codelet {codelet.name} wrote to {what}{line}. Inputs are read-only, also "
            f"through another name (b = {field or 'a'}; b[0] = ...). Declare {name} in inouts=... if the "
            "codelet must update it, or write the result to an output field.")


def learner_line(codelet, e) -> str:
    """`` (line N: `source`)`` for the line of the codelet that raised ``e``, or ``""``."""
    code, line = codelet.python.__code__, None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    return "" if line is None else _line_text(code.co_filename, line)


def _line_text(filename, line, what="") -> str:
    source = linecache.getline(filename, line).strip()
    what = f"{what} line {line}".lstrip()
    return f" ({what}: `{source}`)" if source else f" ({what})"


def _changed_input(mem, group, row):
    """Run vertex ``row`` on copies of its fields, inputs writable: (field, flat element) of the
    first input value it changes, or None (it wrote an equal value, or the re-run failed)."""
    args = field_views(mem, group, row)
    views = {p: a for p, a in zip(group.codelet.params, args)}
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        with loops.time_limit(DIAGNOSE_SECONDS):
            group.codelet.python(*copies)
    except Exception:
        pass
    for f in group.codelet.fields:
        if not f.writes:
            before, after = views[f.name].reshape(-1), copies[group.codelet.params.index(f.name)].reshape(-1)
            diff = np.flatnonzero((before.view(np.uint8).reshape(before.size, -1)
                                   != after.view(np.uint8).reshape(after.size, -1)).any(axis=1))
            if diff.size:
                return f.name, int(diff[0])
    return None


class ReferenceExecutor:
    name = "reference"

    def __init__(self, mem):
        self.mem = mem

    def prepare(self, groups) -> None:
        """Nothing to compile."""

    def copy_runs(self, src, dst, nbytes) -> None:
        copy_runs(self.mem, src, dst, nbytes)

    def run_group(self, group) -> None:
        run_group(self.mem, group)
