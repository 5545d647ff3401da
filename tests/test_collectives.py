"""Collectives over tiles: results against NumPy, supersteps and exchange bytes against formulas.

The formulas are written here from the algorithms, not read off the code: for P
parts of N float32 elements (4 bytes each), one part per tile,

* ring all-reduce: 2(P-1) supersteps, each tile sends and receives N/P elements in each;
* direct all-reduce: 2 supersteps (reduce-scatter, all-gather), each tile sends and receives
  (P-1)N/P elements in each;
* tree reduce: ceil(log2 P) supersteps; in step k the parts 2^k apart are added, so
  ceil((P - 2^k) / 2^(k+1)) tiles each receive N elements;
* gather: one superstep, (P-1)N elements into every receiving tile;
* broadcast: the sender sends N once, whatever the number of receivers.
"""
import math

import numpy as np
import pytest

import ipukit
from ipukit import Engine
from ipukit import collectives as C
from ipukit.errors import MappingError

F32 = 4


def run(g, prog, writes, backend="numba"):
    eng = Engine(g, prog, backend=backend)
    for t, v in writes.items():
        eng.write(t, v)
    eng.run()
    return eng


def executed(profile):
    """The records of the steps that ran, in program order (each runs once here)."""
    return [profile.steps[i] for i in profile.trace]


def _sum(record, field):
    """Bytes per tile over the exchange phases of one step (``field``: "sent" or "received")."""
    arrays = [getattr(p, "bytes_" + field) for p in record.phases if p.kind == "exchange"]
    return np.sum(arrays, axis=0) if arrays else None


# --- results ---------------------------------------------------------------------
@pytest.mark.parametrize("method", C.ALL_REDUCE_METHODS)
@pytest.mark.parametrize("p, n", [(8, 64), (5, 13), (3, 2), (2, 7), (1, 5)])
def test_all_reduce_gives_every_part_the_sum(spec, backend, rng, method, p, n):
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, p, n)
    totals, prog = C.all_reduce(g, parts, method)
    x = rng.standard_normal((p, n)).astype(np.float32)
    eng = run(g, prog, {parts: x}, backend)
    np.testing.assert_allclose(eng.read(totals), np.broadcast_to(x.sum(axis=0), (p, n)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(eng.read(parts), x)           # the inputs are left alone
    np.testing.assert_array_equal(g.element_tiles(totals), g.element_tiles(parts))


@pytest.mark.parametrize("method", C.REDUCE_METHODS)
@pytest.mark.parametrize("p, n, root", [(8, 64, 0), (5, 13, 3), (6, 3, 5), (1, 4, 0)])
def test_reduce_sums_onto_the_root(spec, backend, rng, method, p, n, root):
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, p, n, tiles=[(i + 2) % spec.tiles for i in range(p)])
    total, prog = C.reduce(g, parts, method, root=root)
    x = rng.standard_normal((p, n)).astype(np.float32)
    eng = run(g, prog, {parts: x}, backend)
    np.testing.assert_allclose(eng.read(total), x.sum(axis=0), rtol=1e-5, atol=1e-5)
    assert set(g.element_tiles(total).tolist()) == {(root + 2) % spec.tiles}


def test_a_list_of_tensors_works_as_parts(spec, rng):
    g = ipukit.Graph(spec)
    parts = [g.add_variable((2, 3), name=f"p{i}") for i in range(3)]
    for i, t in enumerate(parts):
        g.set_tile_mapping(t, 2 * i)
    totals, prog = C.all_reduce(g, parts, "ring")
    x = rng.standard_normal((3, 2, 3)).astype(np.float32)
    eng = run(g, prog, dict(zip(parts, x)))
    assert totals.shape == (3, 2, 3)
    np.testing.assert_allclose(eng.read(totals)[2], x.sum(axis=0), rtol=1e-6)


def test_integer_parts_sum_exactly(spec, backend):
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, 6, 10, dtype="int32")
    x = np.arange(60, dtype=np.int32).reshape(6, 10) * 1000 - 7
    for method in C.ALL_REDUCE_METHODS:
        totals, prog = C.all_reduce(g, parts, method, name=method)
        eng = run(g, prog, {parts: x}, backend)
        np.testing.assert_array_equal(eng.read(totals), np.broadcast_to(x.sum(axis=0), (6, 10)))


