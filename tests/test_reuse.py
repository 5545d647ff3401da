"""Exercises that build on each other: notebook 07 sums the replicas' gradients with the learner's
all-reduce from exercise 03.3 when that exercise passes its check, else with the library's.

Each test builds a learner's folder, points ``IPUKIT_TARGET`` at it and runs notebook 07's own
cells (read from its text twin): the import cell, the data-parallel step of section 5, the cell
that picks the all-reduce and the cell that uses it.  The learner's all-reduce records its calls,
so the test sees which one the notebook really ran; the new weights are checked against NumPy.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest

from ipukit.collectives import all_reduce
from ipukit.course.reuse import learner_or_library

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "07_many_ipus.py"

RECORDING = '''

CALLS = []                                  # every call the notebook makes, by the shape of its parts
_doubling = all_reduce_doubling


def all_reduce_doubling(g, parts):
    CALLS.append(tuple(parts.shape))
    return _doubling(g, parts)
'''

WRONG = '''

CALLS = []


def all_reduce_doubling(g, parts):          # forgets to add anything: totals stay zero
    CALLS.append(tuple(parts.shape))
    return variable_like(g, parts, "totals"), ipukit.Sequence()
'''


def _code_cells(path):
    cells, current, code = [], [], False
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            if code:
                cells.append("\n".join(current))
            current, code = [], line.strip() == "# %%"
        elif code:
            current.append(line)
    if code:
        cells.append("\n".join(current))
    return cells


def _the_cells():
    """Notebook 07's import cell, its first data-parallel step, and the two cells that reuse exercise 03.3."""
    cells = _code_cells(NOTEBOOK)

    def one(marker):
        found = [c for c in cells if marker in c]
        assert len(found) == 1, f"notebook 07 should have one code cell with {marker!r}, found {len(found)}"
        return found[0]
    return [cells[0], one("R, d_in, d_out, batch, lr = "), one("learner_or_library("),
            one("def sgd_step_with")]


def _learner(tmp_path, ex03_text):
    folder = tmp_path / "learner"
    folder.mkdir()
    for module in (ROOT / "exercises").glob("ex[0-9][0-9]_*.py"):
        shutil.copy(module, folder / module.name)
    (folder / "ex03_exchange.py").write_text(ex03_text)
    return folder


def _run_notebook_07(folder, monkeypatch, capsys):
    monkeypatch.setenv("IPUKIT_TARGET", str(folder))
    monkeypatch.chdir(ROOT / "notebooks")
    ns = {}
    for source in _the_cells():
        exec(compile(source, str(NOTEBOOK), "exec"), ns)
    return ns, capsys.readouterr().out


def _full_batch_step(ns):
    x, w, target = (ns[k].astype(np.float64) for k in ("x", "w", "target"))
    return w - ns["lr"] * x.T @ (x @ w - target) / ns["batch"]


def test_a_passing_learner_all_reduce_is_the_one_notebook_07_uses(tmp_path, monkeypatch, capsys):
    solution = (ROOT / "solutions" / "ex03_exchange.py").read_text()
    folder = _learner(tmp_path, solution + RECORDING)
    ns, out = _run_notebook_07(folder, monkeypatch, capsys)

    summing = ns["summing"]
    assert summing is not all_reduce and summing.__name__ == "all_reduce_doubling"
    assert Path(summing.__code__.co_filename).resolve() == (folder / "ex03_exchange.py").resolve()
    r, n = ns["R"], ns["d_in"] * ns["d_out"]
    assert summing.__globals__["CALLS"] == [(r, n)], "the notebook's SGD step should call the learner's all-reduce once"
    assert "Using your all_reduce_doubling from exercise 03.3" in out
    new = ns["new_weights"]
    for i in range(r):
        np.testing.assert_allclose(new[i], _full_batch_step(ns), rtol=1e-5, atol=1e-5)
    # recursive doubling on 4 IPUs: log2 4 = 2 supersteps sum the gradients, each sends every gradient whole
    assert ns["q"].link_bytes == 2 * r * n * 4


@pytest.mark.parametrize("kind", ["not started", "wrong"])
def test_a_learner_all_reduce_that_fails_gives_way_to_the_library(tmp_path, monkeypatch, capsys, kind):
    text = (ROOT / "exercises" / "ex03_exchange.py").read_text()
    if kind == "wrong":
        text = (ROOT / "solutions" / "ex03_exchange.py").read_text() + WRONG
    folder = _learner(tmp_path, text)
    ns, out = _run_notebook_07(folder, monkeypatch, capsys)

    assert ns["summing"] is all_reduce
    status = "not started" if kind == "not started" else "failed"
    assert f"Using the library's ipukit.collectives.all_reduce: exercise 03.3 (All-reduce by recursive doubling) " \
           f"is {status}" in out
    new, r, n = ns["new_weights"], ns["R"], ns["d_in"] * ns["d_out"]
    for i in range(r):
        np.testing.assert_allclose(new[i], _full_batch_step(ns), rtol=1e-5, atol=1e-5)
    assert ns["q"].link_bytes == 2 * (r - 1) * n * 4                # the ring, across the IPUs


def test_an_unknown_exercise_or_a_fallback_that_is_not_a_function():
    with pytest.raises(ValueError, match="no such exercise; ids look like 'ex03_3'"):
        learner_or_library("ex99_9", "ex03_exchange", "all_reduce_doubling", all_reduce)
    with pytest.raises(TypeError, match="fallback must be a function"):
        learner_or_library("ex03_3", "ex03_exchange", "all_reduce_doubling", "all_reduce")
