"""Notebook 01, tiles and SRAM: exercises.

Each tile of an IPU has its own SRAM and nothing else: every tensor a program
uses must fit, tile by tile.  These two exercises read a memory map and build one.

Work on a function, then check it from the notebook with ``ipukit.check("ex01_1")``
(or in a terminal: ``python -m ipukit.grade --target exercises ex01``).
"""
import numpy as np


def busiest_tile(report):
    """Exercise 01.1: read a memory map.

    ``report`` is a memory report (``graph.memory_report()`` or ``engine.memory``).
    Return ``(tile, free_bytes)``: the tile that uses the most bytes of SRAM (the
    lowest tile id if several tie), and how many bytes are still free on it.

    About 3 lines.  Useful: ``report.used`` (bytes used on each tile, a NumPy
    array), ``report.capacity`` (the SRAM bytes of one tile), ``np.argmax``.
    """
    raise NotImplementedError("Exercise 01.1: return (tile, free bytes) of the tile that uses the most SRAM")


def map_under_cap(graph, tensor, cap_bytes):
    """Exercise 01.2: map a tensor under a memory cap.

    Map every element of ``tensor`` onto the fewest tiles such that no tile holds
    more than ``cap_bytes`` of it, and return the number of tiles used.  Each
    tile's part of a tensor starts on a ``graph.spec.alignment`` boundary (8 B),
    so it takes its bytes rounded up to a multiple of the alignment.  Raise
    ValueError, naming the tensor, if it cannot fit under the cap on this
    graph's tiles.

    About 6 lines.  Useful: ``tensor.size``, ``tensor.dtype.itemsize``,
    ``tensor.name``, ``graph.num_tiles``, ``graph.spec.alignment`` and
    ``graph.map_linearly(tensor, min_elements_per_tile=...)`` (or
    ``graph.set_tile_mapping(tensor.flatten()[a:b], tile)`` piece by piece).
    """
    raise NotImplementedError("Exercise 01.2: map the tensor over the fewest tiles, at most cap_bytes on each")
