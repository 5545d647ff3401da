"""Grading a whole class (``python -m ipukit.grade --submissions``) and the leaderboard.

A class of eight students, graded on exercises 01.1 and 01.2 only (to stay short):
one right (a copy of solutions/), one wrong, and one each that loops, allocates
30 GiB, forks, prints without end, has a syntax error or lacks the module.  Each bad
submission breaks its own exercise 01.1 only (01.2 is the solution's), so every
such student must still get 01.2's two points.  Limits are small (1 GiB, 6 s of
CPU, 16 processes, 4 MiB of output), and every bad submission is bounded in
itself as a second guard: the fork loop makes at most 64 processes that each exit
after 30 s, the loop stops after 120 s, the printing after 200 MB.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipukit.course import classroom as C
from ipukit.course import limits as L

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ex01_tiles.py"
ANSWER = "    report = graph.memory_report()\n"      # the first line of the solved place_best_fit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resource limits and /proc: Linux")

BODIES = {
    "wrong": "    return -1, -1\n",
    "looping": ("    import time\n    deadline = time.monotonic() + 120\n"
                "    while time.monotonic() < deadline:\n        pass\n"),
    "allocating": "    return np.ones(30 * 2**30, dtype=np.uint8)\n",
    "forking": ("    import os, time\n"
                "    for _ in range(6):                      # at most 64 processes\n"
                "        if os.fork() == 0:\n"
                "            with open(PIDS, 'a') as f:\n"
                "                f.write(f'{os.getpid()}\\n')\n"
                "    time.sleep(30)\n"
                "    os._exit(0)                              # never back into pytest\n"),
    "printing": "    for _ in range(200_000):\n        print('x' * 1000)\n",
}
EXPECTED = {       # student: (status of 01.1, status of 01.2, score)
    "right": ("passed", "passed", 3),
    "wrong": ("failed", "passed", 2),
    "looping": ("CPU limit", "passed", 2),
    "allocating": ("memory limit", "passed", 2),
    "forking": ("too many processes", "passed", 2),
    "printing": ("output limit", "passed", 2),
    "syntax": ("error", "error", 0),
    "missing": ("error", "error", 0),
}


def _make_class(folder: Path) -> Path:
    subs = folder / "subs"
    solved = SOLUTION.read_text(encoding="utf-8")
    assert ANSWER in solved, "solutions/ex01_tiles.py changed: update ANSWER in this test"
    (subs / "right" / "exercises").mkdir(parents=True)             # a copy of the course's folder
    (subs / "right" / "exercises" / "ex01_tiles.py").write_text(solved, encoding="utf-8")
    pids = folder / "fork_pids.txt"
    for name, body in BODIES.items():
        (subs / name).mkdir(parents=True)
        text = solved.replace(ANSWER, body + ANSWER, 1)
        if name == "forking":
            text = text.replace("import numpy as np\n", f"import numpy as np\nPIDS = {str(pids)!r}\n", 1)
        (subs / name / "ex01_tiles.py").write_text(text, encoding="utf-8")
    (subs / "syntax").mkdir()
    broken = solved.replace("def place_best_fit(graph, tensor):", "def place_best_fit(graph, tensor)", 1)
    (subs / "syntax" / "ex01_tiles.py").write_text(broken, encoding="utf-8")
    (subs / "missing" / "exercises").mkdir(parents=True)             # handed in the wrong module only
    (subs / "missing" / "exercises" / "ex00_why_ipu.py").write_text("", encoding="utf-8")
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    subs = _make_class(folder)
    out = folder / "out"
    cmd = [sys.executable, "-m", "ipukit.grade", "--submissions", str(subs), "ex01_1", "ex01_2",
           "--jobs", "2", "--timeout", "60", "--memory", "1G", "--cpu", "6", "--max-processes", "16",
           "--max-output", "4M", "--out", str(out), "--format", "gradescope"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "IPUKIT_TARGET": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder, out, proc.stdout


def test_class_csv_has_the_right_marks_and_statuses(graded):
    _, out, _ = graded
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(EXPECTED)
    for name, (s1, s2, score) in EXPECTED.items():
        r = rows[name]
        assert (r["ex01_1 status"], r["ex01_2 status"], int(r["score"])) == (s1, s2, score), (name, r)
        assert int(r["max_score"]) == 3
        assert int(r["ex01_1"]) + int(r["ex01_2"]) == score


def test_class_json_has_the_right_marks_statuses_and_reasons(graded):
    _, out, _ = graded
    data = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    assert data["max_score"] == 3 and data["exercises"] == ["ex01_1", "ex01_2"]
    assert data["limits"] == {"memory_bytes": 1 << 30, "cpu_seconds": 6, "max_processes": 16,
                              "max_output_bytes": 4 << 20}
    students = {s["student"]: s for s in data["students"]}
    for name, (s1, s2, score) in EXPECTED.items():
        ex = students[name]["exercises"]
        assert [e["status"] for e in ex] == [s1, s2], name
        assert students[name]["score"] == score == sum(e["points"] for e in ex)
    first = {name: s["exercises"][0]["message"] for name, s in students.items()}
    assert "CPU time" in first["looping"]
    assert "MemoryError" in first["allocating"] and "1 GiB" in first["allocating"]
    assert "over the limit of 16" in first["forking"]
    assert "4 MiB" in first["printing"]
    assert "line" in first["syntax"] and "SyntaxError" in first["syntax"]
    assert "ex01_tiles.py is missing" in first["missing"]


def test_gradescope_results_follow_the_format(graded):
    _, out, _ = graded
    for name, (s1, s2, score) in EXPECTED.items():
        res = json.loads((out / "gradescope" / name / "results.json").read_text(encoding="utf-8"))
        assert res["score"] == score
        tests = res["tests"]
        assert [t["number"] for t in tests] == ["01.1", "01.2"]
        assert sum(t["score"] for t in tests) == score
        assert [t["max_score"] for t in tests] == [1, 2]
        assert [t["status"] for t in tests] == ["passed" if s == "passed" else "failed" for s in (s1, s2)]
        assert tests[0]["output"].startswith(s1)
        assert all(isinstance(t["name"], str) and t["name"] for t in tests)


def test_the_fork_loop_left_no_process_behind(graded):
    folder, _, _ = graded
    pids = [int(p) for p in (folder / "fork_pids.txt").read_text().split()]
    assert pids                                 # it did fork, and was stopped
    marker = str(folder / "subs" / "forking").encode()
    time.sleep(0.5)
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state not in ("Z", "X") and (int(entry.name) in pids or marker in cmdline):
            alive.append(int(entry.name))       # an unreaped zombie runs nothing; anything else would
    assert not alive, f"fork-loop processes still running: {alive}"


def test_the_printed_table_names_each_student(graded):
    _, _, stdout = graded
    for name, (_, _, score) in EXPECTED.items():
        assert any(line.split()[:2] == [name, f"{score}/3"] for line in stdout.splitlines()), (name, stdout)


def test_one_target_gets_the_limits_it_is_given(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "ex01_tiles.py").write_text(SOLUTION.read_text(encoding="utf-8").replace(
        ANSWER, BODIES["allocating"] + ANSWER, 1), encoding="utf-8")
    report = tmp_path / "alice.json"
    proc = subprocess.run([sys.executable, "-m", "ipukit.grade", "--target", str(folder), "ex01_1",
                           "--memory", "1G", "--json", str(report)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "limits per exercise: memory 1 GiB, CPU 120 s" in proc.stdout       # the rest are the defaults
    row = json.loads(report.read_text(encoding="utf-8"))["exercises"][0]
    assert (row["id"], row["status"], row["points"]) == ("ex01_1", "memory limit", 0)


# --- the limits themselves -------------------------------------------------------------------
def test_the_launcher_sets_the_limits():
    lim = L.Limits(memory_bytes=1 << 30, cpu_seconds=7, max_processes=5, max_output_bytes=3 << 20)
    probe = ("import resource as r; print([r.getrlimit(x) for x in "
             "(r.RLIMIT_AS, r.RLIMIT_CPU, r.RLIMIT_FSIZE)])")
    out = subprocess.run(L.wrap([sys.executable, "-c", probe], lim), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert eval(out.stdout) == [(1 << 30, 1 << 30), (7, 8), (3 << 20, 3 << 20)]


def test_the_watcher_sums_memory_over_processes():
    """Eight processes of 60 MiB each: each is under RLIMIT_AS, together they are over 256 MiB."""
    code = ("import os, time\nfor _ in range(3):\n    os.fork()\n"
            "b = b'x' * (60 << 20)\ntime.sleep(30)\nos._exit(0)\n")       # the sleep ends it: a second guard
    lim = L.Limits(memory_bytes=256 << 20, cpu_seconds=None, max_processes=32, max_output_bytes=None)
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    watcher = L.Watcher(proc.pid, lim).start()
    try:
        proc.wait(timeout=60)
    finally:
        watcher.stop()
    assert watcher.reason == L.MEMORY, watcher.detail
    assert "over the limit of 256 MiB" in watcher.detail
    assert proc.returncode == -9


def test_members_follow_the_session_and_descendants():
    table = {10: (1, 10, 0), 11: (10, 10, 0), 12: (11, 12, 0),     # 12 left the session: still a descendant
             13: (12, 13, 0), 20: (1, 20, 0), 21: (20, 20, 0)}
    assert L.members(table, 10, set()) == {10, 11, 12, 13}
    assert L.members({**table, 30: (1, 30, 0)}, 10, {30}) == {10, 11, 12, 13, 30}    # known, orphaned


def test_sizes_parse():
    assert L.parse_size("1G") == 1 << 30 and L.parse_size("512M") == 512 << 20
    assert L.parse_size("64k") == 64 << 10 and L.parse_size("1000") == 1000 and L.parse_size("2GiB") == 2 << 30
    with pytest.raises(ValueError, match="size 'lots'"):
        L.parse_size("lots")


# --- the leaderboard ---------------------------------------------------------------------------
def _report(score, cycles=None, passed=True, capstone="ex09_3"):
    ex = [{"id": "ex01_1", "points": 1, "status": "passed", "costs": []}]
    if cycles is not None:
        ex.append({"id": capstone, "points": 3 if passed else 0, "status": "passed" if passed else "failed",
                   "costs": [{"name": "compute cycles", "value": cycles[0], "limit": None, "unit": "cycles"},
                             {"name": "exchange cycles", "value": cycles[1], "limit": None, "unit": "cycles"},
                             {"name": "peak tile bytes", "value": 10_000, "limit": None, "unit": "B"}]})
    return {"target": "x", "score": score, "max_score": 10, "exercises": ex}


def _write(folder: Path, name: str, data) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_leaderboard_ranks_by_score_then_capstone_cycles(tmp_path, capsys):
    paths = [_write(tmp_path, "dana", _report(8, (900, 50))),       # 950 cycles
             _write(tmp_path, "ari", _report(8, (1000, 100))),      # 1100
             _write(tmp_path, "cy", _report(10, (5000, 0))),        # the best score wins, cycles aside
             _write(tmp_path, "bo", _report(8, (700, 100), passed=False)),   # failed: its cycles do not count
             _write(tmp_path, "eve", _report(8, (850, 100)))]       # 950: ties with dana
    from ipukit.grade import main
    csv_path = tmp_path / "board.csv"
    assert main(["--leaderboard", *map(str, paths), "--csv", str(csv_path)]) == 0
    printed = capsys.readouterr().out
    assert "fewest cycles in ex09_3" in printed
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["rank"], r["student"]) for r in rows] == [("1", "cy"), ("2", "dana"), ("2", "eve"),
                                                         ("4", "ari"), ("5", "bo")]
    assert [r["ex09_3 cycles"] for r in rows] == ["5000", "950", "950", "1100", ""]


def test_leaderboard_reads_a_class_file_and_a_named_tiebreak(tmp_path):
    klass = {"students": [{"student": "x", "score": 5, "max_score": 10, "exercises": _report(5, (10, 0))["exercises"]},
                          {"student": "y", "score": 5, "max_score": 10,
                           "exercises": _report(5, (3, 0), capstone="ex05_3")["exercises"]}]}
    entries = C.load_reports([_write(tmp_path, "class", klass), _write(tmp_path, "z", _report(5))])
    assert C.default_tiebreak(entries) == "ex09_3"
    assert [r["name"] for r in C.leaderboard(entries, "ex09_3")] == ["x", "y", "z"]
    assert [r["name"] for r in C.leaderboard(entries, "ex05_3")] == ["y", "x", "z"]
    assert [r["rank"] for r in C.leaderboard(entries, None)] == [1, 1, 1]


def test_leaderboard_names_a_bad_report(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(Exception, match="notes.json is not a grading report"):
        C.load_reports([bad])


def test_the_open_capstone_breaks_ties_by_default():
    entries = [{"name": n, "score": 5, "max_score": 9, "exercises": [
        {"id": "ex09_2", "status": "passed", "costs": [{"value": c, "unit": "cycles"}]},
        {"id": "ex09_5", "status": "failed", "costs": []}]} for n, c in (("slow", 900), ("fast", 400))]
    assert C.default_tiebreak(entries) == "ex09_2", "the bronze row: every working layer has its cycles"
    assert [r["name"] for r in C.leaderboard(entries, C.default_tiebreak(entries))] == ["fast", "slow"]
