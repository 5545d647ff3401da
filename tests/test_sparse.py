"""ipukit.sparse: block-sparse products on tiles (against NumPy and the cost rules) and the lock-step model."""
import numpy as np
import pytest

import ipukit
from ipukit import cost, sparse, viz

SPEC = ipukit.GC2.replace(tiles=8)


def _run(mask, bs=4, n=12, placement="balanced", tiles=8, backend=None, seed=0):
    g = ipukit.Graph(SPEC.replace(tiles=tiles))
    sp = sparse.block_sparse_matmul(g, mask, bs, n, placement)
    eng = ipukit.Engine(g, sp.program, backend=backend)
    rng = np.random.default_rng(seed)
    m, k, _ = sp.shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    sp.write(eng, a, b)
    eng.write(sp.out, np.full((m, n), np.nan, np.float32))
    profile = eng.run()
    want = (a * sparse.expand_mask(mask, bs)).astype(np.float64) @ b.astype(np.float64)
    return sp, eng, profile, want


# --- masks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("density", [0.0, 0.1, 0.37, 1.0])
def test_random_mask_has_the_asked_number_of_blocks(density):
    mask = sparse.random_block_mask(12, 10, density, seed=3)
    assert mask.shape == (12, 10) and mask.dtype == bool
    assert mask.sum() == round(density * 120)
    assert (mask == sparse.random_block_mask(12, 10, density, seed=3)).all()


def test_clustered_mask_fills_whole_rows():
    mask = sparse.random_block_mask(16, 8, 0.25, clustering=1.0, seed=1)
    per_row = mask.sum(axis=1)
    assert sorted(per_row.tolist()) == [0] * 12 + [8] * 4        # 32 blocks = four full rows
    uniform = sparse.random_block_mask(16, 8, 0.25, clustering=0.0, seed=1).sum(axis=1)
    assert uniform.max() < 8


def test_mask_rejects_bad_arguments():
    with pytest.raises(ValueError, match="density"):
        sparse.random_block_mask(4, 4, 1.5)
    with pytest.raises(ValueError, match="rows"):
        sparse.random_block_mask(0, 4, 0.5)


def test_expand_mask():
    e = sparse.expand_mask(np.array([[1, 0], [0, 1]], bool), 2)
    assert e.shape == (4, 4) and e[:2, :2].all() and not e[:2, 2:].any() and e[2:, 2:].all()


# --- the block-sparse product ------------------------------------------------------------
@pytest.mark.parametrize("placement", sparse.PLACEMENTS)
@pytest.mark.parametrize("density, clustering", [(0.3, 0.0), (0.3, 1.0), (1.0, 0.0), (0.05, 0.0)])
def test_matches_numpy(placement, density, clustering):
    mask = sparse.random_block_mask(10, 7, density, clustering, seed=5)
    sp, eng, _, want = _run(mask, placement=placement)
    np.testing.assert_allclose(sp.read(eng), want, rtol=1e-5, atol=1e-5)


def test_empty_rows_and_an_empty_mask_give_zeros():
    mask = np.zeros((4, 3), bool)
    mask[1, 2] = True
    sp, eng, _, want = _run(mask, tiles=2)
    np.testing.assert_allclose(sp.read(eng), want, rtol=1e-5, atol=1e-6)
    sp, eng, _, _ = _run(np.zeros((3, 3), bool), tiles=2)
    assert (sp.read(eng) == 0).all()


def test_both_backends_agree_exactly():
    mask = sparse.random_block_mask(6, 6, 0.5, seed=2)
    sp, fast, p1, _ = _run(mask, n=1, tiles=4)                 # n = 1: the fixed-order loop path
    sp2, ref, p2, _ = _run(mask, n=1, tiles=4, backend="reference")
    assert np.array_equal(sp.read(fast), sp2.read(ref))
    assert p1.total_cycles == p2.total_cycles
    sp, fast, _, _ = _run(mask, n=9, tiles=4)                  # sgemm path
    sp2, ref, _, _ = _run(mask, n=9, tiles=4, backend="reference")
    assert np.array_equal(sp.read(fast), sp2.read(ref))


