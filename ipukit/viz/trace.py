"""The BSP execution trace, after PopVision's: what every tile does, cycle by cycle.

Time runs left to right through the executed steps in order (``profile.trace``)
and, inside each step, through its phases in order (``StepRecord.phases``).
In a phase a tile is busy for its own cycles (``Phase.tile_cycles``) and then
waits, in the idle colour, for the slowest tile: that wait is what the BSP
model costs when work is uneven.  A sync phase holds every tile.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from ..run.profile import PHASES
from ..palette import OKABE_ITO, PHASE_COLORS
from ._common import as_profile, new_figure, short

MAX_STEPS = 200          # default number of executed steps drawn
MAX_ROWS = 64            # more tiles than this are drawn as groups of neighbouring tiles
NAME_LIMIT = 10          # up to this many steps, their names label the top axis


def trace_phases(profile, first: int = 0, steps: int | None = None) -> list:
    """``(position in trace, step index, Phase, start cycle)`` of every drawn phase, in order."""
    if first < 0 or first > len(profile.trace):
        raise ValueError(f"first={first}: the trace holds {len(profile.trace)} executed steps")
    count = min(MAX_STEPS, len(profile.trace)) if steps is None else steps
    if count < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    out, t = [], 0
    for pos in range(first, min(first + count, len(profile.trace))):
        index = profile.trace[pos]
        for phase in profile.steps[index].phases:
            out.append((pos, index, phase, t))
            t += phase.cycles
    return out


def trace_rows(num_tiles: int, tiles=None, max_rows: int = MAX_ROWS) -> tuple:
    """The tiles drawn on each row and the rows' labels."""
    if tiles is not None:
        tiles = [int(t) for t in tiles]
        bad = [t for t in tiles if not 0 <= t < num_tiles]
        if bad:
            raise ValueError(f"plot_trace: tile {bad[0]} is out of range; the profile has {num_tiles} tiles "
                             f"(0 to {num_tiles - 1})")
        return [np.array([t]) for t in tiles], [str(t) for t in tiles]
    if num_tiles <= max_rows:
        return [np.array([t]) for t in range(num_tiles)], [str(t) for t in range(num_tiles)]
    groups = np.array_split(np.arange(num_tiles), max_rows)
    return groups, [f"{g[0]}-{g[-1]}" for g in groups]


def plot_trace(profile, steps: int | None = None, first: int = 0, tiles=None, max_rows: int = MAX_ROWS,
               aggregate: str = "max", title: str | None = None):
    """Draw the execution trace of a run: tiles (rows) x cycles, coloured by phase.

    Args:
        profile: ``engine.profile`` (or the Engine after ``run()``).
        steps: how many executed steps to draw, from ``first`` (default: all, up to 200).
        tiles: the tiles to draw, one row each.  By default every tile; with more
            than ``max_rows`` tiles, each row is a group of neighbouring tiles
            showing its busiest tile (``aggregate="max"``, the one that sets the
            phase length) or the group's mean (``"mean"``).
    """
    profile = as_profile(profile)
    if aggregate not in ("max", "mean"):
        raise ValueError(f"plot_trace: aggregate must be 'max' or 'mean', got {aggregate!r}")
    phases = trace_phases(profile, first, steps)
    rows, labels = trace_rows(profile.num_tiles, tiles, max_rows)
    fig = new_figure(11, 1.6 + 0.16 * min(len(rows), 48) + 0.9)
    ax, strip = fig.subplots(2, 1, height_ratios=[max(3, 0.16 * len(rows)), 0.55])
    end = draw_trace(ax, profile, phases, rows, labels, aggregate)
    draw_summary_strip(strip, profile, phases)
    shown = len({p[0] for p in phases})
    executed = len(profile.trace)
    text = (f"BSP execution trace: {shown:,} of {executed:,}{'' if profile.trace_complete else '+'} "
            f"executed steps, {end:,} cycles")
    if len(rows) < profile.num_tiles and tiles is None:
        text += f"; each row is a group of tiles ({aggregate})"
    fig.suptitle(title or text)
    return fig


