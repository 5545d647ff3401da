"""The cycle model, checked against hand computations from the stated rules."""
import math

import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, cost
from ipukit.compile.exchange import Plan

SPEC = ipukit.GC2.replace(tiles=4)


def vertices(spec, cycles_per_vertex, tile=0):
    """A graph with one fixed-cost vertex per entry, all on ``tile``."""
    g = ipukit.Graph(spec)
    x = g.add_variable(len(cycles_per_vertex), name="x")
    g.set_tile_mapping(x, tile)
    cs = g.add_compute_set("work")
    for i, c in enumerate(cycles_per_vertex):
        k = ipukit.codelet(outputs={"out": "float32[1]"}, cycles=c)(lambda out: None)
        g.add_vertex(cs, k, tile=tile, out=x[i:i + 1])
    eng = Engine(g, Execute(cs))
    eng.run()
    return eng.profile


def test_a_lone_worker_runs_at_one_sixth_speed():
    p = vertices(SPEC, [100])
    assert p.compute_cycles == 6 * 100


def test_six_workers_fill_the_pipeline():
    """Six vertices of 100 cycles take as long as one: 6x the throughput."""
    assert vertices(SPEC, [100] * 6).compute_cycles == 6 * 100


def test_seventh_vertex_goes_back_to_worker_zero():
    assert vertices(SPEC, [100] * 7).compute_cycles == 6 * 200


def test_each_vertex_starts_on_the_next_free_worker():
    # workers 0-5 take 50, 10, 10, 10, 10, 10; at 10 worker 1 is the first free (lowest index
    # of the five free then), so the 70 runs there until 80. Round-robin would have put it on
    # worker 0 (50 + 70 = 120).
    assert _busy_run([50, 10, 10, 10, 10, 10, 70], "reference").compute_cycles == 6 * 80


def _list_scheduling(cycles, workers):
    """Makespan (worker cycles) by a min-heap of (free at, worker): an independent statement of the rule."""
    import heapq
    free = [(0, w) for w in range(workers)]
    end = 0
    for c in cycles:
        at, w = heapq.heappop(free)
        heapq.heappush(free, (at + c, w))
        end = max(end, at + c)
    return end


@ipukit.codelet(outputs={"out": "float32[1]"}, cycles=lambda work: work)
def _busy(out, work):
    out[0] = work


@pytest.mark.parametrize("backend", ["reference", "numba"])
@pytest.mark.parametrize("seed", range(3))
def test_uneven_vertices_take_what_list_scheduling_gives(seed, backend):
    rng = np.random.default_rng(seed)
    cycles = rng.integers(1, 300, int(rng.integers(7, 40))).tolist()
    assert _busy_run(cycles, backend).compute_cycles == 6 * _list_scheduling(cycles, 6)


def _busy_run(cycles, backend):
    """The profile of one compute set of ``_busy`` vertices (estimates ``cycles``) on tile 2."""
    g = ipukit.Graph(SPEC)
    x = g.add_variable(len(cycles), name="x")
    g.set_tile_mapping(x, 2)
    cs = g.add_compute_set("uneven")
    for i, c in enumerate(cycles):
        g.add_vertex(cs, _busy, tile=2, out=x[i:i + 1], work=c)
    eng = Engine(g, Execute(cs), backend=backend)
    profile = eng.run()
    assert eng.read(x).tolist() == cycles
    return profile


def test_list_scheduling_and_its_vectorised_twin_agree():
    rng = np.random.default_rng(7)
    tiles = rng.integers(0, 5, 300)
    cycles = rng.integers(1, 100, 300)
    multi = rng.random(300) < 0.1
    cycles[tiles == 3] = 40                          # a tile of equal vertices: dealt round-robin
    multi[tiles == 3] = False
    loads = cost.worker_loads(SPEC.replace(tiles=5), 5, tiles, cycles, multi)
    for t in range(5):
        on = tiles == t
        ends = np.zeros(6, np.int64)
        for runs in cost.list_schedule(cycles[on], multi[on], 6):
            for w, start, length in runs:
                ends[w] = max(ends[w], start + length)
        assert loads[t].tolist() == ends.tolist(), t
        plain = cycles[on][~multi[on]]
        if not multi[on].any():
            assert loads[t].max() == _list_scheduling(plain.tolist(), 6)


