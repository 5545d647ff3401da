"""Every notebook has a readable twin, ``notebooks/NN_name.py`` in jupytext's percent format, in sync.

The course is edited and reviewed as Python; the .ipynb (without outputs) is
what learners open.  After editing the .py, regenerate the notebook with
``jupytext --to ipynb --update notebooks/NN_name.py`` (or edit the notebook in
JupyterLab, where jupytext keeps both files in step).
"""
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cells(notebook) -> list:
    return [(c.cell_type, c.source.strip()) for c in notebook.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_text_twin_agree(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), (f"{path.name} has no text twin: run `jupytext --set-formats ipynb,py:percent "
                           f"{path}` and commit {twin.name}")
    ipynb, py = jupytext.read(path), jupytext.read(twin)
    for i, (a, b) in enumerate(zip(cells(ipynb), cells(py))):
        assert a == b, (f"{path.name} and {twin.name} differ at cell {i}: regenerate one from the other "
                        f"(jupytext --sync {path})")
    assert len(ipynb.cells) == len(py.cells), f"{path.name} and {twin.name} have different cell counts"
    assert ipynb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", \
        f"{path.name} is not paired: jupytext --set-formats ipynb,py:percent {path}"
