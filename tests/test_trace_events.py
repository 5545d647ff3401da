"""profile.to_trace_events: Trace Event Format JSON (Chrome / Perfetto) that adds up to the profile."""
import json
from collections import defaultdict

import numpy as np
import pytest

import ipukit
from ipukit import codelets as C
from ipukit import widgets

PHASES = ("compute", "exchange", "sync", "host")
METADATA = {"process_name": ("name", str), "thread_name": ("name", str),
            "process_sort_index": ("sort_index", int), "thread_sort_index": ("sort_index", int)}


def number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def ns(us):
    """A timestamp as Perfetto reads it: whole nanoseconds."""
    return round(us * 1000)


def check_schema(trace):
    """Every event has the keys and types of its kind; each thread's events are in time order, none overlap."""
    assert set(trace) == {"traceEvents", "otherData"}
    events = trace["traceEvents"]
    assert isinstance(events, list) and events
    named_threads, named_processes = set(), set()
    threads, counters = defaultdict(list), defaultdict(list)
    for e in events:
        assert isinstance(e.get("name"), str) and e["name"], e
        assert e.get("ph") in ("M", "X", "C"), e
        assert isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int), e
        assert isinstance(e.get("args"), dict), e
        if e["ph"] == "M":
            key, kind = METADATA[e["name"]]
            assert isinstance(e["args"].get(key), kind), e
            (named_threads if e["name"] == "thread_name" else named_processes).add(
                (e["pid"], e["tid"]) if e["name"] == "thread_name" else e["pid"])
        elif e["ph"] == "X":
            assert number(e.get("ts")) and number(e.get("dur")), e
            assert e["ts"] >= 0 and e["dur"] >= 0, e
            assert isinstance(e.get("cat"), str), e
            assert isinstance(e["args"].get("cycles"), int) and e["args"]["cycles"] > 0, e
            threads[e["pid"], e["tid"]].append(e)
        else:
            assert number(e.get("ts")) and e["ts"] >= 0, e
            assert e["args"] and all(number(v) and v >= 0 for v in e["args"].values()), e
            counters[e["pid"], e["name"]].append(e)
    for key, evs in threads.items():
        assert key in named_threads, f"thread {key} has no thread_name"
        assert key[0] in named_processes, f"process {key[0]} has no process_name"
        for a, b in zip(evs, evs[1:]):
            assert b["ts"] >= a["ts"], f"thread {key}: ts goes back from {a} to {b}"
            assert ns(b["ts"]) >= ns(a["ts"]) + ns(a["dur"]), f"thread {key}: {a} overlaps {b}"
    for key, evs in counters.items():
        assert all(b["ts"] >= a["ts"] for a, b in zip(evs, evs[1:])), f"counter {key} goes back in time"
    return threads, counters


