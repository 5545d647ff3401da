"""The whole course through the grading command, as an instructor runs it: the solutions score
full marks and the untouched exercises score zero, every row "not started", nothing crashing.

The untouched exercises are the stubs as committed, not the working ``exercises/``: a learner who
has started the exercises still gets a green suite (``kit.py grade`` grades their work)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pristine_exercises
from ipukit.exercise import load_table

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("target, status", [("solutions", "passed"), ("exercises", "not started")])
def test_grading_the_whole_course(tmp_path, target, status):
    report = tmp_path / "report.json"
    folder = target if target == "solutions" else str(pristine_exercises(tmp_path))
    r = subprocess.run([sys.executable, "-m", "ipukit.grade", "--target", folder, "--jobs", "2", "--json",
                        str(report)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    data = json.loads(report.read_text())
    table = load_table()
    assert [e["id"] for e in data["exercises"]] == list(table), "one row per exercise of the table, in order"
    wrong = [(e["id"], e["status"], e["message"]) for e in data["exercises"] if e["status"] != status]
    assert not wrong, wrong
    assert data["max_score"] == sum(ex.points for ex in table.values())
    assert data["score"] == (data["max_score"] if target == "solutions" else 0)
    assert r.returncode == (0 if target == "solutions" else 1), r.stdout[-2000:]


def test_every_notebook_from_01_has_at_least_two_exercises():
    per_notebook = {}
    for ex in load_table().values():
        per_notebook.setdefault(ex.notebook, []).append(ex.id)
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for nb in notebooks[1:]:
        assert len(per_notebook.get(nb, [])) >= 2, f"{nb} has exercises {per_notebook.get(nb)}"
    assert set(per_notebook) <= set(notebooks), "every exercise names an existing notebook"
