"""Grading tests of notebook 07 (many IPUs): ex07_1, ex07_2, ex07_3 and ex07_4.

Expected values come from the algorithms, written here: the pipeline schedule
(in step t stage s works on micro-batch t - s), a brute-force search over every
set of cut points, and the emulator itself, which runs the real pipeline and
the real all-reduce and measures their bubble, link bytes and exchange cycles.
"""
import itertools
import math

import numpy as np
import pytest

import ipukit
from ipukit import parallel as P
from ipukit.collectives import all_reduce


@pytest.fixture(scope="module")
def ex07(load):
    return load("ex07_many_ipus")


def _num(x):
    return f"{x:,}" if isinstance(x, (int, np.integer)) else repr(x)


# --- ex07_1: bubble and throughput of a pipeline -------------------------------------------
def _timing_by_schedule(stage_seconds, mbs, m):
    """Walk the schedule step by step: (idle stage-steps / stage-steps, seconds, samples/s)."""
    stages = len(stage_seconds)
    idle = busy = steps = 0
    while steps - (stages - 1) < mbs:             # the last stage still has a micro-batch to do
        working = sum(0 <= steps - s < mbs for s in range(stages))
        busy += working
        idle += stages - working
        steps += 1
    seconds = steps * max(stage_seconds)
    return idle / (idle + busy), seconds, mbs * m / seconds


def _check_timing(ex07, stage_seconds, mbs, m=1):
    answer = ex07.pipeline_timing(list(stage_seconds), mbs, m)
    assert isinstance(answer, tuple) and len(answer) == 3, \
        f"expected a (bubble, batch_seconds, samples_per_second) tuple, got {answer!r}"
    expected = _timing_by_schedule(stage_seconds, mbs, m)
    names = ("bubble", "batch_seconds", "samples_per_second")
    for name, want, got in zip(names, expected, answer):
        assert got == pytest.approx(want, rel=1e-9), (
            f"{len(stage_seconds)} stages taking {list(stage_seconds)} s, {mbs} micro-batches of {m}: "
            f"expected {name} {want:.6g}, got {got!r}")


@pytest.mark.ex07_1
@pytest.mark.parametrize("stage_seconds, mbs, m", [
    ([1.0], 8, 1),                       # one stage: no bubble, 8 steps
    ([2.0, 2.0, 2.0, 2.0], 8, 1),        # 11 steps, 3 of them filling or draining
    ([1.0, 3.0, 2.0], 4, 16),            # the slow middle stage sets the pace
    ([5e-6, 4e-6], 1, 2),                # one micro-batch: each stage idles half the time
])
def test_pipeline_timing_fixed(ex07, stage_seconds, mbs, m):
    _check_timing(ex07, stage_seconds, mbs, m)


@pytest.mark.ex07_1
@pytest.mark.parametrize("seed", range(6))
def test_pipeline_timing_random(ex07, seed):
    rng = np.random.default_rng(700 + seed)
    stages = int(rng.integers(1, 17))
    seconds = rng.uniform(1e-5, 1e-3, stages).tolist()
    _check_timing(ex07, seconds, int(rng.integers(1, 65)), int(rng.integers(1, 9)))


@pytest.mark.ex07_1
@pytest.mark.parametrize("stages, mbs", [(2, 1), (3, 5), (4, 2)])
def test_pipeline_bubble_matches_the_emulator(ex07, stages, mbs):
    """Run the pipeline on emulated IPUs and count the idle IPU-steps in its profile."""
    g = ipukit.Graph(ipukit.GC2.replace(tiles=2, num_ipus=stages))
    pl = P.pipeline(g, (4,) * (stages + 1), mbs, 2)
    eng = ipukit.Engine(g, pl.program)
    pl.write(eng, np.ones((mbs * 2, 4)), [np.eye(4)] * stages)
    measured = P.bubble_fraction(eng.run())
    bubble = ex07.pipeline_timing([1.0] * stages, mbs)[0]
    assert bubble == pytest.approx(measured), (
        f"{stages} stages, {mbs} micro-batches on the emulator: expected the measured bubble "
        f"{measured:.4f}, got {bubble!r}")


