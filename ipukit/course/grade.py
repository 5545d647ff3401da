"""The autograder: ``python -m ipukit.grade [--target ...] [exNN | exNN_M ...]``.

Each exercise runs its grading tests (``tests/grading``, marker ``exNN_M``) in a
fresh ``python -m pytest`` process with a wall-clock timeout.  A learner's
endless loop, even inside a numba-compiled codelet that nothing can interrupt,
or a crash then costs that exercise only: the process group is killed and the
next exercise starts.  Prints one row per exercise and a total; ``--json``
writes the same for a learning-management system.  Exit code 0 when every
exercise passed, 1 otherwise (2 for a bad command line).

``--submissions DIR`` grades a whole class (one folder per student), each exercise
under resource limits (``limits.py``), into a CSV, a JSON and Gradescope's
``results.json``; ``--leaderboard REPORTS...`` ranks JSON reports (``classroom.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import exercise as X
from . import limits as L

STATUSES = ("passed", "failed", "not started", "timeout", "error", *L.LIMIT_STATUSES)
DEFAULT_TIMEOUT = 60.0


@dataclass
class Result:
    """The outcome of one exercise on one target."""
    exercise: X.Exercise
    status: str                       # one of STATUSES
    message: str = ""                 # the first reason it did not pass (or its costs if it did)
    costs: list = field(default_factory=list)   # X.Cost rows, the worst case of each cost
    test: str = ""                    # the test the message comes from
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def points(self) -> int:
        return self.exercise.points if self.passed else 0

    def to_dict(self) -> dict:
        return {"id": self.exercise.id, "title": self.exercise.title, "points": self.points,
                "max_points": self.exercise.points, "status": self.status, "message": self.message,
                "costs": [c.to_dict() for c in self.costs]}


# --- one exercise ---------------------------------------------------------------------
def run_exercise(ex: X.Exercise, target: X.Target, timeout: float = DEFAULT_TIMEOUT,
                 root: Path | None = None, limits: L.Limits | None = None) -> Result:
    """Run the grading tests of ``ex`` against ``target`` in a subprocess.

    With ``limits`` (a :class:`limits.Limits`) the process runs under limits on memory,
    CPU time, processes and output, and going over one gives its own status.
    """
    root = root or X.repo_root()
    grading = root / "tests" / "grading"
    files = sorted(grading.glob(f"test_ex{ex.notebook_number}_*.py")) or [grading]
    env = {**os.environ, "IPUKIT_QUIET": "1", "IPUKIT_TARGET": target.label, "PYTHONDONTWRITEBYTECODE": "1"}
    if limits is not None:
        env.update(L.quiet_threads_env())
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ipukit-grade-") as tmp:
        report = Path(tmp) / "report.jsonl"
        cmd = [sys.executable, "-m", "pytest", *(str(f) for f in files), "-m", ex.id,
               "--target", target.label, "--grade-report", str(report),
               "-p", "no:cacheprovider", "-q", "--no-header", "-o", "console_output_style=classic"]
        proc = subprocess.Popen(L.wrap(cmd, limits), cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=(os.name == "posix"))
        watcher = L.Watcher(proc.pid, limits).start() if limits is not None and os.name == "posix" else None
        cap = limits.max_output_bytes if limits is not None else None
        reader = _Reader(proc, cap)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            proc.wait()
        if watcher is not None:
            watcher.stop()
        output = reader.text()
        events = _read_events(report)
    if limits is not None:
        limit = _over_limit(limits, watcher, reader, proc.returncode, events, output)
        if limit is not None:
            result = Result(ex, *limit)
            result.seconds = time.monotonic() - start
            return result
    result = summarise(ex, events, proc.returncode, output, timed_out, timeout)
    result.seconds = time.monotonic() - start
    return result


class _Reader:
    """Reads a process's output in a thread, keeping at most ``cap`` bytes (and killing it past that)."""

    def __init__(self, proc: subprocess.Popen, cap: int | None):
        self.proc, self.cap = proc, cap
        self.chunks, self.size, self.over = [], 0, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        stream = self.proc.stdout
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            if self.cap is not None and self.size + len(chunk) > self.cap:
                self.chunks.append(chunk[:max(0, self.cap - self.size)])
                self.size = self.cap
                self.over = True
                _kill(self.proc)
                for _ in iter(lambda: stream.read(65536), b""):       # drain what is left, unkept
                    pass
                break
            self.chunks.append(chunk)
            self.size += len(chunk)

    def text(self) -> str:
        self.thread.join(timeout=10)
        return b"".join(self.chunks).decode("utf-8", "replace")


_MEMORY_SIGNS = ("MemoryError", "std::bad_alloc", "out of memory", "Cannot allocate memory")


