#!/usr/bin/env python3
"""Set up and run the ipukit course with nothing but Python 3.11+.

    python3 kit.py lab     # set up .venv, then open JupyterLab on the course
    python3 kit.py test    # set up .venv, then run the whole test suite (extra args go to pytest)

Set-up is idempotent: it creates ``.venv`` once and reinstalls only when
requirements.txt or pyproject.toml change.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
FIRST_NOTEBOOK = "notebooks/00_why_ipu.ipynb"


def say(message: str) -> None:
    print(f"[ipukit] {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd, **kwargs) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def setup() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"ipukit needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        say(f"creating a virtual environment in {VENV.relative_to(ROOT)}/")
        run([sys.executable, "-m", "venv", VENV])
    stamp = VENV / ".ipukit-installed"
    wanted = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "pyproject.toml")))
    if stamp.exists() and stamp.read_text() == wanted.hexdigest():
        say("environment is up to date")
    else:
        say("installing requirements into .venv (a few minutes the first time)")
        run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([python, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements.txt"])
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT])
        say("compiling ipukit's built-in codelets once, so the course starts fast")
        run([python, "-m", "ipukit.warmup"], env=environment())
        stamp.write_text(wanted.hexdigest())
        say("installed")
    return python


def environment() -> dict:
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))   # writable, kept between runs
    return env


def ensure_chromium() -> None:
    """The browser test drives Debian's chromium; install it with apt where it is missing."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if not shutil.which("apt-get"):
        say("chromium is missing and apt-get is not available: the browser test cannot run here")
        return
    sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
    if sudo is None:
        say("chromium is missing and installing it needs root: run `sudo apt-get install chromium`")
        return
    say("installing Debian's chromium for the browser test (apt-get)")
    quiet = {"stdout": subprocess.DEVNULL}
    subprocess.run(sudo + ["apt-get", "update", "-q"], **quiet)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, **quiet)
    if not shutil.which("chromium"):
        say("could not install chromium with apt-get")


def lab(args) -> int:
    python = setup()
    target = FIRST_NOTEBOOK if (ROOT / FIRST_NOTEBOOK).exists() else "notebooks"
    say(f"starting JupyterLab on {target} (stop it with Ctrl+C)")
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []   # e.g. in a container
    return subprocess.call([str(python), "-m", "jupyter", "lab", target, *root, *args], cwd=ROOT,
                           env=environment())


def test(args) -> int:
    python = setup()
    ensure_chromium()
    say("running the test suite")
    return subprocess.call([str(python), "-m", "pytest", *args], cwd=ROOT, env=environment())


def main() -> int:
    commands = {"lab": lab, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
