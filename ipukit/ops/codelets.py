"""The vertices the ops are built from, with their cycle estimates.

Rules that keep the compiled (numba) and reference (Python) backends bit-identical:

- read array elements into ``np.float64(...)`` before arithmetic: numba's
  ``float(x)`` keeps a float32 a float32, NumPy's mixed scalar rules differ again;
  in float64 both compute the same IEEE operations in the same order;
- transcendental functions come from ``math`` (the C library on both paths), on
  float64 arguments;
- sums run in a fixed order.

Cycle estimates count one worker's instructions, as ``ipukit.cost`` does for the
built-ins.  The IPU has instructions for transcendental functions, but no
per-instruction timings are published; the per-vector costs below are marked
ASSUMPTION and kept here, in one place.
"""
from __future__ import annotations

import math

import numpy as np

from ..core import cost
from ..lib.codelets import builtin

# ASSUMPTION: a transcendental function (exp, tanh, sigmoid) on one 64-bit vector costs
# 4 worker cycles, twice a binary op (cost.BINARY_CYCLES_PER_VECTOR): no published figure.
TRANSCENDENTAL_CYCLES_PER_VECTOR = 4
# ASSUMPTION: GELU (tanh form) is a tanh plus six multiply/adds per element.
GELU_CYCLES_PER_VECTOR = TRANSCENDENTAL_CYCLES_PER_VECTOR + 3 * cost.BINARY_CYCLES_PER_VECTOR
# ASSUMPTION: starting a segment of a reduction or a row of a row-wise op (loop set-up,
# pointer arithmetic, the final store) costs a few cycles, as PopLibs' reduce vertices
# pay per region (PLB lib/popops/reduction); no published figure.
SEGMENT_CYCLES = 4
GELU_C = math.sqrt(2.0 / math.pi)
# Doubles at or above these round to +inf when stored as float32 / float16 (round half to even).
FLOAT32_OVERFLOW = (2.0 - 2.0 ** -24) * 2.0 ** 127
FLOAT16_OVERFLOW = 65520.0


def _vectors(n, spec, dtype):
    return -(-n // cost.vector_elements(spec, dtype))


def _transcendental(out, spec, dtype):
    return cost.VERTEX_OVERHEAD + TRANSCENDENTAL_CYCLES_PER_VECTOR * _vectors(out, spec, dtype)


# --- elementwise ------------------------------------------------------------------------
@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"},
          cycles=lambda out, spec, dtype: cost.elementwise_cycles(out, spec, dtype))
def div(a, b, out):
    """out = a / b"""
    np.divide(a, b, out)


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_transcendental)
def exp(a, out):
    """out = e ** a; too large a result is +inf, as in NumPy"""
    big = FLOAT32_OVERFLOW if out.itemsize == 4 else FLOAT16_OVERFLOW
    for i in range(out.size):
        x = np.float64(a[i])
        y = np.inf if x > 709.0 else math.exp(x)        # math.exp raises beyond ~709.78; NaN stays NaN
        out[i] = np.inf if y >= big else y


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_transcendental)
def tanh(a, out):
    """out = tanh(a)"""
    for i in range(out.size):
        out[i] = math.tanh(np.float64(a[i]))


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=_transcendental)
def sigmoid(a, out):
    """out = 1 / (1 + e ** -a), from e ** -|a| so that it never overflows"""
    for i in range(out.size):
        x = np.float64(a[i])
        if x >= 0:
            out[i] = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            out[i] = e / (1.0 + e)


@builtin(inputs={"a": "T[n]"}, outputs={"out": "T[n]"},
          cycles=lambda out, spec, dtype: cost.VERTEX_OVERHEAD
          + GELU_CYCLES_PER_VECTOR * _vectors(out, spec, dtype))
def gelu(a, out):
    """out = 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))): GELU in its tanh form (as popnn, GPT-2)"""
    for i in range(out.size):
        x = np.float64(a[i])
        out[i] = 0.5 * x * (1.0 + math.tanh(GELU_C * (x + 0.044715 * x * x * x)))