def _over_limit(limits: L.Limits, watcher, reader: _Reader, returncode, events: list, output: str):
    """``(status, message)`` when the run went over one of ``limits``, else None."""
    if watcher is not None and watcher.reason:
        return watcher.reason, watcher.detail
    if reader.over:
        return L.OUTPUT, (f"printed more than {L._bytes(limits.max_output_bytes)}; the grader stopped it "
                          "(print less, or not in a loop)")
    if returncode == -getattr(signal, "SIGXFSZ", 25):
        return L.OUTPUT, (f"wrote more than {L._bytes(limits.max_output_bytes)} to one file (printed output "
                          "is kept in a file too); the grader stopped it")
    if returncode == -getattr(signal, "SIGXCPU", 24):          # RLIMIT_CPU's soft limit
        return L.CPU, (f"used more than {limits.cpu_seconds} s of CPU time (an endless loop, or far too "
                       "much work?); the grader stopped it")
    messages = [e.get("message", "") for e in events if e.get("event") == "result" and e.get("kind") != "passed"]
    finished = any(e.get("event") == "finish" for e in events)
    found = [ln for text in messages for ln in text.splitlines() if re.search(r"\bMemoryError\b", ln)]
    if not finished and returncode:                 # a crash: an allocator's last words
        found += [ln for ln in output.splitlines() if any(sign in ln for sign in _MEMORY_SIGNS)]
    if found:
        return L.MEMORY, f"ran out of its {L._bytes(limits.memory_bytes)} of memory: {found[0].strip()[:300]}"
    return None


