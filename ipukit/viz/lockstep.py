"""The lock-step (SIMD) machine of :mod:`ipukit.simd`, drawn lane by lane: work and padding."""
from __future__ import annotations

import heapq

import numpy as np

from ..palette import OKABE_ITO, PHASE_COLORS, SERIES
from ..simd import SIMDMachine
from ._common import new_figure


def plot_lockstep(machine: SIMDMachine, work, kinds=None, title: str | None = None):
    """Each lane of the lock-step machine over time: its work (blue) and its padding (pale).

    Groups of ``machine.group_lanes`` items (all lanes, or a warp) run in
    lock-step; a short black tick marks where each group ends, when its longest
    item does.  With warps, each warp runs on the lanes of the slot it was given.
    """
    work = np.asarray(work, float).reshape(-1)
    kind_ids = np.zeros(work.size, np.int64) if kinds is None else np.unique(np.asarray(kinds), return_inverse=True)[1]
    names = [None] if kinds is None else list(np.unique(np.asarray(kinds)))
    lanes, issue, size = machine.lanes, machine.issue_cycles, machine.group_lanes
    fig = new_figure(10, 1.4 + min(lanes, 96) * 0.035 + 0.6)
    ax = fig.subplots()
    lengths = machine.group_cycles(work, kind_ids)
    free = [(0.0, s) for s in range(machine.slots)]            # (time the slot frees, slot)
    end = 0.0
    for g, length in enumerate(lengths.tolist()):
        t0, slot = heapq.heappop(free)
        items, ks = work[g * size:(g + 1) * size], kind_ids[g * size:(g + 1) * size]
        t = t0
        for k in np.unique(ks):
            mine = ks == k
            color = PHASE_COLORS["compute"] if kinds is None else SERIES[int(k) % len(SERIES)]
            ax.barh(slot * size + np.flatnonzero(mine), issue * items[mine], left=issue * t, height=1.0,
                    color=color, linewidth=0)
            t += items[mine].max()
        ax.plot([issue * t] * 2, [slot * size - 0.5, (slot + 1) * size - 0.5], color=OKABE_ITO["black"], lw=0.6)
        heapq.heappush(free, (t0 + length, slot))
        end = max(end, issue * (t0 + length))
    ax.set_facecolor(PHASE_COLORS["idle"])
    ax.set_xlim(0, max(end, 1))
    ax.set_ylim(lanes - 0.5, -0.5)
    ax.set_ylabel("lane")
    ax.set_xlabel("cycles")
    useful = issue * work.sum() / lanes
    if kinds is not None:
        from matplotlib.patches import Patch
        ax.legend([Patch(color=SERIES[i % len(SERIES)]) for i in range(len(names))], [str(n) for n in names],
                  fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    what = "group(s)" if machine.warp is None else f"warp(s) of {machine.warp} on {machine.slots} slot(s)"
    fig.suptitle(title or f"{work.size} items on {lanes} lanes in lock-step, {len(lengths)} {what}: "
                 f"{end:,.0f} cycles, of which {useful / end if end else 1:.0%} useful work")
    return fig
