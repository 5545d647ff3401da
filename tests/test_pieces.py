"""Pieces (runs of elements) agree with an element-by-element computation."""
import numpy as np
from hypothesis import given, strategies as st

import ipukit
from ipukit.compile.lowering import plan_layout
from ipukit.core.intervals import first_overlap, id_runs, locate, self_overlap

SPEC = ipukit.GC2.replace(tiles=4)


@st.composite
def views(draw):
    """A random view of a 3-D variable: slices with steps, transposes, reshapes, concat, fancy indexing."""
    shape = tuple(draw(st.integers(1, 5)) for _ in range(3))
    g = ipukit.Graph(SPEC)
    x = g.add_variable(shape, name="x")
    y = g.add_variable(7, name="y")
    t = x
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["slice", "T", "flatten", "index", "concat", "fancy"]))
        if op == "slice" and t.ndim:
            axis = draw(st.integers(0, t.ndim - 1))
            n = t.shape[axis]
            lo = draw(st.integers(0, n - 1))
            step = draw(st.sampled_from([1, 1, 2, -1]))
            sl = slice(lo, None, step) if step > 0 else slice(None, None, -1)
            t = t[(slice(None),) * axis + (sl,)]
        elif op == "T":
            t = t.T
        elif op == "flatten":
            t = t.flatten()
        elif op == "index" and t.ndim > 1:
            t = t[draw(st.integers(0, t.shape[0] - 1))]
        elif op == "concat":
            t = ipukit.concat([t.flatten(), y[draw(st.integers(0, 6)):]])
        elif op == "fancy":
            flat = t.flatten()
            idx = draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=8, unique=True))
            t = flat[np.array(idx)]
    tiles = draw(st.lists(st.integers(0, 3), min_size=x.size + 7, max_size=x.size + 7))
    for k, tile in enumerate(tiles):
        part = x.flatten()[k:k + 1] if k < x.size else y[k - x.size:k - x.size + 1]
        g.set_tile_mapping(part, tile)
    return g, t


@given(views())
def test_id_runs_match_the_flattened_ids(case):
    g, t = case
    starts, lengths = id_runs(t)
    rebuilt = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)]) if len(starts) else []
    np.testing.assert_array_equal(rebuilt, t.ids.reshape(-1))


@given(views())
def test_pieces_match_element_addresses(case):
    g, t = case
    layout = plan_layout(g, programs=[], strict=True)
    p = locate(g, layout, [t])
    ids = t.ids.reshape(-1)
    tiles, addrs = [], []
    for pos, start, n, tile, addr in zip(p.pos, p.start, p.n, p.tile, p.addr):
        assert (ids[pos:pos + n] == np.arange(start, start + n)).all()
        tiles += [tile] * n
        addrs += list(addr + 4 * np.arange(n))
    assert int(p.n.sum()) == ids.size
    want_tiles, want_addrs = layout.lookup(ids)
    np.testing.assert_array_equal(tiles, g.elem_tile[ids])
    np.testing.assert_array_equal(tiles, want_tiles)
    np.testing.assert_array_equal(addrs, want_addrs)


def brute_pairs(a, b, same_set):
    return [(i, j) for i, (s1, e1) in enumerate(a) for j, (s2, e2) in enumerate(b)
            if (not same_set or i != j) and max(s1, s2) < min(e1, e2)]


intervals = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)).map(lambda p: (p[0], p[0] + p[1])),
                     max_size=10)


@given(intervals, intervals)
def test_first_overlap_against_brute_force(a, b):
    b = [iv for k, iv in enumerate(b) if not any(max(iv[0], o[0]) < min(iv[1], o[1]) for o in b[:k])]
    def arr(xs, k):
        return np.array([x[k] for x in xs], np.int64)
    got = first_overlap(arr(a, 0), arr(a, 1), arr(b, 0), arr(b, 1))
    pairs = brute_pairs(a, b, False)
    assert (got is None) == (not pairs)
    if got:
        assert got in pairs


@given(intervals)
def test_self_overlap_against_brute_force(a):
    def arr(k):
        return np.array([x[k] for x in a], np.int64)
    got = self_overlap(arr(0), arr(1))
    pairs = brute_pairs(a, a, True)
    assert (got is None) == (not pairs)
    if got:
        assert got in pairs or got[::-1] in pairs


@given(st.integers(0, 500), st.integers(1, 40))
def test_near_equal_split(size, parts):
    from ipukit.core.intervals import split_bounds, split_ranges
    b = split_bounds(size, parts)
    sizes = np.diff(b)
    assert b[0] == 0 and b[-1] == size and len(sizes) == parts
    assert sizes.max() - sizes.min() <= 1 and list(sizes) == sorted(sizes, reverse=True)
    assert split_ranges(size, parts) == list(zip(b[:-1].tolist(), b[1:].tolist()))
