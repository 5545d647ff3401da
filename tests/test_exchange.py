"""Plans of byte runs: merged exactly as a brute-force per-element move list says."""
import numpy as np
from hypothesis import given, strategies as st

from ipukit import cost
from ipukit.run import reference
from ipukit.compile.exchange import Plan, merge_runs
from ipukit.run.numba_executor import copy_runs, copy_runs_parallel


def moves_of(plan):
    """Expand a plan back into per-byte moves."""
    out = []
    for st_, so, dt, do, n in plan.rows():
        out += [(st_, so + i, dt, do + i) for i in range(n)]
    return out


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 3), st.integers(0, 40)),
                max_size=40), st.sampled_from([1, 2, 4]))
def test_runs_cover_exactly_the_moves(elems, itemsize):
    a = np.array(elems, np.int64).reshape(-1, 4) * np.array([1, itemsize, 1, itemsize])
    plan = merge_runs(a[:, 0], a[:, 1], a[:, 2], a[:, 3], itemsize)
    expected = [(s, so + i, d, do + i) for s, so, d, do in a.tolist() for i in range(itemsize)]
    assert moves_of(plan) == expected
    # and merging is maximal: no two consecutive runs could be joined
    for (s1, so1, d1, do1, n1), (s2, so2, d2, do2, _) in zip(plan.rows(), plan.rows()[1:]):
        assert not (s1 == s2 and d1 == d2 and so1 + n1 == so2 and do1 + n1 == do2)


def test_contiguous_rows_become_one_run():
    n = 100
    plan = merge_runs(np.zeros(n, np.int64), np.arange(n) * 4, np.ones(n, np.int64),
                              800 + np.arange(n) * 4, 4)
    assert plan.rows() == [(0, 0, 1, 800, 400)]


@given(st.integers(0, 2**32 - 1), st.integers(1, 60))
def test_compiled_copy_matches_reference(seed, runs):
    rng = np.random.default_rng(seed)
    mem = rng.integers(0, 256, 4096, dtype=np.uint8)
    # disjoint destinations in the upper half, sources anywhere in the lower half
    nbytes = rng.integers(1, 30, runs)
    dst = 2048 + np.concatenate([[0], np.cumsum(nbytes + rng.integers(0, 3, runs))[:-1]])
    src = rng.integers(0, 2048 - 30, runs)
    args = (src.astype(np.int64), dst.astype(np.int64), nbytes.astype(np.int64))
    want = mem.copy()
    reference.copy_runs(want, *args)
    for kernel in (copy_runs, copy_runs_parallel):
        got = mem.copy()
        kernel(got, *args)
        np.testing.assert_array_equal(got, want)


def test_union_of_sent_bytes():
    starts = np.array([0, 10, 5, 100, 300])
    nbytes = np.array([10, 10, 2, 50, 10])
    got = cost._union_bytes_per_tile(starts, nbytes, 256, 2)
    assert got.tolist() == [20 + 50, 10]


def test_plan_concat_and_absolute():
    p = Plan.concat([Plan(*(np.array([v]) for v in (1, 8, 2, 16, 4))), Plan.empty()])
    src, dst, n = p.absolute(1024)
    assert (src[0], dst[0], n[0]) == (1032, 2064, 4)
