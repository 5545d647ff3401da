"""Notebook 01, tiles and SRAM: solutions.

Each tile of an IPU has its own SRAM and nothing else: every tensor a program
uses must fit, tile by tile, and each tile computes with six hardware workers.
These three exercises read a memory map, build one, and keep all six workers busy.
"""
import numpy as np

from ipukit import codelets


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


def scale_on_all_workers(graph, cs, x, out, factor):
    """Exercise 01.3: keep all six workers of every tile busy.

    ``x`` and ``out`` have the same shape and the same tile mapping; each tile
    holds one contiguous block of ``x`` flattened, or nothing.  Add
    ``codelets.scale`` vertices to ``cs`` so that it computes ``out = factor * x``
    on the tiles where the data lives, with each tile's block cut into one piece
    per worker; return the number of vertices added.  Budget: no exchange, and
    6 x (start + ceil(vectors / 6) vectors' cycles) on the busiest tile.
    """
    workers = graph.spec.workers_per_tile
    xs, outs = x.flatten(), out.flatten()
    added = 0
    for tile, intervals in enumerate(graph.tile_mapping(x)):
        for lo, hi in intervals:
            parts = min(workers, hi - lo)                   # no empty vertices on a small block
            cuts = [lo + i * (hi - lo) // parts for i in range(parts + 1)]
            for a, b in zip(cuts[:-1], cuts[1:]):           # pieces differ by at most one element
                graph.add_vertex(cs, codelets.scale, tile=tile, a=xs[a:b], out=outs[a:b], factor=factor)
                added += 1
    return added