def thread_named(trace, pid, name):
    tids = [e["tid"] for e in trace["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == pid and e["args"]["name"] == name]
    assert len(tids) == 1, f"pid {pid}: {len(tids)} threads named {name!r}"
    return tids[0]


def check_phase_sums(trace, profile, threads, pid=1):
    """The 'phases' thread adds up to the profile's totals, phase by phase, in cycles and in time."""
    phases = threads[pid, thread_named(trace, pid, "phases")]
    clock = profile.spec.clock_hz
    for kind in PHASES:
        mine = [e for e in phases if e["cat"] == kind]
        assert sum(e["args"]["cycles"] for e in mine) == profile.cycles_by_phase()[kind], kind
        # each event is rounded to whole ns, so the sum of durations is within half a ns per event
        seconds = sum(e["dur"] for e in mine) / 1e6
        assert seconds == pytest.approx(profile.cycles_by_phase()[kind] / clock, abs=0.5e-9 * len(mine) + 1e-15)
    end = phases[-1]["ts"] + phases[-1]["dur"]
    assert ns(end) == round(profile.total_cycles * 1e9 / clock)      # the last phase ends when the run does
    steps = threads[pid, thread_named(trace, pid, "steps")]
    assert len(steps) == profile.num_supersteps
    assert sum(e["args"]["cycles"] for e in steps) == profile.total_cycles


def check_tile_sums(trace, profile, threads, tiles):
    per_ipu = profile.spec.tiles
    for tile in tiles:
        pid = tile // per_ipu + 1
        evs = threads[pid, thread_named(trace, pid, f"tile {tile}")]
        for kind in ("compute", "exchange", "host"):
            busy = sum(e["args"]["cycles"] for e in evs if e["cat"] == kind)
            assert busy == profile.tile_cycles(kind)[tile], (tile, kind)
        assert sum(e["args"]["cycles"] for e in evs if e["cat"] == "sync") == profile.sync_cycles


def counter_sum(trace, name, series, pid=None):
    return sum(e["args"][series] for e in trace["traceEvents"]
               if e["ph"] == "C" and e["name"] == name and (pid is None or e["pid"] == pid))


@pytest.fixture(scope="module")
def bsp_run():
    """Notebook 02's BSP program: three supersteps of scale vertices, each followed by a halo exchange."""
    spec = ipukit.GC2.replace(tiles=16)
    g, program = widgets.bsp_graph(spec, work=2000, imbalance=50)
    eng = ipukit.Engine(g, program)
    eng.run()
    return eng


def test_notebook_02_program_adds_up_to_its_profile(bsp_run, tmp_path):
    p = bsp_run.profile
    path = tmp_path / "bsp.json"
    trace = p.to_trace_events(path)
    assert json.loads(path.read_text()) == trace                      # what is written is what is returned
    threads, _ = check_schema(trace)
    assert p.compute_cycles and p.exchange_cycles and p.sync_cycles      # every phase kind takes part
    check_phase_sums(trace, p, threads)
    check_tile_sums(trace, p, threads, range(p.num_tiles))
    assert counter_sum(trace, "exchange bytes", "received") == p.exchange_bytes
    assert counter_sum(trace, "exchange bytes", "sent") == int(p.tile_bytes("sent").sum())
    assert trace["otherData"]["whole_run"] is True
    assert trace["otherData"]["totals"]["total_cycles"] == p.total_cycles
    # microseconds at the spec's clock: the first compute phase of the slowest tile
    first_compute = next(e for e in threads[1, thread_named(trace, 1, "tile 0")] if e["cat"] == "compute")
    assert first_compute["dur"] == pytest.approx(first_compute["args"]["cycles"] / 1.6e9 * 1e6, abs=1e-3)


def test_workers_show_the_vertices_of_each_tile(bsp_run):
    p, eng = bsp_run.profile, bsp_run
    trace = p.to_trace_events(engine=eng, tiles=[0, 5])
    threads, _ = check_schema(trace)
    names = {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "thread_name"}
    assert {"tile 0", "tile 5", "tile 0 worker 0", "tile 5 worker 5"} <= names
    assert "tile 1" not in names
    plan = next(s.compute for s in eng.steps if s.compute is not None)
    runs = next(r.count for r in p.steps if r.kind == "execute")
    for tile in (0, 5):
        tile_events = [e for e in threads[1, thread_named(trace, 1, f"tile {tile}")] if e["cat"] == "compute"]
        vertex_events = [e for w in range(6) for e in threads[1, thread_named(trace, 1, f"tile {tile} worker {w}")]]
        on_tile = plan.vertex_tiles == tile
        assert len(vertex_events) == runs * on_tile.sum()
        assert sum(e["args"]["worker_cycles"] for e in vertex_events) == runs * plan.vertex_cycles[on_tile].sum()
        for v in vertex_events:                  # every vertex runs inside its tile's compute phase
            assert any(ns(c["ts"]) <= ns(v["ts"]) and ns(v["ts"]) + ns(v["dur"]) <= ns(c["ts"]) + ns(c["dur"])
                       for c in tile_events), v


def test_host_streams_and_two_ipus(tmp_path):
    spec = ipukit.GC2.replace(tiles=4, num_ipus=2)
    g = ipukit.Graph(spec)
    x, y = g.add_variable(64, name="x"), g.add_variable(64, name="y")
    g.map_linearly(x)                                          # over all 8 tiles of both IPUs
    g.set_tile_mapping(y, [[]] * 4 + [[(0, 16)], [(16, 32)], [(32, 48)], [(48, 64)]])   # on IPU 1 only
    cs = g.add_compute_set("scale")
    for tile in range(8):
        part = slice(8 * tile, 8 * tile + 8)
        g.add_vertex(cs, C.scale, tile=tile, a=x[part], out=x[part], factor=3.0)
    into, out = g.add_host_stream("in", 64), g.add_host_stream("out", 64, direction="from_device")
    eng = ipukit.Engine(g, ipukit.Sequence(ipukit.Copy(into, x), ipukit.Execute(cs), ipukit.Copy(x, y),
                                           ipukit.Copy(y, out)))
    values = np.arange(64, dtype=np.float32)
    eng.connect_stream("in", values)
    result = np.zeros(64, np.float32)
    eng.connect_stream("out", result)
    p = eng.run()
    trace = p.to_trace_events(tmp_path / "two.json")
    threads, _ = check_schema(trace)
    assert p.host_cycles and p.exchange_cycles and p.link_bytes
    for pid in (1, 2):                                           # each IPU's process sees the whole run
        check_phase_sums(trace, p, threads, pid=pid)
    check_tile_sums(trace, p, threads, range(8))
    assert {e["args"]["name"] for e in trace["traceEvents"] if e["name"] == "process_name"} == {
        "IPU 0 (GC2, 4 tiles)", "IPU 1 (GC2, 4 tiles)"}
    assert counter_sum(trace, "exchange bytes", "received") == p.exchange_bytes
    assert counter_sum(trace, "exchange bytes", "received", pid=1) == 0      # y lives on IPU 1 only
    host = counter_sum(trace, "host bytes", "to_device") + counter_sum(trace, "host bytes", "from_device")
    assert host == p.host_bytes == 2 * 64 * 4
    assert any("link_bytes" in e["args"] for e in trace["traceEvents"] if e["ph"] == "X")


def test_part_of_a_long_run(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(16, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("scale")
    g.add_vertex(cs, C.scale, tile=0, a=x[:2], out=x[:2], factor=1.0)
    p = ipukit.Engine(g, ipukit.Repeat(25_000, ipukit.Execute(cs))).run()
    assert not p.trace_complete
    trace = p.to_trace_events(tiles=[0])
    threads, _ = check_schema(trace)
    assert trace["otherData"]["whole_run"] is False
    assert len(threads[1, thread_named(trace, 1, "steps")]) == len(p.trace)
    few = p.to_trace_events(tiles=[0], first=10, steps=3)
    steps = [e for e in few["traceEvents"] if e["ph"] == "X" and e["cat"] == "step"]
    assert [e["args"]["execution"] for e in steps] == [10, 11, 12]
    assert ns(steps[0]["ts"]) == round(10 * p.steps[0].cycles() * 1e9 / spec.clock_hz)   # times stay the run's


def test_bad_arguments_are_refused(bsp_run):
    p = bsp_run.profile
    with pytest.raises(ValueError, match="tile 16 is out of range"):
        p.to_trace_events(tiles=[16])
    with pytest.raises(ValueError, match="first=7"):
        p.to_trace_events(first=7)
    with pytest.raises(ValueError, match="name fewer tiles"):
        p.to_trace_events(max_events=100)
    other = ipukit.Engine(*widgets.bsp_graph(ipukit.GC2.replace(tiles=4), work=100, supersteps=1))
    other.run()
    with pytest.raises(ValueError, match="engine= must be the Engine"):
        p.to_trace_events(engine=other)