def test_broadcast_copies_exactly(spec, backend, rng):
    g = ipukit.Graph(spec)
    src = g.add_variable((3, 4), name="src")
    g.set_tile_mapping(src, 5)
    copies, prog = C.broadcast(g, src, [0, 1, 5, 7])
    x = rng.standard_normal((3, 4)).astype(np.float32)
    eng = run(g, prog, {src: x}, backend)
    np.testing.assert_array_equal(eng.read(copies), np.broadcast_to(x, (4, 3, 4)))
    assert [set(g.element_tiles(copies[i]).ravel().tolist()) for i in range(4)] == [{0}, {1}, {5}, {7}]


def test_all_to_all_transposes_the_blocks(spec, backend):
    p, b = 5, 3
    g = ipukit.Graph(spec)
    blocks = C.add_parts(g, p, (p, b), dtype="int32")
    result, prog = C.all_to_all(g, blocks)
    x = np.arange(p * p * b, dtype=np.int32).reshape(p, p, b)
    eng = run(g, prog, {blocks: x}, backend)
    np.testing.assert_array_equal(eng.read(result), x.transpose(1, 0, 2))
    np.testing.assert_array_equal(g.element_tiles(result), g.element_tiles(blocks))


# --- supersteps and exchange bytes --------------------------------------------------------
@pytest.mark.parametrize("p, n", [(8, 64), (4, 48), (2, 16)])
def test_ring_all_reduce_moves_n_over_p_per_tile_per_step(rng, p, n):
    spec = ipukit.GC2.replace(tiles=p)
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, p, n)
    totals, prog = C.all_reduce(g, parts, "ring")
    eng = run(g, prog, {parts: rng.standard_normal((p, n)).astype(np.float32)})
    prof = eng.profile
    assert prof.num_supersteps == 2 * (p - 1)
    per_step = n // p * F32
    for record in executed(prof):
        np.testing.assert_array_equal(_sum(record, "sent"), np.full(p, per_step))
        np.testing.assert_array_equal(_sum(record, "received"), np.full(p, per_step))
        assert record.cycles("exchange") == per_step // spec.exchange_bytes_per_cycle
    assert prof.exchange_bytes == 2 * (p - 1) * p * per_step


@pytest.mark.parametrize("p", [8, 5, 2])
def test_tree_reduce_halves_the_receivers_each_step(rng, p):
    n = 32
    spec = ipukit.GC2.replace(tiles=8)
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, p, n)
    _, prog = C.reduce(g, parts, "tree")
    prof = run(g, prog, {parts: rng.standard_normal((p, n)).astype(np.float32)}).profile
    levels = math.ceil(math.log2(p))
    assert prof.num_supersteps == levels
    for k, record in enumerate(executed(prof)):
        received = _sum(record, "received")
        receivers = math.ceil((p - 2 ** k) / 2 ** (k + 1))
        assert np.count_nonzero(received) == receivers
        assert set(received[received > 0].tolist()) == {n * F32}
        assert record.cycles("exchange") == n * F32 // 4
    assert prof.exchange_bytes == (p - 1) * n * F32       # every part but the root's moves once


def test_gather_reduce_is_one_long_exchange_into_the_root(rng):
    p, n = 8, 32
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = C.add_parts(g, p, n)
    _, prog = C.reduce(g, parts, "gather", root=3)
    prof = run(g, prog, {parts: rng.standard_normal((p, n)).astype(np.float32)}).profile
    assert prof.num_supersteps == 1
    (record,) = executed(prof)
    expected = np.zeros(p, np.int64)
    expected[3] = (p - 1) * n * F32
    np.testing.assert_array_equal(_sum(record, "received"), expected)
    assert record.cycles("exchange") == (p - 1) * n * F32 // 4    # the tree needs n*4/4 per step


