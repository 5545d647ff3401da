"""Notebook 04, programming the graph: exercises.

A Poplar program is a graph (tensors mapped onto tiles, vertices grouped in
compute sets) plus a control program that says what runs in which order.  These
three exercises write a codelet with a cycle estimate, build a complete program
fed by host streams, and stop a loop when the data says so.

Work on a function, then check it from the notebook with ``ipukit.check("ex04_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex04``).  To debug
a codelet, run its engine with ``backend="reference"`` (plain Python: ``print``
and ``breakpoint()`` work), or grade with ``NUMBA_DISABLE_JIT=1`` set.
"""
import numpy as np

import ipukit
from ipukit import codelets, cost


# --- Exercise 04.1 --------------------------------------------------------------------
def clipped_update_cycles(n):
    """Exercise 04.1 (part 1): the cycle estimate of ``clipped_update`` below.

    Return the worker cycles one ``clipped_update`` vertex takes on ``n``
    float32 elements, the way PopLibs estimates a vertex: a fixed cost to start
    it, plus a cost per 64-bit vector (two float32, so ``ceil(n / 2)`` vectors).
    Count what one vector needs: loads, arithmetic, compares, the store; the
    tile's pipeline can pair a load or store with an arithmetic instruction.
    The grader accepts a start of 5 to 50 cycles and 2 to 8 cycles per vector.

    About 2 lines.  Useful: ``cost.VERTEX_OVERHEAD`` (the built-ins' start, 10),
    ``-(-n // 2)`` (n / 2 rounded up).
    """
    raise NotImplementedError("Exercise 04.1: return the worker cycles of clipped_update on n elements")


# The decorator is written for you: grad is an input, w is read and written (an inout),
# both float32 vectors of the same length n; lr and limit are scalars given per vertex.
@ipukit.codelet(inputs={"grad": "float32[n]"}, inouts={"w": "float32[n]"}, cycles=clipped_update_cycles)
def clipped_update(w, grad, lr, limit):
    """Exercise 04.1 (part 2): a clipped gradient step, element by element.

    For every i: ``w[i] = clip(w[i] - lr * grad[i], -limit, limit)``, that is
    the value ``w[i] - lr * grad[i]``, but never above ``limit`` nor below
    ``-limit``.  It must give the same result on both backends (numba and
    reference), so use loops over elements and plain arithmetic.

    About 6 lines.  Useful: ``for i in range(w.size):``, ``if`` / ``elif``.
    """
    raise NotImplementedError("Exercise 04.1: write the body of clipped_update")


# --- Exercise 04.2 --------------------------------------------------------------------
def ema_stream(graph, batch_size, num_batches, alpha):
    """Exercise 04.2: an exponential moving average of a stream of batches.

    Build, in ``graph``, a program that reads ``num_batches`` batches of
    ``batch_size`` float32 from a host stream named ``"batches"`` (to the
    device, shape ``(batch_size,)``).  A float32 tensor ``avg`` of the same
    size stays on the tiles: it starts at 0, and after each batch ``x``,
    ``avg += alpha * (x - avg)`` element by element, then ``avg`` goes to the
    host through a stream named ``"averages"`` (from the device, same shape).
    Return the program.

    Budget: at most 3 supersteps per batch plus 1; no byte may cross the
    exchange (put each vertex on the tile that holds its elements); every tile
    of the graph takes part in each batch's update.  Three built-in vertices
    (sub, scale, add) would take three supersteps per batch for the update
    alone: write your own codelet above this function that does it in one.

    About 20 lines.  Useful: ``graph.add_variable``, ``graph.map_linearly``,
    ``graph.add_host_stream(name, shape, direction=...)``,
    ``graph.tile_mapping(t)``, ``codelets.fill`` (``value=0.0``),
    ``ipukit.Copy(stream, tensor)`` and ``ipukit.Copy(tensor, stream)``,
    ``ipukit.Repeat``, ``ipukit.Sequence``, ``ipukit.Execute``.
    """
    raise NotImplementedError("Exercise 04.2: build the streaming moving-average program and return it")


# --- Exercise 04.3 --------------------------------------------------------------------
# Given: the vertex of odd-even transposition sort. Read it; you do not need to change it.
@ipukit.codelet(inouts={"x": "T[n]"}, outputs={"swaps": "int32[1]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 6 * (n // 2))
def compare_exchange(x, swaps):
    """Given: put each pair (x[0], x[1]), (x[2], x[3]), ... in order; swaps[0] = pairs swapped."""
    swaps[0] = 0
    for i in range(0, x.size - 1, 2):
        if x[i + 1] < x[i]:
            low = x[i + 1]
            x[i + 1] = x[i]
            x[i] = low
            swaps[0] += 1


def odd_even_sort(graph, x):
    """Exercise 04.3: odd-even transposition sort, until a round swaps nothing.

    ``x`` is a 1-D tensor of at least 2 elements, already mapped onto tiles.
    Return a program that sorts it in place.  A round is an even phase (put the
    pairs starting at 0, 2, 4, ... in order) then an odd phase (pairs starting
    at 1, 3, 5, ...); the program stops after the first round in which no pair
    was swapped, so an input already sorted costs one round.

    Budget: at most 3 supersteps per round (the even phase, the odd phase and
    one step that turns the round's swap counts into the loop's predicate).
    ``RepeatWhileTrue(cond, predicate, body)`` runs ``cond`` before every test
    of the predicate: what must run before the first test belongs there.

    About 20 lines.  Useful: ``compare_exchange`` above (one vertex per pair,
    ``x=x[i:i + 2]``, on the tile of ``x[i]``), ``graph.element_tiles(x)``, an
    int32 tensor of swap counts, ``codelets.reduce_sum`` (its output, a
    one-element int32 tensor, is the predicate: non-zero means go on),
    ``ipukit.RepeatWhileTrue``, ``ipukit.Sequence()`` (an empty program).
    """
    raise NotImplementedError("Exercise 04.3: return a program that sorts x in rounds until none swaps")
