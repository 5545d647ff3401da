"""The README's first program runs and prints exactly what the README shows."""
import contextlib
import io
import re
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_first_program_prints_what_the_readme_shows():
    section = README.split("## A first program", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    printed = out.getvalue()
    # the one-line "compiling" notice may precede the output on a cold cache
    printed = "\n".join(line for line in printed.splitlines() if not line.startswith("ipukit: compiling")) + "\n"
    assert printed == shown


def test_two_commands_come_first():
    first = README.split("\n## ", 1)[0]
    commands = re.findall(r"^python3 kit\.py (\w+)", first, re.M)
    assert commands == ["lab", "test"]
    assert (Path(__file__).parents[1] / ".ci" / "run").read_text().strip().endswith("python3 kit.py test")


def test_the_course_table_counts_the_exercises_of_the_table():
    from ipukit.exercise import load_table
    table = load_table()
    rows = dict((nb, (int(c), int(p))) for nb, c, p in
                re.findall(r"^\| `(\d\d_\w+)` \| (\d+) \((\d+) pts\) \|", README, re.M))
    per = {}
    for ex in table.values():
        c, p = per.get(ex.notebook, (0, 0))
        per[ex.notebook] = (c + 1, p + ex.points)
    notebooks = sorted(p.stem for p in (Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(rows) == notebooks, "one row per notebook in the README's course table"
    assert rows == {nb: per.get(nb, (0, 0)) for nb in notebooks}
    total = re.search(r"(\d+) exercises,\s+(\d+) points in all", README)
    assert total and (int(total[1]), int(total[2])) == (len(table), sum(e.points for e in table.values()))
