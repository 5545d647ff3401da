"""Sliders that re-run an experiment on the emulated IPU and redraw its picture.

Each experiment is a plain function, ``*_experiment(...) -> Figure``, that
builds a real graph, runs it on :class:`Engine` and draws the result
with :mod:`viz`; ``*_explorer()`` puts controls on it with
:func:`interactive_figure`.  The experiments use built-in codelets only, whose
compiled drivers are kept per codelet and field types, so moving a slider
rebuilds a small engine but never waits for numba.

Figures are shown as PNG images inside an ``ipywidgets.Output`` (no
``%matplotlib widget`` needed), and each redraw replaces the last one.
"""
from __future__ import annotations

import base64
import sys

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .. import viz
from ..core.errors import TileMemoryError
from ..core.graph import Graph
from ..core.programs import Copy, Execute, Repeat, Sequence
from ..core.spec import GC2, GC200
from ..core.tensor import concat
from ..lib import codelets as C
from ..run.engine import Engine
from ..viz._common import fmt_bytes, fmt_rate
from ..viz.memory import memory_headline

DPI = 90
PRESETS = {"GC2": GC2, "GC200": GC200}


# --- the generic helper ----------------------------------------------------------
class InteractiveFigure(W.VBox):
    """Controls above an Output that shows ``fn(**values)``, redrawn whenever a control changes.

    ``figure`` is the last Figure drawn, ``renders`` counts the redraws, and
    ``error`` holds the exception of a failed redraw (its message is shown
    in place of the picture).
    """

    def __init__(self, fn, controls: dict, fixed: dict | None = None):
        self.fn = fn
        self.controls = dict(controls)
        self.fixed = dict(fixed or {})
        self.output = W.Output()
        self.figure = None
        self.error = None
        self.renders = 0
        columns = "repeat(2, minmax(0, 1fr))" if len(self.controls) > 1 else "1fr"
        panel = W.GridBox(list(self.controls.values()), layout=W.Layout(grid_template_columns=columns))
        super().__init__([panel, self.output])
        for widget in self.controls.values():
            widget.observe(self._changed, names="value")
        self.update(raise_errors=True)

    @property
    def values(self) -> dict:
        return {**self.fixed, **{name: w.value for name, w in self.controls.items()}}

    def _changed(self, _change) -> None:
        self.update()

    def update(self, raise_errors: bool = False) -> None:
        """Run ``fn`` with the current values and show its figure (or its error)."""
        try:
            fig = self.fn(**self.values)
            if not isinstance(fig, Figure):
                raise TypeError(f"interactive_figure: {getattr(self.fn, '__name__', 'fn')} must return a "
                                f"matplotlib Figure, got {type(fig).__name__}")
            shown = figure_output(fig)
        except Exception as e:
            if raise_errors:
                raise
            self.error = e
            self.output.outputs = ({"output_type": "stream", "name": "stderr",
                                    "text": f"{type(e).__name__}: {e}\n"},)
            return
        close_figure(fig)
        self.figure, self.error = fig, None
        self.renders += 1
        self.output.outputs = (shown,)


def figure_output(fig) -> dict:
    """A figure as an Output widget's display-data entry (a PNG)."""
    png = viz.to_png(fig, dpi=DPI)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": repr(fig)}}


