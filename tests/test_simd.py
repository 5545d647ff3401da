"""The lock-step machine's warps and its three ways of dealing rows, against independent counts.

Expected values come from walking the work item by item here (warps taken in
order by the slot that frees first, the merge path visited step by step), from
NumPy on random CSR matrices, and from small cases worked out by hand.
"""
import numpy as np
import pytest

import ipukit
from ipukit.simd import SIMDMachine, merge_path_split
from ipukit.viz import plot_lockstep


def _walk_warps(work, warp, slots):
    """Each warp lasts as long as its longest item; warps in order take the earliest free slot."""
    free = [0.0] * slots
    for start in range(0, len(work), warp):
        i = int(np.argmin(free))               # the lowest slot among those that free first
        free[i] += max(work[start:start + warp])
    return max(free) if len(work) else 0.0


def _random_csr(rng, rows, cols, density):
    """A random sparse matrix as NumPy sees it: row pointers from the dense non-zeros."""
    dense = rng.random((rows, cols)) < density
    dense[rng.integers(0, rows)] = True               # one full row: the long tail
    return np.concatenate([[0], np.cumsum(dense.sum(axis=1))]), dense


# --- warps -----------------------------------------------------------------------------------
def test_a_warp_pads_only_to_its_own_longest_item():
    m = SIMDMachine("m", lanes=8, warp=4)
    # warps [1 9 2 3] -> 9 and [5 5 5 5] -> 5 run side by side; [1] follows on the slot that frees at 5
    assert m.kernel([1, 9, 2, 3, 5, 5, 5, 5, 1]).compute_cycles == 9
    # without warps all 8 lanes are one group: 9 (first 8 items) + 1 (the ninth)
    assert SIMDMachine("m", lanes=8).kernel([1, 9, 2, 3, 5, 5, 5, 5, 1]).compute_cycles == 10


@pytest.mark.parametrize("seed", range(5))
def test_warps_match_a_walk_of_the_slots(seed):
    rng = np.random.default_rng(seed)
    warp, slots = int(rng.choice([2, 4, 32])), int(rng.integers(1, 5))
    m = SIMDMachine("m", lanes=warp * slots, issue_cycles=int(rng.integers(1, 7)), warp=warp)
    work = rng.lognormal(2, 1, int(rng.integers(1, 400)))
    k = m.kernel(work)
    assert k.compute_cycles == pytest.approx(m.issue_cycles * _walk_warps(work.tolist(), warp, slots))
    assert k.useful_cycles == pytest.approx(m.issue_cycles * work.sum() / m.lanes)


def test_a_warp_as_wide_as_the_machine_is_the_old_model():
    rng = np.random.default_rng(3)
    work, kinds = rng.integers(0, 50, 300), rng.choice(["a", "b", "c"], 300)
    assert (SIMDMachine("m", lanes=32, warp=32).kernel(work, kinds).compute_cycles
            == SIMDMachine("m", lanes=32).kernel(work, kinds).compute_cycles)


def test_like_with_warps_keeps_the_peak():
    spec = ipukit.GC2.replace(tiles=16)
    m = SIMDMachine.like(spec, warp=32)
    assert (m.lanes, m.warp, m.slots, m.group_lanes) == (96, 32, 3, 32)
    assert m.memory_bytes_per_cycle == SIMDMachine.like(spec).memory_bytes_per_cycle
    with pytest.raises(ValueError, match="dividing lanes"):
        SIMDMachine("m", lanes=96, warp=64)


# --- rows: thread, warp, merge ---------------------------------------------------------------------
def test_rows_by_hand():
    m = SIMDMachine("m", lanes=4, warp=2)
    counts = [3, 0, 5, 1]
    # a thread per row: items 2 + 3 * 1, 2, 2 + 5, 2 + 1; warps (5, 2) and (7, 3) on two slots
    assert m.rows(counts, 1.0, 2.0, "thread").total("compute_cycles") == 7
    # a warp per row, 2 lanes: row 0 -> lanes with 2 and 1 items; reduce in one step of 1
    per_row = m.rows(counts, 1.0, 2.0, "warp", reduce_cycles=1.0).kernels[0]
    assert per_row.items == 8
    assert per_row.compute_cycles == 9                # rows last 5, 3, 6, 4: slot 0 runs 5 then 4, slot 1 3 then 6
    # merge: 13 path steps over 4 threads -> runs of 3, 3, 3, 4
    merge = m.rows(counts, 1.0, 2.0, "merge", reduce_cycles=1.0)
    assert len(merge.kernels) == 2 and merge.kernels[1].items == 4


