"""The tile memory map, after PopVision's memory report: where SRAM goes, tile by tile.

Two pictures of one :class:`~ipukit.memory.MemoryReport`:

* a grid of all tiles coloured by bytes used, on a fixed scale from empty to
  the tile's SRAM; tiles over capacity turn vermillion;
* bars of bytes per tile, stacked by category (data, vertex state, exchange
  buffers) or by tensor, with the SRAM per tile drawn as a dashed cap line.

The IPU has no DRAM to spill to, so a bar above the line is a program that
will not load.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..compile.sram import CATEGORIES
from ..palette import CATEGORY_COLORS, OKABE_ITO, OVER_CAPACITY, PHASE_COLORS
from ._common import BytesLocator, as_report, bytes_formatter, fmt_bytes, new_figure, sequential_cmap, tile_layout

BAR_LIMIT = 128          # more tiles than this: a filled step plot instead of bars
LABEL_LIMIT = 64         # up to this many tiles, the grid prints every tile's number
# Tensors get the series colours that no memory category uses; the rest is grey.
TENSOR_COLORS = [OKABE_ITO[k] for k in ("blue", "reddish purple", "sky blue", "yellow", "black")]
OTHER_COLOR = PHASE_COLORS["sync"]


def plot_memory(report, by: str = "category", top: int = 5, view: str = "both", title: str | None = None):
    """Draw a memory report: the tile grid and the stacked bars per tile.

    Args:
        report: ``engine.memory``, ``graph.memory_report()``, an Engine or a Graph.
        by: ``"category"`` (data / vertex state / exchange buffers) or ``"tensor"``
            (the ``top`` largest tensors, the rest grouped, plus the other categories).
        view: ``"both"``, ``"grid"`` or ``"bars"``.
    """
    report = as_report(report)
    if view not in ("both", "grid", "bars"):
        raise ValueError(f"plot_memory: view must be 'both', 'grid' or 'bars', got {view!r}")
    if view == "both":
        fig = new_figure(12, 4.4)
        grid_ax, bar_ax = fig.subplots(1, 2, width_ratios=[1, 1.7])
    else:
        fig = new_figure(6.5 if view == "grid" else 9, 4.4)
        grid_ax = bar_ax = fig.subplots()
    if view in ("both", "grid"):
        draw_tile_grid(grid_ax, report)
    if view in ("both", "bars"):
        draw_memory_bars(bar_ax, report, by=by, top=top)
    fig.suptitle(title or memory_headline(report))
    return fig


def memory_headline(report) -> str:
    cap, peak = report.capacity, report.peak_bytes
    text = (f"Tile memory: {report.num_tiles} tiles x {fmt_bytes(cap)}; busiest tile {report.max_tile} uses "
            f"{fmt_bytes(peak)} ({100 * peak / cap:.0f}% of its SRAM)")
    over = len(report.over_tiles)
    if over:
        text += f"; {over} tile{'s' if over > 1 else ''} OVER CAPACITY"
    return text


def draw_tile_grid(ax, report) -> None:
    """Every tile as a cell, coloured from empty (white) to full; over capacity in vermillion."""
    used = report.used
    rows, cols, row_of, col_of = tile_layout(report.spec)
    grid = np.full((rows, cols), np.nan)
    grid[row_of, col_of] = used
    # empty tiles are 'under' (vmin is 1 byte); cells past the last tile are 'bad'
    cmap = sequential_cmap("ipukit-memory", CATEGORY_COLORS["data"]).with_extremes(
        under="white", over=OVER_CAPACITY, bad="none")
    im = ax.imshow(grid, cmap=cmap, vmin=1, vmax=report.capacity, interpolation="nearest", aspect="equal")
    im.set_gid("tile-grid")
    cb = ax.figure.colorbar(im, ax=ax, extend="max", shrink=0.85, format=bytes_formatter, ticks=BytesLocator())
    cb.set_label("bytes used (white: empty, vermillion: over)")
    if report.num_tiles <= LABEL_LIMIT:
        for t in range(report.num_tiles):
            dark = used[t] > 0.6 * report.capacity
            ax.text(col_of[t], row_of[t], str(t), ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
    spec = report.spec
    block = rows // spec.num_ipus
    for i in range(1, spec.num_ipus):
        ax.axhline(i * block - 0.5, color="black", lw=1.5)
    ax.set_xticks([])
    if spec.num_ipus > 1:
        ax.set_yticks([(i + 0.5) * block - 0.5 for i in range(spec.num_ipus)],
                      [f"IPU {i}" for i in range(spec.num_ipus)])
    else:
        ax.set_yticks([])
    ax.set_xlabel(f"tile t sits at row t // {cols}, column t % {cols}")
    ax.set_title("all tiles", fontsize=10)


def memory_layers(report, by: str = "category", top: int = 5) -> list:
    """``(label, bytes per tile, colour)`` for each stacked layer; the layers sum to ``report.used``."""
    if by == "category":
        return [(c, report.category(c), CATEGORY_COLORS[c]) for c in CATEGORIES]
    if by == "tensor":
        layers = []
        for i, (name, per_tile) in enumerate(report.by_tensor(top=top).items()):
            color = OTHER_COLOR if name == "other tensors" else TENSOR_COLORS[i % len(TENSOR_COLORS)]
            layers.append((f"'{name}'" if name != "other tensors" else name, per_tile, color))
        # tensors are stored unpadded in the report; the padding to the alignment is data too
        padding = report.category("data") - sum((p for _, p, _ in layers), np.zeros(report.num_tiles, np.int64))
        if padding.any():
            layers.append(("alignment padding", padding, PHASE_COLORS["idle"]))
        return layers + [(c, report.category(c), CATEGORY_COLORS[c]) for c in CATEGORIES[1:]]
    raise ValueError(f"plot_memory: by must be 'category' or 'tensor', got {by!r}")


def draw_memory_bars(ax, report, by: str = "category", top: int = 5) -> None:
    """Stacked bytes per tile, the SRAM cap line, and over-capacity tiles marked."""
    n = report.num_tiles
    x = np.arange(n)
    bottom = np.zeros(n, np.int64)
    bars = n <= BAR_LIMIT
    for label, values, color in memory_layers(report, by, top):
        if not values.any():
            continue
        if bars:
            ax.bar(x, values, bottom=bottom, width=0.8, color=color, label=label)
        else:
            ax.stairs(bottom + values, np.arange(n + 1) - 0.5, baseline=bottom, fill=True, color=color,
                      label=label)
        bottom = bottom + values
    cap = report.capacity
    ax.axhline(cap, color=OKABE_ITO["black"], ls="--", lw=1.2, label=f"SRAM per tile ({fmt_bytes(cap)})",
               gid="sram-cap")
    over = report.over_tiles
    if len(over):
        used = report.used
        ax.bar(over, used[over], width=0.9 if bars else 1.0, fill=False, edgecolor=OVER_CAPACITY, lw=1.5)
        ax.scatter(over, used[over], marker="v", s=30, color=OVER_CAPACITY, zorder=3, label="over capacity",
                   gid="over-capacity")
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0, 1.12 * max(cap, int(bottom.max(initial=0))))
    ax.yaxis.set_major_locator(BytesLocator())
    ax.yaxis.set_major_formatter(bytes_formatter)
    ax.set_xlabel("tile")
    ax.set_ylabel("SRAM used")
    ax.set_title(f"bytes per tile, by {by}", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    order = [i for i, h in enumerate(handles) if not isinstance(h, Line2D)] + \
            [i for i, h in enumerate(handles) if isinstance(h, Line2D)]
    ax.figure.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=8,
                     loc="outside lower center", ncols=min(len(order), 4), frameon=False)
