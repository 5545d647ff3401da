"""Drive JupyterLab in Chromium as a learner does, with a short, named timeout on every wait.

Every action runs inside ``lab.step("...")``.  A step that fails (or waits too
long) saves a screenshot, the page's console log and the server log under the
test's temporary folder, and the error names the step, so a failure in CI
says where it stopped instead of hanging.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.request
from pathlib import Path

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ACTION_TIMEOUT_MS = 30_000          # any single click, fill or locator call


@contextlib.contextmanager
def open_browser(server: dict, executable: str, artifacts: Path):
    """Debian's Chromium, headless, with one page on ``server``: yields a :class:`Lab`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield Lab(browser.new_page(viewport={"width": 1400, "height": 1000}), server, artifacts)
        finally:
            browser.close()


class StepFailed(AssertionError):
    """A step of a browser test did not complete; the message says which and where the evidence is."""


class Lab:
    """One browser page on the JupyterLab server started by the ``jupyterlab`` fixture."""

    def __init__(self, page, server: dict, artifacts: Path):
        self.page, self.server, self.artifacts = page, server, artifacts
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        page.set_default_timeout(ACTION_TIMEOUT_MS)

    # --- steps and waits ------------------------------------------------------------
    @contextlib.contextmanager
    def step(self, name: str):
        started = time.time()
        try:
            yield
        except Exception as e:
            folder = self.save_evidence(name)
            raise StepFailed(f"browser step '{name}' failed after {time.time() - started:.0f} s: "
                             f"{type(e).__name__}: {e}\n(screenshot, console log and server log in {folder})") from e

    def save_evidence(self, name: str) -> Path:
        folder = self.artifacts / ("failed-" + "".join(c if c.isalnum() else "-" for c in name)[:60])
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(folder / "screenshot.png"), full_page=True, timeout=10_000)
        (folder / "console.log").write_text("\n".join(self.console))
        with contextlib.suppress(OSError):
            shutil.copy(self.server["log"], folder / "server.log")
        return folder

    def wait(self, predicate, timeout: float, what: str):
        """Poll ``predicate`` until it is truthy; fail at once if JupyterLab opened a dialog."""
        deadline = time.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            dialog = self.dialog_text()
            if dialog:
                raise AssertionError(f"a dialog opened while waiting for {what}: {dialog!r}")
            if time.time() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.25)

    def dialog_text(self) -> str:
        dialogs = self.page.locator(".jp-Dialog")
        return dialogs.first.inner_text(timeout=5_000).strip() if dialogs.count() else ""

    # --- the server -----------------------------------------------------------------
    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.server['url']}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.server['token']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or "null")

    def file_text(self, path: str) -> str:
        """A file as the server has it on disk (what the grader will read)."""
        return self.api(f"contents/{path}?content=1&type=file&format=text")["content"]

    def kernel_state(self, path: str) -> str:
        """The execution state the server reports for the kernel of notebook ``path``."""
        for session in self.api("sessions"):
            if session.get("path") == path and session.get("kernel"):
                return self.api(f"kernels/{session['kernel']['id']}").get("execution_state", "")
        return ""

    # --- JupyterLab -----------------------------------------------------------------
    def open(self, path: str = ""):
        """Open JupyterLab with a fresh layout, showing ``path`` if given."""
        where = f"/lab/tree/{path}" if path else "/lab"
        self.page.goto(f"{self.server['url']}{where}?reset&token={self.server['token']}")
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)

    def wait_for_kernel(self, path: str, timeout: float = 120):
        """The notebook's kernel has started, answered, and the page shows it idle."""
        self.wait(lambda: self.kernel_state(path) == "idle", timeout, f"the kernel of {path} to start")
        panel = self.notebook_panel()
        self.wait(lambda: panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
                  or "Idle" in self.page.inner_text(".jp-StatusBar-Widget"), 30,
                  f"JupyterLab to show the kernel of {path} idle")

    def notebook_panel(self):
        """The notebook on screen (JupyterLab shows one main-area tab at a time here)."""
        return self.page.locator(".jp-NotebookPanel:visible")

    def activate_tab(self, name: str):
        self.page.locator(f".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('{name}')").first.click()

    def menu(self, *items: str):
        """Click through the menu bar, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.click(f"li.lm-MenuBar-item:has-text('{items[0]}')")
        for item in items[1:]:
            self.page.locator(f"li.lm-Menu-item:visible:has-text('{item}')").first.click()

    def save(self):
        self.page.keyboard.press("Control+s")

    def run_all_cells(self, path: str, cell_timeout: float = 180):
        """Run > Run All Cells, then wait for every cell of notebook ``path`` to run.

        Fails at once on an error output, on execution that stops early (the kernel
        aborts the queue after an error), on a dialog, or on one cell running longer
        than ``cell_timeout`` seconds, naming the cell.
        """
        cells = self.notebook_panel().locator(".jp-CodeCell")
        count = cells.count()
        self.menu("Run", "Run All Cells")
        self.wait(lambda: any(p == "[*]:" or executed(p) for p in prompts(cells)), 30,
                  "the first cell to start running")
        running_since, last = time.time(), None
        while True:
            errors = error_outputs(cells)
            assert not errors, "a cell failed:\n" + "\n---\n".join(errors)
            now = prompts(cells)
            if sum(map(executed, now)) == count:
                return
            if "[*]:" not in now and self.kernel_state(path) == "idle":
                time.sleep(2)                     # the kernel may be between two cells
                if prompts(cells) == now:
                    missing = [i for i, p in enumerate(now) if not executed(p)]
                    raise AssertionError(f"execution stopped with code cells {missing} not run (prompts {now})")
            if now != last:
                running_since, last = time.time(), now
            elif time.time() - running_since > cell_timeout:
                stuck = next((i for i, p in enumerate(now) if p == "[*]:"), "?")
                raise AssertionError(f"code cell {stuck} has run for more than {cell_timeout:.0f} s")
            dialog = self.dialog_text()
            assert not dialog, f"a dialog opened while the cells ran: {dialog!r}"
            time.sleep(0.5)


def prompts(cells) -> list[str]:
    return [t.strip() for t in cells.locator(".jp-InputPrompt").all_inner_texts()]


def executed(prompt: str) -> bool:
    """``[3]:`` is executed; ``[ ]:`` is not; ``[*]:`` is running or queued."""
    return prompt.startswith("[") and prompt[1:-2].strip().isdigit()


def error_outputs(cells) -> list[str]:
    outputs = cells.locator(".jp-OutputArea-output").all_inner_texts()
    return [o for o in outputs if "Traceback (most recent call last)" in o or "Error displaying widget" in o]
