"""Remote buffers in Streaming Memory (GC200 systems): copies round-trip the data on both
backends and cost a "remote" phase of the cycles the assumed bandwidth gives."""
import math

import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, Sequence
from ipukit import codelets as C
from ipukit.core.errors import ProgramError

SPEC = ipukit.GC200.replace(tiles=8)


def _program(g, n=4096):
    x = g.add_variable((n,), name="x")
    y = g.add_variable((n,), name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    buf = g.add_remote_buffer("state", (n,))
    cs = g.add_compute_set("double")
    for t in range(SPEC.tiles):
        part = slice(t * n // SPEC.tiles, (t + 1) * n // SPEC.tiles)
        g.add_vertex(cs, C.scale, tile=t, a=y[part], out=y[part], factor=2.0)
    return x, y, buf, Sequence(Copy(x, buf), Copy(buf, y), Execute(cs), Copy(y, buf))


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_data_round_trips_through_streaming_memory(backend, rng):
    g = ipukit.Graph(SPEC)
    x, y, buf, prog = _program(g)
    eng = Engine(g, prog, backend=backend)
    data = rng.standard_normal(4096).astype(np.float32)
    eng.write(x, data)
    eng.run()
    np.testing.assert_array_equal(eng.read(y), 2 * data)
    np.testing.assert_array_equal(eng.read_remote(buf), 2 * data)
    eng.write_remote(buf, data[::-1].copy())
    np.testing.assert_array_equal(eng.read_remote("state"), data[::-1])


def test_remote_copies_cost_bytes_over_the_assumed_bandwidth():
    g = ipukit.Graph(SPEC)
    x, y, buf, prog = _program(g, n=4096)
    eng = Engine(g, prog)
    eng.run()
    p = eng.profile
    nbytes = 4096 * 4
    # the assumed Streaming Memory rate: PCIe Gen4 x16 per IPU, 31.5 GB/s at 1.33 GHz
    per_cycle = 16e9 * 16 * (128 / 130) / 8 / 1.33e9
    by_rate = math.ceil(nbytes / per_cycle)
    by_ports = math.ceil(nbytes / SPEC.tiles / 4)           # each tile's 4 B/cycle port
    expected = max(by_rate, by_ports)
    remote = [r for r in p.steps if r.kind == "remote"]
    assert len(remote) == 3
    assert all(r.cycles("remote") == expected for r in remote)
    assert p.remote_cycles == 3 * expected
    assert p.remote_bytes == 3 * nbytes
    assert p.host_cycles == 0
    assert p.total_cycles == sum(r.cycles() for r in p.steps)
    text = p.summary()
    assert "remote" in text and f"Streaming Memory {3 * nbytes:,} B" in text
    assert p.to_dict()["totals"]["remote_cycles"] == 3 * expected


def test_remote_copies_show_in_the_trace():
    import matplotlib
    matplotlib.use("Agg")
    from ipukit import viz
    g = ipukit.Graph(SPEC)
    _, _, _, prog = _program(g)
    eng = Engine(g, prog)
    eng.run()
    fig = viz.plot_trace(eng.profile)
    labels = [t.get_text() for ax in fig.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    assert "remote" in labels
    events = eng.profile.to_trace_events()
    assert any(e.get("name") == "remote" for e in events["traceEvents"])


def test_remote_buffers_refuse_what_cannot_be():
    with pytest.raises(ValueError, match="no Streaming Memory"):
        ipukit.Graph(ipukit.GC2.replace(tiles=4)).add_remote_buffer("b", 8)
    g = ipukit.Graph(SPEC)
    t = g.add_variable(8, name="t")
    g.map_linearly(t)
    buf = g.add_remote_buffer("b", 16)
    with pytest.raises(ValueError, match="already exists"):
        g.add_remote_buffer("b", 16)
    with pytest.raises(ProgramError, match="16 x float32.*'t' is 8"):
        Engine(g, Copy(buf, t))
    with pytest.raises(ValueError, match="exceed"):
        g.add_remote_buffer("huge", (SPEC.streaming_memory_bytes // 4 + 1,))
