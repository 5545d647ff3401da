"""The six worker slots of one tile during one compute set, as a Gantt chart.

A tile's six workers share one pipeline round-robin: each issues an instruction
every sixth cycle, so a vertex of ``c`` worker cycles occupies its worker for
``6 c`` tile cycles.  The supervisor starts the vertices in the order they were
added, each on the next free worker; a MultiVertex runs on all six
(:func:`ipukit.cost.list_schedule`).  The tile is done when its last worker is,
then copies fields between places on the same tile at the store bandwidth.
"""
from __future__ import annotations

import numpy as np

from ..compile.compute_set import worker_schedule
from ..core.graph import ComputeSet
from ..palette import OKABE_ITO, PHASE_COLORS
from ._common import as_engine, new_figure, short, tint


def find_compute_plan(engine, compute_set=None):
    """The compiled plan of a compute set: given as a ComputeSet, its name, or None (the first one)."""
    plans = engine.layout.compute
    if not plans:
        raise ValueError("this engine runs no compute set (no Execute in its programs), so no worker runs")
    if compute_set is None:
        return next(iter(plans.values()))
    if isinstance(compute_set, ComputeSet):
        if compute_set in plans:
            return plans[compute_set]
        name = compute_set.name
    elif isinstance(compute_set, str):
        found = [p for cs, p in plans.items() if cs.name == compute_set]
        if found:
            return found[0]
        name = compute_set
    else:
        raise TypeError(f"compute_set must be a ComputeSet, its name or None; got {type(compute_set).__name__}")
    known = ", ".join(f"'{cs.name}'" for cs in plans)
    raise KeyError(f"compute set '{name}' is not run by this engine's programs; it runs {known}")


def plot_worker_slots(engine, compute_set=None, tile: int = 0, title: str | None = None):
    """Draw what each worker of ``tile`` runs during ``compute_set`` (default: the first one).

    Bars are vertices, in tile cycles; the dashed line is when this tile is done,
    the solid one when the compute phase ends (its slowest tile).
    """
    engine = as_engine(engine, "plot_worker_slots")
    spec = engine.graph.spec
    graph_tile = engine.graph.check_tile(tile, "plot_worker_slots")
    plan = find_compute_plan(engine, compute_set)
    schedule = worker_schedule(plan, spec, graph_tile)
    compute = next(p for p in plan.phases if p.kind == "compute")
    w = spec.workers_per_tile
    loads = np.zeros(w, np.int64)
    for worker, start, length, _ in schedule:
        loads[worker] = max(loads[worker], start + length)
    copies = int(compute.tile_cycles[graph_tile]) - int(loads.max(initial=0))
    fig = new_figure(10, 1.6 + 0.45 * (w + 1))
    ax = fig.subplots()
    shades = [PHASE_COLORS["compute"], tint(PHASE_COLORS["compute"], 0.35)]
    for i, (worker, start, length, vertex) in enumerate(schedule):
        ax.barh(worker, length, left=start, height=0.7, color=shades[i % 2], edgecolor="white", lw=0.8,
                gid=f"vertex {vertex.name}")
        if len(schedule) <= 24:
            ax.text(start + length / 2, worker, short(vertex.name, 14), ha="center", va="center", fontsize=7,
                    color="white" if i % 2 == 0 else "black", clip_on=True)
    done = int(loads.max(initial=0))
    if copies > 0:
        ax.barh(w, copies, left=done, height=0.7, color=PHASE_COLORS["exchange"], hatch="//", gid="on-tile copies")
    ax.axvline(done + max(copies, 0), color=OKABE_ITO["black"], ls="--", lw=1,
               label=f"tile {graph_tile} done: {done + max(copies, 0):,} cycles")
    ax.axvline(compute.cycles, color=OKABE_ITO["vermillion"], lw=1.2,
               label=f"compute phase ends: {compute.cycles:,} cycles (slowest tile)")
    rows = w + (copies > 0)
    ax.set_yticks(range(rows), [f"worker {i}" for i in range(w)] + ["on-tile copies"] * (copies > 0))
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlim(0, max(compute.cycles, 1) * 1.03)
    ax.set_xlabel(f"tile cycles (a worker issues one instruction every {w} cycles)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    used = int((loads > 0).sum())
    count = len({id(vertex) for _, _, _, vertex in schedule})      # a MultiVertex has one bar per worker
    multi = sum(1 for v in {id(vertex): vertex for _, _, _, vertex in schedule}.values() if v.codelet.multi)
    also = f" ({multi} MultiVertex run by every worker)" if multi else ""
    fig.suptitle(title or f"Workers of tile {graph_tile} in compute set '{plan.compute_set.name}': "
                 f"{count} {'vertex' if count == 1 else 'vertices'}{also} on {used} of {w} workers")
    return fig
