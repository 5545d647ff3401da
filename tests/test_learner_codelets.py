"""A learner's codelet gets the same verdict on both backends: inputs stay read-only, an endless
loop stops with a named error (or Ctrl+C), and an error names the learner's line."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ipukit
from ipukit import Engine, Execute
from ipukit import codelets as C
from ipukit.errors import CodeletError, LoopBudgetError


def four_vertices(spec, codelet, backend, **scalars):
    """``codelet(a=x[2t:2t+2], out=y[2t:2t+2])`` on tiles 0-3, with x = 0, 1, ..., 7."""
    g = ipukit.Graph(spec)
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    cs = g.add_compute_set("cs")
    for t in range(4):
        g.add_vertex(cs, codelet, tile=t, a=x[2 * t:2 * t + 2], out=y[2 * t:2 * t + 2], **scalars)
    eng = Engine(g, Execute(cs), backend=backend)
    eng.write(x, np.arange(8, dtype=np.float32))
    return eng, x, y


def test_writing_an_input_through_another_name_is_refused(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def sneaky(a, out):
        b = a
        if a[0] == 2:
            b[1] = 42.0
        out[0] = a[0]

    eng, x, _ = four_vertices(spec, sneaky, backend)
    with pytest.raises(CodeletError, match=r"vertex sneaky#1 \(compute set 'cs', tile 1\): codelet sneaky wrote "
                                           r"to its input field 'a' at \[1\] \('x'\[3\]\) \(line \d+: "
                                           r"`b\[1\] = 42.0`\).*inouts="):
        eng.run()
    np.testing.assert_array_equal(eng.read(x), np.arange(8))       # the input is as it was


def test_an_input_written_through_numpy_out_is_refused(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def doubles_in_place(a, out):
        b = a
        np.add(b, b, b)
        out[:] = b

    eng, x, _ = four_vertices(spec, doubles_in_place, backend)
    with pytest.raises(CodeletError, match=r"doubles_in_place#0 .*input field 'a' at \[1\] \('x'\[1\]\)"):
        eng.run()
    np.testing.assert_array_equal(eng.read(x), np.arange(8))


def test_a_vertex_may_write_what_it_reads_through_its_output(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def double(a, out):
        for i in range(a.size):
            out[i] = 2 * a[i]

    g = ipukit.Graph(spec)
    x = g.add_variable(8, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("cs")
    for t in range(4):
        g.add_vertex(cs, double, tile=t, a=x[2 * t:2 * t + 2], out=x[2 * t:2 * t + 2])
    eng = Engine(g, Execute(cs), backend=backend)
    eng.write(x, np.arange(8, dtype=np.float32))
    eng.run()
    np.testing.assert_array_equal(eng.read(x), 2 * np.arange(8))


def test_an_endless_loop_stops_with_a_named_error(spec, backend, monkeypatch):
    monkeypatch.setenv("IPUKIT_LOOP_BUDGET", "100000")

    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def spin(a, out):
        while True:
            pass

    eng, _, _ = four_vertices(spec, spin, backend)
    start = time.monotonic()
    with pytest.raises(LoopBudgetError, match=r"vertex spin#0 \(compute set 'cs', tile 0\): codelet spin did "
                                              r"not finish: its loops ran 100,000 iterations in one call \(the "
                                              r"loop at line \d+: `while True:`\).*IPUKIT_LOOP_BUDGET"):
        eng.run()
    assert time.monotonic() - start < 5


def test_a_practically_endless_range_stops_at_once(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def counts_forever(a, out):
        for _ in range(10**15):
            out[0] += a[0]

    eng, _, _ = four_vertices(spec, counts_forever, backend)
    start = time.monotonic()
    with pytest.raises(LoopBudgetError, match=r"counts_forever#0 .*1,000,000,000 iterations .*`for _ in range"):
        eng.run()
    assert time.monotonic() - start < 5


def test_a_huge_range_that_ends_early_is_fine(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def first_step_past(a, out):
        for i in range(10**15):         # counted per iteration, since a break may end it
            if i > a[1]:
                out[0] = i
                break

    eng, _, y = four_vertices(spec, first_step_past, backend)
    eng.run()
    np.testing.assert_array_equal(eng.read(y)[::2], [2, 4, 6, 8])


@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
def nested_for(a, out, reps):
    for _ in range(reps):            # counted reps times, then 9 for each rep: 10 * reps in all
        for _ in range(9):
            out[0] += a[0]


@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
def nested_while(a, out, reps):
    i = 0
    while i < reps:                  # the same count as nested_for
        i += 1
        j = 0
        while j < 9:
            j += 1
            out[0] += a[0]


@pytest.mark.parametrize("codelet", [nested_for, nested_while])
def test_the_budget_is_exact_and_the_same_on_both_backends(spec, monkeypatch, codelet):
    """Nested loops share one count per call; both backends stop at the same iteration."""
    monkeypatch.setenv("IPUKIT_LOOP_BUDGET", "1000")
    fresh = ipukit.Codelet(codelet.fn, inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    for backend in ("reference", "numba"):
        eng, _, y = four_vertices(spec, fresh, backend, reps=100)
        eng.run()
        np.testing.assert_array_equal(eng.read(y)[::2], 900 * np.arange(0, 8, 2))
        eng, _, _ = four_vertices(spec, fresh, backend, reps=101)
        with pytest.raises(LoopBudgetError, match="1,000 iterations"):
            eng.run()


def test_a_numba_error_names_the_learners_line(spec):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    def picky(a, out):
        for i in range(a.size):
            if a[i] > 4:
                raise ValueError("too big")
            out[i] = a[i]

    eng, _, _ = four_vertices(spec, picky, "numba")
    with pytest.raises(CodeletError, match=r"picky#2 .*ValueError: too big \(line \d+: `raise ValueError"):
        eng.run()


def test_builtins_are_not_rewritten():
    assert C.add.python is C.add.fn and C.matmul_partial.python is C.matmul_partial.fn


def test_a_codelet_without_source_still_runs(spec, backend):
    namespace = {}
    exec("def triple(a, out):\n    for i in range(a.size):\n        out[i] = 3 * a[i]\n", namespace)
    triple = ipukit.Codelet(namespace["triple"], inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
    eng, _, y = four_vertices(spec, triple, backend)
    eng.run()
    np.testing.assert_array_equal(eng.read(y), 3 * np.arange(8))


def test_a_source_file_edited_after_import_is_not_what_runs(spec, backend, tmp_path, monkeypatch):
    """The loop counter is added to the source on disk only if it is the code that was loaded."""
    module = tmp_path / "learner_mod.py"
    module.write_text("import ipukit\n\n"
                      "@ipukit.codelet(inputs={'a': 'float32[n]'}, outputs={'out': 'float32[n]'})\n"
                      "def scaled(a, out):\n"
                      "    for i in range(a.size):\n"
                      "        out[i] = 2 * a[i]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import learner_mod
    module.write_text(module.read_text().replace("2 * a[i]", "30 * a[i]"))     # edited, not reloaded
    eng, _, y = four_vertices(spec, learner_mod.scaled, backend)
    eng.run()
    np.testing.assert_array_equal(eng.read(y), 2 * np.arange(8))
    del sys.modules["learner_mod"]


ENDLESS = """
import numpy as np, ipukit
@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"})
def spin(a, out):
    i = 0
    while i < 10:
        out[0] += a[0]
g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
x = g.add_variable(4, name="x")
g.map_linearly(x)
cs = g.add_compute_set("cs")
g.add_vertex(cs, spin, tile=0, a=x[:2], out=x[2:])
eng = ipukit.Engine(g, ipukit.Execute(cs), backend="numba")
print("running", flush=True)
try:
    eng.run()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_stops_an_endless_codelet_on_numba(tmp_path):
    """Jupyter's interrupt is a SIGINT: compiled learner code must turn it into KeyboardInterrupt."""
    script = tmp_path / "endless.py"
    script.write_text(ENDLESS)
    env = {**os.environ, "IPUKIT_LOOP_BUDGET": str(10**15), "IPUKIT_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "running", proc.stderr.read()
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "interrupted" in out, err
