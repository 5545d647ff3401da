"""Inputs stay inputs on the numba path: a learner's codelet may not change its input fields.

The reference path hands a codelet read-only views of its inputs.  numba cannot
make an array read-only, and a write through another name (``b = a; b[0] = 1``)
escapes the check made when the codelet is defined.  So the bytes of a learner
group's input fields are saved before the group runs and compared after; a
change is reported naming vertex, field and element.  Bytes that a vertex also
writes through one of its output fields (``add(a=x, out=x)``) are not checked.
Built-in codelets are trusted and not checked, and so is a codelet whose source
shows that it cannot write an input (:func:`needs_guard`): saving and comparing
the inputs would triple the memory traffic of a simple elementwise codelet.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit


@dataclass(eq=False)
class InputGuard:
    starts: np.ndarray       # (runs,) first byte of each checked run in the flat SRAM
    ends: np.ndarray         # (runs,) one past its last byte
    row: np.ndarray          # (runs,) vertex row in the group
    col: np.ndarray          # (runs,) field column in the group's table
    offsets: np.ndarray      # (runs + 1,) where each run starts in the saved bytes

    def save(self, mem) -> np.ndarray:
        saved = np.empty(int(self.offsets[-1]), np.uint8)
        _save(mem, self.starts, self.ends, saved)
        return saved

    def restore(self, mem, saved) -> None:
        _restore(mem, self.starts, self.ends, saved)

    def first_change(self, mem, saved, group):
        """(row, field column, flat element index) of the first input byte that changed, or None."""
        k = _first_change(mem, self.starts, self.ends, saved)
        if k < 0:
            return None
        r = int(np.searchsorted(self.offsets, k, side="right")) - 1
        row, col = int(self.row[r]), int(self.col[r])
        byte = int(self.starts[r]) + k - int(self.offsets[r])
        return row, col, (byte - int(group.table[row, col, 0])) // group.dtypes[col].itemsize


_MEASURES = {"size", "shape", "ndim", "dtype", "itemsize", "nbytes"}


def needs_guard(group) -> bool:
    """False only when the codelet's source shows that no input field can be written: every use
    of an input is a read of one element (``a[i]`` of a 1-D field, ``a[i, j]`` of a 2-D one, with
    indices that are names, numbers or arithmetic on them) or a measure (``a.size``, ``a.shape``,
    ``len(a)``...), and the name is never rebound.  Anything else (a slice, a view, passing the
    array on, ``b = a``) may write through another name, so the group's inputs are checked."""
    fields = group.codelet.fields
    ndim = {f.name: int(group.ndims[j]) for j, f in enumerate(fields) if not f.writes}
    if not ndim:
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(group.codelet.fn)))
    except (OSError, TypeError, SyntaxError):
        return True
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice":
            return True           # a slice object kept in a name could index a view
        if isinstance(node, ast.Name) and node.id in ndim and not _only_read(node, parents, ndim[node.id]):
            return True
    return False


def _only_read(name, parents, ndim) -> bool:
    parent = parents.get(name)
    if isinstance(name.ctx, ast.Store) or isinstance(name.ctx, ast.Del):
        return False
    if isinstance(parent, ast.Attribute) and parent.value is name:
        return parent.attr in _MEASURES
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "len":
        return name in parent.args and len(parent.args) == 1
    if isinstance(parent, ast.Subscript) and parent.value is name and isinstance(parent.ctx, ast.Load):
        index = parent.slice
        elements = index.elts if isinstance(index, ast.Tuple) else [index]
        return len(elements) == ndim and all(_scalar_index(e) for e in elements)
    return False


def _scalar_index(node) -> bool:
    """An index that gives one element: names, integers, arithmetic, ``int(...)`` and the like,
    and subscripts of them."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return _scalar_index(node.left) and _scalar_index(node.right)
    if isinstance(node, ast.UnaryOp):
        return _scalar_index(node.operand)
    if isinstance(node, ast.Subscript):          # idx[i]: an element of another array
        return isinstance(node.slice, (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NUMBER_CALLS:
        return not node.keywords and all(_scalar_index(a) for a in node.args)
    return False


_NUMBER_CALLS = {"int", "min", "max", "abs", "len"}


def input_guard(group) -> InputGuard:
    """The byte runs of ``group``'s input fields, less the bytes its output fields write."""
    fields = group.codelet.fields
    isz = np.array([d.itemsize for d in group.dtypes], np.int64)
    ins = np.array([j for j, f in enumerate(fields) if not f.writes], np.int64)
    outs = np.array([j for j, f in enumerate(fields) if f.writes], np.int64)
    tab = group.table
    rows = np.repeat(np.arange(tab.shape[0]), len(ins))
    cols = np.tile(ins, tab.shape[0])
    s = tab[rows, cols, 0]
    e = s + tab[rows, cols, 1] * isz[cols]
    ws = tab[:, outs, 0].reshape(-1)
    we = ws + (tab[:, outs, 1] * isz[outs]).reshape(-1)
    gs, ge = _gaps(ws, we)
    lo = np.searchsorted(ge, s, side="right")        # first gap ending after the run starts
    hi = np.searchsorted(gs, e, side="left")         # gaps starting before the run ends
    rep = np.maximum(hi - lo, 0)
    run = np.repeat(np.arange(s.size), rep)
    gap = lo[run] + np.arange(run.size) - (np.cumsum(rep) - rep)[run]
    ps, pe = np.maximum(s[run], gs[gap]), np.minimum(e[run], ge[gap])
    keep = pe > ps
    ps, pe, run = ps[keep], pe[keep], run[keep]
    offsets = np.concatenate(([0], np.cumsum(pe - ps))).astype(np.int64)
    return InputGuard(ps.astype(np.int64), pe.astype(np.int64), rows[run], cols[run], offsets)


def _gaps(starts, ends):
    """The complement of the union of intervals [starts, ends): sorted gap starts and ends."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    big = np.iinfo(np.int64).max
    if not starts.size:
        return np.zeros(1, np.int64), np.full(1, big, np.int64)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    new = np.ones(starts.size, bool)
    new[1:] = starts[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], starts.size) - 1
    return (np.concatenate(([0], reach[last])).astype(np.int64),
            np.concatenate((starts[first], [big])).astype(np.int64))


def _save_py(mem, starts, ends, out):
    k = 0
    for r in range(starts.size):
        n = ends[r] - starts[r]
        out[k:k + n] = mem[starts[r]:ends[r]]
        k += n


def _restore_py(mem, starts, ends, saved):
    k = 0
    for r in range(starts.size):
        n = ends[r] - starts[r]
        mem[starts[r]:ends[r]] = saved[k:k + n]
        k += n


def _first_change_py(mem, starts, ends, saved):
    k = 0
    for r in range(starts.size):
        for i in range(starts[r], ends[r]):
            if mem[i] != saved[k]:
                return k
            k += 1
    return -1


if numba.config.DISABLE_JIT:
    _save, _restore = _save_py, _restore_py

    def _first_change(mem, starts, ends, saved):
        now = np.empty_like(saved)
        _save_py(mem, starts, ends, now)
        hit = np.flatnonzero(now != saved)
        return int(hit[0]) if hit.size else -1
else:
    _save = njit(cache=True, nogil=True)(_save_py)
    _restore = njit(cache=True, nogil=True)(_restore_py)
    _first_change = njit(cache=True, nogil=True)(_first_change_py)
