"""Grading tests of notebook 09 (capstone): ex09_1, ex09_2 and ex09_3.

Expected values come from how each test builds its program and from the cost
model's rules (six workers, 10 cycles to start a vertex, one cycle per 64-bit
vector for ``scale``, 4 bytes per cycle on the exchange, a 150-cycle sync, the
host link's bytes per second), or from published peak rates (GC2: 31.1 TFLOPS
float32, 124.5 float16, for 1216 tiles; GC200: 62.5 and 250 for 1472 tiles),
never from the code under test.  Every run uses the reference backend: plain
Python, so the grader starts no numba compilation.
"""
import math

import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, Repeat, Sequence
from ipukit import codelets as C
from ipukit import ops

WORKERS, OVERHEAD, SYNC = 6, 10, 150
PUBLISHED_PEAK = {                      # FLOP/s of a whole chip, and its tiles
    ("GC2", "float32"): (31.1e12, 1216), ("GC2", "float16"): (124.5e12, 1216),
    ("GC200", "float32"): (62.5e12, 1472), ("GC200", "float16"): (250e12, 1472),
}
GELU_C = math.sqrt(2.0 / math.pi)


@pytest.fixture(scope="module")
def ex09(load):
    return load("ex09_capstone")


def _num(x):
    return f"{x:,}" if isinstance(x, (int, np.integer)) else repr(x)


