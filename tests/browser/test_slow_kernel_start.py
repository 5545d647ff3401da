"""On a cold machine the kernel's session appears seconds after the notebook: the test must wait for it."""
import json
from pathlib import Path

import nbformat
from driver import open_browser
from lab_server import serve

NOTEBOOK = "scratch/two_cells.ipynb"


def test_run_all_waits_for_a_slow_kernel_session(course, browser_executable, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 6 * 7"),
                                               nbformat.v4.new_code_cell("print(x)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    (course / "scratch").mkdir(exist_ok=True)
    nbformat.write(notebook, course / NOTEBOOK)
    here = str(Path(__file__).parent)
    with serve(tmp_path / "server", course, ["--ServerApp.session_manager_class=slow_sessions.SlowSessionManager"],
               {"PYTHONPATH": here}) as server, open_browser(server, browser_executable, tmp_path) as lab:
        with lab.step(f"open {NOTEBOOK} while its session is still being made"):
            lab.open(NOTEBOOK)
            cells = lab.notebook_panel().locator(".jp-CodeCell")
            lab.wait(lambda: cells.count() == 2, 60, "the two cells to render")
        with lab.step("wait for the kernel"):
            lab.wait_for_kernel(NOTEBOOK)
        with lab.step("run all cells"):
            lab.run_all_cells(NOTEBOOK)
            assert "42" in cells.nth(1).locator(".jp-OutputArea").inner_text()
        assert json.loads((course / NOTEBOOK).read_text())["cells"][1]["outputs"] == [], "nothing saved"
