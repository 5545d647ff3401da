"""The views: each draws a Figure, and what it draws matches the report, profile or plans exactly."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

import ipukit  # noqa: E402
from ipukit import Copy, Engine, Execute, Repeat, Sequence  # noqa: E402
from ipukit import codelets as C  # noqa: E402
from ipukit import viz  # noqa: E402
from ipukit.palette import OVER_CAPACITY, PHASE_COLORS  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def find(fig, gid):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def bar_heights_by_tile(ax, num_tiles):
    """Sum of the stacked bar heights at each tile position."""
    total = np.zeros(num_tiles)
    for container in ax.containers:
        for patch in container.patches:
            if patch.get_fill():
                total[int(round(patch.get_x() + patch.get_width() / 2))] += patch.get_height()
    return total


# --- layout -----------------------------------------------------------------------
@pytest.mark.parametrize("n, shape", [(1216, (32, 38)), (1472, (32, 46)), (16, (4, 4)), (12, (3, 4)),
                                      (13, (3, 5)), (1, (1, 1)), (2, (1, 2))])
def test_tile_grid_is_near_square(n, shape):
    assert viz.tile_grid_shape(n) == shape


def test_tile_layout_stacks_ipus():
    rows, cols, row_of, col_of = viz.tile_layout(ipukit.GC2.replace(tiles=16, num_ipus=2))
    assert (rows, cols) == (8, 4)
    assert (row_of[17], col_of[17]) == (4, 1)      # tile 1 of IPU 1 starts the second block
    assert len(set(zip(row_of.tolist(), col_of.tolist()))) == 32


# --- memory map ---------------------------------------------------------------------
def overfull_graph(spec, big_tile, big_elements):
    """8 small floats on every tile and ``big_elements`` floats on ``big_tile``."""
    g = ipukit.Graph(spec)
    small = g.add_variable(8 * spec.total_tiles, name="small")
    g.map_linearly(small)
    big = g.add_variable(big_elements, name="big")
    g.set_tile_mapping(big, big_tile)
    return g


def test_memory_map_cap_line_and_over_capacity_marks():
    g = overfull_graph(ipukit.GC2.replace(tiles=8), big_tile=2, big_elements=70_000)   # 280,000 B > 256 KiB
    report = g.memory_report()
    fig = viz.plot_memory(report)
    assert isinstance(fig, Figure)
    cap, = find(fig, "sram-cap")
    assert list(cap.get_ydata()) == [256 * 1024, 256 * 1024]
    marks, = find(fig, "over-capacity")
    assert marks.get_offsets()[:, 0].tolist() == [2]
    assert tuple(marks.get_facecolor()[0]) == to_rgba(OVER_CAPACITY)
    bars_ax = cap.axes
    heights = bar_heights_by_tile(bars_ax, 8)
    assert heights[2] == 70_000 * 4 + 32       # the big tensor and 8 floats of 'small'
    np.testing.assert_array_equal(heights, report.used)
    grid, = find(fig, "tile-grid")
    rgba = grid.to_rgba(grid.get_array())
    # 8 tiles -> a 2 x 4 grid, tile 2 at row 0, column 2
    assert tuple(rgba[0, 2]) == to_rgba(OVER_CAPACITY)
    assert all(tuple(rgba[t // 4, t % 4]) != to_rgba(OVER_CAPACITY) for t in range(8) if t != 2)


def test_memory_map_cap_follows_the_spec_and_empty_tiles_are_white():
    g = overfull_graph(ipukit.GC200.replace(tiles=6), big_tile=0, big_elements=1000)
    g.set_tile_mapping(g.add_variable(1, name="x"), 5)
    report = g.memory_report()
    report.by_category[3] = 0                  # pretend tile 3 is empty
    fig = viz.plot_memory(report)
    cap, = find(fig, "sram-cap")
    assert cap.get_ydata()[0] == 624 * 1024
    assert find(fig, "over-capacity") == []
    grid, = find(fig, "tile-grid")
    rows, cols = viz.tile_grid_shape(6)
    assert tuple(grid.to_rgba(grid.get_array())[3 // cols, 3 % cols]) == to_rgba("white")


def test_memory_bars_by_tensor_add_up_and_many_tiles_become_steps():
    spec = ipukit.GC2.replace(tiles=200)
    g = overfull_graph(spec, big_tile=150, big_elements=66_000)
    odd = g.add_variable(3, name="odd")        # 12 B, padded to 16 on its tile
    g.set_tile_mapping(odd, 7)
    report = g.memory_report()
    fig = viz.plot_memory(report, by="tensor", view="bars")
    ax = fig.axes[0]
    # 200 tiles: filled steps, not bars (the only bars outline the over-capacity tile)
    assert all(not patch.get_fill() for c in ax.containers for patch in c.patches)
    tops = np.zeros(200)
    for patch in ax.patches:                   # StepPatch layers stack; the last one drawn is the total
        if hasattr(patch, "get_data"):
            tops = np.maximum(tops, patch.get_data().values)
    np.testing.assert_array_equal(tops, report.used)
    assert tops[7] == 8 * 4 + 16
    labels = ax.get_legend_handles_labels()[1]
    assert "'big'" in labels and "alignment padding" in labels
    marks, = find(fig, "over-capacity")
    assert marks.get_offsets()[:, 0].tolist() == [150]


def test_memory_map_accepts_engine_and_graph_and_refuses_others():
    g = overfull_graph(ipukit.GC2.replace(tiles=4), big_tile=1, big_elements=10)
    assert isinstance(viz.plot_memory(g, view="grid"), Figure)
    with pytest.raises(TypeError, match="memory report"):
        viz.plot_memory("not a report")
    with pytest.raises(ValueError, match="by must be"):
        viz.plot_memory(g, by="colour")


# --- BSP trace ------------------------------------------------------------------------
def uneven_program(spec):
    """Tile 0: one scale vertex on 100 floats (60 worker cycles); tile 1: two on 40 (30 each);
    then a Copy of 16 floats from tile 0 to tile 2.  Run twice."""
    g = ipukit.Graph(spec)
    x = g.add_variable(180, name="x")
    g.set_tile_mapping(x, [[(0, 100)], [(100, 180)]])
    y = g.add_variable(16, name="y")
    g.set_tile_mapping(y, 2)
    cs = g.add_compute_set("scale")
    g.add_vertex(cs, C.scale, tile=0, a=x[:100], out=x[:100], factor=2.0)
    g.add_vertex(cs, C.scale, tile=1, a=x[100:140], out=x[100:140], factor=2.0)
    g.add_vertex(cs, C.scale, tile=1, a=x[140:], out=x[140:], factor=2.0)
    eng = Engine(g, Repeat(2, Sequence(Execute(cs), Copy(x[:16], y))))
    eng.run()
    return eng


def drawn_widths(fig, kind, rows):
    """Total width of the rectangles of ``kind`` on each row, and their left edges per row."""
    coll, = [c for c in fig.axes[0].collections if c.get_label() == kind]
    widths, lefts = np.zeros(rows), [[] for _ in range(rows)]
    for path in coll.get_paths():
        xs, ys = path.vertices[:, 0], path.vertices[:, 1]
        row = int(round(ys.mean()))
        widths[row] += xs.max() - xs.min()
        lefts[row].append(xs.min())
    return coll, widths, lefts


def test_trace_draws_each_tiles_phases_exactly():
    spec = ipukit.GC2.replace(tiles=4)
    eng = uneven_program(spec)
    p = eng.profile
    fig = viz.plot_trace(p)
    coll, compute, lefts = drawn_widths(fig, "compute", 4)
    assert tuple(coll.get_facecolor()[0]) == to_rgba(PHASE_COLORS["compute"])
    # by hand: 6 x the busiest worker's cycles, twice
    np.testing.assert_array_equal(compute, [2 * 6 * 60, 2 * 6 * 30, 0, 0])
    np.testing.assert_array_equal(compute, p.tile_cycles("compute"))
    # phases in order: sync (150), compute (360), then the copy's sync and exchange (16 x 4 B / 4 = 16)
    assert lefts[0] == [150, 150 + 360 + 150 + 16 + 150]
    _, sync, _ = drawn_widths(fig, "sync", 4)
    np.testing.assert_array_equal(sync, [4 * 150] * 4)
    _, exchange, _ = drawn_widths(fig, "exchange", 4)
    np.testing.assert_array_equal(exchange, [2 * 16, 0, 2 * 16, 0])     # tile 0 sends, tile 2 receives
    assert fig.axes[0].get_xlim()[1] == p.total_cycles


def test_trace_first_steps_tiles_and_groups():
    spec = ipukit.GC2.replace(tiles=4)
    eng = uneven_program(spec)
    fig = viz.plot_trace(eng.profile, steps=1, tiles=[1, 0])
    _, compute, _ = drawn_widths(fig, "compute", 2)
    np.testing.assert_array_equal(compute, [6 * 30, 6 * 60])
    assert [c.get_label() for c in fig.axes[0].collections if c.get_label() == "exchange"] == []
    big = ipukit.GC2.replace(tiles=130)
    g = ipukit.Graph(big)
    x = g.add_variable(130 * 4, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("relu")
    for t in range(130):
        n = 4 if t != 57 else 2                # tile 57 does half the work
        g.add_vertex(cs, C.relu, tile=t, a=x[4 * t:4 * t + n], out=x[4 * t:4 * t + n])
    eng = Engine(g, Execute(cs))
    eng.run()
    rows = 13
    busy = eng.profile.tile_cycles("compute")
    _, drawn_max, _ = drawn_widths(viz.plot_trace(eng.profile, max_rows=rows), "compute", rows)
    _, drawn_mean, _ = drawn_widths(viz.plot_trace(eng.profile, max_rows=rows, aggregate="mean"), "compute", rows)
    groups = np.arange(130).reshape(rows, 10)
    np.testing.assert_array_equal(drawn_max, busy[groups].max(axis=1))
    np.testing.assert_allclose(drawn_mean, busy[groups].mean(axis=1))
    assert drawn_mean[5] < drawn_max[5]        # tiles 50-59 hold the lighter tile 57


def test_trace_errors_name_the_fix():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=2))
    x = g.add_variable(4, name="x")
    g.map_linearly(x)
    eng = Engine(g, Copy(x[:2], x[2:]))
    with pytest.raises(ValueError, match=r"engine.run\(\)"):
        viz.plot_trace(eng)
    eng.run()
    with pytest.raises(ValueError, match="tile 5 is out of range"):
        viz.plot_trace(eng, tiles=[5])


def test_profile_bars_show_cycles_by_phase_per_step():
    eng = uneven_program(ipukit.GC2.replace(tiles=4))
    fig = viz.profile_bars(eng.profile)
    ax = fig.axes[0]
    for container in ax.containers:
        kind = container.get_label()
        widths = [patch.get_width() for patch in container.patches]
        assert widths == [r.count * r.cycles(kind) for r in eng.profile.steps]
    compute = next(c for c in ax.containers if c.get_label() == "compute")
    assert [p.get_width() for p in compute.patches][0] == 2 * 360
    per_run = viz.profile_bars(eng.profile, per_run=True).axes[0]
    assert next(c for c in per_run.containers if c.get_label() == "compute").patches[0].get_width() == 360


# --- exchange -------------------------------------------------------------------------
def exchange_engine():
    """Step 0: add on tile 2 with a from tiles 0 and 1, b local, out on tile 3.
    Step 1: Copy 8 floats of tile 0 to tiles 1 and 3.  Step 2: a stream copy."""
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    a, b, out, src, dst = (g.add_variable(8, name=n) for n in ("a", "b", "out", "src", "dst"))
    g.set_tile_mapping(a, [[(0, 4)], [(4, 8)]])
    g.set_tile_mapping(b, 2)
    g.set_tile_mapping(out, 3)
    g.set_tile_mapping(src, 0)
    g.set_tile_mapping(dst, [[], [(0, 4)], [], [(4, 8)]])
    cs = g.add_compute_set("add")
    g.add_vertex(cs, C.add, tile=2, a=a, b=b, out=out)
    stream = g.add_host_stream("in", 8)
    return Engine(g, Sequence(Execute(cs), Copy(src, dst), Copy(stream, b)))


def test_exchange_matrix_matches_a_hand_computation():
    eng = exchange_engine()
    expected = np.zeros((4, 4), np.int64)
    expected[0, 2] = expected[1, 2] = 16       # a gathered to tile 2: 4 floats from each of tiles 0, 1
    expected[2, 3] = 32                        # out written back from tile 2's buffer to tile 3
    np.testing.assert_array_equal(viz.exchange_matrix(eng, 0), expected)
    gather = expected.copy()
    gather[2, 3] = 0
    np.testing.assert_array_equal(viz.exchange_matrix(eng, 0, which="gather"), gather)
    np.testing.assert_array_equal(viz.exchange_matrix(eng, 0, which="scatter"), expected - gather)
    copy = np.zeros((4, 4), np.int64)
    copy[0, 1] = copy[0, 3] = 16
    np.testing.assert_array_equal(viz.exchange_matrix(eng, 1), copy)
    np.testing.assert_array_equal(viz.exchange_matrix(eng), expected)      # default: the busiest step
    received = sum(p.bytes_received for p in eng.steps[0].phases if p.kind == "exchange")
    np.testing.assert_array_equal(viz.exchange_matrix(eng, 0).sum(axis=0), received)


def test_exchange_matrix_errors():
    eng = exchange_engine()
    with pytest.raises(ValueError, match="host stream copy"):
        viz.exchange_matrix(eng, 2)
    with pytest.raises(IndexError, match="3 compiled steps"):
        viz.exchange_matrix(eng, 7)
    with pytest.raises(ValueError, match="which='all'"):
        viz.exchange_matrix(eng, 1, which="gather")
    with pytest.raises(TypeError, match="Engine"):
        viz.exchange_matrix(eng.profile)


def test_exchange_view_draws_the_matrix_and_one_arrow_per_pair():
    eng = exchange_engine()
    fig = viz.plot_exchange(eng, 0)
    image, = find(fig, "exchange-matrix")
    np.testing.assert_array_equal(image.get_array().filled(0), viz.exchange_matrix(eng, 0))
    arrows = [p for ax in fig.axes for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert sorted(a.get_gid() for a in arrows) == ["arrow 0->2", "arrow 1->2", "arrow 2->3"]
    widths = {a.get_gid(): a.get_linewidth() for a in arrows}
    assert widths["arrow 2->3"] > widths["arrow 0->2"]
    # 32 B in and 32 B out of tile 2 at 4 B per cycle: 8 + 8 exchange cycles
    assert "64 B received, 16 exchange cycles" in fig.get_suptitle()
    assert len(viz.plot_exchange(eng, 1, arrows=False).axes) == 2        # heatmap and its colour bar


# --- roofline ---------------------------------------------------------------------------
def test_hardware_table_agrees_with_the_ipu_specs():
    for name, spec in (("GC2", ipukit.GC2), ("GC200", ipukit.GC200)):
        entry = viz.HARDWARE[name]
        for dtype in ("float32", "float16"):
            assert entry["peak_flops"][dtype] == pytest.approx(spec.peak_flops(dtype), rel=5e-3)
        sram = spec.memory_read_bytes_per_cycle * spec.tiles * spec.clock_hz
        assert entry["bandwidth"] == pytest.approx(sram, rel=5e-3)
    assert viz.HARDWARE["GC2"]["bandwidth"] == pytest.approx(31.1e12, rel=1e-3)     # JIA: 16 B x 1216 x 1.6 GHz


def test_ridge_points():
    assert viz.ridge_point("V100") == pytest.approx(15.7e12 / 900e9)          # 17.4 FLOP/B
    assert viz.ridge_point("V100", "float16") == pytest.approx(125e12 / 900e9)
    assert viz.ridge_point("A100") == pytest.approx(19.5e12 / 1555e9)
    assert viz.ridge_point("Xeon 8180") == pytest.approx(4.48e12 / 128e9)
    assert viz.ridge_point("GC2") == pytest.approx(1.0)
    small = ipukit.GC2.replace(tiles=16)
    roof = viz.device_roof(small)
    assert roof.peak == pytest.approx(16 * 16 * 1.6e9) and roof.bandwidth == pytest.approx(16 * 16 * 1.6e9)
    assert viz.exchange_roof(small).bandwidth == pytest.approx(4 * 16 * 1.6e9)
    assert roof.attainable(0.25) == pytest.approx(0.25 * 16 * 16 * 1.6e9)
    with pytest.raises(KeyError, match="unknown device 'H100'"):
        viz.device_roof("H100")


def test_roofline_plot_draws_roofs_and_workloads():
    fig = viz.plot_roofline(devices=("V100", "GC2"), workloads={"matmul n=64": (64 / 6, 3e12), "add": 1 / 12})
    roof, = find(fig, "roof GPU V100 SXM2")
    x, y = roof.get_data()
    np.testing.assert_allclose(y, np.minimum(15.7e12, x * 900e9))
    ridge, = find(fig, "ridge IPU GC2")
    assert ridge.get_data()[0][0] == pytest.approx(1.0)
    line, = find(fig, "workload add")
    assert line.get_xdata()[0] == pytest.approx(1 / 12)
    star, = find(fig, "achieved matmul n=64")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == pytest.approx((64 / 6, 3e12))
    with pytest.raises(ValueError, match="must be positive"):
        viz.plot_roofline(workloads={"bad": 0})


def test_memory_wall_shows_cited_growth_and_machine_balance():
    fig = viz.plot_memory_wall(years=20)
    growth = fig.axes[0].get_lines()
    assert growth[0].get_ydata()[-1] == pytest.approx(3.0 ** 10)      # 3x every 2 years for 20 years
    assert growth[1].get_ydata()[-1] == pytest.approx(1.6 ** 10)
    bars = [p.get_width() for p in fig.axes[1].patches]
    assert bars == pytest.approx([viz.ridge_point(n) for n in viz.HARDWARE])


# --- worker slots ---------------------------------------------------------------------
def test_worker_slots_follow_the_round_robin():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=2))
    x = g.add_variable(160, name="x")
    g.set_tile_mapping(x, 0)
    cs = g.add_compute_set("scale")
    cuts = [0, 20, 40, 60, 80, 100, 120, 160]  # six vertices of 20 floats, a seventh of 40
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        g.add_vertex(cs, C.scale, tile=0, a=x[lo:hi], out=x[lo:hi], factor=3.0)
    eng = Engine(g, Execute(cs))
    fig = viz.plot_worker_slots(eng, "scale", tile=0)
    ax = fig.axes[0]
    per_worker = np.zeros(6)
    for patch in ax.patches:
        per_worker[int(round(patch.get_y() + patch.get_height() / 2))] += patch.get_width()
    # worker 0 runs vertices 0 and 6: 10 + 20/2 and 10 + 40/2 worker cycles, 6 tile cycles each
    np.testing.assert_array_equal(per_worker, [6 * (20 + 30)] + [6 * 20] * 5)
    done = [line for line in ax.get_lines() if line.get_label().startswith("tile 0 done")]
    assert done[0].get_xdata()[0] == 300
    with pytest.raises(KeyError, match="'scale'"):
        viz.plot_worker_slots(eng, "matmul")


def test_figures_show_themselves_in_jupyter():
    fig = viz.plot_memory_wall()
    assert fig._repr_png_().startswith(b"\x89PNG")
    assert not plt.get_fignums()               # views never register figures with pyplot
