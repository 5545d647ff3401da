"""Tensors as views, and tile mappings (checked against an independent computation)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import ipukit


def test_views_follow_numpy(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable((4, 6), name="x")
    ref = np.arange(24).reshape(4, 6) + x.ids.min()
    for view, expect in [(x[1:3], ref[1:3]), (x[:, 0], ref[:, 0]), (x.T, ref.T), (x.reshape(3, 8), ref.reshape(3, 8)),
                         (x.flatten(), ref.reshape(-1)), (x[::2, 1::3], ref[::2, 1::3]),
                         (x.transpose(1, 0)[2], ref.T[2]), (x[2, 3], ref[2, 3])]:
        np.testing.assert_array_equal(view.ids, expect)
    assert x[1:3].name == "x[1:3]" and x[:, 0].name == "x[:, 0]" and x.T.name == "x.T"
    assert x.nbytes == 96 and x.size == 24 and x.ndim == 2


def test_concat_and_its_errors(spec):
    g = ipukit.Graph(spec)
    a, b = g.add_variable(3, name="a"), g.add_variable(2, name="b")
    c = ipukit.concat([a, b])
    assert c.shape == (5,) and c.name == "concat(a, b)"
    with pytest.raises(TypeError, match="same dtype"):
        ipukit.concat([a, g.add_variable(2, "int32")])
    with pytest.raises(ValueError, match="different graphs"):
        ipukit.concat([a, ipukit.Graph(spec).add_variable(2)])
    with pytest.raises(ValueError, match="cannot reshape tensor 'a'"):
        a.reshape(2, 2)
    with pytest.raises(TypeError, match="no value on the host"):
        bool(a)


def poputil_linear(n, grain, tiles, min_per_tile=0):
    """mapTensorLinearly written out element by element."""
    grains = -(-n // grain)
    per_tile_grains = max(-(-grains // tiles), -(-min_per_tile // grain), 1)
    out, tile, count = [], 0, 0
    for _ in range(n):
        if count == per_tile_grains * grain:
            tile, count = tile + 1, 0
        out.append(tile)
        count += 1
    return out


@given(n=st.integers(1, 300), grain=st.integers(1, 20), min_per_tile=st.integers(0, 50))
def test_map_linearly_matches_poputil(n, grain, min_per_tile):
    spec = ipukit.GC2.replace(tiles=8)
    g = ipukit.Graph(spec)
    x = g.add_variable(n, name="x")
    g.map_linearly(x, grain_size=grain, min_elements_per_tile=min_per_tile)
    assert g.element_tiles(x).tolist() == poputil_linear(n, grain, 8, min_per_tile)


@given(st.lists(st.integers(-1, 7), min_size=1, max_size=60))
def test_tile_mapping_round_trips(tiles):
    spec = ipukit.GC2.replace(tiles=8)
    g = ipukit.Graph(spec)
    x = g.add_variable(len(tiles), name="x")
    for i, t in enumerate(tiles):
        if t >= 0:
            g.set_tile_mapping(x[i:i + 1], t)
    mapping = g.tile_mapping(x)
    assert len(mapping) == 8
    rebuilt = [-1] * len(tiles)
    for t, intervals in enumerate(mapping):
        for s, e in intervals:
            assert s < e
            rebuilt[s:e] = [t] * (e - s)
    assert rebuilt == tiles
    y = g.add_variable(len(tiles), name="y")
    g.set_tile_mapping(y, mapping)
    assert g.element_tiles(y).tolist() == tiles


def test_map_linearly_on_chosen_tiles_and_views(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable((4, 4), name="x")
    g.map_linearly(x.T, grain_size=4, tiles=[6, 2])
    np.testing.assert_array_equal(g.element_tiles(x), np.array([[6, 6, 2, 2]] * 4))


def test_graph_repr_and_vertex_repr(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    g.set_tile_mapping(x, 1)
    cs = g.add_compute_set("zero")
    v = g.add_vertex(cs, ipukit.codelets.fill, tile=1, out=x, value=0.0)
    assert "fill#0" in repr(v) and "tile 1" in repr(v)
    assert "1 compute sets" in repr(g)
    assert "fill(out out: T[n], scalar value)" in repr(ipukit.codelets.fill)
