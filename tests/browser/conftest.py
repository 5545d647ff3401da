"""A real JupyterLab server and a real Chromium, for the browser test of the course."""
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

import pytest

ROOT = Path(__file__).parents[2]


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
        # never write the executed notebook back into the repository
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                           "checkForUpdates": False},
    }
    for name, value in settings.items():
        plugin, file = name.rsplit("/", 1)
        target = directory / plugin / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))


@pytest.fixture(scope="session")
def browser_executable():
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (kit.py test installs it with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI the browser test must run")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory):
    """Start JupyterLab on a free loopback port with a token; stop it whatever happens."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    write_settings(tmp / "settings")
    port, token = free_port(), uuid.uuid4().hex
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "IPUKIT_TARGET": "solutions",
           "IPUKIT_QUIET": "1", "JUPYTER_CONFIG_DIR": str(tmp / "config")}
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={ROOT}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (tmp / "server.log").read_text())
                time.sleep(0.5)
        yield {"url": url, "token": token, "log": tmp / "server.log"}
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
        log.close()
