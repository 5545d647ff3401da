"""The picture of a puzzle run (notebook 11): tiles, what each holds, supersteps, moves, workers.

GPU-Puzzles draws which cells each thread reads; on the IPU the unit is the tile, so
this draws, from a run:

- a top row with what each tile holds of the puzzle's tensors (``a[0:32]``);
- one row per superstep, in the order they ran: an orange arrow for every pair of
  tiles that exchanged data (the width grows with the bytes, the label gives them),
  and in each tile box six bars, its workers, as tall as the cycles each was busy
  (blue), with the tile's vertex count and compute cycles underneath.

:func:`puzzle_trace` turns a run into plain data (what the course stores as the
target picture of each puzzle, drawn from a reference run of the model solution);
:func:`draw_puzzle` draws such data on an Axes; :func:`plot_puzzle` puts the target
and your run side by side, :func:`plot_run` draws one run alone.
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.path import Path

from ipukit.core import cost
from ipukit.palette import OKABE_ITO, PHASE_COLORS
from ipukit.viz import IPUFigure, exchange_matrix

MAX_STEPS = 8            # supersteps drawn; a longer run is cut with a note
BOX = 0.74               # width of a tile box, in data units (tiles are 1 apart)


# --- from a run to plain data -------------------------------------------------------------
def puzzle_trace(engine, tensors: dict, costs: dict | None = None) -> dict:
    """Plain data (JSON-able) to draw a run: what each tile holds, and each superstep run.

    Args:
        engine: an Engine that has run.
        tensors: ``{name: tensor}`` whose placement is listed per tile (the puzzle's inputs and outputs).
        costs: the costs to print under the picture (``ipukit.puzzles.measure``).
    """
    g = engine.graph
    tiles = g.num_tiles
    holds = [[] for _ in range(tiles)]
    for name, t in tensors.items():
        where = g.element_tiles(t)
        for tile in range(tiles):
            text = _describe(name, where == tile)
            if text:
                holds[tile].append(text)
    steps = []
    profile = engine.profile
    for index in profile.trace[:MAX_STEPS]:
        record = profile.steps[index]
        if record.kind not in ("execute", "copy"):
            continue
        matrix = exchange_matrix(engine, index)
        src, dst = np.nonzero(matrix)
        step = {"label": _step_label(record), "kind": record.kind,
                "moves": [[int(s), int(d), int(matrix[s, d])] for s, d in zip(src, dst)],
                "exchange_cycles": record.cycles("exchange"),
                "compute_cycles": [int(c) for c in record.tile_cycles("compute", tiles)],
                "vertices": None, "workers": None, "reads": None}
        if record.kind == "execute":
            step["vertices"], step["workers"], step["reads"] = _workers(engine, index, tiles)
        steps.append(step)
    return {"tiles": tiles, "workers": g.spec.workers_per_tile, "holds": holds, "steps": steps,
            "more_steps": max(0, len(profile.trace) - MAX_STEPS), "costs": dict(costs or {})}


def _step_label(record) -> str:
    """``Execute 'add ten'`` (the profile's step name without its vertex count)."""
    name = record.name.split(" (")[0]
    return name if len(name) <= 48 else name[:47] + "…"


def _workers(engine, index, tiles):
    """Per tile: its vertices, each worker's busy tile cycles (each vertex on the next free worker, as the
    cost model schedules them), and the views its vertices read (inputs and in-outs, by name, each once).

    Read from the compiled step's compute plan; if this version of ipukit keeps it
    elsewhere, the picture goes without worker bars rather than failing.
    """
    try:
        plan = engine.steps[index].compute
        vtiles = np.asarray(plan.vertex_tiles)
        vcycles = np.asarray(plan.vertex_cycles)
        vertices = plan.compute_set.vertices
    except AttributeError:
        return None, None, None
    spec = engine.graph.spec
    w = spec.workers_per_tile
    multi = getattr(plan, "vertex_multi", None)
    # a worker issues every w-th cycle: its busy tile cycles are w x when it finishes
    loads = w * cost.worker_loads(spec, max(tiles, int(vtiles.max(initial=-1)) + 1), vtiles, vcycles, multi)[:tiles]
    counts = np.bincount(vtiles, minlength=tiles)[:tiles].astype(np.int64)
    reads = [[] for _ in range(tiles)]
    for t, v in zip(vtiles.tolist(), vertices):
        for f in v.codelet.fields:
            name = v.tensors[f.name].name
            if f.kind != "out" and name not in reads[t]:
                reads[t].append(name)
    return counts.tolist(), loads.tolist(), reads


def _describe(name: str, mask: np.ndarray) -> str:
    """``a[0:32]``, ``x[4:8, 0:4]``, ``out[0:6, :]`` or ``y: 48 elements`` for the elements in ``mask``."""
    count = int(mask.sum())
    if count == 0:
        return ""
    if count == mask.size:
        return name if mask.ndim == 0 else f"{name}[all]" if mask.ndim > 1 else f"{name}[0:{mask.size}]"
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other) if other else mask)
        box.append((int(hit[0]), int(hit[-1]) + 1))
    if count == int(np.prod([hi - lo for lo, hi in box])):
        parts = [":" if (lo, hi) == (0, n) and mask.ndim > 1 else f"{lo}:{hi}"
                 for (lo, hi), n in zip(box, mask.shape)]
        return f"{name}[{', '.join(parts)}]"
    if mask.ndim > 1:
        rows = mask.reshape(mask.shape[0], -1)
        whole = rows.all(axis=1)
        if (whole | ~rows.any(axis=1)).all():         # each name[i] is all here or not here at all
            return f"{name}: {int(whole.sum())} of {mask.shape[0]} {name}[i]"
    return f"{name}: {count} elements"


