"""A Repeat of plain steps runs through the engine's fast loop (fewer Python calls per step):
the same SRAM bytes, profile and trace as the step-by-step interpreter and the reference
backend, also when a step raises part-way and when the trace is cut at TRACE_LIMIT."""
import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, Repeat, Sequence
from ipukit import codelets as C
from ipukit.errors import CodeletError, StepBudgetError
from ipukit.run import engine as engine_module

SPEC = ipukit.GC2.replace(tiles=8)


@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
def add_one_until(a, out, stop):
    """out = a + 1; raises once a reaches ``stop`` (so a run can fail part-way)."""
    for i in range(a.size):
        if a[i] >= stop:
            raise ValueError("reached the stop value")
        out[i] = a[i] + 1


def program(g, rounds, inner=3, stop=1e9):
    """Repeat(rounds, [x+1 -> y over 8 tiles; copy y -> x, moved one tile along; Repeat(inner, z = z + z)])."""
    x, y, z = (g.add_variable(64, name=n) for n in "xyz")
    for t in (x, y, z):
        g.map_linearly(t, grain_size=8)
    step, double = g.add_compute_set("step"), g.add_compute_set("double")
    for t in range(8):
        part = slice(8 * t, 8 * t + 8)
        g.add_vertex(step, add_one_until, tile=t, a=x[part], out=y[part], stop=stop)
        g.add_vertex(double, C.add, tile=t, a=z[part], b=z[part], out=z[part])
    rolled = ipukit.concat([y[8:], y[:8]])
    body = Sequence(Execute(step), Copy(rolled, x), Repeat(inner, Execute(double)))
    return (x, y, z), Repeat(rounds, body)


def run(backend, rounds, slow=False, monkeypatch=None, expect=None, **kw):
    g = ipukit.Graph(SPEC)
    (x, y, z), prog = program(g, rounds, **kw)
    eng = Engine(g, prog, backend=backend)
    if slow:
        monkeypatch.setattr(eng, "_flat", lambda node: None)
    eng.write(x, np.arange(64, dtype=np.float32))
    eng.write(z, np.full(64, 2 ** -20, np.float32))
    if expect is None:
        eng.run()
    else:
        with pytest.raises(expect):
            eng.run()
    return eng


def same(a, b):
    np.testing.assert_array_equal(a.sram, b.sram)
    assert a.profile.to_dict(tiles=True) == b.profile.to_dict(tiles=True)
    assert a.profile.trace == b.profile.trace and a.profile.trace_complete == b.profile.trace_complete
    assert a._executed == b._executed


def test_the_fast_loop_is_taken(monkeypatch):
    calls = []
    original = Engine._repeat_steps
    monkeypatch.setattr(Engine, "_repeat_steps", lambda self, *a: calls.append(a) or original(self, *a))
    eng = run("numba", 5)
    assert [c[0] for c in calls] == [5] and len(calls[0][1]) == 2 + 3      # Repeat(3) unrolled in the body
    assert eng.profile.trace[:5] == eng.profile.trace[5:10] == calls[0][1]


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_same_profile_and_trace_as_step_by_step(backend, monkeypatch):
    same(run(backend, 40), run(backend, 40, slow=True, monkeypatch=monkeypatch))


def test_numba_fast_loop_equals_the_reference_backend(monkeypatch):
    fast, ref = run("numba", 40), run("reference", 40, slow=True, monkeypatch=monkeypatch)
    same(fast, ref)
    x = np.arange(64, dtype=np.float32)
    for _ in range(40):                       # NumPy: what the program computes
        x = np.roll(x + 1, -8)
    np.testing.assert_array_equal(fast.read(_tensor(fast, "x")), x)


def _tensor(eng, name):
    var = next(v for v in eng.graph.variables if v.name == name)
    return eng.graph.variable_tensor(var)


def test_a_step_that_raises_part_way_leaves_the_same_profile(monkeypatch):
    # x starts at 0..63 and grows by one a round: vertex 7 (x[56:64]) reaches 70 in round 7.
    kw = dict(stop=70.0, expect=CodeletError)
    same(run("numba", 40, **kw), run("numba", 40, slow=True, monkeypatch=monkeypatch, **kw))
    eng = run("numba", 40, **kw)
    counts = [r.count for r in eng.profile.steps if r.kind != "control"]
    assert eng.profile.trace.count(eng.profile.trace[0]) == counts[0] < 40


def test_the_trace_is_cut_at_the_same_step(monkeypatch):
    monkeypatch.setattr(engine_module, "TRACE_LIMIT", 23)
    fast, slow = run("numba", 9), run("numba", 9, slow=True, monkeypatch=monkeypatch)
    same(fast, slow)
    assert len(fast.profile.trace) == 23 and not fast.profile.trace_complete


def test_the_step_budget_still_stops_a_long_repeat(monkeypatch):
    g = ipukit.Graph(SPEC)
    (x, _, _), prog = program(g, 100)
    eng = Engine(g, prog, max_steps=333)
    with pytest.raises(StepBudgetError):
        eng.run()
    assert eng._executed == 334 and len(eng.profile.trace) == 333
