"""Block-sparse placements of :mod:`ipukit.sparse`: which tile multiplies each block, and the load per tile."""
from __future__ import annotations

import numpy as np

from ..palette import OKABE_ITO, PHASE_COLORS, SERIES
from ..sparse import BlockSparseMatmul
from ._common import new_figure


def draw_placement(ax, sp: BlockSparseMatmul) -> None:
    """Draw the block mask on ``ax``, each non-zero block in the colour of the tile that multiplies it."""
    from matplotlib.colors import to_rgb
    from matplotlib.ticker import MaxNLocator

    where = sp.block_tiles()
    rgba = np.ones(where.shape + (3,))
    for t in np.unique(where[where >= 0]):
        rgba[where == t] = to_rgb(SERIES[t % len(SERIES)])
    ax.imshow(rgba, interpolation="nearest")
    if where.size <= 400:
        for (i, k), t in np.ndenumerate(where):
            if t >= 0:
                r, g, b = rgba[i, k]
                ax.text(k, i, str(t), ha="center", va="center", fontsize=6,
                        color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    mb, kb = where.shape
    ax.set_xlabel(f"column of blocks ({kb} blocks of {sp.block_size} columns)")
    ax.set_ylabel(f"row of blocks ({mb} of {sp.block_size} rows)")


def plot_placement(sp: BlockSparseMatmul, title: str | None = None):
    """Left: the block mask, each non-zero block coloured by the tile that multiplies it.
    Right: non-zero blocks per tile, against the even share (dashed)."""
    from matplotlib.ticker import MaxNLocator

    tiles = sp.graph.num_tiles
    fig = new_figure(10, 4)
    grid, bars = fig.subplots(1, 2, width_ratios=[1, 1.4])
    draw_placement(grid, sp)
    grid.set_title(f"{sp.nnz} non-zero blocks ({sp.density:.0%}), coloured by tile", fontsize=9)
    counts = sp.tile_blocks()
    bars.bar(range(tiles), counts, color=[SERIES[t % len(SERIES)] for t in range(tiles)], edgecolor="white")
    bars.axhline(sp.nnz / tiles, color=OKABE_ITO["black"], ls="--", lw=1)
    bars.set_facecolor(PHASE_COLORS["idle"])
    bars.set_xlabel("tile")
    bars.set_ylabel("non-zero blocks multiplied")
    bars.set_xticks(range(0, tiles, max(1, tiles // 16)))
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_title(f"busiest tile {counts.max()} blocks; dashed: the even share, {sp.nnz / tiles:.1f}", fontsize=9)
    fig.suptitle(title or f"Placement '{sp.placement}': {sp.shape[0]} x {sp.shape[1]} block-sparse A times "
                 f"{sp.shape[1]} x {sp.n} B on {tiles} tiles")
    return fig
