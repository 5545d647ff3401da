"""Notebook 01, tiles and SRAM: exercises.

Each tile of an IPU has its own SRAM and nothing else: every tensor a program
uses must fit, tile by tile, and each tile computes with six hardware workers.
These three exercises choose a tile from a memory map, build a map under a cap, and
keep all six workers busy.

Work on a function, then check it from the notebook with ``ipukit.check("ex01_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex01``).
"""
import numpy as np

from ipukit import codelets


def place_best_fit(graph, tensor):
    """Exercise 01.1: place a tensor whole on the tile where it fits most tightly.

    Read the memory map, ``graph.memory_report()``.  Of the tiles whose free SRAM
    holds all of ``tensor``, pick the one with the *least* free space (best fit:
    the big holes stay free for the big tensors still to come; the lowest tile id
    if several tie), map the whole tensor onto it and return that tile.  On a tile
    a tensor takes its bytes rounded up to a multiple of ``graph.spec.alignment``
    (8 B).  Raise ValueError naming the tensor if no tile holds it.

    About 8 lines.  Useful: ``report.used`` (bytes used on each tile, a NumPy
    array), ``report.capacity`` (the SRAM bytes of one tile), ``tensor.size``,
    ``tensor.dtype.itemsize``, ``tensor.name``, ``graph.set_tile_mapping(tensor,
    tile)``.
    """
    raise NotImplementedError("Exercise 01.1: map the tensor onto the tile where it fits most tightly")


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


def scale_on_all_workers(graph, cs, x, out, factor):
    """Exercise 01.3: keep all six workers of every tile busy.

    ``x`` and ``out`` have the same shape and the same tile mapping; each tile
    holds one contiguous block of ``x`` flattened (as ``map_linearly`` makes), or
    nothing.  Add ``codelets.scale`` vertices to compute set ``cs`` so that
    running it computes ``out = factor * x``, moves no data between tiles, and
    ends as early as the cost model allows.  Return the number of vertices added.

    A tile's workers take its vertices round-robin in the order they were added,
    and the tile is busy for 6 x its busiest worker's cycles: one vertex per tile
    leaves five workers idle, and a seventh vertex lands on worker 0 again.

    Budget: no byte crosses the exchange, and the compute phase is at most
    6 x (the start of one vertex + the cycles of ceil(vectors / 6) vectors), where
    vectors are the 64-bit vectors of the busiest tile's block: its six workers
    sharing its vectors as evenly as they can (a block smaller than six vectors
    needs fewer vertices; an empty vertex still costs its start).

    About 8 lines.  Useful: ``graph.tile_mapping(x)`` (for each tile, ``(start,
    end)`` intervals of ``x`` flattened), ``x.flatten()`` and slices of it,
    ``graph.spec.workers_per_tile``, ``graph.add_vertex(cs, codelets.scale,
    tile=..., a=..., out=..., factor=factor)``.  Cutting a block ``(lo, hi)``
    at ``lo + i * (hi - lo) // 6`` gives pieces that differ by one element at most.
    """
    raise NotImplementedError("Exercise 01.3: split each tile's block of x over its six workers with scale vertices")