# --- drawing ----------------------------------------------------------------------------------
# A superstep row, from its top: a band for the arrows of its exchange, then the tile boxes with
# their worker bars, then a line of text under each box.
ARROWS, BOX_H, NOTE = 0.55, 0.5, 0.38
ROW = ARROWS + BOX_H + NOTE + 0.08


def draw_puzzle(ax, trace: dict, title: str = "", limits: dict | None = None) -> None:
    """Draw ``trace`` (from :func:`puzzle_trace`) on ``ax``; ``limits`` marks costs over budget in red."""
    tiles, workers = trace["tiles"], trace["workers"]
    steps = trace["steps"]
    peak = max([max(map(max, s["workers"])) for s in steps if s.get("workers")] + [1])
    lines = max([min(len(h), 5) for h in trace["holds"]] + [1])
    first = 0.3 + 0.14 * lines                     # where the first superstep row starts
    bottom = first + ROW * max(len(steps), 1)
    ax.set_xlim(-1.0, tiles - 0.4)
    ax.set_ylim(bottom + 0.35, -0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=11, loc="left")

    # the top row: each tile and what it holds
    for t in range(tiles):
        ax.text(t, -0.05, f"tile {t}", ha="center", va="bottom", fontsize=9, fontweight="bold")
        held = trace["holds"][t]
        text = "\n".join(held[:4] + ([f"+{len(held) - 4} more"] if len(held) > 4 else []))
        ax.text(t, 0.02, text or "(nothing)", ha="center", va="top", fontsize=7, family="monospace",
                color="#333333", linespacing=1.1)
    ax.text(-0.97, 0.02, "holds", ha="left", va="top", fontsize=8, color="#555555")

    for row, step in enumerate(steps):
        top = first + ROW * row
        ax.axhline(top, color=PHASE_COLORS["sync"], lw=1.5, zorder=0)
        ax.text(-0.97, top + 0.05, f"superstep {row + 1}\n{_wrap(step['label'], 16)}", ha="left", va="top",
                fontsize=7, color="#333333")
        for t in range(tiles):
            _draw_tile(ax, t, top + ARROWS, step, t, workers, peak)
        _draw_moves(ax, step["moves"], top + ARROWS)
    if not steps:
        ax.text((tiles - 1) / 2, first + 0.5, "no superstep ran", ha="center", va="center", fontsize=9,
                color="#555555")
    if trace.get("more_steps"):
        ax.text((tiles - 1) / 2, bottom, f"… and {trace['more_steps']} more supersteps not drawn",
                ha="center", va="top", fontsize=8, color="#555555")
    _draw_costs(ax, trace.get("costs") or {}, limits or {}, (tiles - 1.4) / 2, bottom + 0.12)


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.replace("'", "").split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines[:3])


