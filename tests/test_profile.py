"""The profile: totals consistent with the steps, compact under Repeat, readable and serialisable."""
import json

import ipukit
from ipukit import Engine, Execute, Repeat, Sequence
from ipukit import codelets as C

from helpers import elementwise_graph


def test_totals_are_sums_over_steps_and_phases(spec):
    g, ins, out, prog = elementwise_graph(spec, C.add, 96, chunks=12)
    eng = Engine(g, Sequence(prog, Repeat(3, prog)))
    p = eng.run()
    assert p is eng.profile
    assert p.total_cycles == p.compute_cycles + p.exchange_cycles + p.sync_cycles + p.host_cycles
    assert p.num_supersteps == 4
    assert p.vertex_executions == 4 * 12
    assert p.seconds == p.total_cycles / spec.clock_hz
    assert sorted(r.count for r in p.steps) == [1, 3]
    assert p.tile_cycles("compute").max() <= p.compute_cycles


def test_repeat_keeps_the_profile_small(spec):
    g, ins, out, prog = elementwise_graph(spec, C.add, 8, chunks=2)
    eng = Engine(g, Repeat(25_000, prog))
    p = eng.run()
    assert len(p.steps) == 1 and p.steps[0].count == 25_000
    assert p.num_supersteps == 25_000
    assert not p.trace_complete and len(p.trace) == 20_000


def test_summary_and_json(spec):
    g, ins, out, prog = elementwise_graph(spec, C.mul, 64, chunks=8)
    eng = Engine(g, prog)
    eng.run()
    text = eng.profile.summary()
    assert "Target: GC2: 8 tiles" in text
    assert f"{eng.profile.total_cycles:,}" in text
    assert "Execute 'mul' (8 vertices)" in text
    d = json.loads(eng.profile.to_json(tiles=True))
    assert d["totals"]["total_cycles"] == eng.profile.total_cycles
    assert len(d["tiles"]["compute_cycles"]) == 8
    assert d["memory"]["peak_bytes"] == eng.memory.peak_bytes


def test_balance_reports_uneven_tiles(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(300, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("uneven")
    g.add_vertex(cs, C.relu, tile=0, a=x[:200], out=x[:200])
    g.add_vertex(cs, C.relu, tile=1, a=x[200:220], out=x[200:220])
    eng = Engine(g, Execute(cs))
    eng.run()
    rec = eng.profile.steps[0]
    compute = next(ph for ph in rec.phases if ph.kind == "compute")
    busy = compute.tile_cycles[compute.tile_cycles > 0]
    assert rec.balance == busy.mean() / busy.max() < 1
