"""Open a course notebook in a real JupyterLab with a real browser, run it, move a slider."""
import json
import os
import time
from pathlib import Path


ROOT = Path(__file__).parents[2]
NOTEBOOK = os.environ.get("IPUKIT_BROWSER_NOTEBOOK", "notebooks/02_bsp.ipynb")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_until(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_run_all_cells_and_move_a_slider(jupyterlab, browser_executable, tmp_path):
    from playwright.sync_api import sync_playwright

    notebook = ROOT / NOTEBOOK
    assert notebook.exists(), f"{NOTEBOOK} is missing"
    before = notebook.read_bytes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{jupyterlab['url']}/lab/tree/{NOTEBOOK}?token={jupyterlab['token']}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            wait_until(lambda: page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
                       or "Idle" in page.inner_text(".jp-StatusBar-Widget"), 120, "the kernel to start")

            code_cells = sum(c["cell_type"] == "code" for c in json.loads(before)["cells"])
            wait_until(lambda: page.locator(".jp-Notebook .jp-CodeCell").count() == code_cells, 120,
                       "every cell to render")
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.click("li.lm-Menu-item:has-text('Run All Cells')")

            def all_executed():
                prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
                done = [t for t in prompts if t.strip().startswith("[") and "*" not in t and t.strip() != "[ ]:"]
                return len(done) == code_cells and all("*" not in t for t in prompts)
            wait_until(all_executed, 600, "every cell to run")

            outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
            errors = [o for o in outputs if "Traceback (most recent call last)" in o or "Error displaying widget" in o]
            assert not errors, f"error outputs in {NOTEBOOK}:\n" + "\n---\n".join(errors)

            slider = page.locator(".widget-slider .noUi-handle").first
            slider.scroll_into_view_if_needed()
            area = slider.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
            def figure():
                images = area.locator("img").all()
                return [img.get_attribute("src") for img in images]
            first = wait_until(figure, 60, "the widget's figure")
            page.screenshot(path=str(tmp_path / "before.png"), full_page=True)
            handle = slider.bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(handle["x"] + 120, handle["y"] + handle["height"] / 2, steps=8)
            page.mouse.up()
            wait_until(lambda: figure() and figure() != first, 60, "the figure to change after the slider moved")
            wait_until(lambda: "Idle" in page.inner_text(".jp-StatusBar-Widget"), 120, "the kernel to finish")
            page.screenshot(path=str(tmp_path / "after.png"), full_page=True)
            assert (tmp_path / "after.png").stat().st_size > 0
        finally:
            browser.close()
    assert notebook.read_bytes() == before, "the browser test must not write the notebook back"
