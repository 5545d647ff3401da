"""Grading tests of notebook 08 (sparsity and MIMD): ex08_1, ex08_2 and ex08_3.

Expected values come from rules written here: lock-step groups walked item by
item, the largest-first greedy schedule, NumPy's product of the dense matrix,
and the emulator, which runs the learner's placements (on the reference
backend, so grading needs no numba start-up) and reports cycles and bytes.
"""
import numpy as np
import pytest

import ipukit
from ipukit import Execute, Program


@pytest.fixture(scope="module")
def ex08(load):
    return load("ex08_sparsity")


# --- ex08_1: the padding cost of a lock-step machine -----------------------------------------
def _lockstep_by_walking(work, lanes, kinds):
    """Walk the groups: each kind present in a group adds its longest item."""
    cycles = 0.0
    for start in range(0, len(work), lanes):
        longest = {}
        for i in range(start, min(start + lanes, len(work))):
            k = None if kinds is None else kinds[i]
            longest[k] = max(longest.get(k, 0.0), float(work[i]))
        cycles += sum(longest.values())
    return cycles, (float(sum(work)) / (lanes * cycles) if cycles else 1.0)


def _check_lockstep(ex08, work, lanes, kinds=None):
    answer = ex08.lockstep_cycles(list(work), lanes, None if kinds is None else list(kinds))
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected a (cycles, utilisation) tuple, got {answer!r}"
    want_cycles, want_util = _lockstep_by_walking(work, lanes, kinds)
    cycles, util = answer
    where = f"{len(work)} items on {lanes} lanes" + ("" if kinds is None else f" with kinds {sorted(set(kinds))}")
    assert cycles == pytest.approx(want_cycles, rel=1e-9), f"{where}: expected {want_cycles:g} cycles, got {cycles!r}"
    assert util == pytest.approx(want_util, rel=1e-9), f"{where}: expected utilisation {want_util:.6g}, got {util!r}"


@pytest.mark.ex08_1
@pytest.mark.parametrize("work, lanes, kinds", [
    ([5, 5, 5, 5], 4, None),                            # even work, one full group: no padding
    ([1, 9, 2, 3], 4, None),                            # one group waits for its 9: 9 cycles, 15/36 used
    ([4, 1, 1, 1, 2, 2], 2, None),                      # three groups: 4 + 1 + 2
    ([3, 3, 3, 3, 3], 4, None),                         # the last group holds one item on four lanes
    ([2, 6, 4, 1], 4, ["a", "b", "a", "b"]),            # two code paths in one group: 4 + 6
    ([2, 6, 4, 1], 2, ["a", "b", "a", "b"]),            # each group diverges: (2 + 6) + (4 + 1)
    ([0, 0, 0], 8, None),                               # no work: (0, 1.0)
])
def test_lockstep_fixed(ex08, work, lanes, kinds):
    _check_lockstep(ex08, work, lanes, kinds)


@pytest.mark.ex08_1
@pytest.mark.parametrize("seed", range(6))
def test_lockstep_random(ex08, seed):
    rng = np.random.default_rng(800 + seed)
    n, lanes = int(rng.integers(1, 300)), int(rng.choice([4, 8, 32, 96]))
    work = np.round(rng.lognormal(3, 1, n), 2)
    kinds = None if seed % 2 else rng.choice(["scale", "relu", "dot"], n).tolist()
    _check_lockstep(ex08, work, lanes, kinds)


# --- ex08_2: balance uneven work over tiles and workers -----------------------------------------
def _greedy_makespan(costs, slots):
    loads = np.zeros(slots)
    for c in sorted(costs, reverse=True):
        loads[np.argmin(loads)] += c
    return loads.max()


