"""SRAM layout: real bytes, alignment, categories, and buffers shared between compute sets."""
import os

import numpy as np
import pytest

import ipukit
from ipukit import Engine, Execute, Sequence
from ipukit import codelets as C
from ipukit.memory import align_up


def test_elements_live_at_their_addresses(spec, rng):
    g = ipukit.Graph(spec)
    a = g.add_variable(5, "int16", name="a")          # 10 B -> padded to 16
    b = g.add_variable((3, 3), name="b")
    g.set_tile_mapping(a, 2)
    g.set_tile_mapping(b, 2)
    eng = Engine(g, Sequence())
    B = rng.standard_normal((3, 3)).astype(np.float32)
    eng.write(b, B)
    eng.write(a, np.arange(5, dtype=np.int16))
    # b starts after a, on an 8-byte boundary, in element order
    np.testing.assert_array_equal(eng.sram[2, 16:16 + 36].view(np.float32).reshape(3, 3), B)
    np.testing.assert_array_equal(eng.sram[2, 0:10].view(np.int16), np.arange(5))
    assert eng.memory.category("data")[2] == 16 + 40


def test_parts_of_a_tensor_on_each_tile_are_packed(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(10, "float16", name="x")
    g.set_tile_mapping(x[::2], 0)
    g.set_tile_mapping(x[1::2], 1)
    report = g.memory_report()
    assert report.tensor_bytes("x")[:2].tolist() == [10, 10]
    assert report.category("data")[:2].tolist() == [16, 16]
    assert report.tensors_on(1) == [("x", 10, 0)]


def test_every_address_is_aligned_for_its_dtype(spec, rng):
    g = ipukit.Graph(spec)
    ts = [g.add_variable(int(rng.integers(1, 50)), dt) for dt in ("int8", "float16", "float32", "bool", "int32")]
    for t in ts:
        g.map_linearly(t, grain_size=3)
    eng = Engine(g, Sequence())
    for t in ts:
        tiles, addrs = eng.layout.lookup(t.ids.reshape(-1))
        assert (addrs % t.dtype.itemsize == 0).all() and (tiles >= 0).all()


def test_vertex_state_and_buffers_are_reported(spec):
    g = ipukit.Graph(spec)
    x, y = g.add_variable(100, name="x"), g.add_variable(100, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 1)
    cs1, cs2 = g.add_compute_set("one"), g.add_compute_set("two")
    g.add_vertex(cs1, C.copy, tile=1, a=x, out=y)           # needs a 400 B buffer on tile 1
    g.add_vertex(cs2, C.copy, tile=1, a=x[:50], out=y[:50])  # needs a 200 B buffer on tile 1
    eng = Engine(g, Sequence(Execute(cs1), Execute(cs2)))
    report = eng.memory
    # compute sets are never live together: the buffer region is the larger one, not the sum
    assert report.category("exchange buffers")[1] == 400
    state = 4 + 2 * 8
    assert report.category("vertex state")[1] == align_up(2 * state, 8)
    assert report.used[1] == 400 + 400 + align_up(2 * state, 8)
    assert "busiest tile 1" in report.summary()


def test_report_lists_largest_tensors_and_groups_the_rest(spec):
    g = ipukit.Graph(spec)
    for i in range(5):
        t = g.add_variable(10 * (i + 1), name=f"t{i}")
        g.map_linearly(t)
    by = g.memory_report().by_tensor(top=2)
    assert list(by) == ["t4", "t3", "other tensors"]
    assert by["other tensors"].sum() == 4 * (10 + 20 + 30)


def test_report_keeps_over_full_tiles_without_raising(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(100_000, name="x")
    g.set_tile_mapping(x, 4)
    report = g.memory_report()
    assert report.over_tiles.tolist() == [4]
    assert "tile 4 needs 400,000 B" in report.overflow_message()


def resident_bytes():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_only_touched_host_memory_is_used():
    """A full GC200's SRAM is ~897 MiB, but only the pages a program touches are committed."""
    before = resident_bytes()
    g = ipukit.Graph(ipukit.GC200)
    x = g.add_variable(1472 * 16, name="x")
    g.map_linearly(x)                              # 16 floats on every tile
    eng = Engine(g, Sequence())
    assert eng.sram.shape == (1472, 624 * 1024)
    eng.write(x, np.arange(x.size, dtype=np.float32))
    np.testing.assert_array_equal(eng.read(x), np.arange(x.size))
    assert resident_bytes() - before < 100 * 2**20, "the emulator committed far more than it touched"


def test_a_2d_block_on_its_tile_is_used_in_place(spec):
    """A block of a matrix whose rows sit back to back on the vertex's tile needs no buffer."""
    g = ipukit.Graph(spec)
    a, out = g.add_variable((8, 8), name="a"), g.add_variable((4, 4), name="out")
    g.set_tile_mapping(a, 0)
    g.set_tile_mapping(a[4:, 4:], 3)          # this 4 x 4 block is alone on tile 3, row after row
    g.set_tile_mapping(out, 3)
    b = g.add_variable((4, 4), name="b")
    g.set_tile_mapping(b, 5)                  # b lives elsewhere: charged, buffered, read in place
    cs = g.add_compute_set()
    g.add_vertex(cs, C.matmul_partial, tile=3, a=a[4:, 4:], b=b, out=out)
    eng = Engine(g, Execute(cs))
    plan = eng.layout.compute[cs]
    assert eng.memory.category("exchange buffers")[3] == 64      # only b's buffer
    assert len(plan.gather_run) == 0 and len(plan.scatter) == 0
    assert plan.gather.total_bytes == 64


def test_vertices_on_one_tile_share_a_received_input(spec):
    """Two vertices on tile 1 reading the same remote vector: it crosses the exchange once."""
    g = ipukit.Graph(spec)
    x = g.add_variable(64, name="x")
    s = g.add_variable(2, name="s")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(s, 1)
    cs = g.add_compute_set()
    g.add_vertex(cs, C.reduce_sum, tile=1, a=x, out=s[0:1])
    g.add_vertex(cs, C.dot, tile=1, a=x, b=x, out=s[1:2])
    eng = Engine(g, Execute(cs))
    assert eng.memory.category("exchange buffers")[1] == 256
    eng.write(x, np.arange(64, dtype=np.float32))
    eng.run()
    assert eng.profile.exchange_bytes == 256
    np.testing.assert_allclose(eng.read(s), [np.arange(64).sum(), (np.arange(64) ** 2).sum()])


def test_host_reads_and_writes_of_scattered_tensors(spec, rng):
    """Few runs are copied slice by slice, many runs through an element index: same bytes."""
    g = ipukit.Graph(spec)
    few, many = g.add_variable(300, name="few"), g.add_variable((40, 50), name="many")
    g.map_linearly(few)
    g.set_tile_mapping(many, 0)
    g.set_tile_mapping(many[:, ::2], 1)          # 1,000 runs of one element
    eng = Engine(g, Sequence())
    for t in (few, many, many.T, many[3:7, 1::3]):
        values = rng.standard_normal(t.shape).astype(np.float32)
        eng.write(t, values)
        np.testing.assert_array_equal(eng.read(t), values)
    assert eng._placement(many).index is not None and eng._placement(few).index is None
