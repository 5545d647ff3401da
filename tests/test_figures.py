"""Figures that read well: every figure function returns its Figure and never also displays it.

A figure made through pyplot and returned from a notebook cell is shown twice: once
by the inline backend (every open pyplot figure, at the end of the cell) and once
as the cell's value.  The test below runs cells in a real kernel with matplotlib's
inline backend and counts the pictures each cell shows; a control cell that does
exactly that double proves the count sees it.
"""
import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

import ipukit  # noqa: E402
from ipukit import ops  # noqa: E402

PACKAGE = Path(ipukit.__file__).parent
FIGURE_MODULES = sorted(PACKAGE.glob("viz/*.py")) + [PACKAGE / "ops" / "plot.py"]


@pytest.mark.parametrize("path", FIGURE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_figure_modules_neither_show_nor_use_pyplot(path):
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"line {node.lineno}: imports {n}" for n in names if n and "pyplot" in n]
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.split(".")[-1] in ("show", "display"):
                bad.append(f"line {node.lineno}: calls {name}")
    assert not bad, f"{path.name}: a figure function must build its Figure without pyplot and return it: {bad}"


def test_the_matmul_plan_picture_stays_out_of_pyplot_and_labels_fit():
    plt.close("all")
    spec = ipukit.GC2.replace(tiles=16)
    plan = ops.plan_matmul(spec, 48, 1024, 48)                   # notebook 05: K cut over 16 tiles
    fig = ops.plot_matmul_plan(plan)
    assert not plt.get_fignums(), "plot_matmul_plan left a figure in pyplot: a notebook would show it twice"
    assert fig._repr_png_().startswith(b"\x89PNG")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes[:3]:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        assert boxes, f"{ax.get_title()}: no tile labels"
        for i, a in enumerate(boxes):
            assert not any(a.overlaps(b) for b in boxes[i + 1:]), f"{ax.get_title()}: tile labels overlap"
            assert ax.get_window_extent(renderer).contains(*a.p0) and ax.get_window_extent(renderer).contains(*a.p1)
    big = ops.plan_matmul(ipukit.GC2, 512, 1024, 4096, "float16", available_memory_proportion=0.6)
    fig = ops.plot_matmul_plan(big)                              # 38 column blocks: too small to label
    assert "too small to label" in fig.axes[1].get_title() and not fig.axes[1].texts


CELLS = {
    "plan": "ops.plot_matmul_plan(plan)",
    "trace": "viz.plot_trace(eng.profile)",
    "memory": "viz.plot_memory(eng.memory)",
    "bars": "viz.profile_bars(eng.profile)",
    "roofline": "viz.plot_memory_wall()",
    "assigned": "fig = ops.plot_matmul_plan(plan)\nfig",
    "control: pyplot figure returned": "fig = plt.figure()\nfig.add_subplot().plot([0, 1])\nfig",
}
SETUP = """\
%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import ipukit
from ipukit import codelets, ops, viz
spec = ipukit.GC2.replace(tiles=4)
plan = ops.plan_matmul(spec.replace(tiles=16), 48, 1024, 48)
g = ipukit.Graph(spec)
x = g.add_variable(64, name="x")
g.map_linearly(x)
cs = g.add_compute_set("scale")
for t in range(4):
    g.add_vertex(cs, codelets.scale, tile=t, a=x[16 * t:16 * t + 16], out=x[16 * t:16 * t + 16], factor=2.0)
eng = ipukit.Engine(g, ipukit.Execute(cs), backend="reference")
eng.run();
"""


def test_each_figure_is_shown_once_in_a_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("IPUKIT_QUIET", "1")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [nbformat.v4.new_code_cell(src) for src in CELLS.values()]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = {}
    for name, cell in zip(CELLS, nb.cells[1:], strict=True):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
        shown[name] = sum("image/png" in o.get("data", {}) for o in cell.outputs)
    assert shown.pop("control: pyplot figure returned") == 2, "the count must see a figure shown twice"
    assert shown == dict.fromkeys(shown, 1), f"pictures shown per cell (each should be 1): {shown}"