def _check_balance(ex08, budget, costs, tiles, workers=6):
    budget.case(f"{len(costs)} items on {tiles} tiles of {workers} workers")
    answer = ex08.balance_items(list(costs), tiles, workers)
    assert isinstance(answer, (list, tuple)) and len(answer) == tiles, (
        f"expected a list of {tiles} tiles, got {type(answer).__name__}"
        + (f" of length {len(answer)}" if isinstance(answer, (list, tuple)) else ""))
    seen = []
    for t, per_tile in enumerate(answer):
        assert len(per_tile) == workers, f"expected {workers} worker lists on tile {t}, got {len(per_tile)}"
        for w in per_tile:
            seen += [int(i) for i in w]
    missing = sorted(set(range(len(costs))) - set(seen))
    assert sorted(seen) == list(range(len(costs))), (
        f"expected every item 0..{len(costs) - 1} exactly once, got "
        + (f"items {missing[:5]} missing" if missing else "some items twice"))
    loads = np.array([[sum(costs[i] for i in w) for w in per_tile] for per_tile in answer])
    slowest = workers * loads.max()
    lower = workers * max(max(costs), sum(costs) / (tiles * workers))
    budget.record("slowest tile / lower bound", round(slowest / lower, 3), "x")
    budget.check("slowest tile", round(slowest, 6), round(workers * _greedy_makespan(costs, tiles * workers), 6),
                 "cycles")
    return answer, loads


@pytest.mark.ex08_2
def test_balance_fixed(ex08, budget):
    costs = [30, 30, 20, 20, 20, 10, 10, 10, 5, 5]      # in order, worker by worker, would stack the big ones
    _check_balance(ex08, budget, costs, tiles=1, workers=3)


@pytest.mark.ex08_2
def test_balance_more_slots_than_items(ex08, budget):
    _, loads = _check_balance(ex08, budget, [7, 3, 9], tiles=2, workers=6)
    assert loads.max() == 9, f"expected each item on a worker of its own (slowest worker 9), got {loads.max()}"


@pytest.mark.ex08_2
@pytest.mark.parametrize("seed", range(6))
def test_balance_random(ex08, budget, seed):
    rng = np.random.default_rng(820 + seed)
    tiles = int(rng.integers(1, 17))
    n = int(rng.integers(1, 40 * tiles))
    costs = [int(c) for c in np.ceil(rng.lognormal(4, 1.0, n))]
    _check_balance(ex08, budget, costs, tiles)


@pytest.mark.ex08_2
def test_balance_on_the_emulator(ex08, budget):
    """One vertex per worker, running its items: the engine's compute phase is the slowest tile."""

    @ipukit.codelet(outputs={"done": "float32[1]"}, cycles=lambda work: work)
    def run_items(done, work):
        done[0] = work

    rng = np.random.default_rng(7)
    tiles, costs = 16, [int(c) for c in np.ceil(rng.lognormal(4, 1.0, 300))]
    answer, loads = _check_balance(ex08, budget, costs, tiles)
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    done = g.add_variable(tiles * 6, name="done")
    cs = g.add_compute_set("items")
    for t in range(tiles):
        g.set_tile_mapping(done[6 * t:6 * t + 6], t)
        for w in range(6):
            g.add_vertex(cs, run_items, tile=t, done=done[6 * t + w:6 * t + w + 1], work=int(loads[t, w]))
    profile = ipukit.Engine(g, Execute(cs), backend="reference").run()
    assert profile.compute_cycles == 6 * loads.max(), (
        f"expected the emulator's compute phase to last 6 x the busiest worker ({6 * loads.max():,} cycles), "
        f"got {profile.compute_cycles:,}")


# --- ex08_3: a block-sparse matrix-vector product ----------------------------------------------
def _matvec_problem(tiles, mask, bs, seed):
    """Tensors as the exercise describes them; row of blocks i (and y's block i) on tile i % tiles."""
    mb, kb = mask.shape
    nnz = int(mask.sum())
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    a = g.add_variable((max(nnz, 1), bs, bs), name="a")[:nnz]
    x = g.add_variable(kb * bs, name="x")
    y = g.add_variable(mb * bs, name="y")
    g.map_linearly(x, grain_size=bs)
    row_start = np.concatenate(([0], np.cumsum(mask.sum(axis=1))))
    for i in range(mb):
        g.set_tile_mapping(y[i * bs:(i + 1) * bs], i % tiles)
        if row_start[i + 1] > row_start[i]:
            g.set_tile_mapping(a[row_start[i]:row_start[i + 1]], i % tiles)
    if nnz == 0:
        g.set_tile_mapping(g.variable_tensor(g.variables[0]), 0)
    rng = np.random.default_rng(seed)
    dense = (rng.standard_normal((mb * bs, kb * bs)) * np.kron(mask, np.ones((bs, bs)))).astype(np.float32)
    values = dense.reshape(mb, bs, kb, bs).transpose(0, 2, 1, 3)[mask.astype(bool)]
    return g, a, x, y, dense, values, rng.standard_normal(kb * bs).astype(np.float32)