def draw_trace(ax, profile, phases, rows, labels, aggregate="max") -> int:
    """One PolyCollection per phase kind, labelled with the kind; returns the last cycle drawn."""
    n = len(rows)
    agg = np.max if aggregate == "max" else np.mean
    boxes = {k: [] for k in PHASES}
    ys = np.arange(n, dtype=float)
    for _, _, phase, start in phases:
        if phase.cycles == 0:
            continue
        if phase.tile_cycles is None:            # a sync holds every tile
            busy = np.full(n, float(phase.cycles))
        else:
            busy = np.array([agg(phase.tile_cycles[r]) for r in rows], float)
        keep = busy > 0
        boxes[phase.kind].append(np.stack([np.full(keep.sum(), float(start)), ys[keep], busy[keep]], axis=1))
    for kind, parts in boxes.items():
        if parts:
            x0, y, w = np.concatenate(parts).T
            verts = np.stack([np.stack([x0, y - 0.4], 1), np.stack([x0 + w, y - 0.4], 1),
                              np.stack([x0 + w, y + 0.4], 1), np.stack([x0, y + 0.4], 1)], axis=1)
            ax.add_collection(PolyCollection(verts, facecolors=PHASE_COLORS[kind], edgecolors="none",
                                             label=kind))
    end = phases[-1][3] + phases[-1][2].cycles if phases else 0
    ax.set_facecolor(PHASE_COLORS["idle"])
    ax.set_xlim(0, max(end, 1))
    ax.set_ylim(n - 0.5, -0.5)
    step_starts = [start for i, (pos, _, _, start) in enumerate(phases) if i == 0 or phases[i - 1][0] != pos]
    if len(step_starts) <= MAX_STEPS:
        ax.vlines(step_starts[1:], -0.5, n - 0.5, colors=OKABE_ITO["black"], lw=0.6, alpha=0.6)
    if 0 < len(step_starts) <= NAME_LIMIT:
        bounds = step_starts + [end]
        names = [step_label(profile.steps[idx]) for i, (pos, idx, _, _) in enumerate(phases)
                 if i == 0 or phases[i - 1][0] != pos]
        room = max(6, 100 // len(names))
        top = ax.secondary_xaxis("top")
        top.set_xticks([(a + b) / 2 for a, b in zip(bounds[:-1], bounds[1:])],
                       [short(nm, room) for nm in names], fontsize=7)
        top.tick_params(length=0)
    step = max(1, -(-n // 32))
    ax.set_yticks(range(0, n, step), labels[::step], fontsize=7)
    ax.set_ylabel("tile")
    ax.set_xlabel("cycles")
    kinds = [k for k in PHASES if boxes[k]]
    ax.legend([Patch(color=PHASE_COLORS[k]) for k in kinds] + [Patch(color=PHASE_COLORS["idle"], ec="0.6")],
              kinds + ["idle (waiting)"], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1),
              frameon=False)
    return end


def step_label(record) -> str:
    """A short name for a step: "Execute 'add'", "Copy", "stream copy"."""
    if record.kind == "execute":
        return record.name.split(" (")[0]
    return {"copy": "Copy", "host": "stream copy", "remote": "remote copy"}.get(record.kind, record.name)


def draw_summary_strip(ax, profile, phases) -> None:
    """Cycle proportions of the drawn steps, and tile balance (mean / max compute per tile)."""
    totals = {k: 0 for k in PHASES}
    compute = np.zeros(profile.num_tiles, np.int64)
    for _, _, phase, _ in phases:
        totals[phase.kind] += phase.cycles
        if phase.kind == "compute" and phase.tile_cycles is not None:
            compute += phase.tile_cycles
    total = sum(totals.values())
    left = 0.0
    for k in PHASES:
        share = totals[k] / total if total else 0.0
        if share:
            ax.barh(0, share, left=left, color=PHASE_COLORS[k], height=0.8)
            if share > 0.07:
                ax.text(left + share / 2, 0, f"{k} {100 * share:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if k in ("compute", "host", "remote") else "black")
        left += share
    busy = compute[compute > 0]
    balance = f"{busy.mean() / busy.max():.2f}" if busy.size else "n/a (no compute)"
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("cycles " + " : ".join(f"{k} {totals[k]:,}" for k in PHASES)
                 + f"    tile balance (mean / max compute of the {busy.size} computing tiles) {balance}",
                 fontsize=8, loc="left")


def profile_bars(profile, per_run: bool = False, top: int = 25, title: str | None = None):
    """Cycles by phase for each step that ran, stacked: where the time of a run goes.

    ``per_run=True`` shows one execution of each step; by default each step's
    bar is its cycles times how often it ran.  At most ``top`` steps (the
    costliest), in program order.
    """
    profile = as_profile(profile)
    ran = [r for r in profile.steps if r.count]
    weight = (lambda r: 1) if per_run else (lambda r: r.count)
    ran = sorted(sorted(ran, key=lambda r: -weight(r) * r.cycles())[:top], key=lambda r: r.index)
    fig = new_figure(10, 1.4 + 0.32 * max(len(ran), 1))
    ax = fig.subplots()
    y = np.arange(len(ran))
    left = np.zeros(len(ran))
    for k in PHASES:
        widths = np.array([weight(r) * r.cycles(k) for r in ran], float)
        if widths.any():
            ax.barh(y, widths, left=left, color=PHASE_COLORS[k], label=k, height=0.7)
        left += widths
    ax.set_yticks(y, [f"{short(r.name, 40)}" + ("" if per_run else f"  x{r.count:,}") for r in ran], fontsize=8)
    ax.set_ylim(len(ran) - 0.5, -0.5)
    ax.set_xlabel("cycles per execution" if per_run else "cycles in the run (cycles per execution x runs)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    hidden = sum(1 for r in profile.steps if r.count) - len(ran)
    fig.suptitle(title or f"Cycles by phase per step: {profile.total_cycles:,} cycles in the run"
                 + (f" ({hidden} smaller steps not shown)" if hidden > 0 else ""))
    return fig
