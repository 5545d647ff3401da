"""Grading tests of notebook 04 (programming the graph): ex04_1, ex04_2 and ex04_3.

Expected values come from NumPy and from plain Python written out here (the
clip, the moving average, odd-even transposition sort round by round), and
budgets from counting the supersteps a lean program needs; never from the code
under test.  The estimate ranges are those the notebook argues for: a vertex
starts in about 10 worker cycles (ipukit.cost.VERTEX_OVERHEAD, of the order of
PopLibs' estimators), and a clipped update needs more than a binary op's 2
cycles per 64-bit vector but no more than one cycle per instruction (7).
Exercise 04.3 runs on the reference backend: its codelet is given, so numba
has nothing of the learner's to check, and grading compiles nothing.
"""
import numpy as np
import pytest

import ipukit

ESTIMATE_START = (5, 50)          # worker cycles to start a vertex
ESTIMATE_PER_VECTOR = (2, 8)      # worker cycles per 64-bit vector (two float32)


@pytest.fixture(scope="module")
def ex04(load):
    return load("ex04_graph")


def _spec(tiles):
    return ipukit.GC2.replace(tiles=tiles)


def _pieces(lo, hi, parts):
    cuts = np.linspace(lo, hi, min(parts, hi - lo) + 1).astype(int)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


# --- ex04_1: a codelet with a cycle estimate -------------------------------------------
def _estimate(ex04, n):
    c = ex04.clipped_update_cycles(n)
    assert isinstance(c, (int, float, np.integer, np.floating)) and not isinstance(c, bool), \
        f"expected clipped_update_cycles({n}) to return a number of cycles, got {c!r}"
    assert c >= 0, f"expected a non-negative number of cycles for n = {n}, got {c}"
    return float(c)


@pytest.mark.ex04_1
def test_estimate_is_start_plus_cycles_per_vector(ex04, budget):
    small = [_estimate(ex04, n) for n in range(1, 65)]
    drops = [n + 2 for n in range(63) if small[n + 1] < small[n]]
    assert not drops, (f"expected the estimate never to shrink as n grows, but clipped_update_cycles({drops[0]}) "
                       f"< clipped_update_cycles({drops[0] - 1})")
    per_vector = (_estimate(ex04, 4096) - _estimate(ex04, 2048)) / 1024    # 1024 more vectors
    start = _estimate(ex04, 2048) - 1024 * per_vector                      # what 0 vectors would cost
    lo, hi = ESTIMATE_PER_VECTOR
    assert per_vector >= lo, (f"expected at least {lo} cycles per 64-bit vector (a clipped update does more "
                              f"than an add, which costs {lo}), got {per_vector:g}")
    budget.check("cycles per 64-bit vector", per_vector, hi)
    lo, hi = ESTIMATE_START
    assert start >= lo, (f"expected a start of at least {lo} worker cycles (loading the field pointers and "
                         f"setting up the loop is not free), got {start:g}")
    budget.check("cycles to start a vertex", start, hi)


def _run_clipped(ex04, backend, w, grad, lr, limit, tiles, vertices_per_tile):
    n = w.size
    g = ipukit.Graph(_spec(tiles))
    tw, tg = g.add_variable(n, name="w"), g.add_variable(n, name="grad")
    g.map_linearly(tw)
    g.map_linearly(tg)
    cs = g.add_compute_set("clipped update")
    for tile, intervals in enumerate(g.tile_mapping(tw)):
        for lo, hi in intervals:
            for a, b in _pieces(lo, hi, vertices_per_tile):
                g.add_vertex(cs, ex04.clipped_update, tile=tile, w=tw[a:b], grad=tg[a:b],
                             lr=float(lr), limit=float(limit))
    eng = ipukit.Engine(g, ipukit.Execute(cs), backend=backend)
    eng.write(tw, w)
    eng.write(tg, grad)
    eng.run()
    return eng.read(tw)


def _check_clipped(got, w, grad, lr, limit, backend):
    expected = np.clip(w.astype(np.float64) - lr * grad.astype(np.float64), -limit, limit).astype(np.float32)
    bad = np.flatnonzero(~np.isclose(got, expected, rtol=1e-6, atol=1e-6))
    if bad.size:
        i = int(bad[0])
        pytest.fail(f"on the {backend} backend, w[{i}] with w = {w[i]:g}, grad = {grad[i]:g}, lr = {lr:g}, "
                    f"limit = {limit:g}: expected {expected[i]:g}, got {got[i]:g} ({bad.size} of {w.size} "
                    "elements differ)")