def test_gather_all_reduce_sends_each_part_once(rng):
    p, n = 6, 24
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = C.add_parts(g, p, n)
    _, prog = C.all_reduce(g, parts, "gather")
    prof = run(g, prog, {parts: rng.standard_normal((p, n)).astype(np.float32)}).profile
    assert prof.num_supersteps == 1
    (record,) = executed(prof)
    expected_sent = np.array([n * F32] * p + [0, 0])
    np.testing.assert_array_equal(_sum(record, "sent"), expected_sent)
    np.testing.assert_array_equal(_sum(record, "received"), np.array([(p - 1) * n * F32] * p + [0, 0]))


def test_tree_all_reduce_is_a_tree_then_one_broadcast(rng):
    p, n = 8, 16
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = C.add_parts(g, p, n)
    _, prog = C.all_reduce(g, parts, "tree")
    prof = run(g, prog, {parts: rng.standard_normal((p, n)).astype(np.float32)}).profile
    assert prof.num_supersteps == math.ceil(math.log2(p)) + 1
    last = executed(prof)[-1]
    assert last.kind == "copy"
    np.testing.assert_array_equal(_sum(last, "sent"), [n * F32] + [0] * (p - 1))
    np.testing.assert_array_equal(_sum(last, "received"), [0] + [n * F32] * (p - 1))


def test_broadcast_is_sent_once_and_received_by_each(rng):
    n, receivers = 40, [1, 2, 3, 4, 5, 6, 7]
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    src = g.add_variable(n, name="src")
    g.set_tile_mapping(src, 0)
    _, prog = C.broadcast(g, src, receivers)
    prof = run(g, prog, {src: rng.standard_normal(n).astype(np.float32)}).profile
    (record,) = executed(prof)
    assert prof.num_supersteps == 1
    np.testing.assert_array_equal(_sum(record, "sent"), [n * F32] + [0] * 7)
    np.testing.assert_array_equal(_sum(record, "received"), [0] + [n * F32] * 7)
    assert record.cycles("exchange") == n * F32 // 4


def test_all_to_all_is_one_exchange_of_p_minus_1_blocks(spec):
    p, b = 8, 6
    g = ipukit.Graph(spec)
    blocks = C.add_parts(g, p, (p, b))
    _, prog = C.all_to_all(g, blocks)
    prof = run(g, prog, {blocks: np.zeros((p, p, b), np.float32)}).profile
    (record,) = executed(prof)
    assert prof.num_supersteps == 1
    np.testing.assert_array_equal(_sum(record, "sent"), np.full(p, (p - 1) * b * F32))
    np.testing.assert_array_equal(_sum(record, "received"), np.full(p, (p - 1) * b * F32))


