"""Widgets build without a display, redraw on a change, and never recompile; experiments run the real engine."""
import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402

import ipywidgets as W  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import ipukit  # noqa: E402
from ipukit import codelets as C  # noqa: E402
from ipukit import viz, widgets  # noqa: E402
from ipukit.run import numba_executor as fast  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def shown_png(box) -> bytes:
    out, = box.output.outputs
    return base64.b64decode(out["data"]["image/png"])


def compiled_state():
    """How many numba drivers and copy loops exist: a compile adds one."""
    drivers = sum(len(c._drivers) for c in vars(C).values() if isinstance(c, ipukit.Codelet))
    return drivers, len(fast.copy_runs.signatures), len(fast.copy_runs_parallel.signatures)


# --- the generic helper -------------------------------------------------------------------
def test_interactive_figure_draws_then_redraws_on_change():
    calls = []

    def picture(n, label, scale):
        calls.append((n, label, scale))
        fig = viz.IPUFigure(figsize=(2, 2))
        fig.subplots().plot(np.arange(n) * scale)
        fig.suptitle(label)
        return fig

    box = widgets.interactive_figure(picture, n=(2, 20), label=["one", "two"], scale=W.fixed(3))
    assert isinstance(box, W.VBox)
    assert isinstance(box.controls["n"], W.IntSlider) and box.controls["n"].description == "n"
    assert isinstance(box.controls["label"], W.Dropdown)
    assert "scale" not in box.controls and calls == [(11, "one", 3)]
    first = shown_png(box)
    assert first.startswith(b"\x89PNG") and box.renders == 1
    box.controls["n"].value = 5
    assert calls[-1] == (5, "one", 3) and box.renders == 2
    assert shown_png(box) != first
    assert box.figure.get_suptitle() == "one"


def test_interactive_figure_shows_errors_and_recovers():
    def picture(n):
        if n > 3:
            raise ValueError(f"n={n} is too big for this picture")
        return viz.IPUFigure(figsize=(2, 2))

    box = widgets.interactive_figure(picture, n=(0, 5))
    assert box.renders == 1                    # the slider starts in the middle, at 2
    renders = box.renders
    box.controls["n"].value = 5
    out, = box.output.outputs
    assert out["output_type"] == "stream" and "n=5 is too big" in out["text"]
    assert isinstance(box.error, ValueError) and box.renders == renders
    box.controls["n"].value = 2
    assert box.error is None and box.renders == renders + 1
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        widgets.interactive_figure(lambda n: "not a figure", n=(0, 3))
    with pytest.raises(TypeError, match="cannot make a control for 'n'"):
        widgets.interactive_figure(lambda n: None, n=object())


def test_interactive_figure_closes_pyplot_figures():
    def picture(n):
        fig, ax = plt.subplots()
        ax.plot(range(n))
        return fig

    box = widgets.interactive_figure(picture, n=(1, 9))
    for n in (2, 3, 4):
        box.controls["n"].value = n
    assert box.renders == 4 and plt.get_fignums() == []


# --- the ready-made explorers ------------------------------------------------------------------
@pytest.mark.parametrize("make, control, values", [
    (widgets.memory_explorer, "preset", ["GC200", "GC2"]),
    (widgets.bsp_explorer, "imbalance", [100, 25]),
    (widgets.exchange_explorer, "pattern", ["gather", "all-to-all"]),
    (widgets.roofline_explorer, "workload", ["dot product", "vector add"]),
])
def test_explorers_redraw_without_compiling(make, control, values):
    box = make()
    assert box.renders == 1 and box.error is None
    for widget in box.controls.values():       # labelled in words, values shown
        assert len(widget.description) > 2 and getattr(widget, "readout", True)
    before, png = compiled_state(), shown_png(box)
    for value in values:
        box.controls[control].value = value
        assert box.error is None
        assert shown_png(box) != png
        png = shown_png(box)
    assert box.renders == 1 + len(values)
    assert compiled_state() == before


def test_explorer_slider_moves_do_not_compile():
    box = widgets.bsp_explorer(tiles=8)
    box.controls["vertices"].value = 3
    before = compiled_state()
    box.controls["work"].value = 500
    box.controls["tiles"].value = 4
    assert box.renders == 4 and compiled_state() == before


