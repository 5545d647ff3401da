"""``ipukit.check("ex01_2")``: grade one exercise from a notebook, with feedback.

The exercise's grading tests run on the learner's current file in a fresh
process (edits are always picked up, an endless loop is stopped after
``timeout`` seconds), exactly as ``python -m ipukit.grade`` runs them, so the
notebook and the grader never disagree.  The panel shows whether it passed,
what the test found ("expected ..., got ..." for a named input case), the costs
of that case against their budget, and the hints revealed so far: each failed
check reveals one more of the exercise's three levels (the idea, the ipukit names
that help, a sketch of the solution), remembered in ``.hints.json`` beside the
learner's modules so the grader can report how many were shown.

The code checked is the repository's ``exercises/`` folder, or ``solutions/``
when ``IPUKIT_TARGET=solutions`` (as when the test suite runs the notebooks);
under ``solutions`` a failure raises :class:`ExerciseFailed`, so CI notices.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from . import exercise as X
from ..palette import OKABE_ITO

_MARKS = {"passed": "✓", "failed": "✗", "timeout": "✗", "error": "✗", "not started": "·"}
_COLOURS = {"passed": OKABE_ITO["bluish green"], "failed": OKABE_ITO["vermillion"],
            "timeout": OKABE_ITO["vermillion"], "error": OKABE_ITO["vermillion"], "not started": "#777777"}
_HINT_AFTER = ("failed", "timeout")


class ExerciseFailed(AssertionError):
    """Raised by :func:`check` when an exercise fails under the solutions target."""


@dataclass
class CheckResult:
    """What :func:`check` found (also shown as a panel)."""
    id: str
    title: str
    status: str                  # passed, failed, not started, timeout or error
    points: int
    max_points: int
    message: str
    costs: list = field(default_factory=list)
    hints: tuple = ()            # the hint levels revealed so far (shown after a failed attempt)
    target: str = ""
    levels: int = len(X.HINT_LEVELS)

    @property
    def hint(self) -> str:
        """The latest hint level revealed ("" when none is shown)."""
        return self.hints[-1] if self.hints else ""

    def hint_labels(self) -> list:
        """``["Hint 1/3: the idea", ...]`` for the levels shown."""
        return [f"Hint {i + 1}/{self.levels}: {X.HINT_LEVELS[i]}" for i in range(len(self.hints))]

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __repr__(self):
        return f"<CheckResult {self.id}: {self.status}, {self.points}/{self.max_points} points>"

    def _ipython_display_(self):
        """In a notebook the panel was shown by check(); do not show the result twice."""

    def to_text(self) -> str:
        ex = f"Exercise {self.id[2:4]}.{self.id.split('_')[1]}"
        lines = [f"{_MARKS[self.status]} {ex}, {self.title}: {self.status} "
                 f"({self.points}/{self.max_points} points)"]
        if self.status == "not started":
            lines.append(f"  {self.message}. Replace the `raise NotImplementedError` in your exercise module, "
                         "save the file, and check again.")
        elif not self.passed and self.message:
            lines.append("  What the test found:")
            lines += [f"    {ln}" for ln in self.message.splitlines()]
        if self.costs:
            lines.append("  Costs (yours vs budget)" + (" of the case above:" if self.status == "failed" else ":"))
            for c in self.costs:
                mark = "ok" if c.ok else "OVER"
                lines.append(f"    {c.describe():<50}{mark if c.limit is not None else ''}")
        for label, text in zip(self.hint_labels(), self.hints, strict=True):
            lines.append(f"  {label}. {text}")
        if self.hints and len(self.hints) < self.levels:
            lines.append("  (another hint level is shown after the next failed check)")
        lines.append(f"  (checked: {self.target})")
        return "\n".join(lines)

    def to_html(self) -> str:
        colour = _COLOURS[self.status]
        e = html.escape
        ex = f"Exercise {self.id[2:4]}.{self.id.split('_')[1]}"
        parts = [f'<div style="border-left:6px solid {colour};padding:6px 12px;margin:6px 0;'
                 f'font-family:sans-serif;font-size:13px">',
                 f'<div style="font-size:15px"><span style="color:{colour};font-weight:bold">'
                 f'{_MARKS[self.status]} {e(self.status)}</span> &nbsp;<b>{e(ex)}</b> {e(self.title)} '
                 f'<span style="color:#777">({self.points}/{self.max_points} points)</span></div>']
        if self.status == "not started":
            parts.append(f'<p>{e(self.message)}.<br>Replace the <code>raise NotImplementedError</code> in your '
                         'exercise module, save the file, and check again.</p>')
        elif not self.passed and self.message:
            parts.append('<p style="margin:6px 0 2px">What the test found (yours vs expected):</p>'
                         f'<pre style="white-space:pre-wrap;background:#f6f6f6;padding:6px;margin:0">'
                         f'{e(self.message)}</pre>')
        if self.costs:
            rows = "".join(
                f'<tr><td>{e(c.name)}</td><td style="text-align:right">{e(_fmt(c.value, c.unit))}</td>'
                f'<td style="text-align:right">{e(_fmt(c.limit, c.unit)) if c.limit is not None else ""}</td>'
                f'<td style="color:{_COLOURS["passed" if c.ok else "failed"]}">'
                f'{"" if c.limit is None else ("✓" if c.ok else "✗ over")}</td></tr>' for c in self.costs)
            if self.status == "failed":
                parts.append('<p style="margin:6px 0 2px">Costs of that case:</p>')
            parts.append('<table style="margin:6px 0;font-size:inherit"><tr><th style="text-align:left">cost</th>'
                         '<th>yours</th><th>budget</th><th></th></tr>' + rows + '</table>')
        for label, text in zip(self.hint_labels(), self.hints, strict=True):
            parts.append(f'<p style="margin:6px 0"><b>{e(label)}.</b> {e(text)}</p>')
        if self.hints and len(self.hints) < self.levels:
            parts.append('<p style="margin:2px 0;color:#777">Another hint level is shown after the next '
                         'failed check.</p>')
        parts.append(f'<div style="color:#777;font-size:11px">checked: {e(self.target)}</div></div>')
        return "".join(parts)


def _fmt(value, unit) -> str:
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
    return f"{text} {unit}" if unit else text


def check(exercise_id: str, target=None, timeout: float = 60.0, strict: bool | None = None,
          show: bool = True) -> CheckResult:
    """Run the grading tests of ``exercise_id`` (e.g. ``"ex01_2"``) and show the result.

    Args:
        target: ``"exercises"``, ``"solutions"`` or a folder; default ``IPUKIT_TARGET``,
            else ``"exercises"``.
        timeout: seconds before an unfinished run is stopped and reported.
        strict: raise :class:`ExerciseFailed` unless it passes; by default only
            under the ``solutions`` target.
        show: display the panel (HTML in a notebook, text elsewhere).
    """
    from .grade import run_exercise
    table = X.load_table()
    if exercise_id not in table:
        raise ValueError(f"check({exercise_id!r}): no such exercise; ids look like 'ex01_2' "
                         f"(known: {', '.join(table) or 'none'})")
    ex = table[exercise_id]
    tgt = X.resolve_target(target)
    r = run_exercise(ex, tgt, timeout)
    shown = X.reveal_hint(tgt, ex, save=not tgt.is_solutions) if r.status in _HINT_AFTER else 0
    result = CheckResult(ex.id, ex.title, r.status, r.points, ex.points, r.message, r.costs,
                         tuple(ex.hints[:shown]), tgt.label, len(ex.hints))
    if show:
        _show(result)
    if (tgt.is_solutions if strict is None else strict) and not result.passed:
        raise ExerciseFailed(f"{ex.id} ({ex.title}) {result.status} on {tgt.label}: {result.message}")
    return result


def _show(result: CheckResult) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
        display(HTML(result.to_html()))
    else:
        print(result.to_text())