@pytest.mark.ex07_1
@pytest.mark.parametrize("stages, mbs", [([], 4), ([1.0, 1.0], 0)])
def test_pipeline_timing_refuses_an_empty_pipeline(ex07, stages, mbs):
    with pytest.raises(ValueError):
        ex07.pipeline_timing(stages, mbs)


# --- ex07_2: balanced contiguous stages under a memory cap ------------------------------------
def _brute_force(costs, memory, stages, cap):
    """The smallest slowest-stage cost over every split that fits, or None."""
    n = len(costs)
    best = None
    for cuts in itertools.combinations(range(1, n), stages - 1):
        bounds = (0, *cuts, n)
        runs = list(zip(bounds[:-1], bounds[1:]))
        if all(sum(memory[a:b]) <= cap for a, b in runs):
            slowest = max(sum(costs[a:b]) for a, b in runs)
            best = slowest if best is None else min(best, slowest)
    return best


def _check_split(ex07, budget, costs, memory, stages, cap):
    budget.case(f"{len(costs)} layers in {stages} stages under a cap of {cap:,}")
    n = len(costs)
    optimum = _brute_force(costs, memory, stages, cap)
    case = f"costs {costs}, memory {memory}, {stages} stages, cap {cap}"
    if optimum is None:
        with pytest.raises(ValueError):
            ex07.split_stages(costs, memory, stages, cap)
        return
    bounds = ex07.split_stages(list(costs), list(memory), stages, cap)
    bounds = [int(b) for b in bounds]
    assert len(bounds) == stages + 1 and bounds[0] == 0 and bounds[-1] == n, (
        f"{case}: expected {stages + 1} cut points from 0 to {n}, got {bounds!r}")
    runs = list(zip(bounds[:-1], bounds[1:]))
    assert all(a < b for a, b in runs), f"{case}: expected every stage to hold a layer, got cut points {bounds}"
    for k, (a, b) in enumerate(runs):
        assert sum(memory[a:b]) <= cap, (
            f"{case}: expected every stage to fit the cap, but stage {k} (layers {a}..{b - 1}) needs "
            f"{_num(sum(memory[a:b]))} > {_num(cap)}")
    budget.check("slowest stage", max(sum(costs[a:b]) for a, b in runs), optimum)


@pytest.mark.ex07_2
@pytest.mark.parametrize("costs, memory, stages, cap", [
    ([4, 4, 4, 4], [1, 1, 1, 1], 2, 10),                     # even: two and two
    ([9, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1] * 10, 3, 100),      # one heavy layer alone
    ([1, 1, 1, 1, 1, 1], [5, 5, 5, 1, 1, 1], 2, 10),         # memory forces 2 | 4, not 3 | 3
    ([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8], 1, 37),   # one stage holds everything
    ([5, 5, 5], [1, 1, 1], 3, 1),                            # one layer a stage, full to the cap
])
def test_split_stages_fixed(ex07, budget, costs, memory, stages, cap):
    _check_split(ex07, budget, costs, memory, stages, cap)


@pytest.mark.ex07_2
@pytest.mark.parametrize("seed", range(10))
def test_split_stages_random(ex07, budget, seed):
    rng = np.random.default_rng(7200 + seed)
    n = int(rng.integers(3, 13))
    stages = int(rng.integers(1, min(n, 5) + 1))
    costs = rng.integers(1, 100, n).tolist()
    memory = rng.integers(1, 50, n).tolist()
    # from just above the largest layer (tight) to the whole model (loose)
    cap = int(rng.integers(max(memory), sum(memory) + 1))
    _check_split(ex07, budget, costs, memory, stages, cap)


@pytest.mark.ex07_2
def test_split_stages_float_costs_and_a_longer_model(ex07, budget):
    rng = np.random.default_rng(72)
    costs = rng.uniform(0.5, 2.0, 24).round(3).tolist()
    memory = rng.integers(10, 40, 24).tolist()
    _check_split(ex07, budget, costs, memory, 4, 200)


