"""The tile map (runs of ids on tiles) behaves like one tile entry per element."""
import numpy as np
from hypothesis import given, strategies as st

import ipukit
from ipukit.core.tilemap import TileMap


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 15), st.integers(-1, 5)), max_size=12),
       st.lists(st.integers(1, 20), min_size=1, max_size=4))
def test_assignments_match_a_dense_array(assignments, sizes):
    tm, dense = TileMap(), np.zeros(0, np.int32)
    for n in sizes:
        tm.extend(n)
        dense = np.append(dense, np.full(n, -1, np.int32))
    total = dense.size
    for start, length, tile in assignments:
        start = min(start, total)
        length = min(length, total - start)
        tm.assign([start], [length], tile)
        dense[start:start + length] = tile
        if tile == 3:                      # sometimes read in between, sometimes queue several
            np.testing.assert_array_equal(tm.dense(), dense)
    np.testing.assert_array_equal(tm.dense(), dense)
    ids = np.arange(total)
    np.testing.assert_array_equal(tm.lookup(ids), dense)
    assert (np.diff(tm.tiles) != 0).all()          # runs are maximal


def test_a_huge_tensor_costs_a_run_per_tile():
    """Mapping a GC200-sized tensor stores one run per tile, not one entry per element."""
    g = ipukit.Graph(ipukit.GC200)
    x = g.add_variable((40_000, 4_000), name="x")      # 160 M elements, never listed one by one
    g.map_linearly(x)
    assert len(g.tile_map.starts) == ipukit.GC200.tiles
    pos, length, tiles = g.tile_runs(x[:, 5])
    assert length.sum() == 40_000 and set(np.unique(tiles)) <= set(range(1472))
    block = x[1000:1010, 100:110]
    g.set_tile_mapping(block, 7)
    assert len(g.tile_map.starts) < ipukit.GC200.tiles + 25
    assert (g.element_tiles(block) == 7).all()
