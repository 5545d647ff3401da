"""Notebook 02, bulk-synchronous parallel execution: exercises.

In a BSP superstep every tile computes on its own memory, then all tiles
synchronise, then they exchange data.  A compute phase lasts as long as its
slowest tile, and the vertices of one compute set must not touch the same
elements.  These three exercises predict a compute phase, balance one, and
split a computation that would conflict into supersteps.

Work on a function, then check it from the notebook with ``ipukit.check("ex02_1")``
(or in a terminal: ``python -m ipukit.grade --target exercises ex02``).
"""
import numpy as np

import ipukit
from ipukit import codelets


def compute_phase_cycles(vertices, workers=6):
    """Exercise 02.1: predict how long a compute phase lasts.

    ``vertices`` lists the vertices of one compute set in the order they were
    added, as ``(tile, cycles)`` pairs: the tile a vertex runs on and its
    estimate in worker cycles.  Return the length of the compute phase in tile
    cycles, as ipukit's profile reports it:

    - on each tile, the vertices are dealt to its ``workers`` worker threads
      round-robin, in the order they were added (the 1st, 7th, 13th vertex of
      a tile go to worker 0, the 2nd, 8th... to worker 1, with 6 workers);
    - the workers share one pipeline, each issuing an instruction every
      ``workers`` cycles, so a tile is busy for ``workers`` x the summed cycles
      of its busiest worker;
    - the phase lasts as long as its slowest tile.  No vertices: 0 cycles.

    About 6 lines.  Useful: a dict counting the vertices seen on each tile so
    far, another summing the cycles of each ``(tile, worker)``, and ``max``.
    """
    raise NotImplementedError("Exercise 02.1: return the compute phase's cycles for these (tile, cycles) vertices")


def rebalance(graph, x, y, factor):
    """Exercise 02.2: balance a compute phase over tiles and workers.

    ``x`` and ``y`` are 1-D float32 tensors of the same size, mapped very
    unevenly (most of them on tile 0).  Map them again so that the work is
    spread over every tile, add a compute set that computes
    ``y = factor * x`` with the built-in ``codelets.scale`` (fields ``a``,
    ``out`` and the scalar ``factor``), and return the program that runs it
    (an ``ipukit.Execute``).

    Budget: one superstep, no byte over the exchange (each vertex on the tile
    that holds its elements), and a compute phase as short as a perfect
    balance allows: no tile holds more than ``ceil(n / tiles)`` elements of
    ``x``, split between the tile's ``graph.spec.workers_per_tile`` workers.

    About 10 lines.  Useful: ``graph.map_linearly(t)`` (a new mapping replaces
    the old one), ``graph.tile_mapping(x)`` (for each tile, its ``(start, end)``
    intervals), ``np.linspace(lo, hi, parts + 1).astype(int)`` to cut an
    interval, ``graph.add_compute_set(name)``, ``graph.add_vertex(cs,
    codelets.scale, tile=..., a=x[lo:hi], out=y[lo:hi], factor=factor)``.
    """
    raise NotImplementedError("Exercise 02.2: re-map x and y evenly and return an Execute of y = factor * x")


@ipukit.codelet(inputs={"window": "float32[m]"}, outputs={"out": "float32[n]"},
                cycles=lambda out: 10 + 3 * -(-out // 2))   # our estimate: 3 vector ops per pair of outputs
def smooth3(window, out):
    """out[i] = (window[i] + window[i + 1] + window[i + 2]) / 3.

    ``window`` holds the elements of ``out``'s positions plus one neighbour on
    each side, so it has two more elements than ``out``.
    """
    for i in range(out.size):
        out[i] = (window[i] + window[i + 1] + window[i + 2]) / 3


def smooth(graph, x, iterations):
    """Exercise 02.3: a neighbour update in supersteps, without write conflicts.

    ``x`` is a 1-D float32 tensor of ``n >= 3`` elements, already mapped: each
    tile holds one contiguous block of it.  Return a program that replaces
    ``x``, ``iterations`` times, by its 3-point average on a ring::

        x[i] <- (x[i - 1] + x[i] + x[i + 1]) / 3     (x[-1] is x[n - 1], x[n] is x[0])

    Use the codelet ``smooth3`` above, one vertex per block (or more).  Doing it
    in place in one compute set cannot work: a vertex would read the elements
    its neighbour writes, and the engine refuses to build it
    (``WriteConflictError``).  Write into a second tensor instead.

    Budget: at most ``iterations + 1`` supersteps, and no more exchange than
    the halo: each round, each tile receives only the two neighbours of its
    block (8 bytes).  A Copy back after every round would take
    ``2 * iterations`` supersteps: let the two tensors swap roles instead.

    About 20 lines.  Useful: ``graph.add_variable(n, name=...)``,
    ``graph.set_tile_mapping(t, graph.tile_mapping(x))`` (the same mapping as
    ``x``), ``ipukit.concat([x[n - 1:], x[0:hi + 1]])`` (a window that wraps),
    ``ipukit.Execute``, ``ipukit.Repeat(count, body)``, ``ipukit.Sequence``,
    ``ipukit.Copy(src, dst)``.
    """
    raise NotImplementedError("Exercise 02.3: return a program of `iterations` smoothing rounds on x, without conflicts")
