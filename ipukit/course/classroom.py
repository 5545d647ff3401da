"""A whole class: grade every student's folder, write the marks, rank the reports.

``python -m ipukit.grade --submissions DIR`` grades each sub-folder of DIR (one
per student, holding an ``exercises/`` copy or the ``exNN_*.py`` modules
directly), ``--jobs N`` exercises at a time, each in its own process under
:class:`limits.Limits`.  It writes ``grades.csv`` (one row per student: total, then
points and status per exercise) and ``grades.json`` into ``--out``, and with
``--format gradescope`` one Gradescope ``results.json`` per student in
``--out/gradescope/<student>/`` (format: https://gradescope-autograders.readthedocs.io/en/latest/specs/).

``python -m ipukit.grade --leaderboard REPORTS...`` ranks JSON reports (the class
file above, or single reports from ``--json``): by score, highest first; ties broken
by the cycles of one exercise (``--by``, default the capstone: the last exercise of
notebook 09 in the reports), the sum of its cost rows counted in cycles, lowest
first, counted only where that exercise passed (a report without it comes after
those with it); then by name.  Equal score and cycles share a rank.
"""
from __future__ import annotations

import csv
import json
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import exercise as X
from . import limits as L


@dataclass
class Student:
    """One student's folder and what the grader found in it."""
    name: str
    folder: Path
    results: list = field(default_factory=list)     # grade.Result, in exercise order

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.exercise.points for r in self.results)


def find_students(folder) -> list:
    """Every sub-folder of ``folder`` (hidden ones and ``__pycache__`` left out), by name."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise X.ExerciseSetupError(f"--submissions {folder}: no such folder; give the folder that holds one "
                                   "sub-folder per student")
    found = [Student(p.name, p) for p in sorted(root.iterdir(), key=lambda p: p.name)
             if p.is_dir() and not p.name.startswith((".", "_"))]
    if not found:
        raise X.ExerciseSetupError(f"--submissions {folder}: no student folder in it (each student's work goes "
                                   "in a sub-folder, e.g. DIR/alice/exercises/ex01_tiles.py)")
    return found


def grade_class(students: list, exercises: list, timeout: float, jobs: int = 1,
                limits: L.Limits | None = L.DEFAULT, report=None) -> list:
    """Grade each student's folder on ``exercises``, ``jobs`` processes at a time.

    ``report(student, result)`` is called as each exercise ends (in any order);
    each student's ``results`` end up in exercise order.
    """
    from .grade import run_exercise
    root = X.repo_root()
    work = [(s, i, ex) for s in students for i, ex in enumerate(exercises)]
    slots = {id(s): [None] * len(exercises) for s in students}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_exercise, ex, X.resolve_target(s.folder), timeout, root, limits): (s, i)
                   for s, i, ex in work}
        for done in as_completed(futures):
            s, i = futures[done]
            slots[id(s)][i] = done.result()
            if report is not None:
                report(s, slots[id(s)][i])
    for s in students:
        s.results = slots[id(s)]
    return students


# --- what is written --------------------------------------------------------------------
def _row(r, target) -> dict:
    row = {**r.to_dict(), "seconds": round(r.seconds, 2)}
    shown = getattr(X, "hints_shown", None)          # hint levels the student saw, where recorded
    if shown is not None:
        try:
            row["hints_shown"] = shown(target, r.exercise.id)
        except Exception:                              # a student's folder may hold anything
            row["hints_shown"] = None
    return row


def class_json(students: list, exercises: list, limits, submissions) -> dict:
    return {"submissions": str(submissions), "limits": limits.to_dict() if limits else None,
            "max_score": sum(e.points for e in exercises), "exercises": [e.id for e in exercises],
            "students": [{"student": s.name, "folder": str(s.folder), "score": s.score, "max_score": s.max_score,
                          "exercises": [_row(r, X.resolve_target(s.folder)) for r in s.results]}
                         for s in students]}


def write_csv(path, students: list, exercises: list) -> None:
    """One row per student: name, score, max_score, then ``exNN_M`` points and ``exNN_M status``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "score", "max_score", *[e.id for e in exercises],
                    *[f"{e.id} status" for e in exercises]])
        for s in students:
            w.writerow([s.name, s.score, s.max_score, *[r.points for r in s.results],
                        *[r.status for r in s.results]])


def gradescope(student: Student) -> dict:
    """Gradescope's ``results.json`` for one student: a test per exercise, "passed" or "failed"."""
    tests = []
    for r in student.results:
        text = r.status + (f": {r.message}" if r.message else "")
        tests.append({"name": f"{r.exercise.label} {r.exercise.title}", "number": r.exercise.label,
                      "score": r.points, "max_score": r.exercise.points,
                      "status": "passed" if r.passed else "failed", "output": text})
    return {"score": student.score, "execution_time": round(sum(r.seconds for r in student.results), 1),
            "output": f"{student.score}/{student.max_score} points, graded by python -m ipukit.grade",
            "tests": tests}


