"""Notebook 02, bulk-synchronous parallel execution: solutions.

In a BSP superstep every tile computes on its own memory, then all tiles
synchronise, then they exchange data.  A compute phase lasts as long as its
slowest tile, and the vertices of one compute set must not touch the same
elements.  These three exercises predict a compute phase, balance one, and
split a computation that would conflict into supersteps.
"""
import numpy as np

import ipukit
from ipukit import codelets


def compute_phase_cycles(vertices, workers=6):
    """Exercise 02.1: predict how long a compute phase lasts.

    ``vertices`` lists ``(tile, cycles)`` in the order the vertices were added.
    Each tile starts its vertices in that order, each on the worker that becomes
    free first (the lowest-numbered on a tie); a tile is busy for ``workers`` x
    the time its last worker finishes; the phase lasts as long as the slowest tile.
    """
    free = {}                    # tile -> when each of its workers becomes free (worker cycles)
    for tile, cycles in vertices:
        clock = free.setdefault(tile, [0] * workers)
        worker = clock.index(min(clock))
        clock[worker] += cycles
    return workers * max((max(clock) for clock in free.values()), default=0)


def sum_without_locks(graph, x, total):
    """Exercise 02.2: sum a tensor fast, without two writers of one element.

    Superstep 1: ``x`` spread evenly, each tile's block cut into one piece per
    worker (one per element when the block is smaller: an empty piece would
    still be a vertex costing cycles), each piece summed into its own element
    of ``partials`` (kept on the tile).  Superstep 2: one vertex on ``total``'s
    tile adds the partials.
    """
    graph.map_linearly(x)
    workers = graph.spec.workers_per_tile
    pieces = []                                  # (tile, lo, hi) of each partial sum
    for tile, intervals in enumerate(graph.tile_mapping(x)):
        for lo, hi in intervals:
            cuts = np.linspace(lo, hi, min(workers, hi - lo) + 1).astype(int)
            pieces += [(tile, a, b) for a, b in zip(cuts[:-1], cuts[1:])]
    partials = graph.add_variable(len(pieces), name=f"{x.name}_partials")
    blocks = graph.add_compute_set(f"sum blocks of {x.name}")
    for i, (tile, lo, hi) in enumerate(pieces):
        graph.set_tile_mapping(partials[i:i + 1], tile)
        graph.add_vertex(blocks, codelets.reduce_sum, tile=tile, a=x[lo:hi], out=partials[i:i + 1])
    combine = graph.add_compute_set(f"add the partial sums of {x.name}")
    home = int(graph.element_tiles(total).reshape(-1)[0])
    graph.add_vertex(combine, codelets.reduce_sum, tile=home, a=partials, out=total)
    return ipukit.Sequence(ipukit.Execute(blocks), ipukit.Execute(combine))


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

    Two tensors take turns: one round reads ``x`` and writes ``other``, the
    next reads ``other`` and writes ``x``.  No compute set reads what it
    writes, and no round needs a copy; an odd number of rounds ends with one
    Copy back into ``x`` (on-tile, as ``other`` is mapped like ``x``).
    """
    other = graph.add_variable(x.size, x.dtype, name=f"{x.name}_next")
    graph.set_tile_mapping(other, graph.tile_mapping(x))
    there, back = _smooth_step(graph, x, other), _smooth_step(graph, other, x)
    rounds = [ipukit.Repeat(iterations // 2, ipukit.Sequence(ipukit.Execute(there), ipukit.Execute(back)))]
    if iterations % 2:
        rounds += [ipukit.Execute(there), ipukit.Copy(other, x)]
    return ipukit.Sequence(*rounds)


def _smooth_step(graph, src, dst):
    """A compute set writing ``dst`` = the 3-point ring average of ``src``, one vertex per block."""
    n = src.size
    cs = graph.add_compute_set(f"smooth {src.name} -> {dst.name}")
    for tile, intervals in enumerate(graph.tile_mapping(dst)):
        for lo, hi in intervals:
            left = src[lo - 1:lo] if lo > 0 else src[n - 1:]
            right = src[hi:hi + 1] if hi < n else src[:1]
            window = ipukit.concat([left, src[lo:hi], right])
            graph.add_vertex(cs, smooth3, tile=tile, window=window, out=dst[lo:hi])
    return cs