@pytest.mark.ex04_1
@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_clipped_update_fixed(ex04, backend):
    w = np.array([0.0, 1.0, -1.0, 2.0, -3.0, 0.5, 1.5, -1.5], np.float32)
    grad = np.array([1.0, -4.0, 4.0, 0.0, -1.0, 0.25, 1.0, -1.0], np.float32)
    # w - 0.5 * grad = [-0.5, 3, -3, 2, -2.5, 0.375, 1, -1], clipped to [-2, 2]:
    expected = np.array([-0.5, 2.0, -2.0, 2.0, -2.0, 0.375, 1.0, -1.0], np.float32)
    got = _run_clipped(ex04, backend, w, grad, 0.5, 2.0, tiles=2, vertices_per_tile=2)
    assert np.array_equal(got, expected), f"on the {backend} backend: expected {expected.tolist()}, got {got.tolist()}"


@pytest.mark.ex04_1
@pytest.mark.parametrize("backend", ["reference", "numba"])
@pytest.mark.parametrize("seed", range(3))
def test_clipped_update_random(ex04, backend, seed):
    rng = np.random.default_rng(40 + seed)
    n = int(rng.integers(7, 3000))
    w = rng.normal(0, 2, n).astype(np.float32)
    grad = rng.normal(0, 3, n).astype(np.float32)
    lr, limit = float(rng.uniform(0.01, 1.0)), float(rng.uniform(0.5, 3.0))
    got = _run_clipped(ex04, backend, w, grad, lr, limit, tiles=int(rng.integers(1, 9)),
                       vertices_per_tile=int(rng.integers(1, 7)))
    _check_clipped(got, w, grad, lr, limit, backend)


# --- ex04_2: a stream of batches through on-chip state ----------------------------------
def _ema_reference(data, alpha):
    avg = np.zeros(data.shape[1])
    out = []
    for batch in data.astype(np.float64):
        avg = avg + alpha * (batch - avg)
        out.append(avg)
    return np.array(out)


def _check_ema(ex04, budget, tiles, batch_size, num_batches, alpha, data):
    budget.case(f"{num_batches} batches of {batch_size} floats on {tiles} tiles, alpha = {alpha}")
    g = ipukit.Graph(_spec(tiles))
    program = ex04.ema_stream(g, batch_size, num_batches, alpha)
    assert isinstance(program, ipukit.Program), f"expected a program to be returned, got {program!r}"
    eng = ipukit.Engine(g, program, max_steps=10 * num_batches + 50)
    out = np.full_like(data, np.nan)
    eng.connect_stream("batches", np.ascontiguousarray(data))
    eng.connect_stream("averages", out)
    p = eng.run()
    expected = _ema_reference(data, alpha)
    for k in range(num_batches):
        bad = np.flatnonzero(~np.isclose(out[k], expected[k], rtol=1e-5, atol=1e-6))
        if bad.size:
            i = int(bad[0])
            pytest.fail(f"average {k} (after batch {k}), element {i}: expected {expected[k, i]:g}, got "
                        f"{out[k, i]:g} ({bad.size} of {batch_size} elements differ; alpha = {alpha:g}, "
                        f"the average starts at 0)")
    budget.check("supersteps", p.num_supersteps, 3 * num_batches + 1)
    budget.check("exchange bytes", p.exchange_bytes, 0, "B")
    if num_batches >= 2:
        per_batch = [r for r in p.steps if r.kind == "execute" and r.count == num_batches]
        assert per_batch, f"expected an Execute that runs once per batch ({num_batches} times), found none"
        busy = np.zeros(g.num_tiles, bool)
        for r in per_batch:
            busy |= r.tile_cycles("compute", g.num_tiles) > 0
        idle = np.flatnonzero(~busy).tolist()
        assert not idle, (f"expected all {g.num_tiles} tiles to work on every batch, but tiles {idle} compute "
                          "nothing: spread the tensors over every tile and put each vertex where its elements are")


@pytest.mark.ex04_2
def test_ema_stream_fixed(ex04, budget):
    data = np.array([np.arange(96), 96 - np.arange(96), np.full(96, 10.0)], np.float32)
    _check_ema(ex04, budget, tiles=4, batch_size=96, num_batches=3, alpha=0.5, data=data)


