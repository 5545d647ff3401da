"""Notebook 09, capstone: solutions.

Tuning a model on the IPU is a loop: measure, find what dominates, change one
thing, measure again.  These three exercises read a profile, turn it into
FLOP/s against the machine's peak, and tune the mapping of a small layer until
it meets a cycle budget.
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
    """
    by_phase = profile.cycles_by_phase()
    phase = max(PHASES, key=lambda kind: by_phase[kind])    # max keeps the first of equal values
    busy = profile.tile_cycles("compute")                    # (tiles,) compute cycles of each tile
    tile = int(np.argmax(busy))
    total = int(busy.sum())
    share = float(busy[tile] / total) if total else 0.0
    return phase, tile, share


def achieved_flops(profile, flops, dtype="float32"):
    """Exercise 09.2: achieved FLOP/s and the fraction of the peak.

    ``profile`` is a run that did ``flops`` floating-point operations.  Return
    ``(flops_per_second, fraction_of_peak, compute_fraction)``: the rate over the
    whole run (every phase counts: compute, exchange, sync, host), that rate as a
    fraction of the machine's AMP peak for ``dtype`` (every tile of every IPU in
    ``profile.spec``), and the same fraction counting only the compute phases.
    """
    spec = profile.spec
    peak = spec.peak_flops(dtype)                          # FLOP/s of all tiles of all IPUs
    rate = flops / profile.seconds
    compute_rate = flops / (profile.compute_cycles / spec.clock_hz)
    return rate, rate / peak, compute_rate / peak


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
    """
    workers = graph.spec.workers_per_tile
    x = graph.add_variable((rows, width), name="x")
    bias = graph.add_variable(width, name="bias")
    out = graph.add_variable((rows, width), name="out")
    graph.map_linearly(x, grain_size=width)                # whole rows: a vertex never waits for a piece
    graph.map_linearly(out, grain_size=width)              # each row's output next to its input
    graph.set_tile_mapping(bias, 0)                        # received once by each tile, however many vertices
    cs = graph.add_compute_set("bias_gelu")
    for tile, intervals in enumerate(graph.tile_mapping(x)):
        for lo, hi in intervals:
            r0, r1 = lo // width, hi // width
            parts = min(workers, r1 - r0)                  # one piece of rows per worker
            cuts = [r0 + i * (r1 - r0) // parts for i in range(parts + 1)]
            for a, b in zip(cuts[:-1], cuts[1:]):
                graph.add_vertex(cs, bias_gelu_rows, tile=tile, a=x[a:b], bias=bias, out=out[a:b])
    return x, bias, out, ipukit.Execute(cs)
