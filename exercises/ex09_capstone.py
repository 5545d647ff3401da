"""Notebook 09, capstone: exercises.

Tuning a model on the IPU is a loop: measure, find what dominates, change one
thing, measure again.  These three exercises read a profile, turn it into
FLOP/s against the machine's peak, and tune the mapping of a small layer until
it meets a cycle budget.

Work on a function, then check it from the notebook with ``ipukit.check("ex09_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex09``).
"""
import math

import numpy as np

import ipukit
from ipukit import cost
from ipukit.ops import codelets as K

PHASES = ("compute", "exchange", "sync", "host")
GELU_C = math.sqrt(2.0 / math.pi)


def read_profile(profile):
    """Exercise 09.1: read a profile.

    Return ``(phase, tile, share)``: the phase (``"compute"``, ``"exchange"``,
    ``"sync"`` or ``"host"``) that took the most cycles in the run (the first in
    that order if several tie); the tile that was busy computing the longest,
    summed over the run (the lowest id if several tie); and that tile's share of
    all the tiles' compute cycles together (1 / tiles when the work is even).

    About 6 lines.  Useful: ``profile.cycles_by_phase()`` (a dict of cycles by
    phase), ``profile.tile_cycles("compute")`` (a NumPy array: each tile's compute
    cycles over the run), ``np.argmax``, ``max(..., key=...)``.
    """
    raise NotImplementedError("Exercise 09.1: return (phase, tile, share) of the dominant phase and the busiest tile")


def achieved_flops(profile, flops, dtype="float32"):
    """Exercise 09.2: achieved FLOP/s and the fraction of the peak.

    ``profile`` is a run that did ``flops`` floating-point operations.  Return
    ``(flops_per_second, fraction_of_peak, compute_fraction)``: the rate over the
    whole run (every phase counts: compute, exchange, sync, host), that rate as a
    fraction of the machine's AMP peak for ``dtype`` (every tile of every IPU in
    ``profile.spec``), and the same fraction counting only the compute phases.

    About 5 lines.  Useful: ``profile.spec`` (the machine: ``spec.clock_hz``,
    ``spec.total_tiles``, ``spec.peak_flops(dtype)``), ``profile.total_cycles`` or
    ``profile.seconds``, ``profile.compute_cycles``.  A GC2 tile peaks at 16 FLOP
    per cycle in float32 and 64 in float16 (31.1 and 124.5 TFLOPS for 1216 tiles).
    """
    raise NotImplementedError("Exercise 09.2: return (FLOP/s, fraction of peak, compute-only fraction of peak)")


# --- exercise 09.3: the activation of the feed-forward block --------------------------
def _bias_gelu_cycles(a, r, spec, dtype):
    """A vertex's worker cycles: a start, a few cycles per row, and per 64-bit vector an
    add and a GELU (ipukit.ops prices its GELU the same way)."""
    vectors = -(-a // cost.vector_elements(spec, dtype))
    return (cost.VERTEX_OVERHEAD + K.SEGMENT_CYCLES * r
            + (K.GELU_CYCLES_PER_VECTOR + cost.BINARY_CYCLES_PER_VECTOR) * vectors)


@ipukit.codelet(inputs={"a": "T[r,d]", "bias": "T[d]"}, outputs={"out": "T[r,d]"}, cycles=_bias_gelu_cycles)
def bias_gelu_rows(a, bias, out):
    """out[i] = GELU(a[i] + bias) for each row i (GELU in its tanh form, as BERT)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x = np.float64(a[i, j]) + np.float64(bias[j])
            out[i, j] = 0.5 * x * (1.0 + math.tanh(GELU_C * (x + 0.044715 * x * x * x)))


def naive_bias_gelu(graph, rows, width):
    """The first draft (given): every tensor mapped linearly, one vertex per tile.

    Each tile gets one vertex for the rows whose first element it holds.  It works
    and matches NumPy, but it misses the budget of exercise 09.3.
    """
    x = graph.add_variable((rows, width), name="x")
    bias = graph.add_variable(width, name="bias")
    out = graph.add_variable((rows, width), name="out")
    graph.map_linearly(x)
    graph.map_linearly(out)
    graph.set_tile_mapping(bias, 0)
    cs = graph.add_compute_set("bias_gelu")
    first = graph.element_tiles(x)[:, 0]                   # the tile of each row's first element
    for tile in np.unique(first).tolist():
        mine = np.flatnonzero(first == tile)
        lo, hi = int(mine[0]), int(mine[-1]) + 1
        graph.add_vertex(cs, bias_gelu_rows, tile=tile, a=x[lo:hi], bias=bias, out=out[lo:hi])
    return x, bias, out, ipukit.Execute(cs)


def tuned_bias_gelu(graph, rows, width):
    """Exercise 09.3: tune the mapping of the activation step to meet a cycle budget.

    Build ``out = GELU(x + bias)`` row by row with ``bias_gelu_rows`` vertices,
    as ``naive_bias_gelu`` does, but map and split the work so that it runs within
    the budget.  Create float32 tensors ``x`` (rows, width), ``bias`` (width,) and
    ``out`` (rows, width), and return ``(x, bias, out, program)``.

    The budget is what this layout costs: whole rows spread evenly over the tiles,
    each tile's rows shared out between its six workers, ``bias`` received once by
    each tile.  Run ``naive_bias_gelu`` first and look at its profile: which tiles
    compute, how many workers work, what crosses the exchange?

    About 15 lines.  Useful: ``graph.map_linearly(t, grain_size=...)`` (a grain of
    ``width`` keeps rows whole), ``graph.tile_mapping(x)`` (per tile, ``(start,
    end)`` intervals of ``x`` flattened), ``graph.spec.workers_per_tile``,
    ``graph.add_vertex(cs, bias_gelu_rows, tile=..., a=x[r0:r1], bias=bias,
    out=out[r0:r1])``, ``ipukit.Execute(cs)``.  A vertex reading rows that live
    on another tile waits for them to cross the exchange.
    """
    raise NotImplementedError("Exercise 09.3: map and split GELU(x + bias) so that it meets the cycle budget")
