"""Notebook 02, bulk-synchronous parallel execution: exercises.

In a BSP superstep every tile computes on its own memory, then all tiles
synchronise, then they exchange data.  A compute phase lasts as long as its
slowest tile, and the vertices of one compute set must not touch the same
elements.  These three exercises predict a compute phase, balance one, and
split a computation that would conflict into supersteps.

Work on a function, then check it from the notebook with ``ipukit.check("ex02_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex02``).
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

    - on each tile, the supervisor starts the vertices in the order they were
      added, each on the worker that becomes free first (the lowest-numbered
      worker if several are free): six equal vertices go to workers 0 to 5 and
      a 7th to worker 0 again, but after a long vertex on worker 0 the next
      vertices go to the other workers while it is busy;
    - the workers share one pipeline, each issuing an instruction every
      ``workers`` cycles, so a tile is busy for ``workers`` x the time (in
      worker cycles) its last worker finishes;
    - the phase lasts as long as its slowest tile.  No vertices: 0 cycles.

    About 6 lines.  Useful: a dict giving each tile a list of when each of its
    workers becomes free (``[0] * workers`` to start), ``min``, ``list.index``
    and ``max``.
    """
    raise NotImplementedError("Exercise 02.1: return the compute phase's cycles for these (tile, cycles) vertices")


def sum_without_locks(graph, x, total):
    """Exercise 02.2: sum a tensor fast, without two writers of one element.

    ``x`` is a 1-D float32 tensor mapped very unevenly (most of it on tile 0);
    ``total`` is a 1-element float32 tensor on tile 0.  Return a program that
    leaves ``sum(x)`` in ``total``.  You may map ``x`` again (a new mapping
    replaces the old one).

    All vertices writing ``total`` in one compute set would be two (or more)
    writers of one element: the engine refuses that (``WriteConflictError``).
    So sum in two supersteps: each vertex first writes its own element of a
    tensor of *partial sums*, then one vertex adds the partial sums into
    ``total``.  Use the built-in ``codelets.reduce_sum`` (fields ``a`` and
    ``out``, ``out`` has one element).

    Budget: at most 2 supersteps, and a run no more than 10 % slower than this
    plan, in every case tested (from 7 floats on 1 tile to 50 floats on 16
    tiles and 30,000 on 32): ``x`` spread evenly over all tiles
    (``map_linearly``), each tile's block cut into ``min(workers, block size)``
    pieces of nearly equal size (``workers = graph.spec.workers_per_tile``),
    each piece summed by its own vertex into a partial sum kept on that tile,
    then one vertex on tile 0 adding all the partial sums.  A block smaller
    than ``workers`` gets one piece per element: an empty piece is still a
    vertex that costs its start-up cycles.  A skewed mapping or one partial sum
    per tile costs more.

    About 15 lines.  Useful: ``graph.map_linearly(x)``, ``graph.tile_mapping(x)``,
    ``np.linspace(lo, hi, parts + 1).astype(int)`` to cut a block,
    ``graph.add_variable(count, name=...)`` and ``graph.set_tile_mapping(t[i:j], tile)``
    for the partial sums, ``graph.add_compute_set``, ``graph.add_vertex(cs,
    codelets.reduce_sum, tile=..., a=..., out=...)``, ``ipukit.Sequence``,
    ``ipukit.Execute``.
    """
    raise NotImplementedError("Exercise 02.2: return a program that sums x into total through partial sums")


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
    raise NotImplementedError("Exercise 02.3: return a program of `iterations` smoothing rounds on x, "
                              "without conflicts")
