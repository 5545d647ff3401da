"""The learner's loop in a real JupyterLab: open an exercise, answer wrongly, check, answer rightly,
check again, then grade from a JupyterLab terminal, exactly as the README tells a learner to."""
import ast
import re

from driver import executed

EXERCISE_FILE = "exercises/ex01_tiles.py"
NOTEBOOK = "notebooks/01_tiles_and_sram.ipynb"
FUNCTION = "map_under_cap"                       # exercise ex01_2
CHECK = 'ipukit.check("ex01_2")'
WRONG_BODY = "    graph.map_linearly(tensor)          # every tile: under the cap, but not the fewest\n" \
             "    return graph.num_tiles\n"


def function_span(source: str, name: str) -> tuple[int, int]:
    """Lines [start, end) of top-level function ``name``."""
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return node.lineno - 1, node.end_lineno


def with_function(stub: str, solution: str, name: str) -> str:
    """``stub`` with function ``name`` replaced by the solution's."""
    lines, solved = stub.splitlines(keepends=True), solution.splitlines(keepends=True)
    (a, b), (c, d) = function_span(stub, name), function_span(solution, name)
    return "".join(lines[:a] + solved[c:d] + lines[b:])


def with_wrong_answer(stub: str, name: str) -> str:
    """``stub`` with the ``raise NotImplementedError`` of function ``name`` replaced by a wrong body."""
    lines = stub.splitlines(keepends=True)
    _, b = function_span(stub, name)
    assert "raise NotImplementedError" in lines[b - 1], "the stub ends with its NotImplementedError"
    return "".join(lines[:b - 1] + [WRONG_BODY] + lines[b:])


def test_edit_check_fix_check_grade(lab, jupyterlab):
    root = jupyterlab["root"]
    stub = (root / EXERCISE_FILE).read_text()
    wrong = with_wrong_answer(stub, FUNCTION)
    right = with_function(stub, (root / "solutions" / "ex01_tiles.py").read_text(), FUNCTION)
    page = lab.page

    with lab.step("see README, notebooks and exercises in the file browser"):
        lab.open()
        for name in ("README.md", "notebooks", "exercises"):
            lab.wait(lambda name=name: file_item(page, name).count(), 30, f"'{name}' in the file browser")

    with lab.step(f"open {EXERCISE_FILE} from the file browser"):
        file_item(page, "exercises").dblclick()
        file_item(page, "ex01_tiles.py").dblclick()
        editor = page.locator(".jp-FileEditor:visible .cm-content")
        lab.wait(lambda: editor.count() and "def map_under_cap" in editor.inner_text(), 30,
                 "the exercise to show in the editor")

    with lab.step("write a wrong answer and save"):
        write_file(lab, editor, wrong, EXERCISE_FILE)

    with lab.step(f"open {NOTEBOOK} and run its first cell"):
        page.locator(".jp-BreadCrumbs-home").click()
        file_item(page, "notebooks").dblclick()
        file_item(page, NOTEBOOK.split("/")[1]).dblclick()
        cells = lab.notebook_panel().locator(".jp-CodeCell")
        lab.wait(lambda: cells.count() > 20, 60, "the notebook's cells to render")
        lab.wait_for_kernel(NOTEBOOK)
        first = run_cell(lab, cells.first)
        lab.wait(lambda: executed(prompt(first)), 60, "the import cell to run")

    check = lab.notebook_panel().locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text=CHECK))
    with lab.step("check the wrong answer: a failure panel with its hint"):
        text = run_check(lab, check)
        assert "✗" in text and "failed" in text, text
        assert "Hint 1/3: the idea" in text, text          # the first of three levels

    with lab.step("write the right answer and save"):
        lab.activate_tab("ex01_tiles.py")
        write_file(lab, editor, right, EXERCISE_FILE)

    with lab.step("check the right answer: a pass panel"):
        lab.activate_tab(NOTEBOOK.split("/")[1])
        text = run_check(lab, check)
        assert "✓" in text and "passed" in text, text
        assert "Hint 1/3" not in text, text

    with lab.step("grade from a JupyterLab terminal"):
        lab.menu("File", "New", "Terminal")
        terminal = page.locator(".jp-Terminal:visible")
        lab.wait(lambda: "$" in terminal_text(terminal) or "#" in terminal_text(terminal), 30, "a shell prompt")
        terminal.click()
        page.keyboard.type("python -m ipukit.grade ex01_2 && python -m ipukit.grade --target solutions ex01\n")
        totals = lab.wait(lambda: len(re.findall(r"total\s+(\d+)/(\d+)", terminal_text(terminal))) >= 2 and
                          re.findall(r"total\s+(\d+)/(\d+)", terminal_text(terminal)), 120,
                          "both grading totals in the terminal")
        (mine, mine_max), (solved, solved_max) = [(int(a), int(b)) for a, b in totals[:2]]
        assert mine == mine_max > 0, f"the learner's exercise ex01_2 should score full marks: {totals}"
        assert solved == solved_max > mine, f"the solutions of notebook 01 should score full marks: {totals}"
        assert "No module named" not in terminal_text(terminal), "the terminal ran a Python without the kit"


def file_item(page, name: str):
    return page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")))


def write_file(lab, editor, text: str, path: str):
    """Replace the editor's text as a learner would (select all, type), save, and confirm on disk."""
    editor.click()
    lab.page.keyboard.press("Control+a")
    lab.page.keyboard.insert_text(text)
    lab.save()
    lab.wait(lambda: lab.file_text(path) == text, 30, f"{path} to be saved with the new text")


def prompt(cell) -> str:
    return cell.locator(".jp-InputPrompt").inner_text().strip()


def run_cell(lab, cell):
    cell.locator(".jp-InputArea-editor").click()
    lab.page.keyboard.press("Shift+Enter")
    return cell


def run_check(lab, cell) -> str:
    """Run the check cell and return its panel's text once the cell has run again."""
    before = prompt(cell)
    run_cell(lab, cell)
    lab.wait(lambda: executed(prompt(cell)) and prompt(cell) != before, 120, f"{CHECK} to run")
    return cell.locator(".jp-OutputArea").inner_text()


def terminal_text(terminal) -> str:
    return terminal.locator(".xterm-accessibility-tree, .xterm-rows").first.inner_text()
