"""Built-in codelets with cycle estimates, like a tiny ``popops`` / ``poplin``.

Each is an ordinary codelet: read it to see how to write your own.  Elementwise
ops use NumPy ufuncs with ``out=`` (no temporary arrays); reductions use loops
with a fixed order so the compiled and the reference paths agree bit for bit.
``T`` is any IPU dtype, shared by the fields that say ``T``.
"""
from __future__ import annotations

import numpy as np

from ..core import cost
from ..core.codelet import Codelet


def builtin(**kwargs):
    """``@builtin(inputs=..., outputs=..., cycles=...)``: a codelet shipped with ipukit.

    Built-ins are compiled once and cached on disk, and run their vertices in parallel;
    every library module (collectives, replicas, sparse, ops) declares its codelets with it.
    """
    return lambda fn: Codelet(fn, builtin=True, **kwargs)


def _elementwise(out, spec, dtype):
    return cost.elementwise_cycles(out, spec, dtype)


def _unary(out, spec, dtype):
    return cost.elementwise_cycles(out, spec, dtype, cost.UNARY_CYCLES_PER_VECTOR)


def _store(out, spec, dtype):
    return cost.copy_cycles(out * dtype.itemsize, spec)


@builtin(outputs={"out": "T[n]"}, cycles=_store)
def fill(out, value):
    """out[:] = value"""
    out[:] = value


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_store)
def copy(a, out):
    """out[:] = a"""
    out[:] = a


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_unary)
def scale(a, out, factor):
    """out = a * factor"""
    for i in range(out.size):
        out[i] = a[i] * factor


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, cycles=_elementwise)
def add(a, b, out):
    """out = a + b"""
    np.add(a, b, out)


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, cycles=_elementwise)
def sub(a, b, out):
    """out = a - b"""
    np.subtract(a, b, out)


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, cycles=_elementwise)
def mul(a, b, out):
    """out = a * b"""
    np.multiply(a, b, out)


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_unary)
def relu(a, out):
    """out = max(a, 0); NaN stays NaN"""
    for i in range(out.size):
        x = a[i]
        out[i] = 0 if x < 0 else x


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[1]"},
          cycles=lambda a, spec, dtype: cost.elementwise_cycles(a, spec, dtype, cost.UNARY_CYCLES_PER_VECTOR))
def reduce_sum(a, out):
    """out[0] = a[0] + a[1] + ... (in that order)"""
    out[0] = 0
    for i in range(a.size):
        out[0] += a[i]


@builtin(inputs={"a": "T[k,n]"}, outputs={"out": "T[n]"},
          cycles=lambda a, spec, dtype: cost.elementwise_cycles(a, spec, dtype, cost.UNARY_CYCLES_PER_VECTOR))
def reduce_rows(a, out):
    """out[j] = a[0, j] + a[1, j] + ...: sums partial results, e.g. of a split matmul."""
    for j in range(out.size):
        out[j] = a[0, j]
    for r in range(1, a.shape[0]):
        for j in range(out.size):
            out[j] += a[r, j]


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[1]"},
          cycles=lambda a, spec, dtype: cost.elementwise_cycles(a, spec, dtype))
def dot(a, b, out):
    """out[0] = sum(a * b): one row of a matrix-vector product."""
    out[0] = 0
    for i in range(a.size):
        out[0] += a[i] * b[i]


@builtin(inputs={"a": "float32[m,k]", "b": "float32[k,n]"}, outputs={"out": "float32[m,n]"},
          cycles=lambda m, k, n, spec: cost.amp_cycles(m, k, n, spec, np.float32))
def matmul_partial(a, b, out):
    """out = a @ b for one block, at the AMP unit's float32 rate.

    A matrix-matrix product goes to BLAS ``sgemm``, which NumPy and numba call
    the same way; NumPy would use ``sgemv`` for a single row or column, so
    those are summed here in a fixed order instead, keeping both paths equal.
    """
    if a.shape[0] > 1 and b.shape[1] > 1:
        out[:] = np.dot(a, b)
    else:
        for i in range(a.shape[0]):
            for j in range(b.shape[1]):
                out[i, j] = 0
                for p in range(a.shape[1]):
                    out[i, j] += a[i, p] * b[p, j]


@builtin(inputs={"a": "float16[m,k]", "b": "float16[k,n]"}, outputs={"out": "float32[m,n]"},
          cycles=lambda m, k, n, spec: cost.amp_cycles(m, k, n, spec, np.float16))
def matmul_partial_half(a, b, out):
    """out = a @ b from float16 inputs with float32 accumulation (AMP FP16.32)."""
    out[:] = np.dot(a.astype(np.float32), b.astype(np.float32))
