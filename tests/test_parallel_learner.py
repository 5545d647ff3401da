"""Parallel drivers for learners' codelets: the same bytes and the same named errors (input
write, raise, loop budget, Ctrl+C) as the sequential driver and the reference path; the
thread count follows CPU affinity and the cgroup quota."""
from types import SimpleNamespace

import numpy as np
import pytest

import ipukit
from ipukit import Engine, Execute
from ipukit.errors import CodeletError, LoopBudgetError
from ipukit.run import numba_executor as fast

import test_learner_codelets as learner
from test_fast import test_driver_and_reference_agree_on_every_builtin  # noqa: F401  (built-ins, in parallel)
from test_learner_codelets import (  # noqa: F401  (run again here, on the parallel drivers)
    test_a_huge_range_that_ends_early_is_fine, test_a_numba_error_names_the_learners_line,
    test_a_practically_endless_range_stops_at_once, test_a_vertex_may_write_what_it_reads_through_its_output,
    test_an_endless_loop_stops_with_a_named_error, test_an_input_written_through_numpy_out_is_refused,
    test_the_budget_is_exact_and_the_same_on_both_backends, test_writing_an_input_through_another_name_is_refused)


@pytest.fixture(autouse=True)
def every_group_in_parallel(monkeypatch):
    monkeypatch.setattr(fast, "MODE", "parallel")


@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
def fussy(a, out, limit):
    """Doubles; raises on a value above ``limit``; loops for ever on a negative value."""
    for i in range(a.size):
        if a[i] > limit:
            raise ValueError("too big")
        while a[i] < 0:
            pass
        out[i] = 2 * a[i]


def many_vertices(spec, backend, values, limit=1e9):
    """``fussy`` on 200 vertices of 3 floats over 8 tiles."""
    g = ipukit.Graph(spec)
    x, y = g.add_variable(600, name="x"), g.add_variable(600, name="y")
    g.map_linearly(x, grain_size=75)
    g.map_linearly(y, grain_size=75)
    cs = g.add_compute_set("cs")
    for v in range(200):
        g.add_vertex(cs, fussy, tile=v // 25, a=x[3 * v:3 * v + 3], out=y[3 * v:3 * v + 3], limit=limit)
    eng = Engine(g, Execute(cs), backend=backend)
    eng.write(x, values)
    return eng, y


def test_the_parallel_driver_really_runs(spec):
    eng, _ = many_vertices(spec, "numba", np.zeros(600, np.float32))
    group = eng.layout.compute[next(iter(eng.layout.compute))].groups[0]
    assert group.driver.catches and group.choice.parallel()


def test_parallel_learner_results_equal_numpy(spec, rng):
    values = rng.standard_normal(600).astype(np.float32) ** 2
    eng, y = many_vertices(spec, "numba", values)
    eng.run()
    np.testing.assert_array_equal(eng.read(y), 2 * values)


@pytest.mark.parametrize("bad", [[137], [137, 20, 599], [599, 3]])
def test_the_first_vertex_that_raises_is_named_as_on_the_reference_path(spec, bad):
    values = np.ones(600, np.float32)
    values[bad] = 5.0
    messages = []
    for backend in ("reference", "numba"):
        eng, _ = many_vertices(spec, backend, values, limit=4.0)
        with pytest.raises(CodeletError) as info:
            eng.run()
        messages.append(str(info.value))
    first = min(bad) // 3
    assert f"vertex fussy#{first} " in messages[0] and "too big" in messages[0]
    assert messages[1] == messages[0]


def test_the_loop_budget_names_the_vertex_in_parallel(spec, monkeypatch):
    monkeypatch.setenv("IPUKIT_LOOP_BUDGET", "50000")
    fresh = ipukit.Codelet(fussy.fn, inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    values = np.ones(600, np.float32)
    values[[400, 301]] = -1.0
    messages = []
    for backend in ("reference", "numba"):
        g = ipukit.Graph(spec)
        x, y = g.add_variable(600, name="x"), g.add_variable(600, name="y")
        g.map_linearly(x)
        g.map_linearly(y)
        cs = g.add_compute_set("cs")
        for v in range(200):
            g.add_vertex(cs, fresh, tile=v % 4, a=x[3 * v:3 * v + 3], out=y[3 * v:3 * v + 3], limit=9.0)
        eng = Engine(g, Execute(cs), backend=backend)
        eng.write(x, values)
        with pytest.raises(LoopBudgetError) as info:
            eng.run()
        messages.append(str(info.value))
    assert "fussy#100 " in messages[0] and "50,000 iterations" in messages[0]
    assert messages[1] == messages[0]


def test_ctrl_c_stops_parallel_learner_code(tmp_path, monkeypatch):
    monkeypatch.setattr(learner, "ENDLESS", "from ipukit.run import numba_executor\n"
                        "numba_executor.MODE = 'parallel'\n" + learner.ENDLESS)
    learner.test_ctrl_c_stops_an_endless_codelet_on_numba(tmp_path)


# --- how many threads ------------------------------------------------------------------------

def cgroup(tmp_path, **files):
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, affinity, expected", [
    ({}, {0, 1, 2, 3}, 4),                                                  # no cgroup files: affinity
    ({"cpu.max": "max 100000\n"}, {0, 1, 2, 3}, 4),                          # v2, no quota
    ({"cpu.max": "200000 100000\n"}, set(range(16)), 2),                     # v2: 2 CPUs' worth
    ({"cpu.max": "150000 100000\n"}, set(range(16)), 2),                     # 1.5 CPUs: round up
    ({"cpu.max": "50000 100000\n"}, set(range(16)), 1),                      # half a CPU: one thread
    ({"cpu.max": "800000 100000\n"}, {3, 5}, 2),                             # affinity smaller than quota
    ({"cpu__cpu.cfs_quota_us": "300000\n", "cpu__cpu.cfs_period_us": "100000\n"}, set(range(8)), 3),  # v1
    ({"cpu__cpu.cfs_quota_us": "-1\n", "cpu__cpu.cfs_period_us": "100000\n"}, set(range(8)), 8),     # v1 none
    ({"cpu.max": "garbage"}, {0}, 1),
])
def test_usable_cpus_from_affinity_and_cgroup_quota(tmp_path, files, affinity, expected):
    assert fast.usable_cpus(affinity, cgroup(tmp_path, **files)) == expected


