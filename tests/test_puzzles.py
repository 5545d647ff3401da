"""ipukit.puzzles (notebook 11): a right answer over budget fails the check, naming the cost and by how
much; the stored target pictures are what the solutions draw; a picture is drawn with or without a run."""
import json
from pathlib import Path

import numpy as np
import pytest

import ipukit
from ipukit import puzzles
from ipukit.exercise import load

ROOT = Path(__file__).parents[1]
needs_solutions = pytest.mark.skipif(not (ROOT / "solutions").is_dir(),
                                     reason="this copy of the course has no solutions/ folder")

# Puzzle 2 (zip) answered right, but with one add vertex a tile: five of its six workers idle.
ONE_WORKER_ZIP = '''

def zip_add(g, a, b, out):
    cs = g.add_compute_set("zip on one worker")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            g.add_vertex(cs, codelets.add, tile=tile, a=a[lo:hi], b=b[lo:hi], out=out[lo:hi])
    return Execute(cs)
'''


@needs_solutions
def test_a_right_answer_over_budget_fails_the_check_saying_which_cost_and_by_how_much(tmp_path):
    source = (ROOT / "solutions" / "ex11_puzzles.py").read_text()
    (tmp_path / "ex11_puzzles.py").write_text(source + ONE_WORKER_ZIP)

    mine = load("ex11_puzzles", tmp_path)
    case = puzzles.make_case(2)
    result = puzzles.run(case, mine.zip_add)
    assert np.array_equal(result.outputs["out"], case.values["a"] + case.values["b"]), "the answer itself is right"
    limit = next(lim for lim in puzzles.budget(case) if lim.name == "cycles")
    over = result.costs["cycles"] - limit.value
    assert over > 0

    checked = ipukit.check("ex11_2", target=tmp_path, show=False, strict=False)
    assert checked.status == "failed" and checked.points == 0
    assert f"cycles is {result.costs['cycles']:,}, over the budget of {limit.value:,} by {over:,}" in checked.message
    assert "right answer, but over budget" in checked.message
    assert any(c.name == "cycles" and not c.ok for c in checked.costs)


@needs_solutions
def test_the_stored_target_pictures_are_what_the_solutions_draw(tmp_path):
    solutions = load("ex11_puzzles", ROOT / "solutions")
    fresh = puzzles.record_targets(solutions, tmp_path / "targets.json")
    stored = puzzles.load_targets()
    assert sorted(stored) == sorted(fresh) == [str(n) for n in sorted(puzzles.PUZZLES, key=str)]
    for number, trace in fresh.items():
        assert stored[number] == json.loads(json.dumps(trace)), (
            f"puzzle {number}: the stored target picture is stale; rewrite it with "
            "puzzles.record_targets(<the solutions module>)")


def test_every_target_fits_its_budget():
    stored = puzzles.load_targets()
    for number in puzzles.PUZZLES:
        limits = puzzles.budget(puzzles.make_case(number))
        assert not puzzles.over_budget(stored[str(number)]["costs"], limits), number


@pytest.mark.parametrize("yours", ["trace", "message"])
def test_a_puzzle_is_drawn_next_to_its_target(yours):
    from ipukit.viz.puzzles import plot_puzzle
    target = puzzles.load_targets()["8"]
    fig = plot_puzzle(target, target if yours == "trace" else "not written yet", "Puzzle 8")
    assert len(fig.axes) == 2
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "tile 3" in texts and any("superstep 2" in t for t in texts)
    assert any(t.endswith(" B") for t in texts), "the exchange arrows carry their bytes"