@builtin(inputs={"i": "T[n]", "f": "T[n]", "g": "T[n]", "o": "T[n]", "c": "T[n]"},
          outputs={"h_out": "T[n]", "c_out": "T[n]"},
          cycles=lambda c, spec, dtype: cost.VERTEX_OVERHEAD + (5 * TRANSCENDENTAL_CYCLES_PER_VECTOR
                                                               + 3 * cost.BINARY_CYCLES_PER_VECTOR)
          * _vectors(c, spec, dtype))
def lstm_cell(i, f, g, o, c, h_out, c_out):
    """One LSTM step from its gate pre-activations (gate order i, f, g, o, as PyTorch):
    c' = sigmoid(f) c + sigmoid(i) tanh(g);  h' = sigmoid(o) tanh(c').
    Each sigmoid is computed from e ** -|z|, which never overflows."""
    for x in range(c.size):
        z = np.float64(i[x])
        e = math.exp(-abs(z))
        ig = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        z = np.float64(f[x])
        e = math.exp(-abs(z))
        fg = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        z = np.float64(o[x])
        e = math.exp(-abs(z))
        og = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        c_out[x] = fg * np.float64(c[x]) + ig * math.tanh(np.float64(g[x]))
        h_out[x] = og * math.tanh(np.float64(c_out[x]))


# --- reductions -------------------------------------------------------------------------
def _segments(a, out, spec, dtype):
    return (cost.elementwise_cycles(a, spec, dtype, cost.UNARY_CYCLES_PER_VECTOR)
            + SEGMENT_CYCLES * out)


@builtin(inputs={"a": "T[n]", "starts": "int32[p]"}, outputs={"out": "T[s]"}, cycles=_segments)
def reduce_segments_sum(a, starts, out, scale):
    """out[s] = scale * (a[starts[s]] + ... + a[starts[s+1] - 1]), summed in order."""
    for s in range(out.size):
        out[s] = 0
        for x in range(starts[s], starts[s + 1]):
            out[s] += a[x]
        if scale != 1.0:
            out[s] = out[s] * scale


@builtin(inputs={"a": "T[n]", "starts": "int32[p]"}, outputs={"out": "T[s]"}, cycles=_segments)
def reduce_segments_max(a, starts, out):
    """out[s] = max(a[starts[s]:starts[s+1]]); a NaN wins, as in NumPy."""
    for s in range(out.size):
        m = a[starts[s]]
        for x in range(starts[s] + 1, starts[s + 1]):
            v = a[x]
            if v > m or v != v:
                m = v
                if v != v:
                    break
        out[s] = m


@builtin(inputs={"a": "float32[k,n]"}, outputs={"out": "float16[n]"},
          cycles=lambda a, spec, dtype: cost.elementwise_cycles(a, spec, dtype, cost.UNARY_CYCLES_PER_VECTOR))
def reduce_partials_half(a, out):
    """out = a[0] + a[1] + ... in float32 (in that order), rounded to float16 at the end."""
    acc = a[0].copy()
    for r in range(1, a.shape[0]):
        acc += a[r]
    out[:] = acc.astype(np.float16)


# --- row-wise ---------------------------------------------------------------------------
def _rows(a, r, spec, dtype, per_vector):
    return cost.VERTEX_OVERHEAD + r * SEGMENT_CYCLES + per_vector * _vectors(a, spec, dtype)


@builtin(inputs={"a": "T[r,d]"}, outputs={"out": "T[r,d]"},
          cycles=lambda a, r, spec, dtype: _rows(a, r, spec, dtype, 2 * cost.UNARY_CYCLES_PER_VECTOR
                                                 + TRANSCENDENTAL_CYCLES_PER_VECTOR
                                                 + cost.BINARY_CYCLES_PER_VECTOR))
