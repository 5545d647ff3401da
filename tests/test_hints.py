"""Hints in three levels: the idea, the ipukit names that help, a sketch of the solution.

Each failed ``ipukit.check`` reveals one more level, remembered in the learner's
``.hints.json``; the grader's JSON says how many were shown.  The first two levels
must not give the answer away: no line of the solution's function body and no
call written as the solution writes it may appear in them.
"""
import ast
import json
import re
from pathlib import Path

import pytest

from ipukit import exercise as X
from ipukit import grade
from ipukit.check import check

ROOT = Path(__file__).resolve().parents[1]
TABLE = X.load_table()


# --- the table ------------------------------------------------------------------------------
def test_every_exercise_has_three_levels():
    short = [ex.id for ex in TABLE.values() if len(ex.hints) != len(X.HINT_LEVELS)]
    assert not short, f"exercises with fewer than three hint levels in exercises.toml: {short}"
    for ex in TABLE.values():
        assert len(set(ex.hints)) == 3, f"{ex.id}: its three hint levels must differ"


def test_the_table_reads_hints_and_rejects_bad_ones(tmp_path):
    table = tmp_path / "exercises.toml"
    table.write_text('[ex01_1]\npoints = 1\ntitle = "t"\nnotebook = "n"\nhints = ["idea", "names", "sketch"]\n')
    assert X.load_table(table)["ex01_1"].hints == ("idea", "names", "sketch")
    table.write_text('[ex01_1]\npoints = 1\ntitle = "t"\nnotebook = "n"\nhint = "one"\n')
    assert X.load_table(table)["ex01_1"].hints == ("one",)          # an old row: level 1 only
    for bad in ('hints = "idea"', 'hints = []', 'hints = ["a", "b", "c", "d"]', 'hints = ["a", ""]'):
        table.write_text(f'[ex01_1]\npoints = 1\ntitle = "t"\nnotebook = "n"\n{bad}\n')
        with pytest.raises(X.ExerciseSetupError, match="hints must be"):
            X.load_table(table)


# --- the first two levels do not give the answer away ----------------------------------------
def _functions_of(ex, stubs):
    """Names of the stub functions of ``ex`` (those raising "Exercise NN.M") in the committed stubs."""
    names = []
    for path in sorted(stubs.glob(f"ex{ex.notebook_number}_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                text = ast.unparse(node)
                if f"Exercise {ex.label}:" in text:
                    names.append((path.name, node.name))
    return names


def _solution_code(ex, stubs):
    """Lines and calls of the solution's function bodies, as the solution writes them."""
    lines, calls = set(), set()
    for module, name in _functions_of(ex, stubs):
        tree = ast.parse((ROOT / "solutions" / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                body = node.body[1:] if ast.get_docstring(node) else node.body
                for stmt in body:
                    for sub in ast.walk(stmt):
                        if isinstance(sub, ast.stmt) and not isinstance(sub, (ast.For, ast.If, ast.While, ast.With)):
                            text = ast.unparse(sub)
                            if "\n" not in text and len(text) >= 12:
                                lines.add(text)
                        if isinstance(sub, ast.Call) and (sub.args or sub.keywords):
                            calls.add(ast.unparse(sub))
    return lines, calls


def _squash(text):
    return re.sub(r"\s+", "", text)


@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="no solutions/ in this copy of the course")
@pytest.mark.parametrize("ex_id", list(TABLE))
def test_levels_one_and_two_hold_no_code_of_the_solution(ex_id, committed_stubs):
    ex = TABLE[ex_id]
    assert _functions_of(ex, committed_stubs), \
        f"{ex_id}: no stub function raising 'Exercise {ex.label}: ...' in exercises/"
    lines, calls = _solution_code(ex, committed_stubs)
    for level, hint in enumerate(ex.hints[:2], 1):
        flat = _squash(hint)
        leaked = sorted(c for c in lines | calls if _squash(c) in flat)
        assert not leaked, f"{ex_id}: hint level {level} contains the solution's code {leaked}: {hint}"


def test_the_leak_check_catches_a_giveaway(committed_stubs):
    """The old hint of 03.2 handed over the answer's call: the check above must see it."""
    ex = TABLE["ex03_2"]
    lines, calls = _solution_code(ex, committed_stubs)
    old = "then return it with ipukit.Copy(x.T, xt)."
    assert any(_squash(c) in _squash(old) for c in calls), sorted(calls)


# --- revealed one level per failed check, remembered, reported --------------------------------
def _fake_run(status):
    def run(ex, target, timeout=60.0, root=None):
        return grade.Result(ex, status, "wrong answer: for 5 tiles: expected 3, got 4" if status == "failed" else "")
    return run


def test_each_failed_check_reveals_one_more_level(tmp_path, monkeypatch, capsys):
    (tmp_path / "ex01_tiles.py").write_text("")
    ex = TABLE["ex01_1"]
    monkeypatch.setattr(grade, "run_exercise", _fake_run("failed"))
    for shown in (1, 2, 3, 3):
        result = check("ex01_1", target=str(tmp_path))
        assert result.hints == ex.hints[:shown]
        assert X.hints_shown(X.resolve_target(str(tmp_path)), "ex01_1") == shown
    text = capsys.readouterr().out
    assert "Hint 1/3: the idea" in text and "Hint 2/3: the ipukit names that help" in text
    assert "Hint 3/3: a sketch of the solution" in text and ex.hints[2] in text
    page = result.to_html()
    assert all(h.replace('"', "&quot;").replace("'", "&#x27;") in page for h in ex.hints) and "Hint 3/3" in page
    assert json.loads((tmp_path / X.HINTS_FILE).read_text()) == {"ex01_1": 3}

    monkeypatch.setattr(grade, "run_exercise", _fake_run("passed"))
    passed = check("ex01_1", target=str(tmp_path), show=False)
    assert passed.hints == () and X.hints_shown(X.resolve_target(str(tmp_path)), "ex01_1") == 3
    monkeypatch.setattr(grade, "run_exercise", _fake_run("not started"))
    assert check("ex01_2", target=str(tmp_path), show=False).hints == ()
    assert X.hints_shown(X.resolve_target(str(tmp_path)), "ex01_2") == 0


@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="no solutions/ in this copy of the course")
def test_checking_the_solutions_leaves_no_hint_state(monkeypatch):
    monkeypatch.setattr(grade, "run_exercise", _fake_run("failed"))
    before = (ROOT / "solutions" / X.HINTS_FILE).exists()
    result = check("ex01_1", target="solutions", strict=False, show=False)
    assert result.hints == TABLE["ex01_1"].hints[:1]
    assert (ROOT / "solutions" / X.HINTS_FILE).exists() == before


def test_the_grader_json_says_how_many_levels_were_shown(tmp_path):
    target = X.resolve_target(str(tmp_path))
    (tmp_path / X.HINTS_FILE).write_text(json.dumps({"ex01_1": 2, "ex01_2": "x"}))
    results = [grade.Result(TABLE["ex01_1"], "failed", "m"), grade.Result(TABLE["ex01_2"], "passed")]
    rows = grade.to_json(results, target)["exercises"]
    assert [r["hints_shown"] for r in rows] == [2, 0]
    (tmp_path / X.HINTS_FILE).write_text("{not json")
    assert X.hints_shown(target, "ex01_1") == 0


def test_hint_state_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert X.HINTS_FILE in ignored