@pytest.mark.ex04_2
def test_ema_stream_one_batch(ex04, budget):
    data = np.linspace(-1, 1, 40, dtype=np.float32).reshape(1, 40)
    _check_ema(ex04, budget, tiles=2, batch_size=40, num_batches=1, alpha=0.25, data=data)


@pytest.mark.ex04_2
@pytest.mark.parametrize("seed", range(4))
def test_ema_stream_random(ex04, budget, seed):
    rng = np.random.default_rng(400 + seed)
    tiles = int(rng.choice([2, 4, 8, 16]))
    batch_size = int(rng.integers(6 * tiles, 3000))
    num_batches = int(rng.integers(2, 7))
    alpha = float(rng.uniform(0.05, 0.95))
    data = rng.normal(0, 5, (num_batches, batch_size)).astype(np.float32)
    _check_ema(ex04, budget, tiles, batch_size, num_batches, alpha, data)


# --- ex04_3: a loop that stops when nothing moves -----------------------------------------
def _rounds(values) -> int:
    """Rounds of odd-even transposition sort up to and including the first without a swap."""
    a = list(values)
    rounds = 0
    while True:
        rounds += 1
        swapped = False
        for first in (0, 1):
            for i in range(first, len(a) - 1, 2):
                if a[i + 1] < a[i]:
                    a[i], a[i + 1] = a[i + 1], a[i]
                    swapped = True
        if not swapped:
            return rounds


def _check_sort(ex04, budget, values, tiles, blocks=None):
    """Sort ``values`` on ``tiles`` tiles: linearly mapped, or in ``blocks`` = [(lo, hi, tile), ...]."""
    budget.case(f"{len(values)} values on {tiles} tiles"
                + (f": {np.asarray(values).tolist()}" if len(values) <= 12 else ""))
    n = len(values)
    g = ipukit.Graph(_spec(tiles))
    x = g.add_variable(n, values.dtype, name="x")
    if blocks is None:
        g.map_linearly(x)
    else:
        for lo, hi, tile in blocks:
            g.set_tile_mapping(x[lo:hi], tile)
    program = ex04.odd_even_sort(g, x)
    assert isinstance(program, ipukit.Program), f"expected a program to be returned, got {program!r}"
    eng = ipukit.Engine(g, program, backend="reference", max_steps=8 * (n + 4))   # the codelet is given
    eng.write(x, values)
    p = eng.run()
    got = eng.read(x)
    expected = np.sort(values)
    shown = values.tolist() if n <= 12 else f"{n} values"
    assert np.array_equal(got, expected), (f"sorting {shown}: expected {expected.tolist()[:12]}"
                                           f"{'...' if n > 12 else ''}, got {got.tolist()[:12]}"
                                           f"{'...' if n > 12 else ''}")
    rounds = _rounds(values)
    budget.check("supersteps per round", p.num_supersteps / rounds, 3)


@pytest.mark.ex04_3
@pytest.mark.parametrize("values", [
    [1, 2, 3, 4, 5, 6, 7, 8],            # sorted already: one round finds nothing to swap
    [8, 7, 6, 5, 4, 3, 2, 1],            # reversed
    [3, 1, 3, 1, 2, 2, 1, 3, 3],         # equal values must not swap (or the loop never ends)
    [2, 1],                              # no odd pairs at all
    [5, -5, 0],
], ids=["sorted", "reversed", "duplicates", "two", "three"])
def test_odd_even_sort_fixed(ex04, budget, values):
    _check_sort(ex04, budget, np.array(values, np.int32), tiles=4)


@pytest.mark.ex04_3
@pytest.mark.parametrize("seed", range(4))
def test_odd_even_sort_random(ex04, budget, seed):
    rng = np.random.default_rng(4300 + seed)
    n = int(rng.integers(2, 60))
    tiles = int(rng.integers(1, 9))
    dtype = np.int32 if seed % 2 else np.float32
    values = rng.integers(-20, 20, n).astype(dtype) if seed % 2 else rng.normal(0, 1, n).astype(dtype)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(tiles, n) - 1, replace=False)) if n > 1 else []
    bounds = [0, *[int(c) for c in cuts], n]
    order = rng.permutation(tiles)            # blocks on tiles in no particular order
    blocks = [(bounds[k], bounds[k + 1], int(order[k % tiles])) for k in range(len(bounds) - 1)]
    _check_sort(ex04, budget, values, tiles, blocks)
