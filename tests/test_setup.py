"""The set-up recipes agree with each other: local (kit.py), Binder, CI."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import load_kit

ROOT = Path(__file__).parents[1]


def test_binder_requirements_are_the_same_as_the_root_ones():
    # repo2docker ignores the root file when binder/ exists, so binder/ keeps a copy
    assert (ROOT / "binder" / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()


def test_binder_pins_python_and_installs_the_kit():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post and "python -m ipukit.warmup" in post
    assert "NUMBA_CACHE_DIR" in post and "NUMBA_CACHE_DIR" in (ROOT / "binder" / "start").read_text()
    for script in ("postBuild", "start"):
        assert (ROOT / "binder" / script).stat().st_mode & 0o111, f"binder/{script} must be executable"


def test_ci_runs_the_readme_test_command():
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec python3 kit.py test"


def test_lab_command_sets_up_once_and_starts_jupyterlab_twice():
    """`kit.py lab` is idempotent: a second run finds the environment ready and starts JupyterLab."""
    for _ in range(2):
        r = subprocess.run([sys.executable, str(ROOT / "kit.py"), "lab", "--version"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, r.stdout + r.stderr
    assert "[ipukit] environment is up to date" in r.stdout
    assert "[ipukit] starting JupyterLab on the course folder, opening notebooks/00_why_ipu.ipynb" in r.stdout
    assert r.stdout.strip().splitlines()[-1][0].isdigit()          # JupyterLab's version number


def _kit(*args, **kwargs):
    return subprocess.Popen([sys.executable, str(ROOT / "kit.py"), *args], **kwargs)


def test_lab_serves_the_whole_course_and_stops_with_its_process(tmp_path):
    """README, notebooks and exercises are reachable; killing kit.py's process stops the server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "lab.log", "w")
    proc = _kit("lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--ServerApp.token=t",
                "--ServerApp.port_retries=0", cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")})
    url = f"http://127.0.0.1:{port}/api/contents?token=t"
    try:
        deadline = time.time() + 120
        while True:
            try:
                listing = json.load(urllib.request.urlopen(url, timeout=2))
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "lab.log").read_text()
                time.sleep(0.5)
        names = {item["name"] for item in listing["content"]}
        assert {"README.md", "notebooks", "exercises"} <= names, names
        proc.send_signal(signal.SIGTERM)                   # "kill <pid of kit.py>"
        proc.wait(timeout=30)
        time.sleep(1)
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def test_grade_command_works_from_any_folder(tmp_path):
    proc = _kit("grade", "--target", "solutions", "ex01_2", cwd=tmp_path, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "ex01_2" in out and "passed" in out and "2/2" in out.splitlines()[-1], out


def test_plain_python_and_kit_share_one_compile_cache(tmp_path, monkeypatch):
    """Without NUMBA_CACHE_DIR, `import ipukit` points numba at the folder kit.py uses."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert load_kit().environment()["NUMBA_CACHE_DIR"] == str(ROOT / ".cache" / "numba")
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", "import ipukit, numba; print(numba.config.CACHE_DIR)"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()) == ROOT / ".cache" / "numba"
