"""Grading tests of notebook 11 (IPU Puzzles): ex11_1 to ex11_14.

Every puzzle runs on its fixed case (the one the notebook draws) and on seeded random
ones (other tile counts, sizes and data).  The expected outputs come from the NumPy
statements written out here, never from the code under test; the budgets are
``ipukit.puzzles.budget``: what a good solution costs on the case, worked out from
the cost model.  A right answer over budget fails, naming the cost and by how much.
"""
import numpy as np
import pytest

from ipukit import puzzles, sparse
from ipukit.exercise import BudgetExceeded

RANDOM_CASES = 3


@pytest.fixture(scope="module")
def ex11(load):
    return load("ex11_puzzles")


# --- what each puzzle must compute, in NumPy ------------------------------------------------
def _dense(a, mask):
    """The dense matrix of a block-sparse A: its non-zero blocks ``a`` where ``mask`` is true, row by row."""
    rows, cols = mask.shape
    bs = a.shape[1]
    dense = np.zeros((rows * bs, cols * bs), np.float32)
    for q, (i, k) in enumerate(zip(*np.nonzero(mask))):
        dense[i * bs:(i + 1) * bs, k * bs:(k + 1) * bs] = a[q]
    return dense


SPECS = {
    1: lambda a: a + 10,
    2: lambda a, b: a + b,
    3: lambda a, b: a[:, None] + b[None, :],
    4: lambda a: np.roll(a, 1) + a + np.roll(a, -1),
    5: lambda a, k: np.roll(a, k),
    6: lambda a: a.sum(keepdims=True),
    7: lambda a: a.sum(keepdims=True),
    8: lambda a, tiles: np.full(tiles, a.sum(), np.float32),
    9: lambda x: x.T,
    10: lambda a: np.cumsum(a, dtype=np.float32),
    11: lambda table, idx: table[idx],
    12: lambda a, b: a @ b,
    13: lambda values, bounds: np.array([values[s:e].sum() for s, e in zip(bounds[:-1], bounds[1:])], np.float32),
    14: lambda a, x, mask: x @ _dense(a, mask).T,
}


def _expected(case):
    return SPECS[case.puzzle](**case.values, **case.extras)


# --- the random cases ---------------------------------------------------------------------------
def _random(number, seed):
    """Keyword arguments of ``puzzles.make_case`` for a seeded random case of puzzle ``number``."""
    rng = np.random.default_rng(1100 + 100 * number + seed)
    tiles = int(rng.integers(1, 7))
    square = int(rng.choice([1, 4, 9]))
    pick = {
        1: lambda: dict(tiles=tiles, n=int(rng.integers(1, 41))),
        2: lambda: dict(tiles=tiles, n=int(rng.integers(1, 131))),
        3: lambda: dict(tiles=tiles, rows=int(rng.integers(1, 9)), cols=int(rng.integers(1, 21)),
                        b_tile=int(rng.integers(tiles))),
        4: lambda: dict(tiles=tiles, n=int(rng.integers(2, 101))),
        5: lambda: dict(tiles=tiles, n=int(rng.integers(1, 13)), k=int(rng.integers(-30, 31))),
        6: lambda: dict(tiles=tiles, n=int(rng.integers(1, 701)), tile=int(rng.integers(tiles))),
        7: lambda: dict(tiles=tiles, n=int(rng.integers(1, 121)), root=int(rng.integers(tiles))),
        8: lambda: dict(tiles=tiles, n=int(rng.integers(1, 121))),
        9: lambda: dict(tiles=square, block=int(rng.integers(1, 7))),
        10: lambda: dict(tiles=tiles, n=int(rng.integers(1, 13))),
        11: lambda: dict(tiles=tiles, m=int(rng.integers(1, 11)), k=int(rng.integers(1, 9))),
        12: lambda: dict(tiles=square, m=int(rng.integers(1, 6)), k=int(rng.integers(1, 6)),
                         n=int(rng.integers(1, 6))),
        13: lambda: dict(tiles=tiles, tile=int(rng.integers(tiles)), lengths=_lengths(rng)),
        14: lambda: dict(tiles=tiles, bs=int(rng.integers(2, 9)), mask=sparse.random_block_mask(
            int(rng.integers(4, 21)), int(rng.integers(2, 9)), float(rng.uniform(0.1, 0.6)),
            float(rng.uniform(0, 1)), seed=int(rng.integers(1000)))),
    }[number]
    return dict(pick(), seed=seed)


def _lengths(rng):
    """Rows of puzzle 13: mostly short, about one in four long."""
    rows = int(rng.integers(6, 31))
    long = rng.random(rows) < 0.25
    return [int(v) for v in np.where(long, rng.integers(20, 61, rows), rng.integers(1, 8, rows))]


def _cases():
    for number in puzzles.PUZZLES:
        mark = getattr(pytest.mark, f"ex11_{number}")
        yield pytest.param(number, {}, id=f"puzzle{number}-fixed", marks=mark)
        for seed in range(RANDOM_CASES):
            yield pytest.param(number, _random(number, seed), id=f"puzzle{number}-random{seed}", marks=mark)


# --- the test -----------------------------------------------------------------------------------
def _within_budget(budget, case, costs, limits):
    """Record every cost; fail once, naming every cost over its budget and by how much."""
    limited = {lim.name: lim for lim in limits}
    for name, unit in puzzles.COSTS:
        if name not in limited:
            budget.record(name, costs[name], unit)
    over = []
    for lim in limits:
        try:
            budget.check(lim.name, costs[lim.name], lim.value, lim.unit)
        except BudgetExceeded:
            unit = f" {lim.unit}" if lim.unit else ""
            over.append(f"{lim.name} is {costs[lim.name]:,}{unit}, over the budget of {lim.value:,}{unit} by "
                        f"{costs[lim.name] - lim.value:,}{unit} (the budget: {lim.why})")
    if over:
        raise BudgetExceeded(f"right answer, but over budget for case '{case.label}': " + "; ".join(over))


@pytest.mark.parametrize("number, kwargs", list(_cases()))
def test_puzzle(ex11, budget, number, kwargs):
    case = puzzles.make_case(number, **kwargs)
    limits = puzzles.budget(case)
    written = {name: v.copy() for name, v in case.values.items()}
    result = puzzles.run(case, getattr(ex11, puzzles.PUZZLES[number].function))

    (name, got), = result.outputs.items()
    wrong = puzzles.compare(_expected(case), got, case)
    if wrong:
        pytest.fail(wrong)
    for input_name, (tensor, _) in case.inputs.items():
        now = result.engine.read(tensor)
        if not np.array_equal(now, written[input_name]):
            pytest.fail(f"for case '{case.label}': expected the input {input_name} to stay as it was, but "
                        f"the program changed it")
    _within_budget(budget, case, result.costs, limits)
