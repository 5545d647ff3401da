"""Grading tests of notebook 01 (tiles and SRAM): ex01_1, ex01_2 and ex01_3.

Expected values come from how each test builds its graph (bytes placed on each
tile, the alignment rule) and from the cost model's rules (six workers dealt
vertices round-robin, one cycle per 64-bit vector plus a vertex overhead),
never from the code under test.
"""
import numpy as np
import pytest

import ipukit
from ipukit import codelets, cost
from ipukit.errors import MappingError


@pytest.fixture(scope="module")
def ex01(load):
    return load("ex01_tiles")


def _graph(tiles, sram=None):
    spec = ipukit.GC2.replace(tiles=tiles)
    if sram is not None:
        spec = spec.replace(sram_bytes_per_tile=sram)
    return ipukit.Graph(spec)


def _check_best_fit(ex01, budget, label, graph, used, tensor):
    """``used``: the bytes the test put on each tile before (multiples of 8, so no padding of their own)."""
    budget.case(label)
    need = -(-tensor.size * tensor.dtype.itemsize // 8) * 8
    free = graph.spec.sram_bytes_per_tile - used
    holds = [t for t in range(len(used)) if free[t] >= need]
    answer = ex01.place_best_fit(graph, tensor)
    expected = min(holds, key=lambda t: (free[t], t))
    where = np.unique(graph.element_tiles(tensor))
    assert where.tolist() == [expected] and answer == expected, (
        f"expected tile {expected} for '{tensor.name}' ({need:,} B with padding), the tightest fit with "
        f"{int(free[expected]):,} B free (free bytes per tile: {free.tolist()}); got tile {answer!r}, "
        f"with the tensor mapped to tiles {where.tolist()}")


def _num(x):
    return f"{x:,}" if isinstance(x, (int, np.integer)) else repr(x)


# --- ex01_1: place a tensor on the tightest fit -----------------------------------------------
@pytest.mark.ex01_1
def test_place_best_fit_fixed(ex01, budget):
    g = _graph(4)
    a = g.add_variable(65_000, name="a")              # 260,000 B on tile 2: 2,144 B left
    b = g.add_variable(64, "int16", name="b")         # 128 B on tile 0
    c = g.add_variable(320, name="c")                 # 320 B on each tile
    g.set_tile_mapping(a, 2)
    g.set_tile_mapping(b, 0)
    g.map_linearly(c)
    t = g.add_variable(400, name="t")                 # 1,600 B: fits in tile 2's hole
    _check_best_fit(ex01, budget, "1,600 B with 2,144 B left on tile 2", g, np.array([448, 320, 260_320, 320]), t)


@pytest.mark.ex01_1
def test_place_best_fit_skips_a_hole_too_small(ex01, budget):
    g = _graph(4)
    g.set_tile_mapping(g.add_variable(65_000, name="a"), 1)     # 2,144 B left on tile 1
    g.set_tile_mapping(g.add_variable(64_000, name="b"), 3)     # 6,144 B left on tile 3
    t = g.add_variable(1_000, name="t")                          # 4,000 B: too big for tile 1
    _check_best_fit(ex01, budget, "4,000 B, holes of 2,144 and 6,144 B", g, np.array([0, 260_000, 0, 256_000]), t)


@pytest.mark.ex01_1
def test_place_best_fit_counts_the_padding(ex01, budget):
    g = _graph(3)
    g.set_tile_mapping(g.add_variable(65_526, name="a"), 0)     # 262,104 B: 40 B left on tile 0
    g.set_tile_mapping(g.add_variable(65_524, name="b"), 1)     # 262,096 B: 48 B left on tile 1
    t = g.add_variable(21, "float16", name="t")                  # 42 B, 48 B with the 8-byte alignment
    _check_best_fit(ex01, budget, "21 float16 (48 B padded), holes of 40 and 48 B", g,
                    np.array([262_104, 262_096, 0]), t)


@pytest.mark.ex01_1
def test_place_best_fit_ties_and_other_sram_sizes(ex01, budget):
    g = _graph(6, sram=624 * 1024)                # a GC200-sized tile: not 256 KiB
    x = g.add_variable((2, 50), name="x")         # 200 B on tiles 3 and 5
    g.set_tile_mapping(x[0], 5)
    g.set_tile_mapping(x[1], 3)
    _check_best_fit(ex01, budget, "200 B on tiles 3 and 5 of six GC200 tiles", g,
                    np.array([0, 0, 0, 200, 0, 200]), g.add_variable(10, name="t"))


@pytest.mark.ex01_1
def test_place_best_fit_refuses_what_fits_nowhere(ex01, budget):
    budget.case("5,000 B on two tiles with 4,144 B free on each")
    g = _graph(2)
    g.map_linearly(g.add_variable(2 * 64_500, name="a"))         # 258,000 B on each tile
    with pytest.raises(ValueError) as raised:
        ex01.place_best_fit(g, g.add_variable(1_250, name="too_big"))
    assert "too_big" in str(raised.value), f"expected the error to name the tensor 'too_big', got {raised.value}"


@pytest.mark.ex01_1
@pytest.mark.parametrize("seed", range(6))
def test_place_best_fit_random(ex01, budget, seed):
    rng = np.random.default_rng(seed)
    tiles = int(rng.integers(2, 17))
    sram = int(rng.choice([64, 256, 624])) * 1024
    g = _graph(tiles, sram=sram)
    used = np.zeros(tiles, np.int64)
    for i in range(int(rng.integers(1, 12))):
        n = 2 * int(rng.integers(1, sram // 16))     # even count of float32: a multiple of 8 B
        tile = int(rng.integers(tiles))
        if used[tile] + 4 * n <= sram:
            g.set_tile_mapping(g.add_variable(n, name=f"t{i}"), tile)
            used[tile] += 4 * n
    most = int((sram - used).max())
    n = int(rng.integers(1, max(2, most // 2)))
    _check_best_fit(ex01, budget, f"seed {seed}: {tiles} tiles of {sram // 1024} KiB", g, used,
                    g.add_variable(n, "float16", name="new"))


# --- ex01_2: map a tensor under a memory cap ----------------------------------------------
def _check_cap(ex01, budget, graph, tensor, cap):
    budget.case(f"a {tensor.shape} {tensor.dtype} tensor on {graph.num_tiles} tiles under a cap of {cap:,} B")
    align = graph.spec.alignment
    per_tile = (cap // align * align) // tensor.dtype.itemsize
    fewest = -(-tensor.size // per_tile)
    answer = ex01.map_under_cap(graph, tensor, cap)
    where = graph.element_tiles(tensor).reshape(-1)
    assert (where >= 0).all(), (f"expected every element of '{tensor.name}' to be mapped, but "
                                f"{int((where < 0).sum())} of {tensor.size} are not")
    used = np.bincount(where, minlength=graph.num_tiles)
    padded = -(-used * tensor.dtype.itemsize // align) * align    # bytes of the tensor on each tile
    tiles_used = int((used > 0).sum())
    assert answer == tiles_used, f"expected the number of tiles used ({tiles_used}) to be returned, got {answer!r}"
    budget.check("peak tile bytes", int(padded.max()), cap, "B")
    budget.check("tiles used", tiles_used, fewest)


@pytest.mark.ex01_2
@pytest.mark.parametrize("n, dtype, tiles, cap", [
    (1000, "float32", 16, 1000),     # 250 elements a tile: 4 tiles
    (1000, "float32", 16, 4000),     # fits on one tile
    (1001, "float16", 8, 1002),      # 1002 B would need 1008 with padding: 500 a tile, 3 tiles
    (4096, "int8", 16, 300),         # 296 usable bytes: 14 tiles
])
def test_map_under_cap_fixed(ex01, budget, n, dtype, tiles, cap):
    g = _graph(tiles)
    _check_cap(ex01, budget, g, g.add_variable(n, dtype, name="w"), cap)


@pytest.mark.ex01_2
def test_map_under_cap_2d(ex01, budget):
    g = _graph(16)
    w = g.add_variable((30, 40), name="weights")    # 4,800 B: 5 tiles of at most 1,000 B
    _check_cap(ex01, budget, g, w, 1000)


@pytest.mark.ex01_2
@pytest.mark.parametrize("seed", range(6))
def test_map_under_cap_random(ex01, budget, seed):
    rng = np.random.default_rng(100 + seed)
    tiles = int(rng.integers(4, 33))
    dtype = str(rng.choice(["float32", "float16", "int8", "int32"]))
    n = int(rng.integers(1, 20_000))
    itemsize = np.dtype(dtype).itemsize
    smallest = -(-n * itemsize // tiles)            # every tile full: below this it cannot fit
    cap = int(rng.integers(smallest + 8, smallest + 8 + 4 * smallest))
    g = _graph(tiles)
    _check_cap(ex01, budget, g, g.add_variable(n, dtype, name=f"t{seed}"), cap)


@pytest.mark.ex01_2
@pytest.mark.parametrize("n, dtype, tiles, cap", [
    (1000, "float32", 3, 1000),      # needs 4 tiles, the graph has 3
    (10, "float32", 4, 7),           # 7 B rounds down to 0 usable bytes: nothing fits
])
def test_map_under_cap_refuses_what_cannot_fit(ex01, n, dtype, tiles, cap):
    g = _graph(tiles)
    t = g.add_variable(n, dtype, name="too_big")
    with pytest.raises((ValueError, MappingError), match="too_big"):
        ex01.map_under_cap(g, t, cap)


# --- ex01_3: keep all six workers busy ------------------------------------------------------
def _fewest_cycles(graph, x):
    """The shortest compute phase the cost model allows for ``scale`` over ``x`` without moving data.

    The busiest tile's n elements are ceil(n / vector) 64-bit vectors; shared by
    the six workers, the busiest worker gets ceil(vectors / 6) of them and pays
    one vertex overhead, and the tile is busy 6 x that worker's cycles.
    """
    spec = graph.spec
    n = int(np.bincount(graph.element_tiles(x).reshape(-1), minlength=graph.num_tiles).max())
    vectors = -(-n // cost.vector_elements(spec, x.dtype))
    per_worker = -(-vectors // spec.workers_per_tile)
    return spec.workers_per_tile * (cost.VERTEX_OVERHEAD + cost.UNARY_CYCLES_PER_VECTOR * per_worker)


def _check_scale(ex01, budget, graph, x, out, factor, seed=0, limit=None):
    """Run the learner's vertices; check out == factor * x, the mapping kept, and the cycles."""
    budget.case(f"x of {x.size:,} {x.dtype} elements on {graph.num_tiles} tiles")
    limit = _fewest_cycles(graph, x) if limit is None else limit
    before = (graph.element_tiles(x).copy(), graph.element_tiles(out).copy())
    cs = graph.add_compute_set("scale")
    answer = ex01.scale_on_all_workers(graph, cs, x, out, factor)
    assert answer == len(cs.vertices), \
        f"expected the number of vertices added ({len(cs.vertices)}) to be returned, got {answer!r}"
    assert cs.vertices, "expected scale vertices in the compute set, got none"
    others = sorted({v.codelet.name for v in cs.vertices if v.codelet is not codelets.scale})
    assert not others, f"expected only codelets.scale vertices, got {', '.join(others)}"
    assert np.array_equal(graph.element_tiles(x), before[0]) and np.array_equal(graph.element_tiles(out), before[1]), \
        "expected the tile mappings of x and out to stay as they were; compute where the data lives instead"
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(x.shape).astype(x.dtype)
    eng = ipukit.Engine(graph, ipukit.Execute(cs), backend="reference")   # plain Python: no numba start-up
    eng.write(x, values)
    eng.write(out, np.full(out.shape, np.nan, out.dtype))      # elements nobody writes stay NaN
    profile = eng.run()
    got = eng.read(out).reshape(-1)
    want = (values.astype(np.float64) * factor).astype(x.dtype).reshape(-1)
    tol = 1e-3 if x.dtype == np.float16 else 1e-6
    bad = np.flatnonzero(~np.isclose(got, want, rtol=tol, atol=0))
    assert not bad.size, (f"expected out = {factor} * x everywhere, but {bad.size} of {got.size} elements differ; "
                          f"first at flat index {bad[0]}: expected {want[bad[0]]}, got {got[bad[0]]}"
                          + (" (never written)" if np.isnan(got[bad[0]]) else ""))
    budget.check("exchange bytes", profile.exchange_bytes, 0, "B")
    budget.check("compute cycles", profile.compute_cycles, limit, "cycles")
    budget.record("vertices", len(cs.vertices))


@pytest.mark.ex01_3
def test_scale_one_tile_fixed(ex01, budget):
    g = _graph(4)
    x, out = g.add_variable(6000, name="x"), g.add_variable(6000, name="out")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(out, 0)
    # 1000 floats per worker = 500 vectors, plus a 10-cycle start: 510 worker cycles, x 6 = 3,060
    _check_scale(ex01, budget, g, x, out, 2.0, limit=3060)


@pytest.mark.ex01_3
def test_scale_rows_over_tiles(ex01, budget):
    g = _graph(16)
    x, out = g.add_variable((40, 25), name="x"), g.add_variable((40, 25), name="out")
    g.map_linearly(x, grain_size=25)           # 3 whole rows (75 floats) per tile on tiles 0-12, 1 on 13
    g.map_linearly(out, grain_size=25)
    # 75 floats = 38 vectors; 7 on the busiest worker: 17 worker cycles, x 6 = 102
    _check_scale(ex01, budget, g, x, out, -0.5, limit=102)


@pytest.mark.ex01_3
@pytest.mark.parametrize("n, limit", [(5, 66), (1, 66), (13, 72)])
def test_scale_small_blocks(ex01, budget, n, limit):
    g = _graph(2)
    x, out = g.add_variable(n, name="x"), g.add_variable(n, name="out")
    g.set_tile_mapping(x, 1)
    g.set_tile_mapping(out, 1)
    _check_scale(ex01, budget, g, x, out, 3.0, limit=limit)


@pytest.mark.ex01_3
def test_scale_half_precision(ex01, budget):
    g = _graph(2)
    x, out = g.add_variable(1000, "float16", name="x"), g.add_variable(1000, "float16", name="out")
    g.map_linearly(x)
    g.map_linearly(out)
    # 500 halves a tile = 125 vectors of 4; 21 on the busiest worker: 31 worker cycles, x 6 = 186
    _check_scale(ex01, budget, g, x, out, 0.25, limit=186)


@pytest.mark.ex01_3
@pytest.mark.parametrize("seed", range(6))
def test_scale_random_blocks(ex01, budget, seed):
    rng = np.random.default_rng(300 + seed)
    tiles = int(rng.integers(2, 17))
    dtype = str(rng.choice(["float32", "float16"]))
    sizes = rng.integers(0, 3000, tiles) * (rng.random(tiles) < 0.8)    # some tiles hold nothing
    sizes[rng.integers(tiles)] += 1
    n = int(sizes.sum())
    owner = rng.permutation(tiles)                 # block i lives on tile owner[i]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    mapping = [[] for _ in range(tiles)]
    for i in range(tiles):
        if sizes[i]:
            mapping[owner[i]].append((int(bounds[i]), int(bounds[i + 1])))
    g = _graph(tiles)
    shape = (n // 7, 7) if n % 7 == 0 else (n,)
    x, out = g.add_variable(shape, dtype, name="x"), g.add_variable(shape, dtype, name="out")
    g.set_tile_mapping(x, mapping)
    g.set_tile_mapping(out, mapping)
    _check_scale(ex01, budget, g, x, out, float(rng.choice([0.5, -2.0, 1.5, 3.0])), seed=seed)
