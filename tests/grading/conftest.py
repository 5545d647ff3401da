"""Grading tests: one pytest marker per exercise, a target to test, cost budgets.

    pytest tests/grading                        # grade solutions/ (the default target)
    pytest tests/grading --target exercises -m ex01_2
    IPUKIT_TARGET=path/to/copy pytest tests/grading

Markers ``exNN_M`` come from ``exercises.toml`` (with ``--strict-markers`` a typo
fails).  Fixtures: ``load("ex01_tiles")`` imports a module from the target;
``budget.case("50 floats on 16 tiles")`` names the input case that follows (a
failure then starts "for 50 floats on 16 tiles: ..."), and
``budget.check(name, value, limit, unit)`` records a cost and fails over budget.
With ``--grade-report FILE`` every event is appended to FILE as a JSON line,
which is how ``python -m ipukit.grade`` and ``ipukit.check`` read the outcome.
Test results are written when the session ends: when a test failed, only the
failure the grader reports keeps its costs, those of its failing case, so the
cost table a learner sees belongs to the case the message names.
"""
from __future__ import annotations

import json
import os
import traceback
from pathlib import Path

import pytest

from ipukit import exercise as X

HERE = Path(__file__).resolve().parent
TABLE = X.load_table(HERE / "exercises.toml")
MESSAGE_LIMIT = 1500


def pytest_addoption(parser):
    group = parser.getgroup("ipukit grading")
    group.addoption("--target", default=None,
                    help="learner code to grade: exercises, solutions (default) or a folder of exNN_*.py "
                         "modules; also set by IPUKIT_TARGET")
    group.addoption("--grade-report", default=None, metavar="FILE",
                    help="append one JSON line per test event to FILE (read by python -m ipukit.grade)")


