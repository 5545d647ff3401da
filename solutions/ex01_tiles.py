"""Notebook 01, tiles and SRAM: solutions.

Each tile of an IPU has its own SRAM and nothing else: every tensor a program
uses must fit, tile by tile, and each tile computes with six hardware workers.
These three exercises choose a tile from a memory map, build a map under a cap, and
keep all six workers busy.
"""
import numpy as np

from ipukit import codelets


def place_best_fit(graph, tensor):
    """Exercise 01.1: place a tensor whole on the tile where it fits most tightly.

    Read ``graph.memory_report()``; of the tiles whose free SRAM holds all of
    ``tensor`` (its bytes rounded up to ``graph.spec.alignment``), pick the one
    with the least free space (best fit: big holes stay free for big tensors; the
    lowest id if several tie), map the whole tensor there and return the tile.
    Raise ValueError naming the tensor if no tile holds it.
    """
    report = graph.memory_report()
    align = graph.spec.alignment
    need = -(-tensor.size * tensor.dtype.itemsize // align) * align    # padded to the alignment
    free = report.capacity - np.asarray(report.used, dtype=np.int64)
    fits = np.flatnonzero(free >= need)
    if fits.size == 0:
        raise ValueError(f"place_best_fit: '{tensor.name}' needs {need:,} B on one tile, but the most free on "
                         f"any tile is {int(free.max()):,} B: split it over several tiles")
    tile = int(fits[np.argmin(free[fits])])                # argmin keeps the lowest id of equals
    graph.set_tile_mapping(tensor, tile)
    return tile


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