def write_all(out, students: list, exercises: list, limits, submissions, formats=()) -> list:
    """Write grades.csv, grades.json (and Gradescope files); return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "grades.csv", out / "grades.json"]
    write_csv(written[0], students, exercises)
    written[1].write_text(json.dumps(class_json(students, exercises, limits, submissions), indent=2) + "\n",
                          encoding="utf-8")
    if "gradescope" in formats:
        for s in students:
            path = out / "gradescope" / s.name / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gradescope(s), indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return written


def run_class(args, chosen: list, out=print) -> int:
    """``--submissions``: grade, print a line per exercise and a table per student, write the files."""
    limits = L.from_args(args)
    students = find_students(args.submissions)
    width = max(len(s.name) for s in students)
    out(f"Grading {len(students)} student{'s' * (len(students) != 1)} in {args.submissions}: "
        f"{len(chosen)} exercise{'s' * (len(chosen) != 1)} each, {args.jobs} at a time, at most "
        f"{args.timeout:g} s each; limits per exercise: {limits.describe()}\n")

    def line(s, r):
        message = r.message.splitlines()[0][:100] if r.message and not r.passed else ""
        out(f"  {s.name:<{width}}  {r.exercise.id:<8}{r.status:<20}{r.points:>3}/{r.exercise.points:<3} {message}")
    grade_class(students, chosen, args.timeout, args.jobs, limits, line)
    best = sum(e.points for e in chosen)
    out("")
    for s in students:
        counts = {}
        for r in s.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        out(f"  {s.name:<{width}}  {f'{s.score}/{best}':>7}  " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for path in write_all(args.out, students, chosen, limits, args.submissions, args.format):
        out(f"wrote {path}")
    return 0


# --- the leaderboard ---------------------------------------------------------------------
def load_reports(paths) -> list:
    """Entries ``{name, score, max_score, exercises}`` from class files and single reports."""
    entries = []
    for p in map(Path, paths):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise X.ExerciseSetupError(f"--leaderboard: cannot read {p} as JSON ({e}); give reports written "
                                       "by python -m ipukit.grade --json or --submissions") from None
        if isinstance(data, dict) and isinstance(data.get("students"), list):
            entries += [{"name": s["student"], "score": s["score"], "max_score": s.get("max_score"),
                         "exercises": s.get("exercises", [])} for s in data["students"]]
        elif isinstance(data, dict) and "score" in data:
            entries.append({"name": data.get("student") or p.stem, "score": data["score"],
                            "max_score": data.get("max_score"), "exercises": data.get("exercises", [])})
        else:
            raise X.ExerciseSetupError(f"--leaderboard: {p} is not a grading report (no 'score' or 'students')")
    return entries


CAPSTONE = "ex09_2"      # the open capstone's first tier: any working layer, so most students have cycles


def default_tiebreak(entries: list) -> str | None:
    """The capstone (:data:`CAPSTONE`) when the reports have it, else the last exercise of notebook 09."""
    ids = {e["id"] for entry in entries for e in entry["exercises"] if X.ID_PATTERN.match(e.get("id", ""))}
    if CAPSTONE in ids:
        return CAPSTONE
    capstone = sorted((i for i in ids if i.startswith("ex09_")), key=lambda i: int(i.split("_")[1]))
    return capstone[-1] if capstone else None


def cycles_of(entry: dict, exercise: str | None):
    """The cycles of ``exercise`` in ``entry`` (sum of its cost rows in cycles), None unless it passed."""
    for e in entry["exercises"]:
        if e.get("id") == exercise and e.get("status") == "passed":
            rows = [c["value"] for c in e.get("costs", []) if str(c.get("unit", "")).startswith("cycle")]
            return sum(rows) if rows else None
    return None


def leaderboard(entries: list, by: str | None) -> list:
    """Rows ``{rank, name, score, max_score, cycles}``, best first (see the module's doc)."""
    rows = [{"name": e["name"], "score": e["score"], "max_score": e["max_score"], "cycles": cycles_of(e, by)}
            for e in entries]
    rows.sort(key=lambda r: (-r["score"], r["cycles"] is None, r["cycles"] or 0, r["name"]))
    for i, r in enumerate(rows):
        same = i and (r["score"], r["cycles"]) == (rows[i - 1]["score"], rows[i - 1]["cycles"])
        r["rank"] = rows[i - 1]["rank"] if same else i + 1
    return rows


def run_leaderboard(args, out=print) -> int:
    entries = load_reports(args.leaderboard)
    by = args.by or default_tiebreak(entries)
    rows = leaderboard(entries, by)
    width = max([len(r["name"]) for r in rows] + [7])
    cyc = f"{by} cycles" if by else "cycles"
    out(f"Leaderboard: {len(rows)} report{'s' * (len(rows) != 1)}, by score, then "
        + (f"fewest cycles in {by} (where it passed)" if by else "name (no tie-break exercise)") + "\n")
    out(f"  {'rank':>4}  {'student':<{width}}  {'score':>9}  {cyc:>16}")
    for r in rows:
        score = f"{r['score']}/{r['max_score']}" if r["max_score"] is not None else str(r["score"])
        cycles = f"{r['cycles']:,}" if r["cycles"] is not None else "-"
        out(f"  {r['rank']:>4}  {r['name']:<{width}}  {score:>9}  {cycles:>16}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["rank", "student", "score", "max_score", cyc])
            for r in rows:
                cycles = "" if r["cycles"] is None else r["cycles"]
                w.writerow([r["rank"], r["name"], r["score"], r["max_score"], cycles])
        out(f"\nwrote {args.csv}")
    return 0


if __name__ == "__main__":       # pragma: no cover - use python -m ipukit.grade
    sys.exit("use: python -m ipukit.grade --submissions DIR | --leaderboard REPORTS...")