# --- the experiments run the real emulator ---------------------------------------------------------
@pytest.mark.parametrize("pattern, cycles", [
    ("ring", 1024 // 4),                       # each tile sends and receives one message
    ("broadcast", 1024 // 4),                  # sent once, however many tiles receive it
    ("gather", 7 * 1024 // 4),                 # tile 0 receives 7 messages
    ("all-to-all", 7 * 128 // 4),              # 8 pieces of 128 B, one kept at home
])
def test_exchange_patterns_cost_what_the_model_says(pattern, cycles):
    g, prog = widgets.exchange_graph(ipukit.GC2.replace(tiles=8), 1024, pattern)
    eng = ipukit.Engine(g, prog)
    eng.run()
    assert eng.profile.exchange_cycles == cycles
    assert viz.exchange_matrix(eng, 0).sum() > 0


def whole(g, name):
    """The whole tensor of variable ``name`` (the builders return only graph and program)."""
    var = next(v for v in g.variables if v.name == name)
    return ipukit.Tensor(g, np.arange(var.base, var.base + var.size).reshape(var.shape), var.dtype, var.name)


def test_all_to_all_delivers_every_piece():
    g, prog = widgets.exchange_graph(ipukit.GC2.replace(tiles=4), 64, "all-to-all")
    eng = ipukit.Engine(g, prog)
    send = whole(g, "send")
    data = np.arange(send.size, dtype=np.float32).reshape(send.shape)
    eng.write(send, data)
    eng.run()
    np.testing.assert_array_equal(eng.read(whole(g, "recv")), data.transpose(1, 0, 2))


def test_bsp_graph_makes_every_tile_wait_for_the_heavy_one():
    g, prog = widgets.bsp_graph(ipukit.GC2.replace(tiles=4), work=600, imbalance=100, vertices=6)
    p = ipukit.Engine(g, prog).run()
    # tile 0: 6 vertices of 200 floats = 10 + 100 worker cycles each; others 10 + 50; 3 supersteps
    np.testing.assert_array_equal(p.tile_cycles("compute"), [3 * 6 * 110] + [3 * 6 * 60] * 3)
    assert p.compute_cycles == 3 * 6 * 110
    assert p.exchange_cycles == 3 * 16 * 4 // 4               # 16 halo floats per tile per superstep
    with pytest.raises(ValueError, match="too little"):
        widgets.bsp_graph(ipukit.GC2.replace(tiles=4), work=10, vertices=6)


def test_memory_experiment_draws_layouts_that_do_not_fit():
    fits = widgets.memory_experiment(elements=10_000, tiles=8)
    assert "fits" in fits.get_suptitle()
    over = widgets.memory_experiment(elements=300_000, tiles=8)   # 3 x 1.2 MB over 8 x 256 KiB
    assert "does NOT fit: 8 tiles" in over.get_suptitle()
    marks = [a for ax in over.axes for a in ax.get_children() if a.get_gid() == "over-capacity"]
    assert marks and marks[0].get_offsets()[:, 0].tolist() == list(range(8))
    roomy = widgets.memory_experiment(elements=300_000, tiles=8, preset="GC200")   # 450 KB per tile fits
    assert "fits" in roomy.get_suptitle()


def test_workloads_compute_the_right_numbers():
    spec = ipukit.GC2.replace(tiles=4)
    g, prog, flops, nbytes = widgets.workload_graph(spec, "matrix multiply", 16)
    assert (flops, nbytes) == (2 * 16 ** 3, 12 * 16 * 16)
    eng = ipukit.Engine(g, prog)
    a, b, c = (whole(g, name) for name in "ABC")
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 16, 16)).astype(np.float32)
    eng.write(a, x)
    eng.write(b, y)
    eng.run()
    np.testing.assert_allclose(eng.read(c), x @ y, rtol=1e-5, atol=1e-5)
    g, prog, flops, nbytes = widgets.workload_graph(spec, "dot product", 16)
    assert (flops, nbytes) == (2 * 256, 8 * 256 + 4)
    eng = ipukit.Engine(g, prog)
    eng.write(whole(g, "a"), np.ones(256, np.float32))
    eng.write(whole(g, "b"), np.full(256, 2, np.float32))
    eng.run()
    assert eng.read(whole(g, "total"))[0] == 512
    with pytest.raises(ValueError, match="unknown workload"):
        widgets.workload_graph(spec, "fft", 16)


def test_roofline_experiment_places_the_run_under_its_roof():
    fig = widgets.roofline_experiment(n=32, workload="vector add", compare="A100")
    star, = [a for ax in fig.axes for a in ax.get_lines() if (a.get_gid() or "").startswith("achieved")]
    x, y = star.get_xdata()[0], star.get_ydata()[0]
    assert x == pytest.approx(1 / 12)
    assert 0 < y <= viz.device_roof(ipukit.GC2.replace(tiles=16)).attainable(x)