def pytest_configure(config):
    for ex in TABLE.values():
        config.addinivalue_line("markers", f"{ex.id}: exercise {ex.label}, {ex.title} ({ex.points} points)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).resolve().parents and not _exercise_ids(item):
            raise pytest.UsageError(f"{item.nodeid} has no exercise marker: mark every grading test with "
                                    "@pytest.mark.exNN_M (an id from tests/grading/exercises.toml)")


# --- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def target(request) -> X.Target:
    """The learner code under test (``--target``, else ``IPUKIT_TARGET``, else solutions)."""
    chosen = request.config.getoption("target", None) or os.environ.get("IPUKIT_TARGET")
    if not chosen and not (X.repo_root() / "solutions").is_dir():
        pytest.skip("this copy of the course has no solutions/ folder: grade your own work with "
                    "`python -m ipukit.grade` or ipukit.check(...) in the notebook")
    return X.resolve_target(chosen, default="solutions")


@pytest.fixture(scope="session")
def load(target):
    """``load("ex01_tiles")``: the module from the target (imported once per test run)."""
    modules = {}

    def _load(name):
        if name not in modules:
            modules[name] = X.load(name, target)
        return modules[name]
    return _load


@pytest.fixture
def budget():
    """Cost budgets: ``budget.case("...")`` names an input case, ``budget.check("cycles", value, limit)`` checks."""
    return X.Budget()


# --- the report the grader reads -------------------------------------------------------
def _exercise_ids(item) -> list:
    return [m.name for m in item.iter_markers() if X.ID_PATTERN.match(m.name)]


def _emit(config, **event):
    path = config.getoption("grade_report", None)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _emit(item.config, event="start", nodeid=item.nodeid)


_PENDING = pytest.StashKey[list]()
_FAILED = ("wrong answer", "over budget", "raised", "error")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.passed and call.when != "call":
        return report
    event = {"event": "result", "nodeid": item.nodeid, "when": call.when, "exercises": _exercise_ids(item)}
    budget = getattr(item, "funcargs", {}).get("budget")
    if report.passed:
        event["kind"], event["message"] = "passed", ""
    elif report.skipped:
        event["kind"], event["message"] = "skipped", str(getattr(call.excinfo, "value", ""))[:MESSAGE_LIMIT]
    else:
        target = item.funcargs.get("target") if hasattr(item, "funcargs") else None
        kind, message = classify(call.excinfo, call.when, target)
        case = budget.current if budget is not None and budget.current else _parameters(item)
        if case and kind in _FAILED and not message.startswith("for ") and "for case '" not in message:
            message = f"for {case}: {message}"
        event["kind"], event["message"] = kind, message[:MESSAGE_LIMIT]
    rows = budget.rows if budget is not None and event["kind"] in ("passed", "skipped") else \
        budget.case_rows() if budget is not None else []
    event["costs"] = [c.to_dict() for c in rows]
    if item.config.getoption("grade_report", None):
        item.config.stash.setdefault(_PENDING, []).append(event)
    return report


def _parameters(item) -> str:
    """``"n = 50, tiles = 16"``: a parametrized test's case, when the test did not name it (budget.case)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    shown = []
    for name, value in params.items():
        text = repr(value.tolist() if hasattr(value, "tolist") else value)
        if isinstance(value, (int, float, str, bool, tuple, list)) or hasattr(value, "tolist"):
            shown.append(f"{name} = {text if len(text) <= 60 else text[:57] + '...'}")
    return ", ".join(shown)


def _reported(events: list) -> list:
    """The result events as written: when a test failed, only the failure reported keeps its costs.

    The grader reports the first error, else the first failure that is not a
    stub's "not started" (``ipukit.course.grade.summarise``); other tests' costs
    would show cases the message does not name, or "ok" beside a crash.
    """
    failed = [e for e in events if e["kind"] not in ("passed", "skipped")]
    if not failed:
        return events
    errors = [e for e in failed if e["kind"] == "error"]
    real = [e for e in failed if e["kind"] != "not started"]
    shown = (errors or real or failed)[0]
    return [e if e is shown else {**e, "costs": []} for e in events]


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.failed:
        _emit(collector.config, event="collect_error", nodeid=report.nodeid,
              message=str(report.longrepr)[-MESSAGE_LIMIT:])
    return report


def pytest_sessionfinish(session, exitstatus):
    for event in _reported(session.config.stash.get(_PENDING, [])):
        _emit(session.config, **event)
    _emit(session.config, event="finish", exitstatus=int(exitstatus), collected=session.testscollected)


# --- what went wrong, in words for a learner ----------------------------------------------
def classify(excinfo, when: str, target) -> tuple[str, str]:
    """``(kind, message)`` of a failed test phase.

    kind is "not started" (a stub's ``NotImplementedError("Exercise ...")``),
    "wrong answer" (a test's assertion), "over budget", "raised" (the learner's
    code raised) or "error" (the code could not be loaded or the test set up).
    """
    exc = excinfo.value
    folder = target.folder.resolve() if target is not None else None
    for e in _chain(exc):
        if isinstance(e, NotImplementedError) and str(e).startswith("Exercise"):
            return "not started", str(e) + _where(traceback.extract_tb(e.__traceback__), folder)
    if isinstance(exc, X.ExerciseSetupError):
        return "error", str(exc)
    if when != "call":
        return "error", f"the test could not be set up: {type(exc).__name__}: {exc}"
    if isinstance(exc, X.BudgetExceeded):
        return "over budget", str(exc)
    frames = traceback.extract_tb(excinfo.tb)
    if isinstance(exc, pytest.fail.Exception):
        return "wrong answer", str(exc.msg if hasattr(exc, "msg") else exc)
    if isinstance(exc, AssertionError) and not _in_folder(frames[-1], folder):
        return "wrong answer", _assertion_message(exc)
    text = str(exc).strip()
    return "raised", f"raised {type(exc).__name__}{': ' + text if text else ''}{_where(frames, folder)}"


def _in_folder(frame, folder) -> bool:
    return folder is not None and folder in Path(frame.filename).resolve().parents


def _where(frames, folder) -> str:
    """`` (in busiest_tile, ex01_tiles.py line 12)``: the learner's innermost frame."""
    mine = [f for f in frames if _in_folder(f, folder)]
    return f" (in {mine[-1].name}, {Path(mine[-1].filename).name} line {mine[-1].lineno})" if mine else ""


def _chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _assertion_message(exc) -> str:
    """The test's own message, without pytest's rewritten ``assert`` explanation."""
    text = str(exc).strip()
    if not text:
        return "an assertion failed"
    if text.startswith("assert "):
        return text.splitlines()[0]
    return text.split("\nassert ", 1)[0].strip()
