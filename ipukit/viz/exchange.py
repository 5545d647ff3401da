"""The exchange of one step: which tile sends how many bytes to which.

Built from the plans the cost model charges: an Execute step's ``gather``
(fields brought to their vertices before compute) and ``scatter`` (outputs
written back after it), or a Copy step's ``plan``.  Runs that stay on one tile
are on-tile copies, paid as compute, so the matrix leaves them out unless asked.

``matrix[s, d]`` counts the bytes tile ``d`` receives from tile ``s``.  Its
column sums are the bytes each tile receives; a row sum can exceed what tile
``s`` puts on the exchange, because a value broadcast to many tiles is sent once.
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..palette import OKABE_ITO, PHASE_COLORS
from ._common import (BytesLocator, as_engine, bytes_formatter, fmt_bytes, new_figure, sequential_cmap, short,
                      tile_layout)

ARROW_LIMIT = 32         # up to this many tiles, arrows between tile positions are drawn too
PAIR_LIMIT = 96          # more sending pairs than this would be a tangle: the matrix says it better
WHICH = ("all", "gather", "scatter")


def step_plans(step, which: str = "all") -> list:
    """The charged exchange plans of a compiled step (``engine.steps[i]``)."""
    if which not in WHICH:
        raise ValueError(f"which must be one of {', '.join(WHICH)}; got {which!r}")
    if step.kind == "execute":
        plans = {"gather": step.compute.gather, "scatter": step.compute.scatter}
        return list(plans.values()) if which == "all" else [plans[which]]
    if step.kind == "copy":
        if which != "all":
            raise ValueError(f"step '{step.name}' is a Copy: it has one exchange, so use which='all' "
                             f"(gather and scatter are the two exchanges of an Execute step)")
        return [step.plan]
    kind = "a host stream copy (host <-> tiles)" if step.kind == "host" else "a control step (no data moves)"
    raise ValueError(f"step '{step.name}' is {kind}, not an exchange between tiles; pick an Execute or a Copy step")


def _remote_bytes(step) -> int:
    if step.kind not in ("execute", "copy"):
        return 0
    return sum(int(p.nbytes[p.src_tile != p.dst_tile].sum()) for p in step_plans(step))


def find_step(engine, step):
    """``(index, Step)`` for an index into ``engine.steps``, a Step, or None (the busiest exchange)."""
    steps = engine.steps
    if step is None:
        moved = [_remote_bytes(s) for s in steps]
        if not moved or max(moved) == 0:
            raise ValueError("this program moves no data between tiles, so there is no exchange to draw; "
                             "every field of every vertex is already on its tile")
        index = int(np.argmax(moved))
        return index, steps[index]
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        if not -len(steps) <= step < len(steps):
            raise IndexError(f"step {step} is out of range: this engine has {len(steps)} compiled steps "
                             f"(engine.steps[0] to engine.steps[{len(steps) - 1}])")
        return int(step) % len(steps), steps[step]
    for i, s in enumerate(steps):
        if s is step:
            return i, s
    raise TypeError(f"step must be an index into engine.steps, one of its steps, or None; got {step!r}")


def exchange_matrix(engine, step=None, which: str = "all", include_local: bool = False) -> np.ndarray:
    """Bytes moved from each source tile (rows) to each destination tile (columns) in one step.

    Args:
        engine: the Engine (its compiled ``engine.steps`` hold the plans).
        step: index into ``engine.steps`` (default: the step that moves most bytes between tiles).
        which: for an Execute step, ``"gather"`` (before compute), ``"scatter"``
            (after it) or ``"all"`` (both).
        include_local: also count on-tile copies, on the diagonal.
    """
    engine = as_engine(engine, "exchange_matrix")
    _, st = find_step(engine, step)
    n = engine.graph.num_tiles
    matrix = np.zeros((n, n), np.int64)
    for plan in step_plans(st, which):
        keep = np.ones(len(plan), bool) if include_local else plan.src_tile != plan.dst_tile
        np.add.at(matrix, (plan.src_tile[keep], plan.dst_tile[keep]), plan.nbytes[keep])
    return matrix


def _exchange_cycles(st, which) -> int:
    phases = [p for p in st.phases if p.kind == "exchange"]
    if st.kind == "execute" and which != "all":
        # the gather's exchange comes before the compute phase, the scatter's after it
        kinds = [p.kind for p in st.phases]
        comp = kinds.index("compute")
        phases = [p for i, p in enumerate(st.phases) if p.kind == "exchange" and (i < comp) == (which == "gather")]
    return sum(p.cycles for p in phases)


def plot_exchange(engine, step=None, which: str = "all", arrows: bool | None = None, title: str | None = None):
    """Draw one step's exchange: a source x destination heatmap, and arrows for small tile counts.

    Arrows join tile positions (as in the memory map's grid); their width grows
    with the bytes moved.  They are drawn for up to 32 tiles unless ``arrows``
    says otherwise.
    """
    engine = as_engine(engine, "plot_exchange")
    index, st = find_step(engine, step)
    matrix = exchange_matrix(engine, index, which)
    n = matrix.shape[0]
    arrows = n <= ARROW_LIMIT if arrows is None else arrows
    fig = new_figure(12 if arrows else 6.5, 5)
    axes = fig.subplots(1, 2 if arrows else 1, width_ratios=[1, 1.1] if arrows else None)
    heat_ax = axes[0] if arrows else axes
    draw_matrix(heat_ax, matrix)
    if arrows:
        draw_arrows(axes[1], engine.graph.spec, matrix)
    received = matrix.sum(axis=0)
    cycles = _exchange_cycles(st, which)
    text = (f"Exchange of step {index}, {short(st.name, 60)}" + ("" if which == "all" else f" ({which})")
            + f": {fmt_bytes(received.sum())} received, {cycles:,} exchange cycles")
    if received.any():
        text += f"; tile {int(received.argmax())} receives most ({fmt_bytes(received.max())})"
    fig.suptitle(title or text)
    return fig


def draw_matrix(ax, matrix) -> None:
    n = matrix.shape[0]
    shown = np.ma.masked_equal(matrix, 0)
    cmap = sequential_cmap("ipukit-exchange", PHASE_COLORS["exchange"]).with_extremes(bad="white")
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=max(int(matrix.max()), 1), interpolation="nearest")
    im.set_gid("exchange-matrix")
    cb = ax.figure.colorbar(im, ax=ax, shrink=0.85, format=bytes_formatter, ticks=BytesLocator())
    cb.set_label("bytes from source tile to destination tile")
    if n <= ARROW_LIMIT:
        ax.set_xticks(range(n), [str(t) for t in range(n)], fontsize=7)
        ax.set_yticks(range(n), [str(t) for t in range(n)], fontsize=7)
    ax.set_xlabel("destination tile (receives)")
    ax.set_ylabel("source tile (sends)")
    ax.set_title("bytes per pair of tiles (white: nothing)", fontsize=10)


def draw_arrows(ax, spec, matrix) -> None:
    """Tiles as boxes on the grid; one curved arrow per sending pair, width ~ bytes."""
    rows, cols, row_of, col_of = tile_layout(spec)
    n = matrix.shape[0]
    for t in range(n):
        ax.add_patch(Rectangle((col_of[t] - 0.3, row_of[t] - 0.3), 0.6, 0.6, facecolor="white",
                               edgecolor=OKABE_ITO["black"], lw=0.8))
        ax.text(col_of[t], row_of[t], str(t), ha="center", va="center", fontsize=8)
    src, dst = np.nonzero(matrix)
    top = matrix.max() if src.size else 1
    if src.size > PAIR_LIMIT:
        ax.text((cols - 1) / 2, (rows - 1) / 2, f"{src.size} pairs of tiles exchange:\ntoo many arrows to read,\n"
                "see the matrix", ha="center", va="center", fontsize=10,
                bbox={"facecolor": "white", "edgecolor": PHASE_COLORS["exchange"]})
        src, dst = src[:0], dst[:0]
    for s, d in zip(src, dst):
        width = 0.6 + 4.4 * matrix[s, d] / top
        ax.add_patch(FancyArrowPatch((col_of[s], row_of[s]), (col_of[d], row_of[d]),
                                     arrowstyle="-|>", mutation_scale=8 + 2 * width, lw=width,
                                     color=PHASE_COLORS["exchange"], alpha=0.8,
                                     connectionstyle="arc3,rad=0.25", shrinkA=9, shrinkB=9,
                                     gid=f"arrow {s}->{d}"))
    ax.set_xlim(-0.7, cols - 0.3)
    ax.set_ylim(rows - 0.3, -0.7)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"arrows: width grows with bytes (widest {fmt_bytes(top)})", fontsize=10)