def _draw_tile(ax, x, y0, step, t, workers, peak) -> None:
    """A tile's box in one superstep: its workers as bars, its vertices and compute cycles."""
    ax.add_patch(Rectangle((x - BOX / 2, y0), BOX, BOX_H, facecolor="white", edgecolor="#777777", lw=0.8,
                           zorder=2))
    loads = step["workers"][t] if step.get("workers") else None
    cycles = step["compute_cycles"][t]
    if loads is not None:
        width = BOX / (workers + 1)
        for w, load in enumerate(loads):
            h = (BOX_H - 0.08) * load / peak
            bx = x - BOX / 2 + width * (w + 0.5)
            ax.add_patch(Rectangle((bx, y0 + BOX_H - 0.04 - h), width * 0.8, h, facecolor=PHASE_COLORS["compute"],
                                   edgecolor="none", zorder=3))
        n = step["vertices"][t]
        note = f"{n} vert{'ex' if n == 1 else 'ices'}, {cycles:,} cycles" if n else "no vertex"
    else:
        note = f"on-tile copy, {cycles:,} cycles" if cycles else ""
    ax.text(x, y0 + BOX_H + 0.03, note, ha="center", va="top", fontsize=6.5, color="#333333")
    reads = (step.get("reads") or [[]] * (t + 1))[t]
    if reads:
        ax.text(x, y0 + BOX_H + 0.15, _reads_text(reads), ha="center", va="top", fontsize=6, family="monospace",
                color="#555555", linespacing=1.05)


def _reads_text(names, width: int = 26) -> str:
    """``reads a[0:32], b`` on at most two lines; a long list is counted instead."""
    lines, line = [], "reads"
    for name in names:
        piece = (" " if line == "reads" else ", ") + name
        if len(line) + len(piece) <= width:
            line += piece
            continue
        lines.append(line + ",")
        line = "  " + name
        if len(lines) == 2 or len(line) > width:
            return f"reads {len(names)} views"
    return "\n".join(lines + [line]) if len(lines) < 2 else f"reads {len(names)} views"


def _draw_moves(ax, moves, y) -> None:
    """Arcs above the tile boxes, one per pair of tiles that exchanged data, width ~ bytes."""
    if not moves:
        return
    most = max(m[2] for m in moves)
    label = len(moves) <= 8
    for s, d, nbytes in moves:
        width = 0.8 + 3.2 * nbytes / most
        dist = abs(d - s)
        rise = min(ARROWS - 0.06, (0.16 + 0.1 * dist) if d > s else (0.08 + 0.06 * dist))
        way = 1 if d > s else -1
        x0 = s + way * 0.1                             # leave from the side facing the receiver, and
        x1 = d - way * (0.06 + 0.06 * min(dist, 4))    # land nearer the middle the closer the sender is
        mid = (x0 + x1) / 2
        path = Path([(x0, y), (mid, y - 2 * rise), (x1, y)], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=7 + 1.5 * width, lw=width,
                                     color=PHASE_COLORS["exchange"], alpha=0.85, zorder=4))
        if label:
            ax.text(mid, y - rise, f"{nbytes:,} B", ha="center", va="center", fontsize=6.5,
                    color=OKABE_ITO["vermillion"], zorder=5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85})


def _draw_costs(ax, costs, limits, x, y) -> None:
    parts = []
    for name in ("supersteps", "exchange bytes", "cycles", "compute cycles", "peak tile SRAM"):
        if name in costs:
            unit = " B" if name in ("exchange bytes", "peak tile SRAM") else ""
            over = name in limits and costs[name] > limits[name]
            parts.append((f"{name} {costs[name]:,}{unit}", over))
    if not parts:
        return
    text = "   ".join(p for p, _ in parts)
    over = any(o for _, o in parts)
    ax.text(x, y, text, ha="center", va="top", fontsize=7.5,
            color=OKABE_ITO["vermillion"] if over else "#222222")


def plot_run(trace: dict, title: str = "", limits: dict | None = None):
    """One run's picture (a trace from :func:`puzzle_trace`) on its own."""
    fig = IPUFigure(figsize=(6.8, 1.6 + 1.25 * max(len(trace["steps"]), 1)), layout="constrained")
    draw_puzzle(fig.subplots(), trace, title, limits)
    return fig


def plot_puzzle(target: dict | None, yours, title: str = "", limits: dict | None = None,
                names=("target: the model solution", "yours")):
    """The target (a trace) and yours (a trace, or a message saying why there is none) side by side."""
    traces = [t for t in (target, yours) if isinstance(t, dict)]
    rows = max([len(t["steps"]) for t in traces] + [1])
    fig = IPUFigure(figsize=(13, 1.6 + 1.25 * rows), layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax, trace, name in ((left, target, names[0]), (right, yours, names[1])):
        if isinstance(trace, dict):
            draw_puzzle(ax, trace, name, limits if trace is yours else None)
        else:
            ax.set_axis_off()
            ax.set_title(name, fontsize=11, loc="left")
            ax.text(0.5, 0.55, str(trace), ha="center", va="center", fontsize=10, wrap=True,
                    color="#555555", transform=ax.transAxes)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig
