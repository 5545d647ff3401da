"""Start JupyterLab as ``kit.py lab`` starts it, with settings that make a browser test deterministic."""
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from helpers import load_kit



def chromium_path():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(directory: Path) -> None:
    """JupyterLab settings that make a browser test deterministic."""
    settings = {
        # render every cell, not only those on screen (JupyterLab 4 virtualises notebooks)
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        # save only when the test says so
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                           "checkForUpdates": False},
        # the terminal's text as an accessibility tree the test can read (it is drawn on a canvas)
        "@jupyterlab/terminal-extension/plugin.jupyterlab-settings": {"screenReaderMode": True},
    }
    for name, value in settings.items():
        plugin, file = name.rsplit("/", 1)
        target = directory / plugin / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))


try:
    _LIBC = ctypes.CDLL(None)           # loaded here, so the forked child only makes one call
except OSError:
    _LIBC = None


def stop_with_parent():
    """In the server's process: get SIGTERM when the test process dies, even if it is killed.

    A test run stopped by a CI time limit then leaves no JupyterLab (and so no
    kernels) behind.  Linux only; elsewhere the fixture's clean-up is all there is.
    """
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(1, signal.SIGTERM)                  # PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def serve(tmp: Path, course: Path, extra_args=(), extra_env=None):
    """JupyterLab on a free loopback port with a token, as ``kit.py lab`` starts it; stopped whatever happens."""
    kit = load_kit()
    write_settings(tmp / "settings")
    port, token = free_port(), uuid.uuid4().hex
    env = kit.environment(course=course, python=Path(sys.executable))
    for leak in ("IPUKIT_TARGET", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"):
        env.pop(leak, None)                      # the learner's defaults, not the test run's
    env.update({"JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
                "JUPYTER_CONFIG_DIR": str(tmp / "config"), "IPUKIT_QUIET": "1", **(extra_env or {})})
    command = kit.lab_command(Path(sys.executable), env, root=course) + [
        "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.token={token}",
        "--ServerApp.port_retries=0", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *extra_args]
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True,
                                preexec_fn=stop_with_parent)  # noqa: PLW1509 (one prctl call)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + log_path.read_text()) from None
                time.sleep(0.5)
        yield {"url": url, "token": token, "log": log_path, "root": course}
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
