"""The autograder and ipukit.check, on throwaway copies of the ex01 modules.

Each copy is ``solutions/ex01_tiles.py`` with one function redefined at the end
(a wrong answer, an exception, an endless loop...), graded as a learner's
folder: the broken exercise must score zero with a message that says why, and
the other one must still pass.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pristine_exercises
from ipukit import exercise as X
from ipukit import grade
from ipukit.check import ExerciseFailed, check

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "solutions").is_dir():
    pytest.skip("this copy of the course has no solutions/ to test the grader with", allow_module_level=True)
SOLUTION = (ROOT / "solutions" / "ex01_tiles.py").read_text()
TABLE = X.load_table()
POINTS = {ex.id: ex.points for ex in TABLE.values() if ex.id.startswith("ex01_")}
LOOP_TIMEOUT = "20"   # seconds; a normal ex01 run takes about 1.5 s idle, over 8 s on a loaded shared machine

WRONG = '''
def place_best_fit(graph, tensor):
    graph.set_tile_mapping(tensor, 0)                    # always tile 0
    return 0
'''
RAISES = '''
def place_best_fit(graph, tensor):
    return graph.best_fit_tile(tensor)                   # no such method
'''
PYTHON_LOOP = '''
def place_best_fit(graph, tensor):
    while True:
        pass
'''
NUMBA_LOOP = '''
import ipukit

@ipukit.codelet(inouts={"x": "float32[n]"}, cycles=1)
def spin(x):
    while True:
        pass

def map_under_cap(graph, tensor, cap_bytes):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=1))
    x = g.add_variable(4, name="x")
    g.set_tile_mapping(x, 0)
    cs = g.add_compute_set("spin")
    g.add_vertex(cs, spin, tile=0, x=x)
    ipukit.Engine(g, ipukit.Execute(cs)).run()
'''
ALL_TILES = '''
def map_under_cap(graph, tensor, cap_bytes):
    graph.map_linearly(tensor)                           # under the cap, but on every tile
    return int((graph.element_tiles(tensor) >= 0).any() and
               len({int(t) for t in graph.element_tiles(tensor).reshape(-1)}))
'''


def student_copy(tmp_path, extra="", text=None) -> Path:
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "ex01_tiles.py").write_text(SOLUTION + extra if text is None else text)
    return folder


def run_grader(tmp_path, *args):
    """``python -m ipukit.grade`` in this process (each exercise still gets its own)."""
    out = tmp_path / "grade.json"
    code = grade.main([*args, "--json", str(out)])
    return code, json.loads(out.read_text())


def by_id(report) -> dict:
    return {e["id"]: e for e in report["exercises"]}


# --- whole runs -------------------------------------------------------------------------
def test_solutions_score_full_marks(tmp_path, capsys):
    code, report = run_grader(tmp_path, "--target", "solutions", "--jobs", "2", "ex01")
    assert code == 0
    assert set(report) == {"target", "score", "max_score", "exercises"}
    assert report["target"] == "solutions"
    assert report["score"] == report["max_score"] == sum(POINTS.values())
    for e in report["exercises"]:
        assert {"id", "points", "max_points", "status", "message"} <= set(e)
        assert (e["status"], e["points"], e["max_points"]) == ("passed", POINTS[e["id"]], POINTS[e["id"]])
    costs = {c["name"]: c for c in by_id(report)["ex01_2"]["costs"]}
    assert set(costs) == {"peak tile bytes", "tiles used"} and all(c["ok"] for c in costs.values())
    printed = capsys.readouterr().out
    assert f"{sum(POINTS.values())}/{sum(POINTS.values())}" in printed.splitlines()[-3]


def test_untouched_exercises_are_all_not_started(tmp_path):
    stubs = pristine_exercises(tmp_path)           # as committed: a learner's edits do not matter here
    code, report = run_grader(tmp_path, "--target", str(stubs), "--jobs", "2", "ex01")
    assert code == 1
    assert report["score"] == 0 and report["max_score"] == sum(POINTS.values())
    for e in report["exercises"]:
        assert e["status"] == "not started" and e["points"] == 0
        assert e["message"].startswith(f"Exercise {e['id'][2:4]}.{e['id'][5:]}:")


@pytest.mark.parametrize("extra, broken, status, message", [
    (WRONG, "ex01_1", "failed",
     r"^wrong answer: for 1,600 B with 2,144 B left on tile 2: expected tile 2 for 't' .* got tile 0"),
    (RAISES, "ex01_1", "failed",
     r"^for 1,600 B .*: raised AttributeError: .*'best_fit_tile'.*"
     r"\(in place_best_fit, ex01_tiles\.py line \d+\)"),
    (PYTHON_LOOP, "ex01_1", "timeout", rf"^timed out after {LOOP_TIMEOUT} s in test_place_best_fit"),
    # a codelet's loops are counted: the endless one stops with LoopBudgetError before the time limit
    (NUMBA_LOOP, "ex01_2", "failed", r"raised LoopBudgetError: .*spin#0.*did not finish"),
], ids=["wrong-answer", "exception", "python-loop", "numba-loop"])
def test_a_broken_exercise_costs_only_itself(tmp_path, extra, broken, status, message):
    folder = student_copy(tmp_path, extra)
    code, report = run_grader(tmp_path, "--target", str(folder), "--timeout", LOOP_TIMEOUT, "--jobs", "2", "ex01")
    assert code == 1
    assert report["target"] == str(folder.resolve())
    rows = by_id(report)
    assert rows[broken]["status"] == status and rows[broken]["points"] == 0
    assert re.search(message, rows[broken]["message"]), rows[broken]["message"]
    for other in rows:
        if other != broken:
            assert rows[other]["status"] == "passed", rows[other]["message"]
    assert report["score"] == sum(POINTS.values()) - POINTS[broken]


def test_over_budget_names_the_cost(tmp_path):
    folder = student_copy(tmp_path, ALL_TILES)
    code, report = run_grader(tmp_path, "--target", str(folder), "ex01_2")
    row = by_id(report)["ex01_2"]
    assert code == 1 and row["status"] == "failed"
    assert re.match(r"over budget: for a \(\d+,?\) \w+ tensor on 16 tiles under a cap of [\d,]+ B: tiles used is 16, "
                    r"over the budget of 4 \(by 12, 300\.0 %\)", row["message"]), row["message"]
    assert any(c["name"] == "tiles used" and not c["ok"] for c in row["costs"])


def test_a_module_that_does_not_import_is_an_error(tmp_path):
    folder = student_copy(tmp_path, "\ndef broken(:\n")
    code, report = run_grader(tmp_path, "--target", str(folder), "ex01_1")
    row = by_id(report)["ex01_1"]
    assert code == 1 and row["status"] == "error"
    assert "ex01_tiles.py could not be imported, line" in row["message"] and "SyntaxError" in row["message"]


def test_a_missing_module_is_named(tmp_path):
    with pytest.raises(X.TargetImportError, match="ex01_tiles.py is missing from"):
        X.load("ex01_tiles", tmp_path)


def test_command_line_exit_codes(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "ipukit.grade", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    run = cli("--target", "solutions", "ex01_1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed" in run.stdout
    for bad in (["ex99_1"], ["--target", str(tmp_path / "nowhere")], ["--timeout", "0"]):
        run = cli(*bad)
        assert run.returncode == 2, bad
        assert "error:" in run.stderr


# --- ipukit.check ----------------------------------------------------------------------------
def test_check_on_solutions_passes(capsys):
    result = check("ex01_2", target="solutions")
    assert result.passed and result.status == "passed"
    assert (result.points, result.max_points) == (POINTS["ex01_2"], POINTS["ex01_2"])
    assert {c.name for c in result.costs} == {"peak tile bytes", "tiles used"}
    assert result.hint == ""
    shown = capsys.readouterr().out
    assert "✓" in shown and "tiles used" in shown and "Hint" not in shown


def test_check_on_a_wrong_answer_shows_what_and_the_hint(tmp_path, capsys):
    folder = student_copy(tmp_path, WRONG)
    result = check("ex01_1", target=str(folder))
    assert not result.passed and result.status == "failed" and result.points == 0
    assert result.hint == TABLE["ex01_1"].hint
    shown = capsys.readouterr().out
    assert "expected tile 2" in shown and "got tile 0" in shown and TABLE["ex01_1"].hint in shown
    page = result.to_html()
    assert "yours vs expected" in page and "Hint 1/3: the idea" in page and "<script" not in page
    with pytest.raises(ExerciseFailed, match="ex01_1"):
        check("ex01_1", target=str(folder), strict=True, show=False)


def test_check_refuses_unknown_ids():
    with pytest.raises(ValueError, match="ex01_1"):
        check("ex1_1")


# --- pieces, without subprocesses ---------------------------------------------------------
def test_summary_of_an_interrupted_or_crashed_run():
    ex = TABLE["ex01_1"]
    events = [{"event": "start", "nodeid": "t.py::test_a"},
              {"event": "result", "nodeid": "t.py::test_a", "when": "call", "kind": "passed", "message": ""},
              {"event": "start", "nodeid": "t.py::test_b[3]"}]
    r = grade.summarise(ex, events, -9, "", True, 5)
    assert r.status == "timeout" and r.message.startswith("timed out after 5 s in test_b[3]")
    r = grade.summarise(ex, events, -11, "Fatal Python error: Segmentation fault", False, 5)
    assert r.status == "error" and "signal 11" in r.message and "Segmentation fault" in r.message


def test_first_real_failure_wins_over_not_started():
    ex = TABLE["ex01_2"]
    results = [{"event": "result", "nodeid": "t::a", "when": "call", "kind": "not started",
                "message": "Exercise 01.2: x"},
               {"event": "result", "nodeid": "t::b", "when": "call", "kind": "raised",
                "message": "raised KeyError: 'w'"},
               {"event": "finish", "exitstatus": 1, "collected": 2}]
    r = grade.summarise(ex, results, 1, "", False, 5)
    assert (r.status, r.message, r.test) == ("failed", "raised KeyError: 'w'", "b")
    r = grade.summarise(ex, results[:1] + results[2:], 1, "", False, 5)
    assert (r.status, r.message) == ("not started", "Exercise 01.2: x")


def test_the_exercise_table_is_checked(tmp_path):
    bad = tmp_path / "exercises.toml"
    for text, words in [('[ex1_1]\npoints = 1\ntitle = "t"\nhint = "h"\nnotebook = "n"\n', "ex01_2"),
                        ('[ex01_1]\npionts = 1\ntitle = "t"\nhint = "h"\nnotebook = "n"\n', "unknown key(s) pionts"),
                        ('[ex01_1]\npoints = "1"\ntitle = "t"\nhint = "h"\nnotebook = "n"\n',
                         "points must be a whole number")]:
        bad.write_text(text)
        with pytest.raises(X.ExerciseSetupError, match=re.escape(words)):
            X.load_table(bad)
    assert [e.id for e in X.select(TABLE, ["ex01"])] == list(POINTS)
    with pytest.raises(X.ExerciseSetupError, match="no exercise 'ex01_9'"):
        X.select(TABLE, ["ex01_9"])


def test_targets(tmp_path, monkeypatch):
    monkeypatch.delenv("IPUKIT_TARGET", raising=False)
    assert X.resolve_target(None).folder == ROOT / "exercises"
    assert X.resolve_target(None, default="solutions").folder == ROOT / "solutions"
    monkeypatch.setenv("IPUKIT_TARGET", "solutions")
    assert X.resolve_target(None).is_solutions
    repo_copy = tmp_path / "alice"
    (repo_copy / "exercises").mkdir(parents=True)          # a copy of the whole course
    assert X.resolve_target(repo_copy).folder == repo_copy / "exercises"
    with pytest.raises(X.ExerciseSetupError, match="neither 'exercises', 'solutions' nor an existing folder"):
        X.resolve_target(tmp_path / "missing")


def test_the_course_folder_is_found_from_the_environment_or_the_current_folder(tmp_path, monkeypatch):
    course = tmp_path / "course"                           # a learner's copy of the course
    (course / X.TABLE).parent.mkdir(parents=True)
    shutil.copy(ROOT / X.TABLE, course / X.TABLE)
    for sub in ("exercises", "notebooks"):
        (course / sub).mkdir()
    monkeypatch.delenv("IPUKIT_COURSE_DIR", raising=False)
    monkeypatch.chdir(course / "notebooks")                # where a notebook's kernel runs
    assert X.repo_root() == course
    assert X.resolve_target("exercises").folder == course / "exercises"
    monkeypatch.chdir(tmp_path)                            # outside any course
    assert X.repo_root() == ROOT, "the repository ipukit is installed from"
    monkeypatch.setenv("IPUKIT_COURSE_DIR", str(course))
    assert X.repo_root() == course
    monkeypatch.setenv("IPUKIT_COURSE_DIR", str(tmp_path))
    with pytest.raises(X.ExerciseSetupError, match="IPUKIT_COURSE_DIR is .* not there"):
        X.repo_root()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pristine_exercises_are_the_committed_stubs(tmp_path):
    repo = tmp_path / "repo"
    (repo / "exercises").mkdir(parents=True)
    stub = repo / "exercises" / "ex01_tiles.py"
    stub.write_text("STUB\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "stubs"]):
        subprocess.run(git + args, check=True)
    stub.write_text("A LEARNER'S HALF-DONE WORK\n")
    (repo / "exercises" / "ex99_new.py").write_text("NEW\n")   # not committed yet
    copy = pristine_exercises(tmp_path / "copy", root=repo)
    assert (copy / "ex01_tiles.py").read_text() == "STUB\n"
    assert (copy / "ex99_new.py").read_text() == "NEW\n"
    assert stub.read_text() == "A LEARNER'S HALF-DONE WORK\n", "the learner's file is left alone"


def test_load_reads_the_file_afresh(tmp_path):
    folder = student_copy(tmp_path, text="ANSWER = 1\n")
    assert X.load("ex01_tiles", folder).ANSWER == 1
    (folder / "ex01_tiles.py").write_text("ANSWER = 2\n")
    assert X.load("ex01_tiles", folder).ANSWER == 2


def test_budget_fails_over_its_limit():
    b = X.Budget()
    b.check("supersteps", 3, 4)
    b.record("cycles", 1234)
    with pytest.raises(X.BudgetExceeded, match="exchange bytes is 2,048 B, over the budget of 1,024 B"):
        b.check("exchange bytes", 2048, 1024, "B")
    assert [c.ok for c in b.rows] == [True, True, False]