def _kill(proc: subprocess.Popen) -> None:
    """Stop the test process and everything it started (its own process group)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _read_events(path: Path) -> list:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:       # a line cut short when the process was killed
            pass
    return events


def summarise(ex: X.Exercise, events: list, returncode, output: str, timed_out: bool,
              timeout: float) -> Result:
    """Turn the grading report of one pytest run into a :class:`Result`."""
    results = [e for e in events if e.get("event") == "result"]
    failures = [e for e in results if e["kind"] not in ("passed", "skipped")]
    costs = _worst_costs(results)
    if timed_out:
        started = [e["nodeid"] for e in events if e.get("event") == "start"]   # tests run one at a time
        test = _test_name(started[-1]) if started else ""
        where = f" in {test}" if test else " before the first test started"
        return Result(ex, "timeout", f"timed out after {timeout:g} s{where}: the code did not finish "
                      "(an endless loop?); the grader stopped it", costs, test)
    collect = [e for e in events if e.get("event") == "collect_error"]
    if collect:
        return Result(ex, "error", "the grading tests could not be collected: " + _last_line(collect[0]["message"]))
    finish = [e for e in events if e.get("event") == "finish"]
    if not finish:
        how = (f"killed by signal {-returncode}" if returncode is not None and returncode < 0
               else f"exit code {returncode}")
        fatal = [ln.strip() for ln in output.splitlines() if ln.startswith("Fatal Python error")]
        return Result(ex, "error", f"the test process stopped before the end ({how}): "
                      + (fatal[0] if fatal else _last_line(output or "no output")), costs)
    if not results:
        if finish[0]["exitstatus"] == 5:
            return Result(ex, "error", f"no grading test is marked {ex.id} (tests/grading/test_ex"
                          f"{ex.notebook_number}_*.py)")
        return Result(ex, "error", "pytest stopped: " + _last_line(output or "no output"))
    if not failures:
        if not any(e["kind"] == "passed" and e["when"] == "call" for e in results):
            return Result(ex, "error", "every grading test was skipped", costs)
        return Result(ex, "passed", "; ".join(c.describe() for c in costs), costs)
    first = failures[0]
    errors = [e for e in failures if e["kind"] == "error"]
    if errors:
        return Result(ex, "error", errors[0]["message"], costs, _test_name(errors[0]["nodeid"]))
    real = [e for e in failures if e["kind"] != "not started"]
    if not real:
        return Result(ex, "not started", first["message"], costs, _test_name(first["nodeid"]))
    first = real[0]
    message = first["message"] if first["kind"] == "raised" else f"{first['kind']}: {first['message']}"
    return Result(ex, "failed", message, costs, _test_name(first["nodeid"]))


def _worst_costs(results: list) -> list:
    """One row per cost name: the case closest to (or furthest over) its budget."""
    worst = {}
    for e in results:
        for c in e.get("costs", []):
            row = X.Cost(c["name"], c["value"], c["limit"], c["unit"])
            ratio = row.value / row.limit if row.limit else row.value
            if row.name not in worst or ratio > worst[row.name][0]:
                worst[row.name] = (ratio, row)
    return [row for _, row in worst.values()]


def _test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not set(ln.strip()) <= set("=-_ ")]
    return lines[-1] if lines else ""


# --- many exercises ---------------------------------------------------------------------
def grade(exercises, target: X.Target, timeout: float = DEFAULT_TIMEOUT, jobs: int = 1, report=None,
          limits: L.Limits | None = None) -> list:
    """Grade ``exercises`` one after another (or ``jobs`` at a time); ``report(result)`` as each ends."""
    def one(ex):
        return run_exercise(ex, target, timeout, limits=limits)
    results = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for r in pool.map(one, exercises):
            results.append(r)
            if report is not None:
                report(r)
    return results


def to_json(results: list, target: X.Target) -> dict:
    return {"target": target.label, "score": sum(r.points for r in results),
            "max_score": sum(r.exercise.points for r in results),
            "exercises": [{**r.to_dict(), "hints_shown": X.hints_shown(target, r.exercise.id)}
                          for r in results]}


class Table:
    """The terminal report, printed a row at a time."""

    def __init__(self, exercises, out=print):
        self.width = max([len(e.title) for e in exercises] + [5])
        self.out = out

    def row(self, r: Result) -> None:
        points = f"{r.points}/{r.exercise.points}"
        message = r.message.splitlines()[0] if r.message else ""
        if r.test and not r.passed and r.status != "not started":
            message += f"  [{r.test}]"
        self.out(f"  {r.exercise.id:<8}{r.exercise.title:<{self.width + 2}}{r.status:<13}{points:>6}  {message}")

    def total(self, results) -> None:
        score, best = sum(r.points for r in results), sum(r.exercise.points for r in results)
        self.out(f"  {'':-<{8 + self.width + 2 + 13 + 6}}")
        self.out(f"  {'total':<{8 + self.width + 2 + 13}}{f'{score}/{best}':>6}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ipukit.grade",
        description="Grade the course exercises: each exercise's tests run in their own process, "
                    "with a time limit.")
    parser.add_argument("exercises", nargs="*", metavar="exNN[_M]",
                        help="exercises (ex01_2) or whole notebooks (ex01) to grade; all when none is given")
    parser.add_argument("--target", default=None,
                        help="what to grade: 'exercises' (the default, or IPUKIT_TARGET), 'solutions', "
                             "or the path of a folder holding a learner's exNN_*.py files")
    parser.add_argument("--json", metavar="FILE", help="also write the scores to FILE as JSON")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"wall-clock limit per exercise (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="exercises graded at the same time (default 1)")
    cls = parser.add_argument_group(
        "a whole class", "--submissions DIR grades each sub-folder of DIR (one per student) under the limits "
        "below and writes OUT/grades.csv and OUT/grades.json; --leaderboard ranks JSON reports")
    cls.add_argument("--submissions", metavar="DIR", help="the folder with one sub-folder per student")
    cls.add_argument("--out", default=".", metavar="OUT", help="where the class files go (default: here)")
    cls.add_argument("--format", action="append", default=[], choices=("gradescope",),
                     help="also write OUT/gradescope/<student>/results.json")
    d = L.DEFAULT          # limits always apply to --submissions; to one target when one is given
    cls.add_argument("--memory", type=L.parse_size, metavar="SIZE",
                     help="address space per exercise process, e.g. 2G (default 4G)")
    cls.add_argument("--cpu", type=int, metavar="SECONDS",
                     help=f"CPU time per exercise process (default {d.cpu_seconds})")
    cls.add_argument("--max-processes", type=int, metavar="N",
                     help=f"processes an exercise may run at once (default {d.max_processes})")
    cls.add_argument("--max-output", type=L.parse_size, metavar="SIZE",
                     help="output (printed, or any one file written) per exercise (default 64M)")
    cls.add_argument("--leaderboard", nargs="+", metavar="REPORT", help="rank these JSON reports and stop")
    cls.add_argument("--by", metavar="exNN_M", help="leaderboard tie-break: fewest cycles in this exercise "
                     "(default: the last exercise of notebook 09 in the reports)")
    cls.add_argument("--csv", metavar="FILE", help="also write the leaderboard to FILE")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    for name in ("cpu", "max_processes"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    from . import classroom
    try:
        if args.leaderboard:
            return classroom.run_leaderboard(args, lambda line: print(line, flush=True))
        table = X.load_table()
        chosen = X.select(table, args.exercises)
        if args.submissions:
            return classroom.run_class(args, chosen, lambda line: print(line, flush=True))
        target = X.resolve_target(args.target)
    except (X.ExerciseSetupError, ValueError) as e:
        parser.error(str(e))
    where = "" if str(target.folder) == target.label else f" ({target.folder})"
    limits = L.from_args(args) if L.any_given(args) else None
    per = f"; limits per exercise: {limits.describe()}" if limits else ""
    print(f"Grading {target.label}{where}: {len(chosen)} exercise{'s' * (len(chosen) != 1)}, "
          f"at most {args.timeout:g} s each{per}\n", flush=True)
    out = Table(chosen, lambda line: print(line, flush=True))
    results = grade(chosen, target, args.timeout, args.jobs, out.row, limits)
    out.total(results)
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(results, target), indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