@pytest.mark.ex07_2
@pytest.mark.parametrize("costs, memory, stages, cap", [
    ([1, 1, 1], [4, 9, 4], 3, 8),          # one layer is bigger than the cap
    ([1, 1, 1, 1], [5, 5, 5, 5], 2, 9),    # two stages cannot hold four layers of 5 under 9
    ([1, 1], [1, 1], 3, 10),               # more stages than layers
])
def test_split_stages_refuses_what_cannot_fit(ex07, costs, memory, stages, cap):
    with pytest.raises(ValueError):
        ex07.split_stages(costs, memory, stages, cap)


# --- ex07_3: a ring all-reduce over the IPU-Links -----------------------------------------------
def _measure_ring(spec, n, tiles, seed):
    """Run a ring all-reduce of n float32 per IPU on emulated IPUs: (link bytes, exchange cycles)."""
    g = ipukit.Graph(spec)
    parts = []
    for r in range(spec.num_ipus):
        part = g.add_variable(n, name=f"grad{r}")
        g.map_linearly(part, tiles=range(r * spec.tiles, r * spec.tiles + tiles))
        parts.append(part)
    totals, prog = all_reduce(g, parts, method="ring")
    eng = ipukit.Engine(g, prog)
    data = np.random.default_rng(seed).standard_normal((spec.num_ipus, n)).astype(np.float32)
    for part, row in zip(parts, data):
        eng.write(part, row)
    profile = eng.run()
    summed = eng.read(totals)
    for r in range(spec.num_ipus):      # the emulator really summed them
        np.testing.assert_allclose(summed[r], data.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-5)
    return profile.link_bytes, profile.exchange_cycles


def _check_ring(ex07, budget, spec, n, tiles, seed=0):
    budget.case(f"{n:,} floats on {spec.num_ipus} IPU(s) of {tiles} tiles")
    link_bytes, cycles = _measure_ring(spec, n, tiles, seed)
    answer = ex07.ring_all_reduce_cost(spec, n, tiles)
    assert isinstance(answer, tuple) and len(answer) == 2, \
        f"expected a (link_bytes, exchange_cycles) tuple, got {answer!r}"
    case = (f"{spec.num_ipus} x {spec.name} ({spec.tiles} tiles each), {n:,} float32 per replica on "
            f"{tiles} tiles")
    budget.record("link bytes (emulator)", link_bytes, "B")
    budget.record("exchange cycles (emulator)", cycles)
    assert answer[0] == link_bytes, f"{case}: expected {link_bytes:,} B over the links, got {_num(answer[0])}"
    assert answer[1] == cycles, f"{case}: expected {cycles:,} exchange cycles, got {_num(answer[1])}"


@pytest.mark.ex07_3
@pytest.mark.parametrize("chip, ipus, n, tiles", [
    ("GC2", 2, 1024, 4),       # few tiles: each tile's 4 B/cycle is the limit, not the link
    ("GC2", 4, 4096, 32),      # 32 tiles send at once: the link is the limit
    ("GC200", 3, 2304, 16),    # a slower link per cycle (58.4 GB/s at 1.33 GHz)
    ("GC2", 1, 512, 8),        # one replica: nothing crosses a link
])
def test_ring_all_reduce_cost_fixed(ex07, budget, chip, ipus, n, tiles):
    spec = getattr(ipukit, chip).replace(tiles=max(tiles, 8), num_ipus=ipus)
    _check_ring(ex07, budget, spec, n, tiles)


@pytest.mark.ex07_3
@pytest.mark.parametrize("seed", range(5))
def test_ring_all_reduce_cost_random(ex07, budget, seed):
    rng = np.random.default_rng(7300 + seed)
    ipus = int(rng.integers(2, 6))
    tiles = int(rng.choice([2, 4, 8, 16, 24, 32]))
    n = ipus * tiles * int(rng.integers(1, 9)) * 2
    chip = ipukit.GC2 if rng.integers(2) else ipukit.GC200
    spec = chip.replace(tiles=tiles + int(rng.integers(0, 3)), num_ipus=ipus)
    _check_ring(ex07, budget, spec, n, tiles, seed)


