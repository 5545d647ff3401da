"""Grading tests of notebook 02 (bulk-synchronous parallel): ex02_1, ex02_2 and ex02_3.

Expected values come from the rules the notebook teaches (each vertex started on
the next free worker, a tile busy for six times its last worker's finish, the
phase as long as the slowest tile), from NumPy, and from budget plans the tests build and
run on the emulator themselves, never from the code under test.  Engines use the
reference backend: nothing is compiled while grading.
"""
import numpy as np
import pytest

import ipukit


@pytest.fixture(scope="module")
def ex02(load):
    return load("ex02_bsp")


def _spec(tiles, workers=6):
    return ipukit.GC2.replace(tiles=tiles, workers_per_tile=workers)


def _engine(graph, program):
    return ipukit.Engine(graph, program, backend="reference")


# --- ex02_1: predict a compute phase ---------------------------------------------------
@ipukit.codelet(outputs={"out": "float32[1]"}, cycles=lambda work: work)
def busy(out, work):
    """A vertex whose estimate is its ``work`` scalar."""
    out[0] = work


def _engine_compute_cycles(vertices, tiles, workers):
    """What the emulator reports for the compute phase of these (tile, cycles) vertices."""
    g = ipukit.Graph(_spec(tiles, workers))
    flags = g.add_variable(max(len(vertices), 1), name="flags")
    g.set_tile_mapping(flags, 0)
    cs = g.add_compute_set("busy")
    for i, (tile, cycles) in enumerate(vertices):
        g.set_tile_mapping(flags[i:i + 1], tile)
        g.add_vertex(cs, busy, tile=tile, out=flags[i:i + 1], work=cycles)
    eng = _engine(g, ipukit.Execute(cs))
    return sum(p.cycles for p in eng.steps[0].phases if p.kind == "compute")


def _check_prediction(ex02, vertices, expected, workers=6):
    answer = ex02.compute_phase_cycles(list(vertices), workers=workers)
    shown = vertices if len(vertices) <= 10 else f"{len(vertices)} vertices"
    assert isinstance(answer, (int, np.integer)) and answer == expected, (
        f"expected a compute phase of {expected:,} cycles for (tile, cycles) = {shown} with {workers} "
        f"workers per tile, got {answer!r}")


@pytest.mark.ex02_1
@pytest.mark.parametrize("vertices, expected", [
    ([], 0),                                         # nothing to run
    ([(0, 100)], 600),                               # a lone worker runs at 1/6 speed
    ([(0, 10)] * 6, 60),                             # six workers, one vertex each
    ([(0, 10)] * 7, 120),                            # the 7th vertex goes to worker 0 again
    ([(0, 50)] * 6 + [(3, 80)], 480),                # the slowest tile is the one with a lone vertex
    ([(0, 50)] + [(0, 10)] * 6, 300),                # the 7th goes to worker 1 (free at 10), not busy worker 0
    ([(0, 50)] + [(0, 10)] * 10, 300),               # workers 1-5 take the short ones while worker 0 is busy
    ([(0, 40)] + [(0, 10)] * 5 + [(0, 30)], 240),   # the 30 joins worker 1 (10 + 30), not worker 0 (40 + 30)
    ([(1, 10), (2, 30), (1, 10), (2, 5)], 180),      # tiles deal their own vertices: tile 2 is busiest
])
def test_compute_phase_cycles_fixed(ex02, vertices, expected):
    _check_prediction(ex02, vertices, expected)


@pytest.mark.ex02_1
def test_compute_phase_cycles_other_worker_count(ex02):
    # 4 workers: 50 on worker 0; the six 10s go to workers 1, 2, 3, 1, 2, 3 (each 20 < 50): 4 x 50
    _check_prediction(ex02, [(0, 50)] + [(0, 10)] * 6, 200, workers=4)
    # 4 workers, 5 vertices of 20: the 5th goes to worker 0 again: 4 x 40
    _check_prediction(ex02, [(0, 20)] * 5, 160, workers=4)


