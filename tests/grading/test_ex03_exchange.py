"""Grading tests of notebook 03 (exchange and collectives): ex03_1, ex03_2 and ex03_3.

Expected values come from the rule of the exchange written out here (a tile sends
each value once, receives every value sent to it, both at 4 B/cycle at the same
time), from NumPy, and from what the emulator charges for the same moves; never
from the code under test.
"""
import math

import numpy as np
import pytest

import ipukit
from ipukit import collectives
from ipukit.programs import Program


@pytest.fixture(scope="module")
def ex03(load):
    return load("ex03_exchange")


def _engine(g, prog, writes=()):
    # The reference backend gives the same numbers and profile as numba, without compiling:
    # these graphs are small, and a check starts in a fresh process.
    eng = ipukit.Engine(g, prog, backend="reference")
    for t, v in writes:
        eng.write(t, v)
    eng.run()
    return eng


def _exchange_phases(profile):
    """Every exchange phase the run went through, in order."""
    return [ph for i in profile.trace for ph in profile.steps[i].phases if ph.kind == "exchange"]


# --- ex03_1: predict an exchange by the rule ---------------------------------------------
def _by_rule(messages, num_tiles, bytes_per_cycle):
    """The rule, as plainly as possible: bytes each tile sends (once) and receives."""
    sent, received = [0] * num_tiles, [0] * num_tiles
    for src, dsts, nbytes in messages:
        remote = [d for d in dsts if d != src]
        if remote:
            sent[src] += nbytes
        for d in remote:
            received[d] += nbytes
    cycles = [math.ceil(max(s, r) / bytes_per_cycle) for s, r in zip(sent, received)]
    return cycles, max(cycles)


def _check_rule(ex03, messages, num_tiles, expected_tiles, expected_phase, bytes_per_cycle=4):
    if bytes_per_cycle == 4:
        answer = ex03.exchange_cycles(messages, num_tiles)
    else:
        answer = ex03.exchange_cycles(messages, num_tiles, bytes_per_cycle=bytes_per_cycle)
    assert isinstance(answer, tuple) and len(answer) == 2, \
        f"expected a (tile_cycles, phase_cycles) tuple, got {answer!r}"
    tiles, phase = answer
    tiles = np.asarray(tiles)
    assert tiles.shape == (num_tiles,), \
        f"expected tile_cycles with one entry per tile, shape ({num_tiles},), got shape {tiles.shape}"
    assert tiles.tolist() == list(expected_tiles), (
        f"for messages {messages}: expected tile cycles {list(expected_tiles)}, got {tiles.tolist()}")
    assert phase == expected_phase, (
        f"for messages {messages}: expected the phase to last {expected_phase} cycles (its busiest tile), "
        f"got {phase!r}")


@pytest.mark.ex03_1
@pytest.mark.parametrize("messages, num_tiles, tiles, phase", [
    # 1 KiB from tile 0 to tile 1: both busy 1024 / 4 = 256 cycles
    ([(0, [1], 1024)], 4, [256, 256, 0, 0], 256),
    # a broadcast: tile 0 sends its 1000 B once, each of three receivers takes 1000 B
    ([(0, [1, 2, 3], 1000)], 4, [250, 250, 250, 250], 250),
    # a gather: tile 0 receives 3 x 400 B = 1200 B; each sender sends 400 B
    ([(1, [0], 400), (2, [0], 400), (3, [0], 400)], 4, [300, 100, 100, 100], 300),
    # sending and receiving overlap: tile 0 sends 800 B and receives 400 B -> 200 cycles, not 300
    ([(0, [1], 800), (1, [0], 400)], 3, [200, 200, 0], 200),
    # a copy to the tile itself is not an exchange; the other receiver still gets its 64 B
    ([(2, [2], 64), (0, [0, 1], 64)], 3, [16, 16, 0], 16),
    # bytes round up to whole cycles: 6 B take 2 cycles
    ([(1, [0], 6)], 2, [2, 2], 2),
    # two different values from one tile are two sends: 2 x 512 B
    ([(0, [1], 512), (0, [2], 512)], 3, [256, 128, 128], 256),
    # nothing to move: every tile idle
    ([], 3, [0, 0, 0], 0),
])
def test_exchange_cycles_fixed(ex03, messages, num_tiles, tiles, phase):
    _check_rule(ex03, messages, num_tiles, tiles, phase)