def _run_matvec(ex08, tiles, mask, bs, seed=0):
    g, a, x, y, dense, values, xv = _matvec_problem(tiles, mask, bs, seed)
    prog = ex08.block_sparse_matvec(g, mask, a, x, y)
    assert isinstance(prog, Program), f"expected a program (e.g. Execute(cs)), got {type(prog).__name__}"
    eng = ipukit.Engine(g, prog, backend="reference")
    if values.size:
        eng.write(a, values)
    eng.write(x, xv)
    eng.write(y, np.full(y.shape, np.nan, np.float32))       # rows nobody writes stay NaN
    profile = eng.run()
    got = eng.read(y)
    want = dense.astype(np.float64) @ xv.astype(np.float64)
    bad = np.flatnonzero(~np.isclose(got, want, rtol=1e-4, atol=1e-4))
    assert not bad.size, (f"expected y = A @ x, but {bad.size} of {got.size} elements differ; first at index "
                          f"{bad[0]} (row of blocks {bad[0] // bs}): expected {want[bad[0]]:.6g}, got {got[bad[0]]}"
                          + (" (never written)" if np.isnan(got[bad[0]]) else ""))
    return profile


def _check_matvec(ex08, budget, tiles, mask, bs, seed=0):
    budget.case(f"a {mask.shape[0]} x {mask.shape[1]} block mask with {int(np.sum(mask))} blocks of {bs} x {bs} "
                f"on {tiles} tiles")
    profile = _run_matvec(ex08, tiles, mask, bs, seed)
    nnz = int(mask.sum())
    budget.check("exchange bytes", profile.exchange_bytes, nnz * bs * 4, "B")
    budget.record("supersteps", profile.num_supersteps)
    return profile


@pytest.mark.ex08_3
def test_matvec_fixed(ex08, budget):
    mask = np.array([[1, 0, 0, 1, 0, 0],
                     [0, 0, 0, 0, 0, 0],                # an empty row of blocks: y is zero there
                     [1, 1, 1, 1, 1, 1],
                     [0, 0, 1, 0, 0, 0]], bool)
    _check_matvec(ex08, budget, tiles=4, mask=mask, bs=4)


@pytest.mark.ex08_3
def test_matvec_more_rows_than_tiles(ex08, budget):
    mask = np.eye(10, dtype=bool) | np.eye(10, k=3, dtype=bool)
    _check_matvec(ex08, budget, tiles=3, mask=mask, bs=2, seed=1)


@pytest.mark.ex08_3
@pytest.mark.parametrize("seed", range(4))
def test_matvec_random(ex08, budget, seed):
    rng = np.random.default_rng(830 + seed)
    tiles, bs = int(rng.integers(2, 9)), int(rng.choice([2, 4, 8]))
    mask = rng.random((int(rng.integers(1, 13)), int(rng.integers(1, 13)))) < rng.uniform(0.1, 0.7)
    _check_matvec(ex08, budget, tiles, mask, bs, seed)


@pytest.mark.ex08_3
def test_matvec_works_only_where_blocks_are(ex08, budget):
    """One block in eight against every block: the compute cycles must follow the blocks."""
    tiles, bs, mb, kb = 4, 8, 8, 16
    rng = np.random.default_rng(838)
    sparse_mask = np.zeros((mb, kb), bool)
    for i in range(mb):                                   # two blocks in every row
        sparse_mask[i, rng.choice(kb, 2, replace=False)] = True
    full = _run_matvec(ex08, tiles, np.ones((mb, kb), bool), bs)
    sparse = _check_matvec(ex08, budget, tiles, sparse_mask, bs, seed=1)
    budget.record("compute cycles with every block", full.compute_cycles, "cycles")
    budget.check("compute cycles with one block in eight", sparse.compute_cycles,
                 int(0.3 * full.compute_cycles), "cycles")
