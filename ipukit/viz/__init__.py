"""Pictures of the emulated IPU, in the spirit of Graphcore's PopVision Graph Analyser.

Every view is a plain function that returns a matplotlib Figure (shown by
Jupyter when it ends a cell), so notebooks, tests and widgets share them::

    from ipukit import viz
    viz.plot_memory(eng.memory)         # tile grid + bytes per tile, SRAM cap line
    viz.plot_trace(eng.profile)         # BSP execution trace: tiles x cycles by phase
    viz.plot_exchange(eng, step=0)      # who sends how many bytes to whom
    viz.plot_roofline(workloads={"matmul 64": 64 / 6})
    viz.plot_worker_slots(eng, "matmul", tile=0)
    viz.profile_bars(eng.profile)       # cycles by phase per step
    viz.plot_lockstep(machine, work)    # a lock-step (SIMD) machine's lanes: work and padding
    viz.plot_placement(block_sparse)    # which tile multiplies each block of a sparse matrix

Colours come from :mod:`ipukit.palette`: one colour per phase in every picture.
"""
from ._common import IPUFigure, tile_grid_shape, tile_layout, to_png
from .exchange import exchange_matrix, plot_exchange
from .lockstep import plot_lockstep
from .memory import plot_memory
from .roofline import (HARDWARE, MEMORY_WALL_GROWTH, Roof, device_roof, exchange_roof, plot_memory_wall,
                       plot_roofline, ridge_point)
from .sparse import draw_placement, plot_placement
from .trace import plot_trace, profile_bars
from .workers import plot_worker_slots

__all__ = [
    "HARDWARE", "IPUFigure", "MEMORY_WALL_GROWTH", "Roof", "device_roof", "draw_placement", "exchange_matrix",
    "exchange_roof", "plot_exchange", "plot_lockstep", "plot_memory", "plot_memory_wall", "plot_placement",
    "plot_roofline", "plot_trace", "plot_worker_slots",
    "profile_bars", "ridge_point", "tile_grid_shape", "tile_layout", "to_png",
]