# --- ex09_1: read a profile ----------------------------------------------------------
def _scale_cycles(n):
    """A tile with one scale vertex over n float32: 6 x (10 + one cycle per 2 elements)."""
    return WORKERS * (OVERHEAD + -(-n // 2)) if n else 0


def _profile_case(tiles, loads, repeats, copies, host_elements):
    """Run a program with known costs; return (profile, expected phase totals, compute per tile).

    ``loads[k][t]``: elements of compute set k's one scale vertex on tile t (0: none),
    run ``repeats[k]`` times; ``copies``: float32 counts copied from tile 0 to tile 1;
    ``host_elements``: float32 streamed from the host onto the last tile (0: no stream).
    """
    spec = ipukit.GC2.replace(tiles=tiles)
    g = ipukit.Graph(spec)
    steps = []
    busy = np.zeros(tiles, np.int64)
    totals = {"compute": 0, "exchange": 0, "sync": 0, "host": 0}
    for k, (load, reps) in enumerate(zip(loads, repeats)):
        x = g.add_variable(int(sum(load)) or 1, name=f"x{k}")
        y = g.add_variable(int(sum(load)) or 1, name=f"y{k}")
        cs = g.add_compute_set(f"work{k}")
        start = 0
        for t, n in enumerate(load):
            if n:
                g.set_tile_mapping(x[start:start + n], t)
                g.set_tile_mapping(y[start:start + n], t)
                g.add_vertex(cs, C.scale, tile=t, a=x[start:start + n], out=y[start:start + n], factor=0.5)
                start += n
        if start == 0:                              # nothing to do: keep the tensors on tile 0
            g.set_tile_mapping(x, 0)
            g.set_tile_mapping(y, 0)
        steps.append(Repeat(reps, Execute(cs)))
        per_tile = np.array([_scale_cycles(n) for n in load], np.int64)
        busy += reps * per_tile
        totals["compute"] += reps * int(per_tile.max())
        totals["sync"] += reps * SYNC
    for i, m in enumerate(copies):
        a, b = g.add_variable(m, name=f"a{i}"), g.add_variable(m, name=f"b{i}")
        g.set_tile_mapping(a, 0)
        g.set_tile_mapping(b, 1)
        steps.append(Copy(a, b))
        totals["exchange"] += m                     # 4 m bytes at 4 bytes per cycle
        totals["sync"] += SYNC
    if host_elements:
        stream = g.add_host_stream("feed", host_elements)
        h = g.add_variable(host_elements, name="h")
        g.set_tile_mapping(h, tiles - 1)
        steps.append(Copy(stream, h))
        nbytes = 4 * host_elements                  # the host link, or the tile's 4 B/cycle port
        totals["host"] += max(math.ceil(nbytes / (spec.host_bytes_per_second / spec.clock_hz)), -(-nbytes // 4))
        totals["sync"] += SYNC
    eng = Engine(g, Sequence(*steps), backend="reference")
    if host_elements:
        eng.connect_stream("feed", np.zeros(host_elements, np.float32))
    return eng.run(), totals, busy


def _check_read_profile(ex09, profile, totals, busy):
    order = ("compute", "exchange", "sync", "host")
    phase = max(order, key=lambda k: totals[k])
    tile = int(np.flatnonzero(busy == busy.max())[0])
    share = busy[tile] / busy.sum()
    answer = ex09.read_profile(profile)
    assert isinstance(answer, tuple) and len(answer) == 3, f"expected a (phase, tile, share) tuple, got {answer!r}"
    got_phase, got_tile, got_share = answer
    cycles = ", ".join(f"{k} {totals[k]:,}" for k in order)
    assert got_phase == phase, f"expected phase {phase!r} (cycles by phase: {cycles}), got {got_phase!r}"
    assert got_tile == tile, (f"expected tile {tile}, the busiest computing (compute cycles per tile: "
                              f"{busy.tolist()}), got {got_tile!r}")
    assert got_share == pytest.approx(share, rel=1e-9), (
        f"expected tile {tile}'s share of all compute cycles, {busy[tile]:,} / {busy.sum():,} = {share:.6f}, "
        f"got {_num(got_share)}")


@pytest.mark.ex09_1
def test_read_profile_compute_bound_and_skewed(ex09):
    # tile 2 holds 4,000 elements, the others 400: compute dominates, tile 2 does most of it
    profile, totals, busy = _profile_case(4, [[400, 400, 4000, 400]], [3], [], 0)
    _check_read_profile(ex09, profile, totals, busy)


@pytest.mark.ex09_1
def test_read_profile_exchange_bound(ex09):
    profile, totals, busy = _profile_case(4, [[100, 300, 0, 100]], [1], [20_000, 5_000], 0)
    _check_read_profile(ex09, profile, totals, busy)


@pytest.mark.ex09_1
def test_read_profile_sync_bound(ex09):
    # tiny work, repeated: every superstep pays a 150-cycle sync for ~100 cycles of work
    profile, totals, busy = _profile_case(8, [[8, 8, 8, 8, 8, 8, 8, 9], [2, 0, 0, 0, 0, 0, 0, 2]], [20, 30], [], 0)
    _check_read_profile(ex09, profile, totals, busy)


@pytest.mark.ex09_1
def test_read_profile_host_bound(ex09):
    profile, totals, busy = _profile_case(2, [[50, 60]], [1], [100], 30_000)
    _check_read_profile(ex09, profile, totals, busy)


@pytest.mark.ex09_1
@pytest.mark.parametrize("seed", range(6))
def test_read_profile_random(ex09, seed):
    rng = np.random.default_rng(900 + seed)
    tiles = int(rng.integers(2, 13))
    sets = int(rng.integers(1, 4))
    loads = [(rng.integers(0, 2000, tiles) * (rng.random(tiles) < 0.8)).tolist() for _ in range(sets)]
    for load in loads:
        load[int(rng.integers(tiles))] += 1          # at least one vertex in every compute set
    repeats = rng.integers(1, 6, sets).tolist()
    copies = rng.integers(1, 15_000, int(rng.integers(0, 3))).tolist()
    host = int(rng.choice([0, int(rng.integers(1, 16_000))]))
    profile, totals, busy = _profile_case(tiles, loads, repeats, copies, host)
    _check_read_profile(ex09, profile, totals, busy)


# --- ex09_2: achieved FLOP/s and the fraction of the peak ----------------------------------
def _published_peak(spec, dtype):
    chip, tiles = PUBLISHED_PEAK[(spec.name, dtype)]
    return chip / tiles * spec.total_tiles


def _check_flops(ex09, profile, flops, dtype, expected_cycles=None):
    spec = profile.spec
    cycles = profile.total_cycles if expected_cycles is None else expected_cycles
    rate = flops / (cycles / spec.clock_hz)
    peak = _published_peak(spec, dtype)
    compute_rate = flops / (profile.compute_cycles / spec.clock_hz)
    answer = ex09.achieved_flops(profile, flops, dtype)
    assert isinstance(answer, tuple) and len(answer) == 3, \
        f"expected a (flops_per_second, fraction_of_peak, compute_fraction) tuple, got {answer!r}"
    got_rate, got_fraction, got_compute = answer
    assert got_rate == pytest.approx(rate, rel=1e-6), (
        f"expected {flops:,} FLOP in {cycles:,} cycles at {spec.clock_hz / 1e9:g} GHz = {rate:.6g} FLOP/s "
        f"(every phase counts), got {_num(got_rate)}")
    assert got_fraction == pytest.approx(rate / peak, rel=0.01), (
        f"expected {rate:.4g} / {peak:.4g} (the {dtype} peak of {spec.total_tiles} {spec.name} tiles) = "
        f"{rate / peak:.4f}, got {_num(got_fraction)}")
    assert got_compute == pytest.approx(compute_rate / peak, rel=0.01), (
        f"expected the fraction over the compute phases only ({profile.compute_cycles:,} of {cycles:,} cycles): "
        f"{compute_rate / peak:.4f}, got {_num(got_compute)}")


@pytest.mark.ex09_2
def test_achieved_flops_by_hand(ex09):
    # 4 tiles x 6 vertices of (4 x 8) @ (8 x 4): 256 FLOP each, 10 + 256 / 16 = 26 worker cycles;
    # one compute phase of 6 x 26 = 156 cycles after a 150-cycle sync: 306 cycles for 24,576 FLOP
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    a, b, c = g.add_variable((24, 4, 8), name="a"), g.add_variable((24, 8, 4), name="b"), \
        g.add_variable((24, 4, 4), name="c")
    cs = g.add_compute_set("blocks")
    for v in range(24):
        for t in (a[v], b[v], c[v]):
            g.set_tile_mapping(t, v // 6)
        g.add_vertex(cs, C.matmul_partial, tile=v // 6, a=a[v], b=b[v], out=c[v])
    profile = Engine(g, Execute(cs), backend="reference").run()
    _check_flops(ex09, profile, 24 * 256, "float32", expected_cycles=306)


def _matmul_profile(spec, m, k, n, dtype, batch=1, seed=0):
    g = ipukit.Graph(spec)
    shape_a, shape_b = ((batch, m, k), (batch, k, n)) if batch > 1 else ((m, k), (k, n))
    a, b = g.add_variable(shape_a, dtype, name="a"), g.add_variable(shape_b, dtype, name="b")
    g.map_linearly(a)
    g.map_linearly(b)
    out, prog = ops.matmul(g, a, b)
    eng = Engine(g, prog, backend="reference")
    rng = np.random.default_rng(seed)
    eng.write(a, rng.standard_normal(shape_a).astype(dtype))
    eng.write(b, rng.standard_normal(shape_b).astype(dtype))
    return eng.run()


@pytest.mark.ex09_2
@pytest.mark.parametrize("chip, tiles, ipus, m, k, n, dtype, batch", [
    ("GC2", 16, 1, 64, 48, 80, "float32", 1),
    ("GC2", 8, 1, 32, 64, 32, "float16", 1),          # the float16 peak is four times the float32 one
    ("GC200", 8, 2, 40, 32, 48, "float32", 1),       # every tile of both IPUs counts in the peak
    ("GC200", 12, 1, 16, 24, 16, "float16", 3),
])
def test_achieved_flops_matmuls(ex09, chip, tiles, ipus, m, k, n, dtype, batch):
    spec = getattr(ipukit, chip).replace(tiles=tiles, num_ipus=ipus)
    profile = _matmul_profile(spec, m, k, n, dtype, batch)
    _check_flops(ex09, profile, 2 * batch * m * k * n, dtype)


@pytest.mark.ex09_2
@pytest.mark.parametrize("seed", range(4))
def test_achieved_flops_random(ex09, seed):
    rng = np.random.default_rng(920 + seed)
    chip = str(rng.choice(["GC2", "GC200"]))
    dtype = str(rng.choice(["float32", "float16"]))
    spec = getattr(ipukit, chip).replace(tiles=int(rng.integers(2, 17)))
    m, k, n = (int(v) for v in rng.integers(4, 60, 3))
    profile = _matmul_profile(spec, m, k, n, dtype, seed=seed)
    _check_flops(ex09, profile, 2 * m * k * n, dtype)


# --- ex09_3: tune the mapping of the activation step ---------------------------------------
def _budget(spec, rows, width):
    """The cycles of the tuned layout, by the cost model's rules.

    Whole rows, at most ceil(rows / tiles) on a tile, dealt to six workers: the
    busiest worker has ceil(that / 6) rows.  One bias_gelu_rows vertex of r rows costs
    10 + 4 r + 12 per 64-bit vector (an add and a GELU); the tile is busy 6 x that.
    Before it, each tile that does not hold the bias receives it once: width x 4 B at
    4 B per cycle, a sync before the exchange and one before the compute.
    """
    per_tile = -(-rows // spec.tiles)
    r = -(-per_tile // WORKERS)
    vertex = OVERHEAD + 4 * r + 12 * -(-(r * width) // 2)
    return 2 * SYNC + width + WORKERS * vertex


def _gelu_reference(x, bias):
    z = x.astype(np.float64) + bias.astype(np.float64)
    return 0.5 * z * (1.0 + np.tanh(GELU_C * (z + 0.044715 * z ** 3)))


def _check_tuned(ex09, budget, tiles, rows, width, seed=0):
    budget.case(f"{rows} rows of width {width} on {tiles} tiles")
    spec = ipukit.GC2.replace(tiles=tiles)
    g = ipukit.Graph(spec)
    answer = ex09.tuned_bias_gelu(g, rows, width)
    assert isinstance(answer, tuple) and len(answer) == 4, f"expected (x, bias, out, program), got {answer!r}"
    x, bias, out, program = answer
    for label, t, shape in (("x", x, (rows, width)), ("bias", bias, (width,)), ("out", out, (rows, width))):
        assert isinstance(t, ipukit.Tensor), f"expected {label} to be an ipukit.Tensor, got {type(t).__name__}"
        assert t.shape == shape and t.dtype == np.float32, \
            f"expected {label} to be float32 of shape {shape}, got {t.dtype} {t.shape}"
    assert isinstance(program, ipukit.Program), f"expected a program, got {type(program).__name__}"
    rng = np.random.default_rng(seed)
    xv = rng.standard_normal((rows, width)).astype(np.float32)
    bv = rng.standard_normal(width).astype(np.float32)
    eng = Engine(g, program, backend="reference")
    eng.write(x, xv)
    eng.write(bias, bv)
    eng.write(out, np.full((rows, width), np.nan, np.float32))      # elements nobody writes stay NaN
    profile = eng.run()
    got, want = eng.read(out).astype(np.float64), _gelu_reference(xv, bv)
    bad = np.argwhere(~np.isclose(got, want, rtol=1e-5, atol=1e-6))
    assert not bad.size, (f"expected out = GELU(x + bias), but {len(bad)} of {got.size} elements differ; first at "
                          f"{tuple(bad[0])}: expected {want[tuple(bad[0])]:.6g}, got {got[tuple(bad[0])]:.6g}"
                          + (" (never written)" if np.isnan(got[tuple(bad[0])]) else ""))
    budget.check("cycles", profile.total_cycles, _budget(spec, rows, width), "cycles")
    budget.record("supersteps", profile.num_supersteps)
    budget.record("exchange bytes", profile.exchange_bytes, "B")
    budget.record("busiest tile's compute", int(profile.tile_cycles("compute").max()), "cycles")


@pytest.mark.ex09_3
def test_tuned_bias_gelu_fixed(ex09, budget):
    # 100 rows of 48 over 16 tiles: linear mapping cuts rows; whole rows give 7 a tile, 2 per worker
    _check_tuned(ex09, budget, 16, 100, 48)


@pytest.mark.ex09_3
def test_tuned_bias_gelu_few_rows_per_tile(ex09, budget):
    # 3 rows a tile: only three workers can have a row each
    _check_tuned(ex09, budget, 8, 24, 64, seed=1)


@pytest.mark.ex09_3
@pytest.mark.parametrize("seed", range(5))
def test_tuned_bias_gelu_random(ex09, budget, seed):
    rng = np.random.default_rng(930 + seed)
    tiles = int(rng.integers(2, 17))
    rows = int(rng.integers(2 * tiles, 14 * tiles))
    width = int(rng.integers(4, 97))
    _check_tuned(ex09, budget, tiles, rows, width, seed=seed)
