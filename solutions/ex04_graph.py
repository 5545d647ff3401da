"""Notebook 04, programming the graph: solutions.

A Poplar program is a graph (tensors mapped onto tiles, vertices grouped in
compute sets) plus a control program that says what runs in which order.  These
three exercises write a codelet with a cycle estimate, build a complete program
fed by host streams, and stop a loop when the data says so.
"""
import numpy as np

import ipukit
from ipukit import codelets, cost


# --- Exercise 04.1 --------------------------------------------------------------------
def clipped_update_cycles(n):
    """Exercise 04.1 (part 1): the cycle estimate of ``clipped_update`` on ``n`` float32 elements.

    Worker cycles, as PopLibs estimates them: a fixed cost to start the vertex,
    plus a cost per 64-bit vector (two float32).
    """
    vectors = -(-n // 2)                       # a 64-bit vector holds two float32; round up
    # Per vector: load w, load grad, multiply, subtract, max, min, store: 7 instructions,
    # which the dual-issue pipeline pairs (a load or store beside an arithmetic op): about 4.
    return cost.VERTEX_OVERHEAD + 4 * vectors


@ipukit.codelet(inputs={"grad": "float32[n]"}, inouts={"w": "float32[n]"}, cycles=clipped_update_cycles)
def clipped_update(w, grad, lr, limit):
    """Exercise 04.1 (part 2): w = clip(w - lr * grad, -limit, limit), element by element.

    Loops and plain arithmetic, so both backends give the same result.
    """
    for i in range(w.size):
        v = w[i] - lr * grad[i]
        if v > limit:
            v = limit
        elif v < -limit:
            v = -limit
        w[i] = v


# --- Exercise 04.2 --------------------------------------------------------------------
@ipukit.codelet(inputs={"x": "float32[n]"}, inouts={"avg": "float32[n]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 3 * -(-n // 2))   # 2 loads, sub, mul-add, store
def ema_update(x, avg, alpha):
    """avg += alpha * (x - avg): one fused vertex instead of three built-in ones."""
    for i in range(avg.size):
        avg[i] += alpha * (x[i] - avg[i])


def ema_stream(graph, batch_size, num_batches, alpha):
    """Exercise 04.2: an exponential moving average of a stream of batches.

    The host feeds ``num_batches`` batches of ``batch_size`` float32 through a
    stream named ``"batches"``; the average starts at 0, and after each batch
    ``avg += alpha * (batch - avg)`` is sent to the host through a stream named
    ``"averages"``.  The average stays on the tiles the whole time.  Budget: 3
    supersteps per batch plus 1, nothing over the exchange, every tile busy.
    """
    x = graph.add_variable(batch_size, name="batch")
    avg = graph.add_variable(batch_size, name="average")
    graph.map_linearly(x)
    graph.map_linearly(avg)                    # same size, same tiles: no vertex needs the exchange
    batches = graph.add_host_stream("batches", batch_size)
    averages = graph.add_host_stream("averages", batch_size, direction="from_device")

    zero = graph.add_compute_set("average = 0")
    update = graph.add_compute_set("average += alpha (batch - average)")
    workers = graph.spec.workers_per_tile
    for tile, intervals in enumerate(graph.tile_mapping(avg)):
        for lo, hi in intervals:
            graph.add_vertex(zero, codelets.fill, tile=tile, out=avg[lo:hi], value=0.0)
            cuts = np.linspace(lo, hi, min(workers, hi - lo) + 1).astype(int)    # one piece per worker
            for a, b in zip(cuts[:-1], cuts[1:]):
                graph.add_vertex(update, ema_update, tile=tile, x=x[a:b], avg=avg[a:b], alpha=alpha)

    one_batch = ipukit.Sequence(ipukit.Copy(batches, x), ipukit.Execute(update), ipukit.Copy(avg, averages))
    return ipukit.Sequence(ipukit.Execute(zero), ipukit.Repeat(num_batches, one_batch))


# --- Exercise 04.3 --------------------------------------------------------------------
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

    ``x`` is a 1-D tensor already mapped onto tiles.  A round is an even phase
    (pairs starting at 0, 2, 4, ...) then an odd phase (pairs starting at 1, 3,
    ...); the loop stops after the first round that swapped no pair, leaving
    ``x`` sorted.  Each round costs at most 3 supersteps.
    """
    n = x.size
    tile_of = graph.element_tiles(x)
    swaps = graph.add_variable(max(n - 1, 1), "int32", name="swaps")   # swaps[i]: the pair starting at i
    go = graph.add_variable(1, "int32", name="go")
    graph.set_tile_mapping(swaps, 0)
    graph.set_tile_mapping(go, 0)

    phases = []
    for name, first in (("even", 0), ("odd", 1)):
        cs = graph.add_compute_set(f"{name} pairs")
        for i in range(first, n - 1, 2):
            tile = int(tile_of[i])             # the pair's first element decides; a pair across two
            graph.set_tile_mapping(swaps[i:i + 1], tile)   # tiles is gathered and written back
            graph.add_vertex(cs, compare_exchange, tile=tile, x=x[i:i + 2], swaps=swaps[i:i + 1])
        if cs.vertices:
            phases.append(ipukit.Execute(cs))
    count = graph.add_compute_set("count the swaps")
    graph.add_vertex(count, codelets.reduce_sum, tile=0, a=swaps, out=go)

    # A do-while: RepeatWhileTrue runs `cond` before every test of the predicate, so the
    # whole round goes there and the body is empty. The predicate is this round's swaps.
    one_round = ipukit.Sequence(*phases, ipukit.Execute(count))
    return ipukit.RepeatWhileTrue(one_round, go, ipukit.Sequence())
