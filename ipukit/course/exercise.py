"""Exercises: the table of exercises, where learner code lives, and cost budgets.

Shared by the grader (``python -m ipukit.grade``), ``ipukit.check`` and the
grading tests in ``tests/grading``.  An exercise ``ex01_2`` is exercise 2 of
notebook 01; its code lives in a module such as ``ex01_tiles.py`` that exists
twice, as a stub in ``exercises/`` and solved in ``solutions/``.  Which copy is
used is the *target*: ``"exercises"``, ``"solutions"`` or the path of a folder
holding a learner's copies of the modules.

Nothing here imports numba, matplotlib or pytest.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .. import _env

ID_PATTERN = re.compile(r"^ex(\d\d)_(\d+)$")
TABLE = Path("tests") / "grading" / "exercises.toml"
NAMED_TARGETS = ("exercises", "solutions")
_FIELDS = {"points": int, "title": str, "hints": list, "notebook": str}
_KINDS = {int: "a whole number", str: "a string", list: "a list of three strings"}
HINT_LEVELS = ("the idea", "the ipukit names that help", "a sketch of the solution")
HINTS_FILE = ".hints.json"        # per learner, in the folder of their exercise modules


class ExerciseSetupError(Exception):
    """The exercise table, the target or a learner module cannot be used as it is."""


class TargetImportError(ExerciseSetupError):
    """A learner module is missing or fails to import (a syntax error, a bad import...)."""


# --- the repository ---------------------------------------------------------------
def repo_root() -> Path:
    """The course folder: the one that holds ``exercises/``, ``solutions/`` and the exercise table.

    Looked for, in order: ``IPUKIT_COURSE_DIR`` (``kit.py`` sets it); the current
    folder or one above it (a notebook's kernel runs in ``notebooks/``, a
    terminal in the course folder, so a copy of the course grades its own
    ``exercises/``); the folder that holds the ``ipukit`` package (installed in
    editable mode from the repository).
    """
    named = _env.course_dir()
    if named:
        root = Path(named).expanduser().resolve()
        if not (root / TABLE).is_file():
            raise ExerciseSetupError(f"IPUKIT_COURSE_DIR is {named}, but {TABLE} is not there: point it at the "
                                     "course folder (the one with exercises/ and tests/) or unset it")
        return root
    here = Path.cwd().resolve()
    for root in (here, *here.parents, Path(__file__).resolve().parents[2]):     # ipukit/course/ -> repo
        if (root / TABLE).is_file():
            return root
    raise ExerciseSetupError(
        f"the exercise table {TABLE} was not found in {here}, above it, or next to the ipukit package. "
        "Exercises need the course repository: run from inside it, clone it and install ipukit from it "
        "with `pip install -e .` (or run `python3 kit.py lab`), or set IPUKIT_COURSE_DIR to it.")


# --- the table of exercises --------------------------------------------------------
@dataclass(frozen=True)
class Exercise:
    """One row of ``tests/grading/exercises.toml``."""
    id: str
    points: int
    title: str
    hints: tuple          # three levels: the idea, the ipukit names that help, a sketch (HINT_LEVELS)
    notebook: str

    @property
    def hint(self) -> str:
        """The first hint level (the idea)."""
        return self.hints[0] if self.hints else ""

    @property
    def notebook_number(self) -> str:
        return self.id[2:4]

    @property
    def label(self) -> str:
        """``"01.2"``, as exercises are numbered in the notebooks and stub messages."""
        nn, m = ID_PATTERN.match(self.id).groups()
        return f"{nn}.{m}"


def load_table(path: Path | None = None) -> dict[str, Exercise]:
    """Read and check the exercise table; ``{id: Exercise}`` in notebook order."""
    path = Path(path) if path is not None else repo_root() / TABLE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ExerciseSetupError(f"{path}: not valid TOML ({e})") from None
    table = {}
    for ex_id, row in raw.items():
        where = f"{path.name}, [{ex_id}]"
        if not ID_PATTERN.match(ex_id):
            raise ExerciseSetupError(f"{where}: exercise ids look like ex01_2 (notebook 01, exercise 2)")
        if not isinstance(row, dict):
            raise ExerciseSetupError(f"{where}: expected a table with {', '.join(_FIELDS)}")
        row = dict(row)
        if "hint" in row and "hints" not in row and isinstance(row["hint"], str):
            row["hints"] = [row.pop("hint")]       # the old single hint: level 1 only
        unknown = sorted(set(row) - set(_FIELDS))
        missing = [k for k in _FIELDS if k not in row]
        if unknown or missing:
            parts = ([f"unknown key(s) {', '.join(unknown)}"] if unknown else []) + \
                    ([f"missing {', '.join(missing)}"] if missing else [])
            raise ExerciseSetupError(f"{where}: {'; '.join(parts)}. Each exercise has exactly "
                                     f"{', '.join(_FIELDS)}")
        for key, kind in _FIELDS.items():
            if not isinstance(row[key], kind) or isinstance(row[key], bool):
                raise ExerciseSetupError(f"{where}: {key} must be {_KINDS[kind]}, got {row[key]!r}")
        if row["points"] < 1:
            raise ExerciseSetupError(f"{where}: points must be at least 1, got {row['points']}")
        hints = row["hints"]
        if not 1 <= len(hints) <= len(HINT_LEVELS) or not all(isinstance(h, str) and h.strip() for h in hints):
            raise ExerciseSetupError(f"{where}: hints must be a list of {len(HINT_LEVELS)} non-empty strings "
                                     f"({'; '.join(HINT_LEVELS)}), got {hints!r}")
        row["hints"] = tuple(" ".join(h.split()) for h in hints)
        table[ex_id] = Exercise(ex_id, row["points"], row["title"], row["hints"], row["notebook"])
    return dict(sorted(table.items(), key=lambda kv: tuple(int(g) for g in ID_PATTERN.match(kv[0]).groups())))


def select(table: dict[str, Exercise], wanted=()) -> list[Exercise]:
    """The exercises named by ``wanted`` (ids like ``ex01_2`` or notebooks like ``ex01``); all if empty."""
    if not wanted:
        return list(table.values())
    chosen = []
    for w in wanted:
        if w in table:
            hits = [table[w]]
        elif re.fullmatch(r"ex\d\d", w):
            hits = [e for e in table.values() if e.id.startswith(w + "_")]
        else:
            hits = []
        if not hits:
            known = ", ".join(table) or "none"
            raise ExerciseSetupError(f"no exercise '{w}': give an id such as ex01_2 or a notebook such as "
                                     f"ex01 (known exercises: {known})")
        chosen += [h for h in hits if h not in chosen]
    return chosen


# --- hints revealed to a learner ----------------------------------------------------------
def hints_path(target: "Target") -> Path:
    """Where the hint levels a learner has seen are kept: ``.hints.json`` beside their modules."""
    return target.folder / HINTS_FILE


def hints_seen(target: "Target") -> dict:
    """``{exercise id: levels shown}`` for ``target`` (empty when nothing was shown or the file is unreadable)."""
    try:
        raw = json.loads(hints_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0}


def hints_shown(target: "Target", exercise_id: str) -> int:
    """How many hint levels of ``exercise_id`` the learner of ``target`` has been shown."""
    return hints_seen(target).get(exercise_id, 0)


def reveal_hint(target: "Target", ex: "Exercise", save: bool = True) -> int:
    """Show one more hint level of ``ex`` (up to its last); returns the levels now shown.

    Kept in ``.hints.json`` in the target folder, so a learner keeps their levels
    across sessions.  A folder that cannot be written (a read-only copy) still
    gets the next level shown this time, it is only not remembered; so does
    ``save=False`` (the solutions, checked by the test suite).
    """
    seen = hints_seen(target)
    shown = min(seen.get(ex.id, 0) + 1, len(ex.hints))
    if not save:
        return shown
    seen[ex.id] = shown
    try:
        hints_path(target).write_text(json.dumps(dict(sorted(seen.items())), indent=1) + "\n", encoding="utf-8")
    except OSError:
        pass
    return shown


# --- targets: which copy of the learner modules --------------------------------------
@dataclass(frozen=True)
class Target:
    label: str          # "exercises", "solutions", or the folder's absolute path
    folder: Path

    @property
    def is_solutions(self) -> bool:
        return self.label == "solutions"


def resolve_target(target: str | Path | None = None, default: str | None = None) -> Target:
    """Turn ``"exercises"``, ``"solutions"`` or a folder path into a :class:`Target`.

    ``None`` means the ``IPUKIT_TARGET`` environment variable, else ``default``
    (else ``"exercises"``).  A folder that has no ``ex*.py`` modules but an
    ``exercises/`` sub-folder (a copy of the whole repository) grades that sub-folder.
    """
    if target is None or str(target) == "":
        target = os.environ.get("IPUKIT_TARGET") or default or _env.target()
    text = str(target)
    if text in NAMED_TARGETS:
        folder = repo_root() / text
        if not folder.is_dir():
            raise ExerciseSetupError(f"this copy of the course has no {text}/ folder ({folder})")
        return Target(text, folder)
    folder = Path(text).expanduser().resolve()
    if not folder.is_dir():
        raise ExerciseSetupError(f"target '{text}' is neither 'exercises', 'solutions' nor an existing folder "
                                 f"(looked for {folder})")
    if not any(folder.glob("ex[0-9][0-9]_*.py")) and (folder / "exercises").is_dir():
        folder = folder / "exercises"
    return Target(str(folder), folder)


def load(module: str, target: str | Path | Target | None = None):
    """Import learner module ``module`` (e.g. ``"ex01_tiles"``) from ``target``, afresh.

    Every call executes the file again, so edits made since the last call are
    used.  ``target`` defaults to ``IPUKIT_TARGET``, else ``exercises``: in a
    notebook, ``ex = load("ex01_tiles")`` gives the learner's own code.
    """
    if not re.fullmatch(r"ex\d\d_\w+", module):
        raise ValueError(f"load({module!r}): exercise modules are named like 'ex01_tiles' (no .py, no folder)")
    tgt = target if isinstance(target, Target) else resolve_target(target)
    path = tgt.folder / f"{module}.py"
    if not path.is_file():
        raise TargetImportError(f"{module}.py is missing from {tgt.folder}: the target '{tgt.label}' must hold "
                                f"the exercise module {module}.py (copy it from exercises/)")
    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    saved = sys.modules.get(module)
    sys.modules[module] = mod            # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        if saved is not None:
            sys.modules[module] = saved
        else:
            sys.modules.pop(module, None)
        line = f", line {e.lineno}" if isinstance(e, SyntaxError) and e.lineno else ""
        raise TargetImportError(f"{path.name} could not be imported{line}: {type(e).__name__}: {e}") from e
    return mod


# --- cost budgets -------------------------------------------------------------------
@dataclass(frozen=True)
class Cost:
    """One row of a cost table: what was measured, and its budget (None: for information)."""
    name: str
    value: float
    limit: float | None = None
    unit: str = ""

    @property
    def ok(self) -> bool:
        return self.limit is None or self.value <= self.limit

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.limit is None:
            return f"{self.name} {_num(self.value)}{unit}"
        sign = "<=" if self.ok else ">"
        return f"{self.name} {_num(self.value)}{unit} {sign} {_num(self.limit)}{unit}"

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "limit": self.limit, "unit": self.unit, "ok": self.ok}


class BudgetExceeded(AssertionError):
    """A cost is over its budget: the answer may be right, but it costs too much."""


class Budget:
    """Costs a grading test measured, each against its limit (the ``budget`` fixture).

    ``budget.case("50 floats on 16 tiles")`` names the input case that follows:
    a failure is then reported "for 50 floats on 16 tiles: ...", and the cost
    table of a failed test shows only that case's costs.
    ``budget.check("peak tile bytes", report.peak_bytes, cap, "B")`` records a
    row of the cost table and fails the test when the value is over the limit.
    """

    def __init__(self):
        self.rows: list[Cost] = []
        self.current: str = ""            # the input case being tested ("" until case() is called)
        self._case_start = 0

    def case(self, label: str) -> None:
        """Start the input case ``label`` (its costs are the rows recorded from now on)."""
        self.current = str(label)
        self._case_start = len(self.rows)

    def case_rows(self) -> list:
        """The rows of the current case (all rows when no case was named)."""
        return self.rows[self._case_start:]

    def check(self, name: str, value, limit, unit: str = "") -> None:
        row = Cost(name, _plain(value), _plain(limit), unit)
        self.rows.append(row)
        if not row.ok:
            unit = f" {unit}" if unit else ""
            where = f"for {self.current}: " if self.current else ""
            by = f"by {_num(_plain(row.value - row.limit))}{unit}"
            if row.limit:
                by += f", {(row.value / row.limit - 1) * 100:.1f} %"
            raise BudgetExceeded(f"{where}{name} is {_num(row.value)}{unit}, over the budget of "
                                 f"{_num(row.limit)}{unit} ({by})")

    def record(self, name: str, value, unit: str = "") -> None:
        """A row shown for information, with no limit."""
        self.rows.append(Cost(name, _plain(value), None, unit))


def _plain(x):
    """NumPy scalars to int/float, so costs go into JSON."""
    if x is None:
        return None
    f = float(x)
    return int(f) if f.is_integer() else f


def _num(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,.4g}"
