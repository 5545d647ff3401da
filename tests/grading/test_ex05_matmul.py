"""Grading tests of notebook 05 (mapping a matmul): ex05_1, ex05_2 and ex05_3.

Expected values come from the emulator, never from the code under test: the
costs of a split from the profile and memory report of the same layout built
and run here; the best split under a memory cap by pricing every split with
the planner's estimate (which the library's own tests hold equal to the
engine's profile); the product against NumPy, and its budgets from the cost
model's rules (six workers, 4 bytes per cycle of exchange).
"""
import math
from functools import lru_cache

import numpy as np
import pytest

import ipukit
from ipukit import codelets, cost, ops
from ipukit.ops import planner
from ipukit.programs import Program


@pytest.fixture(scope="module")
def ex05(load):
    return load("ex05_matmul")


def _pieces(size, count):
    count = min(count, size)
    return [(i * size // count, (i + 1) * size // count) for i in range(count)]


# --- ex05_1: price the partial-products step ----------------------------------------------------
def _product_step(spec, m, k, n, splits):
    """The notebook's blocked layout, partial-products step only; run it and return the engine."""
    sm, sn, sk = splits
    mb, kb, nb = m // sm, k // sk, n // sn
    g = ipukit.Graph(spec)
    a = g.add_variable((sm, sk, mb, kb), name="A blocks")
    b = g.add_variable((sk, sn, kb, nb), name="B blocks")
    out = g.add_variable((sm, sn, sk, mb, nb), name="output blocks")

    def tile(i, j, d):
        return (i * sn + j) * sk + d

    for i in range(sm):
        for d in range(sk):
            g.set_tile_mapping(a[i, d], tile(i, 0, d))
    for d in range(sk):
        for j in range(sn):
            g.set_tile_mapping(b[d, j], tile(0, j, d))
    cs = g.add_compute_set("partial products")
    for i in range(sm):
        for j in range(sn):
            for d in range(sk):
                g.set_tile_mapping(out[i, j, d], tile(i, j, d))
                for lo, hi in _pieces(mb, spec.workers_per_tile):
                    g.add_vertex(cs, codelets.matmul_partial, tile=tile(i, j, d),
                                 a=a[i, d, lo:hi], b=b[d, j], out=out[i, j, d, lo:hi])
    eng = ipukit.Engine(g, ipukit.Execute(cs), backend="reference")
    eng.write(a, np.ones(a.shape, np.float32))
    eng.write(b, np.ones(b.shape, np.float32))
    eng.run()
    assert (eng.read(out) == kb).all()          # the layout really computes the product
    return eng


def _check_costs(ex05, spec, m, k, n, splits):
    eng = _product_step(spec, m, k, n, splits)
    expected = {"compute": eng.profile.compute_cycles, "exchange": eng.profile.exchange_cycles,
                "memory": eng.memory.peak_bytes}
    answer = ex05.product_step_costs(spec, m, k, n, splits)
    assert isinstance(answer, dict), f"expected a dict with compute, exchange and memory, got {answer!r}"
    missing = sorted(set(expected) - set(answer))
    assert not missing, f"expected keys compute, exchange and memory, got {sorted(answer)} (missing {missing})"
    where = f"({m} x {k}) @ ({k} x {n}) split {tuple(splits)} on {spec.describe()}"
    for key, value in expected.items():
        got = answer[key]
        unit = "B" if key == "memory" else "cycles"
        assert isinstance(got, (int, np.integer)) and int(got) == value, (
            f"{where}: expected {key} {value:,} {unit} (the engine's profile), got {got!r}")


@pytest.mark.ex05_1
@pytest.mark.parametrize("shape, splits", [
    # 48 x 192 A blocks, 192 x 48 B blocks: 8 rows a vertex, 6 x (10 + 2*8*192*48/16) = 55,356 cycles;
    # tile (1, 1) receives both blocks, 73,728 B = 18,432 cycles; 82,944 B of blocks + 168 B of state
    ((192, 192, 192), (4, 4, 1)),
    ((192, 192, 192), (16, 1, 1)),     # 12-row A blocks, all of B broadcast to every tile
    ((192, 192, 192), (1, 16, 1)),     # all of A broadcast
    ((48, 1024, 48), (1, 1, 16)),      # K split: every tile holds its own slices, nothing moves
    ((40, 64, 32), (8, 2, 1)),         # 5-row blocks: only 5 vertices, one worker idle
])
def test_product_step_costs_fixed(ex05, shape, splits):
    _check_costs(ex05, ipukit.GC2.replace(tiles=16), *shape, splits)


@pytest.mark.ex05_1
@pytest.mark.parametrize("seed", range(6))
def test_product_step_costs_random(ex05, seed):
    rng = np.random.default_rng(510 + seed)
    spec = (ipukit.GC2 if seed % 2 else ipukit.GC200).replace(tiles=16)
    while True:
        splits = tuple(int(s) for s in rng.integers(1, 5, 3))
        if math.prod(splits) <= 16:
            break
    mb, kb, nb = int(rng.integers(1, 25)), 2 * int(rng.integers(1, 33)), 2 * int(rng.integers(1, 25))
    sm, sn, sk = splits
    _check_costs(ex05, spec, sm * mb, sk * kb, sn * nb, splits)


# --- ex05_2: choose a split under a memory cap ----------------------------------------------------
def _price(spec, m, k, n, splits):
    return planner.plan_matmul(spec, m, k, n, splits=splits, check_memory=False, available_memory_proportion=1.0)


@lru_cache(maxsize=None)
def _all_splits(spec, m, k, n):
    """(splits, cycles, peak tile bytes) of every split, priced by the planner's estimate."""
    t = spec.total_tiles
    out = []
    for sm in range(1, min(m, t) + 1):
        for sn in range(1, min(n, t // sm) + 1):
            for sk in range(1, min(k, t // (sm * sn)) + 1):
                plan = _price(spec, m, k, n, (sm, sn, sk))
                out.append(((sm, sn, sk), plan.cycles, plan.peak_tile_bytes))
    return out


@pytest.fixture
def no_planner_search(monkeypatch, ex05):
    """Pricing a given split is allowed; asking the planner to search is the exercise itself."""
    original = planner.plan_matmul

    def priced_only(spec, m, k, n, *args, splits=None, **kwargs):
        if splits is None:
            raise AssertionError("Exercise 05.2 asks you to search the splits yourself: call "
                                 "ops.plan_matmul(..., splits=(m_parts, n_parts, k_parts), check_memory=False) to "
                                 "price one split; the planner's own search (no splits) is blocked by the grader")
        return original(spec, m, k, n, *args, splits=splits, **kwargs)
    monkeypatch.setattr(ops, "plan_matmul", priced_only)
    monkeypatch.setattr(planner, "plan_matmul", priced_only)
    for name, value in vars(ex05).items():         # also when imported by name
        if value is original:
            monkeypatch.setattr(ex05, name, priced_only)


def _check_choice(ex05, budget, spec, m, k, n, cap):
    budget.case(f"({m} x {k}) @ ({k} x {n}) on {spec.tiles} tiles under a cap of {cap:,} B")
    fitting = [(c, s) for s, c, peak in _all_splits(spec, m, k, n) if peak <= cap]
    assert fitting, "test set-up: no split fits"
    best_cycles, best = min(fitting)
    answer = ex05.choose_split(spec, m, k, n, cap)
    assert isinstance(answer, (tuple, list)) and len(answer) == 3, \
        f"expected a tuple (m_parts, n_parts, k_parts), got {answer!r}"
    sm, sn, sk = (int(x) for x in answer)
    assert 1 <= sm <= m and 1 <= sn <= n and 1 <= sk <= k and sm * sn * sk <= spec.total_tiles, (
        f"expected 1 <= parts <= the dimension they cut and m_parts x n_parts x k_parts <= "
        f"{spec.total_tiles} tiles, got {answer!r} for ({m} x {k}) @ ({k} x {n})")
    plan = _price(spec, m, k, n, (sm, sn, sk))
    budget.check("peak tile bytes", plan.peak_tile_bytes, cap, "B")
    budget.check("estimated cycles", plan.cycles, math.floor(1.05 * best_cycles), "cycles")


@pytest.mark.ex05_2
@pytest.mark.parametrize("shape, cap", [
    ((48, 1024, 48), 256 * 1024),     # the whole SRAM: K in 16 wins by far
    ((320, 320, 320), 256 * 1024),    # the fastest split, (2, 2, 4), needs 281,888 B: over a GC2 tile
    ((256, 256, 256), 160_000),       # (2, 2, 4) needs 180,512 B
    ((128, 128, 128), 40_000),        # (2, 2, 4) needs 45,344 B
    ((512, 32, 64), 24_000),          # a tall A
])
def test_choose_split_fixed(ex05, budget, no_planner_search, shape, cap):
    _check_choice(ex05, budget, ipukit.GC2.replace(tiles=16), *shape, cap)


@pytest.mark.ex05_2
@pytest.mark.parametrize("seed", range(5))
def test_choose_split_random(ex05, budget, no_planner_search, seed):
    rng = np.random.default_rng(520 + seed)
    spec = ipukit.GC2.replace(tiles=int(rng.choice([8, 12, 16])))
    m, k, n = (int(x) for x in 8 * rng.integers(1, 25, 3))
    peaks = np.sort([peak for _, _, peak in _all_splits(spec, m, k, n)])
    cap = int(peaks[int(rng.integers(0, max(1, peaks.size // 2)))])     # somewhere in the tighter half
    _check_choice(ex05, budget, spec, m, k, n, cap)


@pytest.mark.ex05_2
def test_choose_split_says_when_nothing_fits(ex05, no_planner_search):
    spec = ipukit.GC2.replace(tiles=16)
    smallest = min(peak for _, _, peak in _all_splits(spec, 48, 1024, 48))    # 43,872 B
    with pytest.raises(ValueError):
        ex05.choose_split(spec, 48, 1024, 48, smallest - 8)


# --- ex05_3: a K split with a shared reduction ------------------------------------------------------
@pytest.fixture
def no_library_matmul(monkeypatch):
    """The exercise builds what ops.matmul builds for a K split: using it is off limits."""
    def off_limits(*args, **kwargs):
        raise AssertionError("Exercise 05.3 asks you to build the K split yourself from matmul_partial and "
                             "reduce_rows vertices; ops.matmul is the answer, so the grader blocks it")
    monkeypatch.setattr(ops, "matmul", off_limits)


def _six_worker_cycles(spec, p, m, kb, n):
    """Compute cycles with every step on six workers: the rows of each product, each tile's slice of C."""
    w = spec.workers_per_tile
    products = w * cost.amp_cycles(-(-m // w), kb, n, spec, "float32")
    s = -(-(m * n) // p)                                  # the largest slice of C a tile sums
    per_vertex = -(-s // w)
    reduction = (w * cost.elementwise_cycles(p * per_vertex, spec, np.float32, cost.UNARY_CYCLES_PER_VECTOR)
                 + -(-4 * s // spec.memory_write_bytes_per_cycle))     # its own partial, copied on the tile
    return products + reduction


def _check_k_split(ex05, budget, p, m, kb, n, seed=0, normal=False):
    budget.case(f"({m} x {p * kb}) @ ({p * kb} x {n}) with K cut over {p} tiles")
    spec = ipukit.GC2.replace(tiles=16)
    g = ipukit.Graph(spec)
    a, b = g.add_variable((p, m, kb), name="a"), g.add_variable((p, kb, n), name="b")
    for d in range(p):
        g.set_tile_mapping(a[d], d)
        g.set_tile_mapping(b[d], d)
    rng = np.random.default_rng(seed)
    if normal:
        av, bv = (rng.standard_normal(s).astype(np.float32) for s in (a.shape, b.shape))
    else:        # small integers: every order of summing gives the exact result
        av, bv = (rng.integers(-4, 5, s).astype(np.float32) for s in (a.shape, b.shape))

    answer = ex05.k_split_matmul(g, a, b)
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected a (c, program) tuple, got {answer!r}"
    c, prog = answer
    assert isinstance(c, ipukit.Tensor), f"expected c to be a tensor, got {type(c).__name__}"
    assert isinstance(prog, Program), f"expected a program (Sequence, Execute...), got {type(prog).__name__}"
    assert c.shape == (m, n) and c.dtype == np.float32, f"expected a ({m}, {n}) float32 c, got {c.shape} {c.dtype}"
    eng = ipukit.Engine(g, prog, backend="reference")
    eng.write(a, av)
    eng.write(b, bv)
    profile = eng.run()
    got = eng.read(c)
    want = np.einsum("dmk,dkn->mn", av.astype(np.float64), bv.astype(np.float64))
    if normal:
        bad = np.argwhere(~np.isclose(got, want, rtol=1e-4, atol=1e-4 * math.sqrt(p * kb)))
    else:
        bad = np.argwhere(got != want)
    assert not bad.size, (f"expected c = sum of a[d] @ b[d] over the {p} slices, but {len(bad)} of {got.size} "
                          f"elements differ; first at {tuple(bad[0])}: expected {want[tuple(bad[0])]:g}, "
                          f"got {got[tuple(bad[0])]:g}")
    budget.check("supersteps", profile.num_supersteps, 2)
    budget.check("exchange cycles", profile.exchange_cycles, (p - 1) * -(-(m * n) // p), "cycles")
    budget.check("compute cycles", profile.compute_cycles,
                 math.floor(1.15 * _six_worker_cycles(spec, p, m, kb, n)), "cycles")
    budget.record("peak tile bytes", eng.memory.peak_bytes, "B")


@pytest.mark.ex05_3
@pytest.mark.parametrize("p, m, kb, n", [
    (4, 12, 16, 8),
    (16, 48, 64, 48),        # the notebook's (48 x 1024) @ (1024 x 48)
    (3, 10, 7, 5),           # 50 elements of C over 3 tiles: slices of 17, 17 and 16
    (2, 30, 1, 40),
])
def test_k_split_fixed(ex05, budget, no_library_matmul, p, m, kb, n):
    _check_k_split(ex05, budget, p, m, kb, n)


@pytest.mark.ex05_3
@pytest.mark.parametrize("seed", range(5))
def test_k_split_random(ex05, budget, no_library_matmul, seed):
    rng = np.random.default_rng(530 + seed)
    p = int(rng.integers(2, 17))
    m, kb, n = int(rng.integers(6, 41)), int(rng.integers(1, 33)), int(rng.integers(1, 41))
    _check_k_split(ex05, budget, p, m, kb, n, seed=seed, normal=seed % 2 == 1)
