"""Feedback that leads to a pass: a failure names its input case, and the cost table is that case's.

Exercise 02.2 once failed a learner who followed its hint: blocks of fewer elements
than workers gave empty vertices on 50 floats over 16 tiles, 4 % over budget, while
the panel showed another case's costs and never named that one.
"""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import ipukit
from ipukit import codelets
from ipukit import exercise as X
from ipukit import grade

ROOT = Path(__file__).resolve().parents[1]
TABLE = X.load_table()


def _grading_conftest():
    spec = importlib.util.spec_from_file_location("grading_conftest", ROOT / "tests" / "grading" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_budget_names_its_case_and_how_far_over():
    budget = X.Budget()
    budget.case("50 floats on 16 tiles")
    budget.check("supersteps", 2, 2)
    with pytest.raises(X.BudgetExceeded) as over:
        budget.check("cycles", 885, 851, "cycles")
    assert str(over.value) == ("for 50 floats on 16 tiles: cycles is 885 cycles, over the budget of 851 cycles "
                               "(by 34 cycles, 4.0 %)")
    budget.case("7 floats on 1 tile")
    budget.check("supersteps", 1, 2)
    assert [c.value for c in budget.case_rows()] == [1] and len(budget.rows) == 3


def test_only_the_reported_failure_keeps_its_costs():
    """Costs of passing tests, or of a later failure, would be another case's than the message's."""
    reported = _grading_conftest()._reported
    cost = [{"name": "cycles", "value": 9, "limit": 10, "unit": "", "ok": True}]
    events = [{"nodeid": "a", "kind": "passed", "costs": cost},
              {"nodeid": "b", "kind": "not started", "costs": []},
              {"nodeid": "c", "kind": "over budget", "costs": cost},
              {"nodeid": "d", "kind": "raised", "costs": cost}]
    assert [bool(e["costs"]) for e in reported(events)] == [False, False, True, False]
    assert [bool(e["costs"]) for e in reported(events[:1])] == [True]           # all passed: all costs kept
    crash = [events[0], {"nodeid": "e", "kind": "error", "costs": []}, events[2]]
    assert not any(e["costs"] for e in reported(crash))                       # no "ok" costs beside a crash


def test_a_parametrized_case_is_named_when_the_test_did_not_name_it():
    parameters = _grading_conftest()._parameters
    item = SimpleNamespace(callspec=SimpleNamespace(params={"n": 50, "tiles": 16, "values": np.arange(3),
                                                            "spec": object(), "long": list(range(40))}))
    assert parameters(item) == "n = 50, tiles = 16, values = [0, 1, 2], long = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, " \
                               "11, 12, 13, 14, 15, 16..."
    assert parameters(SimpleNamespace()) == ""


def _plan_of_the_task(n, tiles):
    """The plan exercise 02.2's docstring states, run on the emulator: its cycles."""
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    x, total = g.add_variable(n, name="x"), g.add_variable(1, name="total")
    g.map_linearly(x)
    g.set_tile_mapping(total, 0)
    pieces = []
    for tile, intervals in enumerate(g.tile_mapping(x)):
        for lo, hi in intervals:
            parts = min(g.spec.workers_per_tile, hi - lo)
            cuts = [lo + (hi - lo) * i // parts for i in range(parts + 1)]
            pieces += [(tile, a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    partials = g.add_variable(len(pieces), name="partials")
    first, second = g.add_compute_set("pieces"), g.add_compute_set("partials")
    for i, (tile, lo, hi) in enumerate(pieces):
        g.set_tile_mapping(partials[i:i + 1], tile)
        g.add_vertex(first, codelets.reduce_sum, tile=tile, a=x[lo:hi], out=partials[i:i + 1])
    g.add_vertex(second, codelets.reduce_sum, tile=0, a=partials, out=total)
    program = ipukit.Sequence(ipukit.Execute(first), ipukit.Execute(second))
    return ipukit.Engine(g, program, backend="reference").run().total_cycles


@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="no solutions/ in this copy of the course")
def test_ex02_2_failure_names_its_case_and_shows_its_costs(tmp_path):
    """Six pieces a block even when a block has four elements: over budget on 50 floats over 16 tiles."""
    source = (ROOT / "solutions" / "ex02_bsp.py").read_text()
    cut = "cuts = np.linspace(lo, hi, min(workers, hi - lo) + 1).astype(int)"
    assert cut in source
    (tmp_path / "ex02_bsp.py").write_text(source.replace(cut, "cuts = np.linspace(lo, hi, workers + 1).astype(int)"))
    r = grade.run_exercise(TABLE["ex02_2"], X.resolve_target(str(tmp_path)), timeout=300)
    assert r.status == "failed", r.message
    assert r.message.startswith("over budget: for 50 floats on 16 tiles: cycles is "), r.message
    costs = {c.name: c for c in r.costs}
    plan = _plan_of_the_task(50, 16)                # the budget of the case the message names
    assert costs["cycles"].limit == int(1.1 * plan) and not costs["cycles"].ok
    assert f"cycles is {costs['cycles'].value:,} cycles, over the budget of {costs['cycles'].limit:,}" in r.message
    assert costs["supersteps"].ok
