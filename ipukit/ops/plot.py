"""A picture of a matmul plan: how M x N x K is cut, which tiles hold what, where the cycles go."""
from __future__ import annotations

import numpy as np

from ..palette import PHASE_COLORS, SERIES
from .planner import MatmulPlan

_MAX_LABELS = 48          # blocks per panel above which tile labels are left out


def plot_matmul_plan(plan: MatmulPlan, batch_element: int = 0):
    """A matplotlib Figure of ``plan`` (for batch element ``batch_element``).

    Left to right: A (M x K) with the tile holding each block, B (K x N) likewise,
    the output C (M x N) with the tiles that compute each block (one per K slice,
    then summed), and the estimated cycles of each step by phase.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if not 0 <= batch_element < plan.batch:
        raise ValueError(f"plot_matmul_plan: batch_element must be in 0..{plan.batch - 1}, got {batch_element}")
    sm, sn, sk = plan.splits
    mb, nb, kb = plan.m_bounds, plan.n_bounds, plan.k_bounds
    b = batch_element
    fig = plt.figure(figsize=(13, 4.2), layout="constrained")
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1, 1.2])
    axes = [fig.add_subplot(grid[0, x]) for x in range(4)]

    def blocks(ax, rows, cols, label_of, colour_of, title, xlabel, ylabel):
        label = (len(rows) - 1) * (len(cols) - 1) <= _MAX_LABELS
        for bi in range(len(rows) - 1):
            for bj in range(len(cols) - 1):
                x0, y0 = cols[bj], rows[bi]
                w, h = cols[bj + 1] - x0, rows[bi + 1] - y0
                ax.add_patch(Rectangle((x0, y0), w, h, facecolor=colour_of(bi, bj), edgecolor="white",
                                       linewidth=1.0, alpha=0.85))
                if label:
                    ax.text(x0 + w / 2, y0 + h / 2, label_of(bi, bj), ha="center", va="center", fontsize=7,
                            bbox=dict(facecolor="white", alpha=0.7, linewidth=0, pad=1))
        ax.set_xlim(0, cols[-1])
        ax.set_ylim(rows[-1], 0)
        ax.set_aspect("auto")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)

    def colour(x):
        return SERIES[x % len(SERIES)]

    blocks(axes[0], mb, kb, lambda i, d: f"t{plan.tile(b, i, plan.a_host(i, d), d)}",
           lambda i, d: colour(i * sk + d), f"A: M in {sm}, K in {sk}", "K", "M")
    blocks(axes[1], kb, nb, lambda d, j: f"t{plan.tile(b, plan.b_host(d, j), j, d)}",
           lambda d, j: colour(d * sn + j), f"B: K in {sk}, N in {sn}", "N", "K")

    def c_label(i, j):
        first, last = plan.tile(b, i, j, 0), plan.tile(b, i, j, sk - 1)
        return f"t{first}" if sk == 1 else f"t{first}-{last}"

    blocks(axes[2], mb, nb, c_label, lambda i, j: colour(i * sn + j),
           f"C: {sm} x {sn} blocks" + (f", each summed over {sk} tiles" if sk > 1 else ""), "N", "M")

    ax = axes[3]
    names = [name for name, _ in plan.steps]
    left = np.zeros(len(names))
    for kind in ("sync", "exchange", "compute"):
        values = np.array([phases[kind] for _, phases in plan.steps], float)
        ax.barh(names, values, left=left, color=PHASE_COLORS[kind], label=kind)
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("estimated cycles")
    ax.set_title(f"{plan.cycles:,} cycles = {plan.seconds * 1e6:,.1f} us", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    batch = f"batch element {b} of {plan.batch}, " if plan.batch > 1 else ""
    fig.suptitle(f"({plan.m} x {plan.k}) @ ({plan.k} x {plan.n}) {plan.dtype}: {batch}"
                 f"{plan.tiles_used} tiles; labels are tile ids", fontsize=11)
    return fig