@pytest.mark.ex02_1
@pytest.mark.parametrize("seed", range(6))
def test_compute_phase_cycles_random_matches_the_engine(ex02, seed):
    rng = np.random.default_rng(200 + seed)
    tiles = int(rng.integers(1, 9))
    workers = int(rng.choice([6, 6, 4]))
    count = int(rng.integers(1, 40))
    vertices = [(int(rng.integers(tiles)), int(rng.integers(1, 500))) for _ in range(count)]
    _check_prediction(ex02, vertices, _engine_compute_cycles(vertices, tiles, workers), workers)


# --- ex02_2: sum without locks -------------------------------------------------------------
def _skew(graph, t):
    """Map 60 % of ``t`` on tile 0 and the rest over at most three other tiles."""
    n = t.size
    head = max(1, int(0.6 * n))
    graph.set_tile_mapping(t[:head], 0)
    if head < n:
        graph.map_linearly(t[head:], tiles=range(1, min(4, graph.num_tiles)) if graph.num_tiles > 1 else [0])


def _plan_cycles(n, spec):
    """Cycles of the plan the budget is measured against, run on the emulator.

    x spread evenly; each tile's block cut into one piece per worker, each piece
    summed into a partial sum on that tile; one vertex on tile 0 adds them up.
    """
    g = ipukit.Graph(spec)
    x, total = g.add_variable(n, name="x"), g.add_variable(1, name="total")
    g.map_linearly(x)
    g.set_tile_mapping(total, 0)
    per_tile = -(-n // spec.tiles)
    pieces = []
    for start in range(0, n, per_tile):
        block = min(per_tile, n - start)
        parts = min(spec.workers_per_tile, block)
        cuts = [start + block * i // parts for i in range(parts + 1)]
        pieces += [(start // per_tile, lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:])]
    partials = g.add_variable(len(pieces), name="partials")
    blocks, combine = g.add_compute_set("blocks"), g.add_compute_set("combine")
    for i, (tile, lo, hi) in enumerate(pieces):
        g.set_tile_mapping(partials[i:i + 1], tile)
        g.add_vertex(blocks, ipukit.codelets.reduce_sum, tile=tile, a=x[lo:hi], out=partials[i:i + 1])
    g.add_vertex(combine, ipukit.codelets.reduce_sum, tile=0, a=partials, out=total)
    eng = _engine(g, ipukit.Sequence(ipukit.Execute(blocks), ipukit.Execute(combine)))
    return eng.run().total_cycles


def _check_sum(ex02, budget, n, tiles, workers=6, seed=0):
    budget.case(f"{n:,} floats on {tiles} tile{'s' * (tiles != 1)}"
                + (f" of {workers} workers" if workers != 6 else ""))
    spec = _spec(tiles, workers)
    g = ipukit.Graph(spec)
    x, total = g.add_variable(n, name="x"), g.add_variable(1, name="total")
    _skew(g, x)
    g.set_tile_mapping(total, 0)
    program = ex02.sum_without_locks(g, x, total)
    assert isinstance(program, ipukit.Program), \
        f"expected a program (ipukit.Sequence, Execute...) to be returned, got {type(program).__name__}"
    eng = _engine(g, program)
    values = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    eng.write(x, values)
    p = eng.run()
    exact, got = float(values.astype(np.float64).sum()), float(eng.read(total)[0])
    tolerance = 1e-5 * float(np.abs(values).sum()) + 1e-6      # float32 sums in any order
    assert abs(got - exact) <= tolerance, f"expected total = sum(x) = {exact:.6g}, got {got:.6g}"
    assert np.array_equal(eng.read(x), values), "expected x to be left as it was, but it changed"
    budget.check("supersteps", p.num_supersteps, 2)
    budget.check("cycles", p.total_cycles, int(1.1 * _plan_cycles(n, spec)), "cycles")


@pytest.mark.ex02_2
@pytest.mark.parametrize("n, tiles", [
    (9600, 16),              # 600 per tile: 100 per worker
    (1000, 8),               # 125 per tile: pieces of 21 or 20
    (30_000, 32),
    (50, 16),                # 4 per tile: fewer elements than workers
    (7, 1),                  # one tile
])
def test_sum_without_locks_fixed(ex02, budget, n, tiles):
    _check_sum(ex02, budget, n, tiles)


@pytest.mark.ex02_2
def test_sum_without_locks_uses_the_spec_worker_count(ex02, budget):
    _check_sum(ex02, budget, 4800, 8, workers=4)     # 600 per tile, 150 per worker


@pytest.mark.ex02_2
@pytest.mark.parametrize("seed", range(6))
def test_sum_without_locks_random(ex02, budget, seed):
    rng = np.random.default_rng(300 + seed)
    _check_sum(ex02, budget, int(rng.integers(10, 40_000)), int(rng.integers(2, 33)), seed=seed)


# --- ex02_3: a neighbour update in supersteps ----------------------------------------------
def _ring_smooth(values, iterations):
    """NumPy reference, in float32 and in the codelet's order: (left + mid + right) / 3."""
    r = values.copy()
    for _ in range(iterations):
        r = (np.roll(r, 1) + r + np.roll(r, -1)) / np.float32(3)
    return r


def _block_mapping(rng, n, tiles):
    """One contiguous block per tile, in a random tile order and of random sizes."""
    used = int(rng.integers(1, min(tiles, n) + 1))
    cuts = np.sort(rng.choice(np.arange(1, n), used - 1, replace=False)) if used > 1 else np.array([], int)
    bounds = [0, *cuts.tolist(), n]
    order = rng.permutation(tiles)[:used]
    mapping = [[] for _ in range(tiles)]
    for tile, lo, hi in zip(order.tolist(), bounds[:-1], bounds[1:]):
        mapping[tile].append((lo, hi))
    return mapping, used


def _check_smooth(ex02, budget, n, tiles, iterations, mapping=None, seed=0):
    budget.case(f"a ring of {n} floats on {tiles} tiles, {iterations} rounds"
                + (", uneven blocks" if mapping is not None else ""))
    g = ipukit.Graph(_spec(tiles))
    x = g.add_variable(n, name="x")
    if mapping is None:
        g.map_linearly(x)
    else:
        g.set_tile_mapping(x, mapping)
    used = sum(1 for intervals in g.tile_mapping(x) if intervals)
    program = ex02.smooth(g, x, iterations)
    assert isinstance(program, ipukit.Program), \
        f"expected a program (ipukit.Sequence, Repeat, Execute...) to be returned, got {type(program).__name__}"
    eng = _engine(g, program)
    values = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    eng.write(x, values)
    p = eng.run()
    expected, got = _ring_smooth(values, iterations), eng.read(x)
    close = np.isclose(got, expected, rtol=1e-5, atol=1e-6)
    if not close.all():
        i = int(np.flatnonzero(~close)[0])
        raise AssertionError(f"expected x after {iterations} smoothing round{'s' * (iterations != 1)} (n = {n} on "
                             f"{used} tile{'s' * (used != 1)}), but "
                             f"{int((~close).sum())} of {n} elements differ; the first is x[{i}]: expected "
                             f"{expected[i]:.6g}, got {got[i]:.6g}")
    halo = 8 * used if used > 1 else 0                  # two float32 neighbours per tile and round
    budget.check("supersteps", p.num_supersteps, iterations + 1)
    budget.check("exchange bytes", p.exchange_bytes, halo * iterations, "B")


@pytest.mark.ex02_3
@pytest.mark.parametrize("n, tiles, iterations", [
    (40, 4, 1),              # one round: a compute set and a copy back (2 supersteps)
    (40, 4, 2),              # two rounds: two compute sets, no copy
    (40, 4, 5),
    (12, 1, 3),              # one tile: nothing to exchange
    (64, 16, 4),             # 4 elements per tile
    (3, 3, 2),               # one element per tile
])
def test_smooth_fixed(ex02, budget, n, tiles, iterations):
    _check_smooth(ex02, budget, n, tiles, iterations)


@pytest.mark.ex02_3
def test_smooth_zero_rounds_leaves_x_alone(ex02, budget):
    _check_smooth(ex02, budget, 20, 4, 0)


@pytest.mark.ex02_3
@pytest.mark.parametrize("seed", range(6))
def test_smooth_random_blocks(ex02, budget, seed):
    rng = np.random.default_rng(400 + seed)
    tiles = int(rng.integers(1, 17))
    n = int(rng.integers(3, 400))
    iterations = int(rng.integers(1, 8))
    mapping, _ = _block_mapping(rng, n, tiles)
    _check_smooth(ex02, budget, n, tiles, iterations, mapping, seed)