@pytest.mark.ex03_1
def test_exchange_cycles_uses_the_bandwidth_given(ex03):
    # a hypothetical exchange of 2 B/cycle: 1000 B take 500 cycles
    _check_rule(ex03, [(0, [1, 2], 1000)], 3, [500, 500, 500], 500, bytes_per_cycle=2)


def _random_messages(rng, num_tiles, count):
    messages = []
    for _ in range(count):
        src = int(rng.integers(num_tiles))
        k = int(rng.integers(1, num_tiles + 1))
        dsts = sorted(int(d) for d in rng.choice(num_tiles, size=k, replace=False))
        messages.append((src, dsts, 4 * int(rng.integers(1, 300))))
    return messages


@pytest.mark.ex03_1
@pytest.mark.parametrize("seed", range(6))
def test_exchange_cycles_random(ex03, seed):
    rng = np.random.default_rng(300 + seed)
    num_tiles = int(rng.integers(2, 17))
    messages = _random_messages(rng, num_tiles, int(rng.integers(1, 12)))
    messages.append((0, [1], int(rng.integers(1, 40))))        # a size that is not a multiple of 4
    tiles, phase = _by_rule(messages, num_tiles, 4)
    _check_rule(ex03, messages, num_tiles, tiles, phase)


@pytest.mark.ex03_1
@pytest.mark.parametrize("seed", range(3))
def test_exchange_cycles_match_the_engine(ex03, seed):
    """The same messages as one real Copy: the rule must give what the emulator charges."""
    rng = np.random.default_rng(400 + seed)
    num_tiles = 8
    messages = _random_messages(rng, num_tiles, 6)
    g = ipukit.Graph(ipukit.GC2.replace(tiles=num_tiles))
    srcs, dsts = [], []
    for m, (src, to, nbytes) in enumerate(messages):
        value = g.add_variable(nbytes // 4, name=f"value{m}")
        g.set_tile_mapping(value, src)
        for d in to:
            copy = g.add_variable(nbytes // 4, name=f"value{m} on {d}")
            g.set_tile_mapping(copy, d)
            srcs.append(value)
            dsts.append(copy)
    eng = _engine(g, ipukit.Copy(ipukit.concat(srcs), ipukit.concat(dsts)))
    (phase,) = _exchange_phases(eng.profile)
    _check_rule(ex03, messages, num_tiles, phase.tile_cycles.tolist(), phase.cycles)


# --- ex03_2: a transpose with one exchange -------------------------------------------------
def _check_transpose(ex03, budget, rows, cols, tiles, dtype="float32", num_tiles=16, seed=0):
    budget.case(f"a {rows} x {cols} {dtype} x on tiles {[int(t) for t in tiles]}")
    p = len(tiles)
    g = ipukit.Graph(ipukit.GC2.replace(tiles=num_tiles))
    x = g.add_variable((rows, cols), dtype, name="x")
    rb, cb = rows // p, cols // p
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(x[i * rb:(i + 1) * rb], tile)
    values = np.random.default_rng(seed).integers(-1000, 1000, (rows, cols)).astype(dtype)

    answer = ex03.transpose(g, x, list(tiles))
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected an (xt, program) tuple, got {answer!r}"
    xt, prog = answer
    assert isinstance(xt, ipukit.Tensor), f"expected xt to be a tensor, got {type(xt).__name__}"
    assert isinstance(prog, Program), f"expected a program (Copy, Execute, Sequence...), got {type(prog).__name__}"
    assert xt.shape == (cols, rows), f"expected xt of shape {(cols, rows)}, got {xt.shape}"
    assert xt.dtype == np.dtype(dtype), f"expected xt of dtype {dtype} like x, got {xt.dtype}"
    where = g.element_tiles(xt)
    for j, tile in enumerate(tiles):
        block = where[j * cb:(j + 1) * cb]
        assert (block == tile).all(), (
            f"expected rows {j * cb} to {(j + 1) * cb - 1} of xt (block {j}) on tile {tile}, got tiles "
            f"{sorted(set(block.ravel().tolist()))}")

    eng = _engine(g, prog, [(x, values)])
    got = eng.read(xt)
    if not np.array_equal(got, values.T):
        r, c = np.argwhere(got != values.T)[0]
        pytest.fail(f"expected xt == x.T, but xt[{r}, {c}] is {got[r, c]}, expected x[{c}, {r}] = {values[c, r]}")
    np.testing.assert_array_equal(eng.read(x), values, err_msg="x itself must not change")

    item = np.dtype(dtype).itemsize
    block_bytes = rb * cb * item                       # block (i, j): rows of block i, columns of block j
    prof = eng.profile
    budget.check("supersteps", prof.num_supersteps, 1)
    budget.check("exchange bytes", prof.exchange_bytes, p * (p - 1) * block_bytes, "B")
    budget.check("exchange cycles", prof.exchange_cycles, math.ceil((p - 1) * block_bytes / 4))


@pytest.mark.ex03_2
def test_transpose_fixed(ex03, budget):
    _check_transpose(ex03, budget, 8, 12, [0, 1, 2, 3], num_tiles=4)


@pytest.mark.ex03_2
def test_transpose_tiles_in_any_order(ex03, budget):
    _check_transpose(ex03, budget, 6, 9, [7, 2, 5], num_tiles=8, seed=1)


@pytest.mark.ex03_2
def test_transpose_of_integers(ex03, budget):
    _check_transpose(ex03, budget, 4, 4, [3, 0], dtype="int32", num_tiles=4, seed=2)


@pytest.mark.ex03_2
def test_transpose_on_one_tile_moves_nothing(ex03, budget):
    _check_transpose(ex03, budget, 3, 5, [2], num_tiles=4, seed=3)


@pytest.mark.ex03_2
@pytest.mark.parametrize("seed", range(5))
def test_transpose_random(ex03, budget, seed):
    rng = np.random.default_rng(500 + seed)
    p = int(rng.integers(2, 9))
    tiles = [int(t) for t in rng.permutation(16)[:p]]
    rows, cols = p * int(rng.integers(1, 6)), p * int(rng.integers(1, 6))
    dtype = str(rng.choice(["float32", "int32", "float16"]))
    _check_transpose(ex03, budget, rows, cols, tiles, dtype=dtype, seed=seed)


# --- ex03_3: an all-reduce by recursive doubling ----------------------------------------------
@pytest.fixture
def no_library_all_reduce(monkeypatch):
    """The exercise rebuilds what ipukit.collectives.all_reduce and reduce do: using them is off limits."""
    def off_limits(*args, **kwargs):
        raise AssertionError("Exercise 03.3 asks you to build the all-reduce yourself from Execute and Copy "
                             "supersteps; ipukit.collectives.all_reduce, reduce, reduce_scatter and all_gather are "
                             "the answer, so the grader blocks them")
    for name in ("all_reduce", "reduce", "reduce_scatter", "all_gather", "_tree_steps", "_ring_steps",
                 "_ring_scatter_steps", "_ring_gather_steps", "_scatter_step", "_gather_step"):  # also by name
        monkeypatch.setattr(collectives, name, off_limits)


def _check_all_reduce(ex03, budget, p, n, tiles=None, num_tiles=16, seed=0, normal=False):
    budget.case(f"{p} parts of {n} floats" + (f" on tiles {[int(t) for t in tiles]}" if tiles is not None else ""))
    g = ipukit.Graph(ipukit.GC2.replace(tiles=num_tiles))
    parts = collectives.add_parts(g, p, n, tiles=tiles)
    rng = np.random.default_rng(seed)
    if normal:
        values = rng.standard_normal((p, n)).astype(np.float32)
    else:       # small integers: every order of summing gives the exact total
        values = rng.integers(-100, 100, (p, n)).astype(np.float32)

    answer = ex03.all_reduce_doubling(g, parts)
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected a (totals, program) tuple, got {answer!r}"
    totals, prog = answer
    assert isinstance(totals, ipukit.Tensor), f"expected totals to be a tensor, got {type(totals).__name__}"
    assert isinstance(prog, Program), f"expected a program (Sequence, Execute, Copy...), got {type(prog).__name__}"
    assert totals.shape == (p, n), f"expected totals of shape {(p, n)}, got {totals.shape}"
    home, where = g.element_tiles(parts), g.element_tiles(totals)
    for i in range(p):
        assert (where[i] == home[i, 0]).all(), (
            f"expected totals[{i}] on tile {home[i, 0]}, where part {i} lives, got tiles "
            f"{sorted(set(where[i].tolist()))}")

    eng = _engine(g, prog, [(parts, values)])
    got, expected = eng.read(totals), values.sum(axis=0)
    for i in range(p):
        if normal:
            ok = np.allclose(got[i], expected, rtol=1e-5, atol=1e-5 * p)
        else:
            ok = np.array_equal(got[i], expected)
        if not ok:
            k = int(np.argmax(np.abs(got[i] - expected)))
            pytest.fail(f"expected every row of totals to be the sum of the {p} parts, but totals[{i}][{k}] is "
                        f"{got[i][k]}, expected {expected[k]}")
    np.testing.assert_array_equal(eng.read(parts), values, err_msg="the parts themselves must not change")

    prof = eng.profile
    levels = math.ceil(math.log2(p))
    part_bytes = n * 4
    busiest = max((int(np.maximum(ph.bytes_sent, ph.bytes_received).max()) for ph in _exchange_phases(prof)),
                  default=0)
    budget.check("supersteps", prof.num_supersteps, levels + 1)
    budget.check("busiest tile in one exchange", busiest, part_bytes, "B")
    budget.check("exchange bytes", prof.exchange_bytes, levels * p * part_bytes, "B")
    budget.record("total cycles", prof.total_cycles)


@pytest.mark.ex03_3
@pytest.mark.parametrize("p, n", [(2, 8), (4, 16), (8, 64), (16, 10)])
def test_all_reduce_powers_of_two(ex03, budget, no_library_all_reduce, p, n):
    _check_all_reduce(ex03, budget, p, n, seed=p)


@pytest.mark.ex03_3
@pytest.mark.parametrize("p, n", [(3, 8), (5, 7), (6, 33), (12, 5)])
def test_all_reduce_other_counts(ex03, budget, no_library_all_reduce, p, n):
    _check_all_reduce(ex03, budget, p, n, seed=p)


@pytest.mark.ex03_3
def test_all_reduce_of_one_part(ex03, budget, no_library_all_reduce):
    _check_all_reduce(ex03, budget, 1, 12, tiles=[3], num_tiles=4)


@pytest.mark.ex03_3
def test_all_reduce_random_values(ex03, budget, no_library_all_reduce):
    _check_all_reduce(ex03, budget, 8, 100, seed=7, normal=True)


@pytest.mark.ex03_3
@pytest.mark.parametrize("seed", range(4))
def test_all_reduce_random(ex03, budget, no_library_all_reduce, seed):
    rng = np.random.default_rng(600 + seed)
    num_tiles = int(rng.choice([8, 16, 24]))
    p = int(rng.integers(2, num_tiles + 1))
    tiles = [int(t) for t in rng.permutation(num_tiles)[:p]]       # parts on tiles in any order
    _check_all_reduce(ex03, budget, p, int(rng.integers(1, 200)), tiles=tiles, num_tiles=num_tiles, seed=seed)