def test_the_environment_switch_overrides(monkeypatch):
    monkeypatch.setenv("IPUKIT_THREADS", "1")
    assert fast.thread_count() == 1
    monkeypatch.delenv("IPUKIT_THREADS")
    assert 1 <= fast.thread_count() <= max(1, len(__import__("os").sched_getaffinity(0)))


# --- when a group runs in parallel -------------------------------------------------------------

def choice(monkeypatch, nbytes=1 << 20, threads=2):
    monkeypatch.setattr(fast, "MODE", "auto")
    group = SimpleNamespace(dtypes=(np.dtype("float32"),), table=np.array([[[nbytes // 4, nbytes // 4]]]))
    return fast._Choice(group, threads)


def test_small_groups_and_one_thread_never_run_in_parallel(monkeypatch):
    assert not choice(monkeypatch, nbytes=fast.PARALLEL_GROUP_BYTES - 4).parallel()
    assert not choice(monkeypatch, threads=1).parallel()


def test_the_faster_way_wins_and_the_slower_is_tried_less_and_less_often(monkeypatch):
    c = choice(monkeypatch)
    ways = []
    for _ in range(200):
        parallel = c.parallel()
        ways.append(parallel)
        c.record(parallel, 5.0 if parallel else 1.0)          # one thread is faster (a busy machine)
    tries = [i for i, p in enumerate(ways) if p]
    assert tries[:2] == [0, 17]                                # first both ways, then after EXPLORE runs
    gaps = np.diff(tries[1:])
    assert (gaps[1:] >= gaps[:-1]).all() and gaps[-1] > gaps[0]    # backing off while it keeps losing
    ways = []
    for _ in range(2 * fast.EXPLORE_MAX + 2):                  # the machine becomes idle: parallel is faster
        parallel = c.parallel()
        ways.append(parallel)
        c.record(parallel, 0.5 if parallel else 1.0)
    assert all(ways[fast.EXPLORE_MAX + 1:][:fast.EXPLORE])      # noticed within one exploring period
    assert sum(ways) > 0.95 * len(ways) - fast.EXPLORE_MAX