def softmax_rows(a, out, scale):
    """out[r] = softmax(scale * a[r]): subtract the row's maximum first, so exp never overflows."""
    for r in range(a.shape[0]):
        m = np.float64(a[r, 0])
        for j in range(1, a.shape[1]):
            v = np.float64(a[r, j])
            if v > m:
                m = v
        total = 0.0
        for j in range(a.shape[1]):
            total += math.exp(scale * (np.float64(a[r, j]) - m))
        for j in range(a.shape[1]):
            out[r, j] = math.exp(scale * (np.float64(a[r, j]) - m)) / total


@builtin(inputs={"a": "T[r,d]", "gamma": "T[d]", "beta": "T[d]"}, outputs={"out": "T[r,d]"},
          cycles=lambda a, r, spec, dtype: _rows(a, r, spec, dtype, 3 * cost.UNARY_CYCLES_PER_VECTOR
                                                 + 2 * cost.BINARY_CYCLES_PER_VECTOR)
          + r * TRANSCENDENTAL_CYCLES_PER_VECTOR)
def layer_norm_rows(a, gamma, beta, out, eps):
    """out[r] = (a[r] - mean) / sqrt(var + eps) * gamma + beta, mean and variance over the row."""
    d = a.shape[1]
    for r in range(a.shape[0]):
        s = 0.0
        for j in range(d):
            s += np.float64(a[r, j])
        mean = s / d
        v = 0.0
        for j in range(d):
            x = np.float64(a[r, j]) - mean
            v += x * x
        rstd = 1.0 / math.sqrt(v / d + eps)
        for j in range(d):
            out[r, j] = (np.float64(a[r, j]) - mean) * rstd * np.float64(gamma[j]) + np.float64(beta[j])


# --- MultiVertex elementwise (popops' BinaryOp1D / UnaryOp1D are MultiVertex) ------------
# One vertex per tile, run by all six workers: worker w takes the w-th of ``workers``
# near-equal runs of whole 64-bit vectors (8 bytes, spec.vector_bytes), so each
# worker's share is at most ceil(vectors / workers) vectors.
def _share_cycles(per_vector):
    def cycles(out, workers, spec, dtype):
        return cost.VERTEX_OVERHEAD + per_vector * -(-_vectors(out, spec, dtype) // workers)
    return cycles


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, multi=True,
          cycles=_share_cycles(cost.BINARY_CYCLES_PER_VECTOR))
def add_1d(a, b, out, worker, workers):
    """out = a + b, a MultiVertex: this worker's run of whole 64-bit vectors."""
    vec = max(1, 8 // out.itemsize)
    vectors = (out.size + vec - 1) // vec
    lo, hi = min(out.size, worker * vectors // workers * vec), min(out.size, (worker + 1) * vectors // workers * vec)
    np.add(a[lo:hi], b[lo:hi], out[lo:hi])


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, multi=True,
          cycles=_share_cycles(cost.BINARY_CYCLES_PER_VECTOR))
def sub_1d(a, b, out, worker, workers):
    """out = a - b, a MultiVertex: this worker's run of whole 64-bit vectors."""
    vec = max(1, 8 // out.itemsize)
    vectors = (out.size + vec - 1) // vec
    lo, hi = min(out.size, worker * vectors // workers * vec), min(out.size, (worker + 1) * vectors // workers * vec)
    np.subtract(a[lo:hi], b[lo:hi], out[lo:hi])


@builtin(inputs={"a": "T[n]", "b": "T[n]"}, outputs={"out": "T[n]"}, multi=True,
          cycles=_share_cycles(cost.BINARY_CYCLES_PER_VECTOR))
def mul_1d(a, b, out, worker, workers):
    """out = a * b, a MultiVertex: this worker's run of whole 64-bit vectors."""
    vec = max(1, 8 // out.itemsize)
    vectors = (out.size + vec - 1) // vec
    lo, hi = min(out.size, worker * vectors // workers * vec), min(out.size, (worker + 1) * vectors // workers * vec)
    np.multiply(a[lo:hi], b[lo:hi], out[lo:hi])