def test_a_multivertex_waits_for_every_worker_then_runs_on_all_six():
    # two vertices of 10 on workers 0 and 1; the MultiVertex starts at 10 on all six, each for 20
    ph = cost.compute_phase(SPEC, 1, np.zeros(3, np.int64), np.array([10, 10, 20]),
                            multi=np.array([False, False, True]))
    assert ph.cycles == 6 * (10 + 20)
    after = cost.worker_loads(SPEC, 1, np.zeros(4, np.int64), np.array([20, 5, 5, 5]),
                              np.array([True, False, False, False]))
    assert after.tolist() == [[25, 25, 25, 20, 20, 20]]


def test_the_slowest_tile_sets_the_phase():
    w = cost.worker_loads(SPEC, 4, np.array([0, 1, 1, 2]), np.array([30, 10, 15, 5]))
    assert w.tolist()[1] == [10, 15, 0, 0, 0, 0]
    ph = cost.compute_phase(SPEC, 4, np.array([0, 1, 1, 2]), np.array([30, 10, 15, 5]))
    assert ph.tile_cycles.tolist() == [180, 90, 30, 0] and ph.cycles == 180


def test_exchange_time_is_max_of_send_and_receive_over_4_bytes_per_cycle():
    # tile 0 sends 400 B to tile 1 and 400 B (other data) to tile 2; tile 3 sends 100 B to tile 1.
    plan = Plan(np.array([0, 0, 3]), np.array([0, 400, 0]), np.array([1, 2, 1]), np.array([0, 0, 400]),
                np.array([400, 400, 100]))
    ph = cost.exchange_phase(SPEC, 4, plan)
    assert ph.bytes_sent.tolist() == [800, 0, 0, 100]
    assert ph.bytes_received.tolist() == [0, 500, 400, 0]
    assert ph.tile_cycles.tolist() == [200, 125, 100, 25]
    assert ph.cycles == 200


def test_a_broadcast_is_sent_once():
    # the same 400 B go from tile 0 to tiles 1, 2 and 3
    plan = Plan(np.zeros(3, np.int64), np.zeros(3, np.int64), np.array([1, 2, 3]), np.zeros(3, np.int64),
                np.full(3, 400))
    ph = cost.exchange_phase(SPEC, 4, plan)
    assert ph.bytes_sent.tolist() == [400, 0, 0, 0]
    assert ph.cycles == 100


def test_partly_overlapping_sends_count_the_union():
    plan = Plan(np.array([0, 0]), np.array([0, 100]), np.array([1, 2]), np.array([0, 0]), np.array([200, 200]))
    assert cost.exchange_phase(SPEC, 4, plan).bytes_sent[0] == 300


def test_on_tile_runs_are_not_exchange():
    plan = Plan(np.array([2]), np.array([0]), np.array([2]), np.array([64]), np.array([64]))
    assert cost.exchange_phase(SPEC, 4, plan) is None


def test_copy_step_costs_sync_plus_exchange():
    g = ipukit.Graph(SPEC)
    x, y = g.add_variable(100, name="x"), g.add_variable(100, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 1)
    eng = Engine(g, Copy(x, y))
    eng.run()
    p = eng.profile
    assert p.exchange_cycles == 400 // 4
    assert p.sync_cycles == SPEC.sync_cycles
    assert p.total_cycles == 100 + SPEC.sync_cycles
    assert p.exchange_bytes == 400


def test_on_tile_copy_costs_compute_at_store_bandwidth():
    g = ipukit.Graph(SPEC)
    x, y = g.add_variable(100, name="x"), g.add_variable(100, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 0)
    eng = Engine(g, Copy(x, y))
    eng.run()
    assert eng.profile.exchange_cycles == 0
    assert eng.profile.compute_cycles == math.ceil(400 / SPEC.memory_write_bytes_per_cycle)


