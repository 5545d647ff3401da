"""Open a course notebook in a real JupyterLab with a real browser, run it, move a slider."""
import json
import os

NOTEBOOK = os.environ.get("IPUKIT_BROWSER_NOTEBOOK", "notebooks/02_bsp.ipynb")


def test_run_all_cells_and_move_a_slider(lab, jupyterlab, tmp_path):
    notebook = jupyterlab["root"] / NOTEBOOK
    before = notebook.read_bytes()
    code_cells = sum(c["cell_type"] == "code" for c in json.loads(before)["cells"])
    page = lab.page
    with lab.step(f"open {NOTEBOOK}"):
        lab.open(NOTEBOOK)
        cells = lab.notebook_panel().locator(".jp-CodeCell")
        lab.wait(lambda: cells.count() == code_cells, 60, f"the {code_cells} code cells to render")
    with lab.step("wait for the kernel"):
        lab.wait_for_kernel(NOTEBOOK)
    with lab.step("run all cells"):
        lab.run_all_cells(NOTEBOOK)
    with lab.step("move the first slider and see the figure change"):
        slider = page.locator(".widget-slider .noUi-handle").first
        slider.scroll_into_view_if_needed()
        area = slider.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")

        def figure():
            return [img.get_attribute("src") for img in area.locator("img").all()]
        first = lab.wait(figure, 30, "the widget's figure")
        handle = slider.bounding_box()
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        page.mouse.move(handle["x"] + 120, handle["y"] + handle["height"] / 2, steps=8)
        page.mouse.up()
        lab.wait(lambda: figure() and figure() != first, 60, "the figure to change after the slider moved")
        lab.wait(lambda: lab.kernel_state(NOTEBOOK) == "idle", 60, "the kernel to finish")
        page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
    assert notebook.read_bytes() == before, "the browser test must not write the notebook back"