def test_ring_on_parts_spread_over_tiles_keeps_every_tile_busy(rng):
    """Two parts of 64, each over 4 tiles: every tile sends half of its 16 elements per step."""
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = g.add_variable((2, 64), name="parts")
    g.map_linearly(parts)
    totals, prog = C.all_reduce(g, parts, "ring")
    x = rng.standard_normal((2, 64)).astype(np.float32)
    eng = run(g, prog, {parts: x})
    np.testing.assert_allclose(eng.read(totals), np.broadcast_to(x.sum(axis=0), (2, 64)), rtol=1e-6)
    for record in executed(eng.profile):
        np.testing.assert_array_equal(_sum(record, "received"), np.full(8, 16 // 2 * F32))


def test_ring_moves_less_per_tile_than_gather_for_many_parts(rng):
    """The trade-off a learner should see: the ring's exchange cycles grow like 2N, gather's like PN."""
    p, n = 8, 256
    spec = ipukit.GC2.replace(tiles=p)
    cycles = {}
    for method in ("ring", "gather"):
        g = ipukit.Graph(spec)
        parts = C.add_parts(g, p, n)
        _, prog = C.all_reduce(g, parts, method)
        cycles[method] = run(g, prog, {parts: np.ones((p, n), np.float32)}).profile.exchange_cycles
    assert cycles["ring"] == 2 * (p - 1) * (n // p) * F32 // 4
    assert cycles["gather"] == (p - 1) * n * F32 // 4


# --- errors -------------------------------------------------------------------------
def test_too_many_parts_for_the_tiles(spec):
    g = ipukit.Graph(spec)
    with pytest.raises(MappingError, match=r"9 parts need 9 tiles.*has 8.*replace\(tiles=9\)"):
        C.add_parts(g, 9, 4)


def test_a_tile_given_twice(spec):
    g = ipukit.Graph(spec)
    with pytest.raises(MappingError, match="tile 1 is listed twice"):
        C.add_parts(g, 3, 4, tiles=[0, 1, 1])
    with pytest.raises(MappingError, match="listed twice"):
        src = C.add_parts(g, 1, 4)[0]
        C.broadcast(g, src, [2, 2])


def test_parts_of_different_shapes(spec):
    g = ipukit.Graph(spec)
    a, b = g.add_variable(4, name="a"), g.add_variable(5, name="b")
    g.set_tile_mapping(a, 0)
    g.set_tile_mapping(b, 1)
    with pytest.raises(ValueError, match=r"part 0 \('a'\) is \(4,\).*part 1 \('b'\) is \(5,\)"):
        C.all_reduce(g, [a, b])


def test_unmapped_part(spec):
    g = ipukit.Graph(spec)
    a, b = g.add_variable(4, name="a"), g.add_variable(4, name="b")
    g.set_tile_mapping(a, 0)
    with pytest.raises(MappingError, match=r"part 1 \('b'\) is not fully mapped"):
        C.reduce(g, [a, b])


def test_a_part_listed_twice(spec):
    g = ipukit.Graph(spec)
    a = C.add_parts(g, 1, 4)[0]
    with pytest.raises(ValueError, match="share elements"):
        C.all_reduce(g, [a, a])


def test_a_one_dimensional_tensor_is_not_parts(spec):
    g = ipukit.Graph(spec)
    a = g.add_variable(8, name="a")
    g.map_linearly(a)
    with pytest.raises(ValueError, match=r"'a' has shape \(8,\).*\(P, N\)"):
        C.all_reduce(g, a)


def test_unknown_method_and_bad_root(spec):
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, 4, 8)
    with pytest.raises(ValueError, match="unknown method 'butterfly'; choose one of direct, ring, tree, gather"):
        C.all_reduce(g, parts, "butterfly")
    with pytest.raises(ValueError, match="root must be the index of a part, 0 to 3; got 4"):
        C.reduce(g, parts, root=4)


def test_all_to_all_needs_one_block_per_tile(spec):
    g = ipukit.Graph(spec)
    blocks = C.add_parts(g, 3, (4, 2))
    with pytest.raises(ValueError, match=r"each row must have 3 blocks.*shape \(4, 2\)"):
        C.all_to_all(g, blocks)


# --- the direct all-reduce, reduce-scatter and all-gather ---------------------------------
def _all_reduce_run(method, p, n, backend="numba", spec=None):
    g = ipukit.Graph(spec or ipukit.GC2.replace(tiles=p))
    parts = C.add_parts(g, p, n)
    totals, prog = C.all_reduce(g, parts, method)
    x = np.random.default_rng(n + p).standard_normal((p, n)).astype(np.float32)
    eng = run(g, prog, {parts: x}, backend)
    np.testing.assert_allclose(eng.read(totals), np.broadcast_to(x.sum(axis=0), (p, n)), rtol=1e-5, atol=1e-5)
    return eng.profile


@pytest.mark.parametrize("n", [1024, 16384])
def test_direct_all_reduce_beats_ring_and_tree_on_one_chip(n):
    cycles = {m: _all_reduce_run(m, 16, n).total_cycles for m in ("direct", "ring", "tree")}
    assert cycles["direct"] < cycles["ring"] and cycles["direct"] < cycles["tree"], cycles


@pytest.mark.parametrize("p, n", [(16, 1024), (4, 100), (6, 12)])
def test_direct_all_reduce_is_two_supersteps_of_p_minus_1_chunks(p, n):
    profile = _all_reduce_run("direct", p, n, backend="reference")
    assert profile.num_supersteps == 2
    chunk = -(-n // p)                                           # the largest of the P chunks
    for record in executed(profile):
        sent, received = _sum(record, "sent"), _sum(record, "received")
        assert received.max() <= (p - 1) * chunk * F32
        assert sent.max() <= (p - 1) * chunk * F32
    total = sum(_sum(r, "received").sum() for r in executed(profile))
    assert total == 2 * (p - 1) * n * F32                        # every chunk in, every sum out


def test_all_reduce_is_direct_on_one_chip_and_a_ring_across_chips():
    assert _all_reduce_run(None, 8, 64).num_supersteps == 2                 # a ring would take 14
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=2))
    parts = C.add_parts(g, 4, 64, tiles=[0, 1, 4, 5])
    _, prog = C.all_reduce(g, parts)
    assert Engine(g, prog, backend="reference").run().num_supersteps == 2 * (4 - 1)


@pytest.mark.parametrize("backend", ["reference", "numba"])
@pytest.mark.parametrize("p, shape", [(4, (3, 10)), (5, 7), (3, 2)])
def test_reduce_scatter_then_all_gather_equal_numpy(backend, p, shape):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = C.add_parts(g, p, shape)
    pieces, scatter = C.reduce_scatter(g, parts)
    gathered, gather = C.all_gather(g, pieces)
    x = np.random.default_rng(p).standard_normal((p, *np.atleast_1d(shape))).astype(np.float32)
    eng = run(g, ipukit.Sequence(scatter, gather), {parts: x}, backend)
    total = x.sum(axis=0).reshape(-1)
    n = total.size
    bounds = [n * j // p for j in range(p + 1)]                   # one tile per part: contiguous chunks
    for j in range(p):
        np.testing.assert_allclose(eng.read(pieces[j]), total[bounds[j]:bounds[j + 1]], rtol=1e-5, atol=1e-6)
        assert set(g.element_tiles(pieces[j]).tolist()) <= {j}
    np.testing.assert_allclose(eng.read(gathered), np.broadcast_to(total, (p, n)), rtol=1e-5, atol=1e-6)
    for i in range(p):
        assert set(g.element_tiles(gathered[i]).tolist()) == {i}
    assert eng.profile.num_supersteps == 2


# --- the ring reduce-scatter and all-gather (the halves of the ring all-reduce) ---------------
@pytest.mark.parametrize("backend", ["reference", "numba"])
@pytest.mark.parametrize("p, shape", [(4, (3, 10)), (5, 7), (3, 2), (2, 9)])
def test_ring_reduce_scatter_then_ring_all_gather_equal_numpy(backend, p, shape):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    parts = C.add_parts(g, p, shape)
    pieces, scatter = C.reduce_scatter(g, parts, method="ring")
    gathered, gather = C.all_gather(g, pieces, method="ring")
    x = np.random.default_rng(p).standard_normal((p, *np.atleast_1d(shape))).astype(np.float32)
    eng = run(g, ipukit.Sequence(scatter, gather), {parts: x}, backend)
    total = x.sum(axis=0).reshape(-1)
    n = total.size
    bounds = [n * j // p for j in range(p + 1)]                   # one tile per part: contiguous chunks
    for j in range(p):
        np.testing.assert_allclose(eng.read(pieces[j]), total[bounds[j]:bounds[j + 1]], rtol=1e-5, atol=1e-6)
        assert set(g.element_tiles(pieces[j]).tolist()) <= {j}
    np.testing.assert_allclose(eng.read(gathered), np.broadcast_to(total, (p, n)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(eng.read(parts), x)
    assert eng.profile.num_supersteps == 2 * (p - 1)              # P-1 to scatter, P-1 to gather


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_ring_all_gather_of_pieces_of_different_sizes(backend):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    sizes = [3, 0, 5, 2]
    pieces = []
    for i, size in enumerate(sizes):
        piece = g.add_variable(size, name=f"piece{i}")
        if size:
            g.map_linearly(piece, tiles=[2 * i, 2 * i + 1])
        pieces.append(piece)
    gathered, prog = C.all_gather(g, pieces, method="ring")
    values = [np.arange(size, dtype=np.float32) + 10 * i for i, size in enumerate(sizes)]
    eng = run(g, prog, {t: v for t, v in zip(pieces, values) if v.size}, backend)
    np.testing.assert_array_equal(eng.read(gathered), np.broadcast_to(np.concatenate(values), (4, sum(sizes))))
    assert eng.profile.num_supersteps == 3


@pytest.mark.parametrize("p, n", [(4, 400), (8, 64), (3, 10)])
def test_ring_halves_move_one_chunk_per_tile_per_step(p, n):
    """Each of the P-1 steps of either half: every tile sends and receives at most one chunk (N/P elements)."""
    chunk = -(-n // p)
    g = ipukit.Graph(ipukit.GC2.replace(tiles=p))
    parts = C.add_parts(g, p, n)
    pieces, scatter = C.reduce_scatter(g, parts, method="ring")
    gathered, gather = C.all_gather(g, pieces, method="ring")
    x = np.random.default_rng(n).standard_normal((p, n)).astype(np.float32)
    profile = run(g, ipukit.Sequence(scatter, gather), {parts: x}, "reference").profile
    records = executed(profile)
    assert len(records) == 2 * (p - 1)
    for record in records:
        sent, received = _sum(record, "sent"), _sum(record, "received")
        assert sent.max() <= chunk * F32 and received.max() <= chunk * F32
    total = sum(_sum(r, "received").sum() for r in records)
    assert total == 2 * (p - 1) * n * F32                        # every chunk goes P-1 hops, twice


def test_ring_halves_across_ipus_send_n_over_the_links_per_step():
    """Parts on 4 IPUs: each ring step sends one chunk out of every IPU, N x 4 bytes in all."""
    ipus, tiles, n = 4, 4, 256
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles, num_ipus=ipus))
    parts = []
    for r in range(ipus):
        part = g.add_variable(n, name=f"grad{r}")
        g.map_linearly(part, tiles=range(r * tiles, (r + 1) * tiles))
        parts.append(part)
    pieces, scatter = C.reduce_scatter(g, parts, method="ring")
    gathered, gather = C.all_gather(g, pieces, method="ring")
    x = np.random.default_rng(3).standard_normal((ipus, n)).astype(np.float32)
    eng = Engine(g, ipukit.Sequence(scatter, gather), backend="numba")
    for part, row in zip(parts, x):
        eng.write(part, row)
    profile = eng.run()
    # each part is cut on each of its 4 tiles, so piece j is slice j of every tile's 64 values
    order = np.concatenate([np.arange(t * 64 + j * 16, t * 64 + (j + 1) * 16)
                            for j in range(ipus) for t in range(tiles)])
    np.testing.assert_allclose(eng.read(gathered), np.broadcast_to(x.sum(axis=0)[order], (ipus, n)),
                               rtol=1e-5, atol=1e-5)
    assert profile.link_bytes == 2 * (ipus - 1) * n * F32


def test_reduce_scatter_and_all_gather_name_their_methods(spec):
    g = ipukit.Graph(spec)
    parts = C.add_parts(g, 4, 8)
    with pytest.raises(ValueError, match="unknown method 'tree'; choose one of direct, ring"):
        C.reduce_scatter(g, parts, method="tree")
    pieces, _ = C.reduce_scatter(g, parts)
    with pytest.raises(ValueError, match="unknown method 'tree'; choose one of direct, ring"):
        C.all_gather(g, pieces, method="tree")