@pytest.mark.parametrize("seed", range(4))
def test_merge_path_split_walks_the_path(seed):
    rng = np.random.default_rng(10 + seed)
    indptr, dense = _random_csr(rng, int(rng.integers(1, 60)), 40, rng.uniform(0.01, 0.5))
    counts = np.diff(indptr)
    threads = int(rng.integers(1, 100))
    items, ends = merge_path_split(counts, threads)
    path = []
    for c in counts:
        path += ["item"] * int(c) + ["end"]
    bounds = [t * len(path) // threads for t in range(threads + 1)]
    for t in range(threads):
        run = path[bounds[t]:bounds[t + 1]]
        assert (items[t], ends[t]) == (run.count("item"), run.count("end")), f"thread {t}"
    assert items.sum() == dense.sum() and ends.sum() == len(counts)
    assert (items + ends).max() - (items + ends).min() <= 1


@pytest.mark.parametrize("seed", range(4))
def test_the_three_strategies_do_the_same_work(seed):
    """Every strategy's useful work is the matrix's non-zeros (and rows) as NumPy counts them."""
    rng = np.random.default_rng(20 + seed)
    indptr, dense = _random_csr(rng, 200, 300, 0.05)
    counts = np.diff(indptr)
    m = SIMDMachine("m", lanes=96, issue_cycles=6, warp=32)
    nnz, rows = int(dense.sum()), dense.shape[0]
    thread = m.rows(counts, 2.0, 5.0, "thread")
    assert thread.total("useful_cycles") == pytest.approx(6 * (2 * nnz + 5 * rows) / 96)
    warp = m.rows(counts, 2.0, 5.0, "warp")                 # elementwise: no reduction
    assert warp.total("useful_cycles") == pytest.approx(6 * (2 * nnz + 5 * 32 * rows) / 96)
    merge = m.rows(counts, 2.0, 5.0, "merge", search_cycles=0.0)
    assert merge.total("useful_cycles") == pytest.approx(6 * (2 * nnz + 5 * rows) / 96)


def test_where_each_strategy_wins():
    m = SIMDMachine("m", lanes=96, issue_cycles=6, warp=32)
    skewed = np.array([2000] + [4] * 959)                  # one very long row among short ones
    even_long = np.full(6, 3000)                           # fewer long rows than lanes
    cycles = {s: {k: m.rows(c, 1.0, 10.0, s, reduce_cycles=1.0).cycles for k, c in (("skewed", skewed),
                                                                                   ("even", even_long))}
              for s in ("thread", "warp", "merge")}
    # skewed rows: a thread per row waits for the long row; merge-path splits it
    assert cycles["thread"]["skewed"] > 3 * cycles["merge"]["skewed"]
    # few long rows: a thread per row leaves 90 lanes idle; a warp per row splits each row 32 ways
    assert cycles["warp"]["even"] < cycles["thread"]["even"]
    # short rows: a warp per row leaves 28 of its 32 lanes idle
    assert m.rows(np.full(960, 4), 1.0, 10.0, "warp").cycles > m.rows(np.full(960, 4), 1.0, 10.0, "thread").cycles


def test_rows_checks_its_arguments():
    m = SIMDMachine("m", lanes=4)
    with pytest.raises(ValueError, match="strategy"):
        m.rows([1, 2], 1.0, strategy="block")
    with pytest.raises(ValueError, match="whole numbers"):
        m.rows([1.5, 2], 1.0)
    with pytest.raises(ValueError, match="item_cycles"):
        m.rows([1, 2], -1.0)


def test_plot_lockstep_with_warps():
    m = SIMDMachine("m", lanes=8, warp=4)
    fig = plot_lockstep(m, [1, 9, 2, 3, 5, 5, 5, 5, 1])
    title = fig._suptitle.get_text()
    assert "3 warp(s) of 4 on 2 slot(s)" in title and "9 cycles" in title