def close_figure(fig) -> None:
    """Let pyplot forget a figure it made (``plt.subplots`` in a learner's function)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def interactive_figure(fn, **controls) -> InteractiveFigure:
    """Controls for ``fn(**params) -> Figure``; draws once, then again on every change.

    Each keyword names a parameter of ``fn`` and says how to set it, as in
    ``ipywidgets.interact``: a widget (used as is), ``(min, max[, step])`` for a
    slider, a list of choices for a dropdown, a bool for a checkbox, or
    ``ipywidgets.fixed(value)`` for a constant.  Example::

        interactive_figure(lambda n: viz.plot_memory(build(n).memory), n=(1, 64))
    """
    widgets, fixed = {}, {}
    for name, spec in controls.items():
        widget = W.interactive.widget_from_abbrev(spec)
        if widget is None:
            raise TypeError(f"interactive_figure: cannot make a control for '{name}' from {spec!r}; give a "
                            "widget, (min, max[, step]), a list of choices, a bool or ipywidgets.fixed(value)")
        if isinstance(widget, W.fixed):
            fixed[name] = widget.value
            continue
        if widget is not spec:             # made here: label it and redraw on release only
            widget.description = name.replace("_", " ")
            widget.style.description_width = "initial"
            if hasattr(widget, "continuous_update"):
                widget.continuous_update = False
        widgets[name] = widget
    return InteractiveFigure(fn, widgets, fixed)


def _slider(choices, value, description: str, label=str) -> W.SelectionSlider:
    choices = sorted(set(choices) | {value})
    return W.SelectionSlider(options=[(label(c), c) for c in choices], value=value, description=description,
                             continuous_update=False, style={"description_width": "initial"},
                             layout=W.Layout(width="95%"))


def _dropdown(options, value, description: str) -> W.Dropdown:
    return W.Dropdown(options=options, value=value, description=description,
                      style={"description_width": "initial"}, layout=W.Layout(width="95%"))


def _spec(preset: str, tiles: int):
    if preset not in PRESETS:
        raise ValueError(f"unknown IPU preset {preset!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[preset].replace(tiles=int(tiles))


# --- memory: how tensors spread over tiles -------------------------------------------
def memory_graph(spec, elements: int, grain_size: int = 1):
    """``out = a + b`` over ``elements`` floats per tensor, each spread linearly in grains."""
    g = Graph(spec)
    a, b, out = (g.add_variable(elements, name=n) for n in ("a", "b", "out"))
    for t in (a, b, out):
        g.map_linearly(t, grain_size=grain_size)
    cs = g.add_compute_set("add")
    for tile, intervals in enumerate(g.tile_mapping(out)):
        for lo, hi in intervals:
            g.add_vertex(cs, C.add, tile=tile, a=a[lo:hi], b=b[lo:hi], out=out[lo:hi])
    return g, Execute(cs)


def memory_experiment(elements: int = 100_000, tiles: int = 16, grain_size: int = 1, preset: str = "GC2",
                      by: str = "category"):
    """Map three tensors onto tiles and draw SRAM per tile; a layout that does not fit is drawn too."""
    spec = _spec(preset, tiles)
    g, prog = memory_graph(spec, elements, grain_size)
    try:
        eng = Engine(g, prog)
        cycles = eng.run().total_cycles
        report, verdict = eng.memory, f"fits; the add runs in {cycles:,} cycles"
    except TileMemoryError as e:
        report = e.report
        verdict = f"does NOT fit: {len(report.over_tiles)} tiles over their SRAM, so the engine refuses to build"
    return viz.plot_memory(report, by=by, title=f"a, b, out: {elements:,} floats each on {tiles} {preset} tiles, "
                           f"grain {grain_size}: {verdict}\n{memory_headline(report)}")


def memory_explorer(elements: int = 100_000, tiles: int = 16, grain_size: int = 1, preset: str = "GC2"):
    """Sliders: tensor size, tiles, grain size and IPU type -> the tile memory map."""
    return interactive_figure(
        memory_experiment,
        elements=_slider([1_000, 10_000, 30_000, 100_000, 300_000, 1_000_000], elements,
                         "floats in each of a, b, out", lambda n: f"{n:,}"),
        tiles=_slider([4, 8, 16, 32, 64], tiles, "tiles used"),
        grain_size=_slider([1, 8, 64, 512, 4096, 32768], grain_size, "grain size (elements kept together)",
                           lambda n: f"{n:,}"),
        preset=_dropdown([("GC2 (256 KiB per tile)", "GC2"), ("GC200 (624 KiB per tile)", "GC200")], preset,
                         "IPU"))


# --- BSP: uneven work makes every tile wait -------------------------------------------
def bsp_graph(spec, work: int, imbalance: float = 0, vertices: int = 6, supersteps: int = 3, halo: int = 16):
    """Each tile scales its ``work`` elements (tile 0: ``imbalance`` % more), then sends a halo on.

    One superstep is a compute set (``vertices`` scale vertices per tile) and a
    Copy of the last ``halo`` elements of each tile to the next tile's halo buffer.
    """
    tiles = spec.total_tiles
    sizes = np.full(tiles, int(work), np.int64)
    sizes[0] = round(work * (1 + imbalance / 100))
    if sizes.min() < max(halo, vertices):
        raise ValueError(f"bsp_graph: work={work} elements per tile is too little for {vertices} vertices and a "
                         f"halo of {halo}; give each tile at least {max(halo, vertices)} elements")
    bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    g = Graph(spec)
    x = g.add_variable(bounds[-1], name="x")
    g.set_tile_mapping(x, [[(bounds[t], bounds[t + 1])] for t in range(tiles)])
    ghost = g.add_variable((tiles, halo), name="halo")
    g.map_linearly(ghost)
    cs = g.add_compute_set("work")
    for t in range(tiles):
        cuts = np.linspace(bounds[t], bounds[t + 1], vertices + 1).astype(int)
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            g.add_vertex(cs, C.scale, tile=t, a=x[lo:hi], out=x[lo:hi], factor=0.5)
    edges = concat([x[bounds[t + 1] - halo:bounds[t + 1]] for t in range(tiles)])
    to_next = concat([ghost[(t + 1) % tiles] for t in range(tiles)])
    return g, Repeat(supersteps, Sequence(Execute(cs), Copy(edges, to_next)))


def bsp_experiment(work: int = 2000, imbalance: float = 0, vertices: int = 6, tiles: int = 16):
    """Run three BSP supersteps and draw the execution trace."""
    g, prog = bsp_graph(GC2.replace(tiles=int(tiles)), work, imbalance, vertices)
    eng = Engine(g, prog)
    p = eng.run()
    busy = p.tile_cycles("compute")
    return viz.plot_trace(p, title=(
        f"{tiles} tiles x {work:,} elements (tile 0: +{imbalance:g}%), {vertices} vertices per tile: "
        f"{p.total_cycles:,} cycles\ncompute phases: slowest tile {busy.max():,} cycles, average tile "
        f"{busy.mean():,.0f}; every tile waits for the slowest at each sync"))


def bsp_explorer(work: int = 2000, imbalance: float = 0, vertices: int = 6, tiles: int = 16):
    """Sliders: work per tile, extra work on one tile, vertices per tile, tiles -> BSP trace."""
    return interactive_figure(
        bsp_experiment,
        work=_slider([200, 500, 1000, 2000, 5000, 10000, 20000], work, "elements per tile (work)",
                     lambda n: f"{n:,}"),
        imbalance=_slider([0, 10, 25, 50, 100, 200, 400], imbalance, "extra work on tile 0 (%)"),
        vertices=_slider(list(range(1, 13)), vertices, "vertices per tile (a tile has 6 workers)"),
        tiles=_slider([4, 8, 16, 32], tiles, "tiles used"))


# --- exchange: what a communication pattern costs ---------------------------------------
PATTERNS = {
    "ring": "each tile sends to the next (ring)",
    "broadcast": "tile 0 sends to every other tile (broadcast)",
    "gather": "every tile sends to tile 0 (gather)",
    "all-to-all": "every tile sends a piece to every tile (all-to-all)",
}


def exchange_graph(spec, message_bytes: int, pattern: str = "ring"):
    """A single Copy moving ``message_bytes`` per sending tile in ``pattern`` (see PATTERNS)."""
    tiles, k = spec.total_tiles, max(1, int(message_bytes) // 4)
    g = Graph(spec)
    if pattern == "ring":
        src, dst = g.add_variable((tiles, k), name="send"), g.add_variable((tiles, k), name="recv")
        g.map_linearly(src)
        g.map_linearly(dst)
        return g, Copy(src, concat([dst[1:], dst[:1]]))
    if pattern == "broadcast":
        src, dst = g.add_variable((1, k), name="send"), g.add_variable((tiles - 1, k), name="recv")
        g.set_tile_mapping(src, 0)
        g.map_linearly(dst, tiles=range(1, tiles))
        return g, Copy(concat([src] * (tiles - 1)), dst)
    if pattern == "gather":
        src, dst = g.add_variable((tiles - 1, k), name="send"), g.add_variable((tiles - 1, k), name="recv")
        g.map_linearly(src, tiles=range(1, tiles))
        g.set_tile_mapping(dst, 0)
        return g, Copy(src, dst)
    if pattern == "all-to-all":
        piece = max(1, k // tiles)
        src, dst = (g.add_variable((tiles, tiles, piece), name=n) for n in ("send", "recv"))
        g.map_linearly(src)
        g.map_linearly(dst)
        return g, Copy(src.transpose(1, 0, 2), dst)
    raise ValueError(f"unknown pattern {pattern!r}; use one of {', '.join(PATTERNS)}")


def exchange_experiment(message_bytes: int = 1024, tiles: int = 16, pattern: str = "ring"):
    """Run one exchange and draw who sends what to whom, with its cycles."""
    g, prog = exchange_graph(GC2.replace(tiles=int(tiles)), message_bytes, pattern)
    eng = Engine(g, prog)
    p = eng.run()
    sent = p.tile_bytes("sent")
    return viz.plot_exchange(eng, step=0, title=(
        f"{PATTERNS[pattern]} on {tiles} tiles, {fmt_bytes(sent.max())} sent by the busiest sender\n"
        f"exchange {p.exchange_cycles:,} cycles (a tile sends and receives 4 B per cycle) + sync "
        f"{p.sync_cycles:,}; busiest receiver gets {fmt_bytes(p.tile_bytes('received').max())}"))


def exchange_explorer(message_bytes: int = 1024, tiles: int = 16, pattern: str = "ring"):
    """Sliders: message size, tiles and pattern -> exchange matrix, arrows and cycles."""
    return interactive_figure(
        exchange_experiment,
        message_bytes=_slider([16, 64, 256, 1024, 4096, 16384], message_bytes, "message size (bytes per tile)",
                              fmt_bytes),
        tiles=_slider([4, 8, 16, 32, 64], tiles, "tiles used"),
        pattern=_dropdown([(v, k) for k, v in PATTERNS.items()], pattern, "pattern"))


# --- roofline: where a real run lands -----------------------------------------------------
WORKLOADS = ("vector add", "dot product", "matrix multiply")


def _split(lo: int, hi: int, parts: int) -> list:
    cuts = np.linspace(lo, hi, min(parts, hi - lo) + 1).astype(int)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


def workload_graph(spec, workload: str, n: int):
    """``(graph, program, FLOPs, bytes)`` of a float32 workload of size ``n`` on every tile.

    Vectors hold ``n * n`` elements; the matrix multiply is ``n x n`` by ``n x n``.
    Bytes are the algorithm's unavoidable traffic: each input read once, each
    output written once (the roofline's arithmetic intensity is FLOPs / bytes).
    """
    tiles, workers = spec.total_tiles, spec.workers_per_tile
    g = Graph(spec)
    if workload in ("vector add", "dot product"):
        size = n * n
        a, b = g.add_variable(size, name="a"), g.add_variable(size, name="b")
        g.map_linearly(a)
        g.map_linearly(b)
        cs = g.add_compute_set(workload)
        if workload == "vector add":
            out = g.add_variable(size, name="out")
            g.map_linearly(out)
            for tile, intervals in enumerate(g.tile_mapping(a)):
                for lo, hi in (p for iv in intervals for p in _split(*iv, workers)):
                    g.add_vertex(cs, C.add, tile=tile, a=a[lo:hi], b=b[lo:hi], out=out[lo:hi])
            return g, Execute(cs), size, 12 * size
        partial = g.add_variable((tiles, workers), name="partial")
        g.map_linearly(partial)
        for tile, intervals in enumerate(g.tile_mapping(a)):
            for w, (lo, hi) in enumerate(p for iv in intervals for p in _split(*iv, workers)):
                g.add_vertex(cs, C.dot, tile=tile, a=a[lo:hi], b=b[lo:hi], out=partial[tile, w:w + 1])
        total = g.add_variable(1, name="total")
        g.set_tile_mapping(total, 0)
        reduce = g.add_compute_set("sum partials")
        g.add_vertex(reduce, C.reduce_sum, tile=0, a=partial.flatten(), out=total)
        return g, Sequence(Execute(cs), Execute(reduce)), 2 * size, 8 * size + 4
    if workload == "matrix multiply":
        a, b, c = (g.add_variable((n, n), name=k) for k in ("A", "B", "C"))
        for t in (a, b, c):
            g.map_linearly(t, grain_size=n)            # whole rows per tile
        copies = g.add_variable((tiles, n, n), name="B on every tile")
        g.map_linearly(copies)
        cs = g.add_compute_set(workload)
        for tile, intervals in enumerate(g.tile_mapping(a)):
            for lo, hi in (p for s, e in intervals for p in _split(s // n, e // n, workers)):
                g.add_vertex(cs, C.matmul_partial, tile=tile, a=a[lo:hi], b=copies[tile], out=c[lo:hi])
        broadcast = Copy(concat([b.reshape(1, n, n)] * tiles), copies)
        return g, Sequence(broadcast, Execute(cs)), 2 * n ** 3, 12 * n * n
    raise ValueError(f"unknown workload {workload!r}; use one of {', '.join(WORKLOADS)}")


def roofline_experiment(n: int = 64, workload: str = "matrix multiply", compare: str = "V100", tiles: int = 16):
    """Run a workload on a teaching-size GC2 and place its achieved FLOP/s on the rooflines."""
    spec = GC2.replace(tiles=int(tiles))
    g, prog, flops, nbytes = workload_graph(spec, workload, n)
    p = Engine(g, prog).run()
    achieved = flops / p.seconds
    shares = " : ".join(f"{k} {100 * v / p.total_cycles:.0f}%" for k, v in p.cycles_by_phase().items() if v)
    return viz.plot_roofline(
        devices=(compare, "GC2", spec), exchange=True,
        workloads=[(f"{workload} n={n}", flops / nbytes, achieved)],
        title=(f"{workload} (n={n}) on {tiles} emulated GC2 tiles: {flops:,} FLOP in {p.total_cycles:,} cycles = "
               f"{fmt_rate(achieved)} of {fmt_rate(spec.peak_flops())} peak\ncycles {shares}"))


def roofline_explorer(n: int = 64, workload: str = "matrix multiply", compare: str = "V100"):
    """Controls: workload, size and the chip to compare with -> roofline with the run placed on it."""
    for w in WORKLOADS:                  # compile every workload's codelets now, not on a later change
        graph, program, _, _ = workload_graph(GC2.replace(tiles=2), w, 8)
        Engine(graph, program).run()
    others = [k for k in viz.HARDWARE if k != "GC2"]
    return interactive_figure(
        roofline_experiment,
        n=_slider([8, 16, 32, 64, 128], n, "size n (n x n matrices; vectors of n x n)"),
        workload=_dropdown(list(WORKLOADS), workload, "workload"),
        compare=_dropdown([(viz.HARDWARE[k]["label"], k) for k in others], compare, "compare with"),
        tiles=W.fixed(16))
