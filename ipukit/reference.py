"""The reference executor: the emulator's semantics in plain NumPy and Python.

It is the readable twin of :mod:`ipukit.fast`: the same steps, one vertex and
one run at a time.  ``Engine(..., backend="reference")`` uses it; the tests run
programs on both and require identical SRAM bytes and identical profiles.
"""
from __future__ import annotations

import numpy as np

from .errors import CodeletError


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
    fn = group.codelet.fn
    for row, vertex in enumerate(group.vertices):
        args = field_views(mem, group, row)
        try:
            fn(*args)
        except Exception as e:  # a learner's codelet may raise anything: report where
            raise CodeletError(f"{vertex.where()}: codelet {group.codelet.name} raised "
                               f"{type(e).__name__}: {e}") from e


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