@pytest.mark.ex07_3
def test_ring_all_reduce_cost_is_a_formula_not_a_run(ex07):
    """A full-size prediction: 8 GC200s, BERT-Large's 335 M gradients in FP32 over all 1472 tiles."""
    spec = ipukit.GC200.replace(num_ipus=8)
    n = 8 * 1472 * 28_460                      # 335,141,888 rounded up to a multiple of R x tiles
    link_bytes, cycles = ex07.ring_all_reduce_cost(spec, n, 1472)
    chunk = n // 8 * 4
    assert link_bytes == 2 * 7 * 8 * chunk, f"expected {2 * 7 * 8 * chunk:,} B over the links, got {_num(link_bytes)}"
    per_step = max(math.ceil(chunk / 1472 / 4), math.ceil(chunk / spec.ipu_link_bytes_per_cycle))
    assert cycles == 14 * per_step, f"expected {14 * per_step:,} exchange cycles, got {_num(cycles)}"


# --- ex07_4: a set-up that fits BERT-Large on 4 IPUs ---------------------------------------
SETUP_OPTIONS = {"training", "precision", "optimizer", "micro_batch", "recompute", "offload_optimizer",
                 "replicas", "sharded", "half_momentum", "half_partials", "matmul_proportion"}


@pytest.mark.ex07_4
def test_four_ipu_setup_fits_bert_large_on_four_gc200s(ex07):
    from ipukit import models
    options = ex07.four_ipu_setup()
    assert isinstance(options, dict), f"expected a dict of options for models.pipeline, got {options!r}"
    unknown = set(options) - SETUP_OPTIONS - {"head", "cut"}
    assert not unknown, (f"options {sorted(unknown)} change what is being measured (the reserve, the "
                         f"IPU count, the efficiency); use only the set-up options and head / cut")
    for key, want in (("training", True), ("precision", "mixed"), ("optimizer", "adam"), ("micro_batch", 24)):
        assert options.get(key) == want, f"keep Graphcore's training run: {key}={want!r} (got {options.get(key)!r})"
    assert options.get("replicas", 1) <= 16, "at most 16 replicas: an IPU-POD64 of 4-IPU pipelines"
    share = options.get("matmul_proportion")
    shares = [] if share is None else list(share) if isinstance(share, (list, tuple)) else [share]
    assert all(s >= 0.1 for s in shares), f"matmul_proportion below Graphcore's smallest (0.1): {share!r}"
    model = models.bert_large(pretraining_heads=True, predictions=20)
    plan = models.pipeline(model, ipukit.GC200, **options)
    assert plan.feasible, f"BERT-Large does not fit with these options: {plan.reason}"
    assert plan.ipus <= 4, f"the plan needs {plan.ipus} GC200s; find levers that fit it on 4"
    # the plan's own accounting, checked independently: every stage within its IPU's usable SRAM
    for stage in plan.stages:
        reserve = (models.ALWAYS_LIVE_FRACTION + (stage_share(share, stage.index))
                   if share is not None else models.RESERVED_FRACTION)
        usable = int(1472 * 624 * 1024 * (1 - reserve))
        assert stage.memory.total <= usable
    on_chip = dict(options)
    for lever in ("offload_optimizer", "sharded", "half_momentum"):
        on_chip[lever] = False
    on_chip.update(recompute=False, replicas=1, half_partials=None, matmul_proportion=None)
    everything = models.pipeline(model, ipukit.GC200, **on_chip)
    assert not everything.feasible or everything.ipus > 4      # the levers are what made it fit


def stage_share(share, index):
    if isinstance(share, (list, tuple)):
        return share[index] if index < len(share) else share[-1]
    return share
