"""A picture of a matmul plan: how M x N x K is cut, which tiles hold what, where the cycles go.

The figure is built without pyplot (as every view in ``ipukit.viz``), so a notebook
cell that returns it shows it exactly once.
"""
from __future__ import annotations

import io

import numpy as np

from ..palette import PHASE_COLORS, SERIES
from .planner import MatmulPlan

_MAX_LABELS = 48          # blocks per panel above which tile labels are left out
_FONT = 7                 # points, the largest label font; labels that need less than _MIN_FONT are left out
_MIN_FONT = 5
_PANEL_INCHES = (2.6, 3.0)  # about the width and height of one block panel of the 13 x 4.2 in figure


def _figure(width: float, height: float):
    """A Figure outside pyplot's list of open figures, shown in Jupyter as a PNG."""
    from matplotlib.figure import Figure

    class PlanFigure(Figure):
        def _repr_png_(self):
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()

    return PlanFigure(figsize=(width, height), layout="constrained")


def label_font(rows, cols, labels) -> tuple:
    """``(font size in points, rotation)`` at which every block's label fits inside its block.

    ``rows`` and ``cols`` are block bounds; ``labels[i][j]`` the label of block
    (i, j).  A label needs about 0.6 em per character and 1.4 em across, so
    labels of neighbouring blocks never overlap; tall narrow blocks get upright
    labels (rotation 90) when that allows a larger font.  The size is 0 when
    no label fits at ``_MIN_FONT`` points.
    """
    width_in, height_in = _PANEL_INCHES
    across, upright = float(_FONT), float(_FONT)
    for bi in range(len(rows) - 1):
        for bj in range(len(cols) - 1):
            w = (cols[bj + 1] - cols[bj]) / cols[-1] * width_in * 72       # points
            h = (rows[bi + 1] - rows[bi]) / rows[-1] * height_in * 72
            long = 0.6 * len(labels[bi][bj]) + 0.4
            across = min(across, w / long, h / 1.4)
            upright = min(upright, h / long, w / 1.4)
    font, rotation = (across, 0) if across >= upright else (upright, 90)
    return (font, rotation) if font >= _MIN_FONT else (0.0, 0)


def plot_matmul_plan(plan: MatmulPlan, batch_element: int = 0):
    """A matplotlib Figure of ``plan`` (for batch element ``batch_element``).

    Left to right: A (M x K) with the tile holding each block, B (K x N) likewise,
    the output C (M x N) with the tiles that compute each block (one per K slice,
    then summed), and the estimated cycles of each step by phase.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if not 0 <= batch_element < plan.batch:
        raise ValueError(f"plot_matmul_plan: batch_element must be in 0..{plan.batch - 1}, got {batch_element}")
    sm, sn, sk = plan.splits
    mb, nb, kb = plan.m_bounds, plan.n_bounds, plan.k_bounds
    b = batch_element
    fig = _figure(13, 4.2)
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1, 1.2])
    axes = [fig.add_subplot(grid[0, x]) for x in range(4)]

    def blocks(ax, rows, cols, label_of, colour_of, title, xlabel, ylabel):
        labels = [[label_of(bi, bj) for bj in range(len(cols) - 1)] for bi in range(len(rows) - 1)]
        font, rotation = label_font(rows, cols, labels) if (len(rows) - 1) * (len(cols) - 1) <= _MAX_LABELS \
            else (0.0, 0)
        for bi in range(len(rows) - 1):
            for bj in range(len(cols) - 1):
                x0, y0 = cols[bj], rows[bi]
                w, h = cols[bj + 1] - x0, rows[bi + 1] - y0
                ax.add_patch(Rectangle((x0, y0), w, h, facecolor=colour_of(bi, bj), edgecolor="white",
                                       linewidth=1.0, alpha=0.85))
                if font:
                    ax.text(x0 + w / 2, y0 + h / 2, labels[bi][bj], ha="center", va="center", fontsize=font,
                            rotation=rotation, bbox=dict(facecolor="white", alpha=0.7, linewidth=0, pad=1))
        if not font:
            title += "\n(blocks too small to label)"
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
    ax.xaxis.set_major_locator(MaxNLocator(4))          # few, comma-separated ticks: they never run together
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("estimated cycles")
    ax.set_title(f"{plan.cycles:,} cycles = {plan.seconds * 1e6:,.1f} us", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    batch = f"batch element {b} of {plan.batch}, " if plan.batch > 1 else ""
    fig.suptitle(f"({plan.m} x {plan.k}) @ ({plan.k} x {plan.n}) {plan.dtype}: {batch}"
                 f"{plan.tiles_used} tiles; labels are tile ids", fontsize=11)
    return fig
