"""Figures for the memory-fit analysis: what takes the space, and how a pipeline is cut.

matplotlib is imported inside each function, so ``import ipukit.models`` stays fast.
"""
from __future__ import annotations

from .. import palette
from ..core.spec import GC2, GC200
from . import _format as fmt
from .fit import FitReport, fit
from .model import Model
from .pipeline import PipelinePlan
from .setup import RESERVED_FRACTION, MemoryBreakdown

MEMORY_COLORS = {
    "weights": palette.OKABE_ITO["blue"],
    "gradients": palette.OKABE_ITO["orange"],
    "master": palette.OKABE_ITO["reddish purple"],
    "optimizer": palette.OKABE_ITO["sky blue"],
    "activations": palette.OKABE_ITO["bluish green"],
    "partials": palette.OKABE_ITO["yellow"],
}
CAPACITY_STYLES = ("--", "-", ":", "-.")        # one line style per IPU type
MIB = fmt.MIB


def _axes(ax, size):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=size)
    return ax


def plot_memory(models, ipus=(GC2, GC200), *, reserve=RESERVED_FRACTION, log=None, ax=None,
                **options):
    """Stacked bars of each model's memory (MiB) against the SRAM of one IPU of each type.

    ``models``: Models (analysed with ``options``, as :func:`ipukit.models.fit`) or
    FitReports. Solid and dashed lines mark each IPU's SRAM; a thin line of the same style
    the part left after the reserve. ``log=None`` picks a log scale when sizes span more
    than 30x (the totals stay exact, but on a log scale a segment's height is no longer
    proportional to its share). Returns the Axes.
    """
    if isinstance(models, (Model, FitReport)):
        models = [models]
    reports = [m if isinstance(m, FitReport) else fit(m, ipus[0], reserve=reserve, **options)
               for m in models]
    if not reports:
        raise ValueError("plot_memory: give at least one model or FitReport")
    ax = _axes(ax, (1.2 + 1.1 * len(reports), 4.2))
    xs = range(len(reports))
    bottoms = [0.0] * len(reports)
    for kind, _ in MemoryBreakdown().items():
        heights = [getattr(r.memory, kind) / MIB for r in reports]
        if any(heights):
            ax.bar(xs, heights, 0.6, bottom=bottoms, color=MEMORY_COLORS[kind],
                   label=MemoryBreakdown.LABELS[kind])
            bottoms = [b + h for b, h in zip(bottoms, heights)]
    for ipu, style in zip(ipus, CAPACITY_STYLES):
        sram = ipu.tiles * ipu.sram_bytes_per_tile / MIB
        ax.axhline(sram, color=palette.OKABE_ITO["black"], linestyle=style, linewidth=1.2,
                   label=f"one {ipu.name}: {sram:,.0f} MiB SRAM")
        ax.axhline(sram * (1 - reserve), color=palette.OKABE_ITO["black"], linestyle=style,
                   linewidth=0.5, alpha=0.6)
    usable = max(ipu.tiles * ipu.sram_bytes_per_tile for ipu in ipus) * (1 - reserve) / MIB
    for x, total in zip(xs, bottoms):
        color = palette.OVER_CAPACITY if total > usable else palette.OKABE_ITO["black"]
        ax.annotate(f"{total:,.0f}", (x, total), ha="center", va="bottom", fontsize=8,
                    color=color, xytext=(0, 2), textcoords="offset points")
    low = min(min(bottoms), min(i.tiles * i.sram_bytes_per_tile / MIB for i in ipus))
    high = max(max(bottoms), usable)
    if log if log is not None else high / max(low, 1e-9) > 30:
        ax.set_yscale("log")
        lowest = [next(b for _, b in r.memory.items() if b) / MIB for r in reports]
        ax.set_ylim(bottom=min(lowest) / 2)        # show each bar's bottom segment
    ax.set_xticks(list(xs), [r.model for r in reports], rotation=20, ha="right")
    ax.set_ylabel("memory (MiB)")
    ax.set_title(f"Memory per model: {reports[0].setup.describe()}\n"
                 f"(thin lines: SRAM left after a {reserve:.0%} reserve)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def plot_stages(plan: PipelinePlan, ax=None):
    """A pipeline as boxes, one per IPU: each box is filled by its stage's memory (stacked
    by kind, the box's top is the usable SRAM) and labelled with its layers and FLOPs;
    arrows carry the bytes sent to the next stage per micro-batch. Returns the Axes."""
    if not isinstance(plan, PipelinePlan):
        raise TypeError(f"plot_stages needs a PipelinePlan from ipukit.models.pipeline(), got "
                        f"{type(plan).__name__}")
    if not plan.feasible:
        raise ValueError(f"plot_stages: the plan for {plan.model} has no stages to draw: "
                         f"{plan.reason}")
    from matplotlib.patches import Rectangle
    n = plan.ipus
    ax = _axes(ax, (max(4.0, 2.1 * n), 4.2))
    width, gap = 1.0, 0.6
    usable = plan.usable_bytes

    def room(stage):
        """This IPU's usable SRAM (IPUs differ when matmul_proportion gives one share each)."""
        return stage.usable_bytes or usable

    top = max(1.0, max(s.memory.total / room(s) for s in plan.stages))
    drawn = set()
    for s in plan.stages:
        x0 = s.index * (width + gap)
        y = 0.0
        for kind, nbytes in s.memory.items():
            if nbytes:
                h = nbytes / room(s)
                ax.add_patch(Rectangle((x0, y), width, h, facecolor=MEMORY_COLORS[kind],
                                       edgecolor="none", alpha=0.85,
                                       label=None if kind in drawn
                                       else MemoryBreakdown.LABELS[kind]))
                drawn.add(kind)
                y += h
        ax.add_patch(Rectangle((x0, 0), width, 1.0, fill=False, linewidth=1.2,
                               edgecolor=palette.OKABE_ITO["black"]))
        ax.text(x0 + width / 2, top + 0.04, f"IPU {s.index}", ha="center", va="bottom",
                fontsize=9, weight="bold")
        span = s.first if s.layers == 1 else f"{s.first}\n..\n{s.last}"
        ax.text(x0 + width / 2, -0.06, f"{span}\n{_layers(s.layers)}\n"
                f"{fmt.mib(s.memory.total)}\n{fmt.count(s.flops, 'FLOP')}/sample",
                ha="center", va="top", fontsize=6.5)
        if s.index < n - 1:
            nxt = x0 + width + gap
            ax.annotate("", (nxt, 0.5), (x0 + width, 0.5),
                        arrowprops=dict(arrowstyle="->", color=palette.PHASE_COLORS["exchange"],
                                        linewidth=1.5))
            ax.text(x0 + width + gap / 2, 0.55, fmt.count(s.forward_bytes, "B"), ha="center",
                    va="bottom", fontsize=7, color=palette.PHASE_COLORS["exchange"])
    ax.set_xlim(-0.2, n * (width + gap) - gap + 0.2)
    ax.set_ylim(-0.9, top + 0.2)
    ax.axis("off")
    boxes = (f"the {fmt.mib(usable)} usable on one IPU"
             if len({room(s) for s in plan.stages}) == 1 else "its IPU's usable SRAM")
    ax.set_title(f"{plan.model} on {n} x {plan.ipu}: {plan.setup.describe()}\n"
                 f"bubble {plan.bubble:.0%} with {plan.micro_batches} micro-batches; each box is "
                 f"{boxes}", fontsize=9, wrap=True)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), frameon=False,
              ncol=len(drawn))
    return ax


def _layers(count):
    return f"{count} layer{'s' if count != 1 else ''}"