def test_mapping_changes_cost_not_result():
    """Everything on one tile vs spread over four: same numbers, different cycles."""
    results, cycles = [], []
    for spread in (False, True):
        g = ipukit.Graph(SPEC)
        a, b = g.add_variable(64, name="a"), g.add_variable(64, name="b")
        for t in (a, b):
            g.map_linearly(t) if spread else g.set_tile_mapping(t, 0)
        cs = g.add_compute_set()
        for i in range(4):
            sl = slice(16 * i, 16 * i + 16)
            g.add_vertex(cs, ipukit.codelets.add, tile=i if spread else 0, a=a[sl], b=a[sl], out=b[sl])
        eng = Engine(g, Execute(cs))
        eng.write(a, np.arange(64, dtype=np.float32))
        eng.run()
        results.append(eng.read(b))
        cycles.append(eng.profile.compute_cycles)
    np.testing.assert_array_equal(results[0], results[1])
    # four vertices on one tile: four workers, each 1 vertex -> same time as one per tile
    assert cycles[0] == cycles[1]
    per_vertex = cost.VERTEX_OVERHEAD + cost.BINARY_CYCLES_PER_VECTOR * 8
    assert cycles[1] == 6 * per_vertex


def test_amp_reaches_peak_only_with_six_workers():
    m = k = n = 24
    one = cost.amp_cycles(m, k, n, ipukit.GC2, np.float32)
    assert one == cost.VERTEX_OVERHEAD + 2 * m * k * n // 16
    # one vertex alone: 6x its worker cycles; flops per tile cycle = 1/6 of 16 (minus overhead)
    flops_per_cycle = 2 * m * k * n / (6 * one)
    assert flops_per_cycle == pytest.approx(16 / 6, rel=0.02)


def test_global_sync_follows_poplibs_model():
    two = ipukit.GC200.replace(num_ipus=2)
    hops = 1 + (2 // 2) // 2
    assert two.global_sync_cycles == two.sync_cycles + math.ceil(15e-9 * 1.33e9 * hops * 2)
    eight = ipukit.GC200.replace(num_ipus=8)
    assert eight.global_sync_cycles == eight.sync_cycles + math.ceil(15e-9 * 1.33e9 * 3 * 2)


def test_cross_ipu_copy_uses_links_and_global_sync():
    spec = ipukit.GC2.replace(tiles=4, num_ipus=2)
    g = ipukit.Graph(spec)
    x, y = g.add_variable(1000, name="x"), g.add_variable(1000, name="y")
    g.set_tile_mapping(x, 0)      # IPU 0
    g.set_tile_mapping(y, 5)      # IPU 1
    eng = Engine(g, Copy(x, y))
    eng.run()
    p = eng.profile
    assert p.link_bytes == 4000
    link_cycles = math.ceil(4000 / spec.ipu_link_bytes_per_cycle)
    assert p.exchange_cycles == max(1000, link_cycles)
    assert p.sync_cycles == spec.global_sync_cycles


def test_host_stream_cost_uses_host_bandwidth():
    spec = ipukit.GC2.replace(tiles=4)
    g = ipukit.Graph(spec)
    x = g.add_variable(40_000, name="x")
    g.map_linearly(x)
    s = g.add_host_stream("in", 40_000)
    eng = Engine(g, Copy(s, x))
    eng.connect_stream("in", np.zeros(40_000, np.float32))
    eng.run()
    expected = max(math.ceil(160_000 / spec.host_bytes_per_cycle), 40_000 // 4)
    assert eng.profile.host_cycles == expected


def test_remote_input_is_charged_even_when_read_in_place():
    """A contiguous remote input is read where it lives, but costs its exchange and buffer."""
    g = ipukit.Graph(SPEC)
    x, y = g.add_variable(64, name="x"), g.add_variable(64, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 1)
    cs = g.add_compute_set()
    g.add_vertex(cs, ipukit.codelets.copy, tile=1, a=x, out=y)
    eng = Engine(g, Execute(cs))
    plan = eng.layout.compute[cs]
    assert len(plan.gather) == 1 and len(plan.gather_run) == 0
    assert eng.memory.category("exchange buffers")[1] == 256
    eng.write(x, np.arange(64, dtype=np.float32))
    eng.run()
    np.testing.assert_array_equal(eng.read(y), np.arange(64))
    assert eng.profile.exchange_bytes == 256 and eng.profile.exchange_cycles == 64
