"""Notebook 01, tiles and SRAM: solutions.

Each tile of an IPU has its own SRAM and nothing else: every tensor a program
uses must fit, tile by tile.  These two exercises read a memory map and build one.
"""
import numpy as np


def busiest_tile(report):
    """Exercise 01.1: read a memory map.

    ``report`` is a memory report (``graph.memory_report()`` or ``engine.memory``).
    Return ``(tile, free_bytes)``: the tile that uses the most bytes of SRAM (the
    lowest tile id if several tie), and how many bytes are still free on it.
    """
    used = np.asarray(report.used)
    tile = int(np.argmax(used))                  # argmax returns the first of equal maxima
    return tile, int(report.capacity - used[tile])


def map_under_cap(graph, tensor, cap_bytes):
    """Exercise 01.2: map a tensor under a memory cap.

    Map every element of ``tensor`` onto the fewest tiles such that no tile holds
    more than ``cap_bytes`` of it, and return the number of tiles used.  Each
    tile's part of a tensor starts on a ``graph.spec.alignment`` boundary, so it
    takes its bytes rounded up to a multiple of the alignment.  Raise ValueError
    if the tensor cannot fit under the cap on this graph's tiles.
    """
    align = graph.spec.alignment
    per_tile = (cap_bytes // align * align) // tensor.dtype.itemsize     # elements under the cap
    tiles = -(-tensor.size // per_tile) if per_tile else None
    if tiles is None or tiles > graph.num_tiles:
        raise ValueError(
            f"tensor '{tensor.name}' ({tensor.size * tensor.dtype.itemsize:,} B) does not fit in "
            f"{graph.num_tiles} tiles of at most {cap_bytes:,} B each; raise the cap or use more tiles")
    graph.map_linearly(tensor, min_elements_per_tile=per_tile)
    return tiles
