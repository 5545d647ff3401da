"""The puzzles by number, their target pictures, and showing a puzzle next to yours."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .budgets import budget
from .cases import COSTS, Case, Result, make_case
from .running import run


# --- the puzzles, their target pictures, and showing a puzzle in the notebook ---------------------
@dataclass(frozen=True)
class Puzzle:
    number: int
    function: str        # its name in exercises/ex11_puzzles.py
    title: str


PUZZLES = {p.number: p for p in (
    Puzzle(1, "map_add_ten", "Map"), Puzzle(2, "zip_add", "Zip"), Puzzle(3, "broadcast_add", "Broadcast"),
    Puzzle(4, "halo_sum", "Halo"), Puzzle(5, "rotate", "Rotate"), Puzzle(6, "tile_sum", "Sum on a tile"),
    Puzzle(7, "tiles_sum", "Sum across tiles"), Puzzle(8, "all_reduce_sum", "All-reduce"),
    Puzzle(9, "transpose_blocks", "Transpose"), Puzzle(10, "prefix_sum", "Prefix sum"),
    Puzzle(11, "gather_by_index", "Gather by index"), Puzzle(12, "matmul_blocks", "A matmul block"),
    Puzzle(13, "balance_rows", "Six workers, uneven rows"),
    Puzzle(14, "balance_block_rows", "Block-sparse rows over tiles"))}
MODULE = "ex11_puzzles"
TARGETS = "notebooks/11_ipu_puzzles.targets.json"


def trace_of(case: Case, result: Result) -> dict:
    """The picture data of a run of ``case`` (see :func:`ipukit.viz.puzzles.puzzle_trace`)."""
    from ipukit.viz.puzzles import puzzle_trace
    return puzzle_trace(result.engine, case.shown, result.costs)


def picture(case: Case, result: Result, title: str = ""):
    """The picture of one run of ``case`` alone (a matplotlib Figure)."""
    from ipukit.viz.puzzles import plot_run
    return plot_run(trace_of(case, result), title, {lim.name: lim.value for lim in budget(case)})


def _targets_path():
    from pathlib import Path

    from ipukit.exercise import repo_root
    return Path(repo_root()) / TARGETS


def record_targets(module, path=None) -> dict:
    """Run every puzzle's fixed case with ``module`` (the solutions) and write the target pictures as JSON."""
    import json
    traces = {}
    for number, puzzle in PUZZLES.items():
        case = make_case(number)
        traces[str(number)] = trace_of(case, run(case, getattr(module, puzzle.function)))
    path = path or _targets_path()
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in traces.items())
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + lines + "\n}\n")
    return traces


def load_targets(path=None) -> dict:
    """The target picture of every puzzle, recorded from a reference run of the model solutions."""
    import json
    with open(path or _targets_path(), encoding="utf-8") as f:
        return json.load(f)


def compare(expected, got, case: Case) -> str:
    """"" when ``got`` equals ``expected``, else what differs first, naming the case."""
    name = next(iter(case.outputs))
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        return f"for case '{case.label}': expected {name} of shape {expected.shape}, got shape {got.shape}"
    wrong = np.argwhere(~np.isclose(got, expected, rtol=1e-6, atol=1e-6))
    if len(wrong) == 0:
        return ""
    at = tuple(int(i) for i in wrong[0])
    where = ", ".join(map(str, at))
    return (f"for case '{case.label}': expected {name}[{where}] = {expected[at]:g}, got {got[at]:g} "
            f"({len(wrong)} of {got.size} elements differ)")


def show(number: int, spec=None, target=None):
    """Puzzle ``number``: the target picture next to yours, whether yours matches ``spec``, and the costs.

    ``spec(**input values, **extras)`` is the NumPy statement of the puzzle; your
    function comes from ``exercises/ex11_puzzles.py`` (``IPUKIT_TARGET`` or
    ``target`` may point elsewhere), loaded afresh, so save the file and run again.
    """
    from ipukit.exercise import load
    from ipukit.viz.puzzles import plot_puzzle
    puzzle = PUZZLES[number]
    case = make_case(number)
    limits = budget(case)
    target_trace = load_targets().get(str(number))
    verdict, yours = "", None
    try:
        fn = getattr(load(MODULE, target), puzzle.function)
        result = run(case, fn)
    except NotImplementedError as e:
        yours = f"not written yet:\n{_clip(str(e))}"
        verdict = f"· not written yet: {e}"
    except Exception as e:                            # shown, not raised: the picture of the target still helps
        yours = f"your function raised {type(e).__name__}:\n{_clip(str(e))}"
        verdict = f"✗ your function raised {type(e).__name__}: {e}"
    else:
        yours = trace_of(case, result)
        if spec is not None:
            out = next(iter(result.outputs.values()))
            wrong = compare(spec(**case.values, **case.extras), out, case)
            verdict = f"✗ {wrong}" if wrong else "✓ your output matches the spec"
    fig = plot_puzzle(target_trace, yours, f"Puzzle {number} · {puzzle.title}  ({case.label})",
                      {lim.name: lim.value for lim in limits})
    table = cost_table(target_trace, yours if isinstance(yours, dict) else None, limits)
    _display(fig, verdict, table)


def _clip(text: str, width: int = 70, lines: int = 6) -> str:
    import textwrap
    out = []
    for para in text.splitlines():
        out += textwrap.wrap(para, width) or [""]
    return "\n".join(out[:lines] + (["…"] if len(out) > lines else []))


def cost_table(target: dict | None, yours: dict | None, limits) -> list:
    """Rows ``(cost, target's, budget, yours, over?)`` for every cost."""
    limit = {lim.name: lim for lim in limits}
    rows = []
    for name, unit in COSTS:
        t = (target or {}).get("costs", {}).get(name)
        y = (yours or {}).get("costs", {}).get(name)
        lim = limit.get(name)
        over = lim is not None and y is not None and y > lim.value
        rows.append((name, unit, t, lim, y, over))
    return rows


def _fmt(value, unit) -> str:
    return "" if value is None else f"{value:,}" + (f" {unit}" if unit else "")


def _display(fig, verdict: str, table: list) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
        print(verdict)
        print(f"  {'cost':<16}{'target':>12}{'budget':>12}{'yours':>12}")
        for name, unit, t, lim, y, over in table:
            print(f"  {name:<16}{_fmt(t, unit):>12}{_fmt(lim.value if lim else None, unit):>12}"
                  f"{_fmt(y, unit):>12}{'  OVER' if over else ''}")
        return
    import html
    display(fig)
    head = ('<table style="font-size:12px;margin:2px 0"><tr><th style="text-align:left">cost</th><th>target</th>'
            '<th>budget</th><th>yours</th><th style="text-align:left">budget: where it comes from</th></tr>')
    body = "".join(
        f'<tr><td style="text-align:left">{name}</td><td>{_fmt(t, unit)}</td>'
        f'<td>{_fmt(lim.value, unit) if lim else "(shown)"}</td>'
        f'<td style="color:{"#D55E00" if over else "inherit"}">{_fmt(y, unit)}{" ✗ over" if over else ""}</td>'
        f'<td style="text-align:left;color:#555">{html.escape(lim.why) if lim else ""}</td></tr>'
        for name, unit, t, lim, y, over in table)
    colour = {"✓": "#009E73", "·": "#777777"}.get(verdict[:1], "#D55E00")
    line = f'<div style="color:{colour};font-weight:bold">{html.escape(verdict)}</div>' if verdict else ""
    display(HTML(line + head + body + "</table>"))