def test_balanced_gives_every_tile_an_even_share():
    mask = sparse.random_block_mask(16, 16, 0.3, clustering=1.0, seed=4)
    g = ipukit.Graph(SPEC)
    sp = sparse.block_sparse_matmul(g, mask, 4, 8, "balanced")
    counts = sp.tile_blocks()
    assert counts.sum() == mask.sum() and counts.max() - counts.min() <= 1
    where = sp.block_tiles()
    assert ((where >= 0) == mask).all()
    rows = sparse.block_sparse_matmul(ipukit.Graph(SPEC), mask, 4, 8, "rows").tile_blocks()
    assert rows.max() >= 16                                    # a full row lands on one tile


def test_rows_placement_puts_row_i_on_tile_i_mod_tiles():
    mask = np.ones((11, 3), bool)
    sp = sparse.block_sparse_matmul(ipukit.Graph(SPEC), mask, 2, 4, "rows")
    assert [p.tile for p in sp.pieces] == [i % 8 for i in range(11)]
    assert sp.split_rows == 0 and len(sp.program.programs) == 1


def test_products_follow_the_cost_rules():
    """A full mask, one row of blocks per tile: six panel vertices per tile, each Kb blocks deep."""
    tiles, bs, kb, n = 8, 4, 5, 14
    sp, eng, profile, _ = _run(np.ones((tiles, kb), bool), bs=bs, n=n, tiles=tiles)
    panel = -(-n // 6)                                         # the widest of six panels
    per_vertex = cost.amp_cycles(bs, kb * bs, panel, SPEC, np.float32)
    compute = next(ph for ph in profile.steps[0].phases if ph.kind == "compute")
    holds_b = np.isin(np.arange(tiles), [k * tiles // kb for k in range(kb)])   # B's rows of blocks
    copy = -(-bs * n * 4 // SPEC.memory_write_bytes_per_cycle)  # a local row of blocks of B, gathered on the tile
    assert (compute.tile_cycles == 6 * per_vertex + copy * holds_b).all()


def test_cycles_follow_the_non_zero_blocks():
    cycles = []
    for density in (0.125, 0.25, 0.5, 1.0):
        mask = sparse.random_block_mask(16, 16, density, seed=0)
        _, _, profile, _ = _run(mask, bs=16, n=48, tiles=8)
        cycles.append(profile.compute_cycles)
    assert all(b > 1.7 * a for a, b in zip(cycles, cycles[1:])), f"twice the blocks, not twice the cycles: {cycles}"


def test_balancing_beats_rows_when_blocks_cluster():
    mask = sparse.random_block_mask(16, 16, 0.25, clustering=1.0, seed=3)
    _, _, rows, _ = _run(mask, bs=8, n=48, placement="rows")
    _, _, balanced, _ = _run(mask, bs=8, n=48, placement="balanced")
    assert balanced.num_supersteps == 2                       # products, then the partial sums
    assert balanced.total_cycles < 0.7 * rows.total_cycles


def test_bad_arguments_name_the_problem():
    g = ipukit.Graph(SPEC)
    with pytest.raises(ValueError, match="mask"):
        sparse.block_sparse_matmul(g, np.ones(4), 4, 8)
    with pytest.raises(ValueError, match="placement"):
        sparse.block_sparse_matmul(g, np.ones((2, 2)), 4, 8, placement="diagonal")
    with pytest.raises(ValueError, match="block_size"):
        sparse.block_sparse_matmul(g, np.ones((2, 2)), 0, 8)
    sp = sparse.block_sparse_matmul(g, np.ones((2, 2)), 4, 8)
    with pytest.raises(ValueError, match="8 x 8"):
        sp.blocks_of(np.zeros((8, 9)))


# --- the lock-step machine --------------------------------------------------------------------
def test_lockstep_pads_each_group_to_its_longest_item():
    m = sparse.SIMDMachine("test", lanes=4)
    k = m.kernel([1, 9, 2, 3, 5, 5])
    assert k.compute_cycles == 9 + 5 and k.useful_cycles == 25 / 4
    assert k.utilisation == pytest.approx(25 / 56)


def test_lockstep_runs_kinds_one_after_another():
    m = sparse.SIMDMachine("test", lanes=4, issue_cycles=2)
    assert m.kernel([2, 6, 4, 1], ["a", "b", "a", "b"]).compute_cycles == 2 * (4 + 6)
    assert m.kernel([2, 6, 4, 1]).compute_cycles == 2 * 6


def test_kernel_cost_is_launch_plus_the_longer_of_compute_and_memory():
    m = sparse.SIMDMachine("test", lanes=2, launch_cycles=100, memory_bytes_per_cycle=4.0)
    assert m.kernel([10, 10], nbytes=400).cycles == 100 + 100
    assert m.kernel([300, 10], nbytes=400).cycles == 100 + 300
    assert sparse.SIMDCost((m.kernel([1]), m.kernel([3]))).cycles == 200 + 4
    assert sparse.SIMDCost((m.kernel([1]),), (5,)).cycles == 5 * 101
    with pytest.raises(ValueError, match="run counts"):
        sparse.SIMDCost((m.kernel([1]),), (1, 2))


def test_like_has_the_same_peak_as_the_ipu():
    spec = ipukit.GC2.replace(tiles=16)
    m = sparse.SIMDMachine.like(spec)
    assert m.lanes / m.issue_cycles == spec.tiles                      # instructions per cycle
    assert m.launch_cycles == spec.sync_cycles
    # a V100's balance (datasheet: 15.7 TFLOPS float32, 900 GB/s) scaled to 16 GC2 tiles
    assert m.memory_bytes_per_cycle == pytest.approx(16 * 16 / (15.7e12 / 900e9))
    assert sparse.SIMDMachine.like(spec, memory=None).memory_bytes_per_cycle is None


def test_price_uses_the_engines_vertices():
    """Even vertices on every worker: the lock-step machine takes as long as the IPU's compute phase."""
    spec = ipukit.GC2.replace(tiles=4)
    g = ipukit.Graph(spec)
    x, y = g.add_variable(24 * 40, name="x"), g.add_variable(24 * 40, name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    cs = g.add_compute_set("scale")
    for v in range(24):
        s = slice(40 * v, 40 * v + 40)
        g.add_vertex(cs, ipukit.codelets.scale, tile=v // 6, a=x[s], out=y[s], factor=2.0)
    eng = ipukit.Engine(g, ipukit.Repeat(3, ipukit.Execute(cs)))
    profile = eng.run()
    priced = sparse.SIMDMachine.like(spec, memory=None).price(eng)
    assert priced.runs == (3,) and priced.cycles == 3 * priced.kernels[0].cycles
    assert priced.total("compute_cycles") == profile.compute_cycles
    assert priced.utilisation == 1.0
    machine = sparse.SIMDMachine.like(spec)
    with_memory = machine.price(eng)
    assert with_memory.kernels[0].memory_cycles == pytest.approx(2 * 960 * 4 / machine.memory_bytes_per_cycle)


def test_price_needs_a_run():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=1))
    x = g.add_variable(4, name="x")
    g.set_tile_mapping(x, 0)
    cs = g.add_compute_set("fill")
    g.add_vertex(cs, ipukit.codelets.fill, tile=0, out=x, value=1.0)
    with pytest.raises(ValueError, match="run the engine first"):
        sparse.SIMDMachine("m", lanes=4).price(ipukit.Engine(g, ipukit.Execute(cs)))


def test_grouped_conv_per_group_pays_a_launch_per_group():
    spec = ipukit.GC2.replace(tiles=16)
    m = sparse.SIMDMachine.like(spec, memory=None)
    one = m.grouped_conv(spec, batch=1, channels=32, size=8, out_channels=32, groups=32)
    batched = m.grouped_conv(spec, batch=1, channels=32, size=8, out_channels=32, groups=32, per_group=False)
    assert one.runs == (32,) and batched.runs == (1,)
    # 64 outputs per group on 96 lanes: one group each, of 2 * 1 * 9 FLOP at 16 FLOP per instruction
    assert one.kernels[0].compute_cycles == pytest.approx(6 * 18 / 16)
    assert one.cycles == pytest.approx(32 * (150 + 6 * 18 / 16), abs=1)
    assert batched.total("compute_cycles") == pytest.approx(6 * 18 / 16 * -(-32 * 64 // 96))
    with pytest.raises(ValueError, match="groups"):
        m.grouped_conv(spec, 1, 6, 8, 6, groups=4)


def test_pictures():
    mask = sparse.random_block_mask(8, 8, 0.4, seed=0)
    sp = sparse.block_sparse_matmul(ipukit.Graph(SPEC), mask, 4, 8)
    fig = viz.plot_placement(sp)
    assert len(fig.axes) == 2
    m = sparse.SIMDMachine("m", lanes=8)
    fig = viz.plot_lockstep(m, np.arange(20), kinds=["a", "b"] * 10)
    assert "20 items" in fig._suptitle.get_text()
