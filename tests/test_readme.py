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
