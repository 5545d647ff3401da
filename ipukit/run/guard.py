"""Inputs stay inputs on the numba path: a learner's codelet may not change its input fields.

The reference path hands a codelet read-only views of its inputs.  numba cannot
make an array read-only, and a write through another name (``b = a; b[0] = 1``)
escapes the check made when the codelet is defined.  So the bytes of a learner
group's input fields are saved before the group runs and compared after; a
change is reported naming vertex, field and element.  Bytes that a vertex also
writes through one of its output fields (``add(a=x, out=x)``) are not checked.
Built-in codelets are trusted and not checked.
"""
from __future__ import annotations

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
