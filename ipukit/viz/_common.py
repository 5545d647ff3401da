"""What every view shares: a Figure that shows itself in Jupyter, tile layouts, byte labels.

Views build an :class:`IPUFigure` directly instead of going through pyplot, so a
figure is never kept alive by pyplot's list of open figures: a slider that
redraws a hundred times does not pile up a hundred figures, and a notebook
cell that returns one shows it exactly once.
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, Locator

from ..compile.sram import MemoryReport
from ..run.profile import Profile


class IPUFigure(Figure):
    """A matplotlib Figure that Jupyter displays as a PNG, with or without pyplot."""

    def _repr_png_(self):
        return to_png(self)


def new_figure(width: float, height: float) -> IPUFigure:
    return IPUFigure(figsize=(width, height), layout="constrained")


def to_png(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (what a notebook or a widget shows)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# --- where tiles sit in a picture --------------------------------------------------
def tile_grid_shape(n: int) -> tuple:
    """A near-square ``(rows, columns)`` grid for ``n`` tiles: 1216 -> (32, 38), 1472 -> (32, 46).

    An exact factorisation is used when it is no wider than twice its height;
    otherwise the last row is left partly empty (13 -> (3, 5)).
    """
    if n < 1:
        raise ValueError(f"a tile grid needs at least one tile, got {n}")
    root = math.isqrt(n)
    for rows in range(root, 0, -1):
        if n % rows == 0:
            if n // rows <= 2 * rows:
                return rows, n // rows
            break
    return root, -(-n // root)


def tile_layout(spec):
    """Grid positions of every tile: ``(rows, cols, row_of, col_of)``.

    Each IPU gets its own near-square block and the blocks are stacked, so
    tile ``t`` of IPU ``i`` sits at row ``i * block_rows + t // cols``.
    """
    rows, cols = tile_grid_shape(spec.tiles)
    tiles = np.arange(spec.total_tiles)
    ipu, local = tiles // spec.tiles, tiles % spec.tiles
    return rows * spec.num_ipus, cols, ipu * rows + local // cols, local % cols


# --- colours and labels --------------------------------------------------------------
def tint(color, amount: float):
    """``color`` mixed with white (amount 0: the colour, 1: white)."""
    return tuple(c + (1 - c) * amount for c in to_rgb(color))


def sequential_cmap(name: str, color) -> LinearSegmentedColormap:
    """From a light tint of ``color`` to ``color``: low values stay visible against white."""
    return LinearSegmentedColormap.from_list(name, [tint(color, 0.88), color])


def fmt_bytes(n) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes as a learner reads them."""
    n = float(n)
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


bytes_formatter = FuncFormatter(lambda v, _pos: fmt_bytes(v) if v else "0")


class BytesLocator(Locator):
    """Ticks at multiples of a power of two bytes (64 KiB, 128 KiB, ...), as memory is sized."""

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((vmin, vmax))
        step = 2.0 ** max(0, math.ceil(math.log2(max(hi - lo, 1) / 6)))
        return np.arange(math.ceil(lo / step) * step, hi + step * 1e-9, step)


def fmt_rate(flops: float, unit: str = "FLOP/s") -> str:
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.3g} {prefix}{unit}"
    return f"{flops:.3g} {unit}"


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- what the views accept -------------------------------------------------------------
def as_report(obj) -> MemoryReport:
    """A MemoryReport from a report, an Engine (``eng.memory``) or a Graph (``memory_report()``)."""
    if isinstance(obj, MemoryReport):
        return obj
    report = getattr(obj, "memory", None)
    if isinstance(report, MemoryReport):
        return report
    if hasattr(obj, "memory_report"):
        return obj.memory_report()
    raise TypeError(f"expected a memory report (engine.memory or graph.memory_report()), an Engine or a "
                    f"Graph; got {type(obj).__name__}")


def as_profile(obj) -> Profile:
    """A Profile from a profile or an Engine that has run."""
    if isinstance(obj, Profile):
        return obj
    if hasattr(obj, "steps") and hasattr(obj, "run") and hasattr(obj, "profile"):
        if obj.profile is None:
            raise ValueError("this engine has not run yet, so there is no profile to draw: call engine.run() "
                             "first")
        return obj.profile
    raise TypeError(f"expected a Profile (engine.profile) or an Engine that has run; got {type(obj).__name__}")


def as_engine(obj, what: str):
    """Views that need compiled steps (exchange plans, worker loads) take the Engine itself."""
    if hasattr(obj, "steps") and hasattr(obj, "layout") and hasattr(obj, "graph"):
        return obj
    raise TypeError(f"{what} needs the Engine (it reads the compiled steps, engine.steps); got "
                    f"{type(obj).__name__}")
