#!/usr/bin/env python3
"""Set up and run the ipukit course with nothing but Python 3.11+.

    python3 kit.py lab     # set up .venv, then open JupyterLab on the course
    python3 kit.py test    # set up .venv, then run the whole test suite (extra args go to pytest)
    python3 kit.py grade   # set up .venv, then grade your exercises (extra args go to ipukit.grade)

Set-up is idempotent: it creates ``.venv`` once and reinstalls only when
requirements.txt or pyproject.toml change.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
FIRST_NOTEBOOK = "notebooks/00_why_ipu.ipynb"


def say(message: str) -> None:
    print(f"[ipukit] {message}", flush=True)


def venv_bin() -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin")


def venv_python() -> Path:
    return venv_bin() / ("python.exe" if os.name == "nt" else "python")


def run(cmd, **kwargs) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


@contextlib.contextmanager
def setup_lock():
    """One set-up at a time: `kit.py lab` and `kit.py test` started together must not both pip-install."""
    if os.name == "nt":
        yield
        return
    import fcntl
    ROOT.joinpath(".cache").mkdir(exist_ok=True)
    with open(ROOT / ".cache" / "setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def setup() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"ipukit needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    with setup_lock():
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


def environment(course: Path = ROOT, python: Path | None = None) -> dict:
    """The kit's environment: its Python first on PATH, its compile cache, its course folder.

    Everything started from here (JupyterLab, its kernels and terminals, pytest,
    the grader) inherits it, so `python` means the course's Python everywhere.
    """
    scripts = Path(python or venv_python()).parent       # .venv/bin, not resolved: a venv's python is a link
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))   # writable, kept between runs
    env["VIRTUAL_ENV"] = str(scripts.parent)
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])
    env.pop("PYTHONHOME", None)
    env["IPUKIT_COURSE_DIR"] = str(course)       # where `python -m ipukit.grade` finds exercises/
    return env


def terminal_shell(env: dict) -> list[str]:
    """The shell of JupyterLab's terminals: interactive, with .venv first on PATH.

    Left alone, JupyterLab starts a *login* shell, and a login shell's profile
    resets PATH: `python` would then be the system's, without numba.  So the
    terminal reads the user's ~/.bashrc and then puts .venv back in front.
    """
    rc = ROOT / ".cache" / "ipukit-terminal.rc"
    rc.parent.mkdir(exist_ok=True)
    scripts = env["PATH"].split(os.pathsep)[0]
    rc.write_text(
        "# JupyterLab terminals of the ipukit course: the course's Python comes first.\n"
        '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
        f"export VIRTUAL_ENV={shlex.quote(env['VIRTUAL_ENV'])}\n"
        f"export PATH={shlex.quote(scripts)}:\"$PATH\"\n"
        'PS1="(ipukit) ${PS1:-\\$ }"\n')
    if shutil.which("bash"):
        return ["bash", "--rcfile", str(rc), "-i"]
    env["ENV"] = str(rc)                          # what a POSIX sh reads when interactive
    return ["sh", "-i"]


def lab_command(python: Path, env: dict, root: Path = ROOT, first: str = FIRST_NOTEBOOK) -> list[str]:
    """`jupyter lab` serving ``root`` (README, notebooks, exercises) and opening ``first``."""
    cmd = [str(python), "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}"]
    if (root / first).exists():
        cmd.append(f"--LabApp.default_url=/lab/tree/{first}")
    if os.name != "nt":
        cmd.append("--ServerApp.terminado_settings=" + json.dumps({"shell_command": terminal_shell(env)}))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")                # e.g. in a container
    return cmd


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


def ensure_proxy() -> None:
    """The hub test runs JupyterHub's configurable-http-proxy (npm); install it into .cache/npm."""
    if (ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        return
    if not (shutil.which("node") and shutil.which("npm")):
        say("node and npm are missing: the JupyterHub test cannot run here (apt-get install nodejs npm)")
        return
    say("installing configurable-http-proxy for the JupyterHub test (npm)")
    subprocess.run(["npm", "install", "--prefix", str(ROOT / ".cache" / "npm"), "--no-audit", "--no-fund",
                    "--loglevel=error", "configurable-http-proxy@5"], stdout=subprocess.DEVNULL)


def replace_process(cmd: list[str], env: dict, cwd: Path | None = None) -> int:
    """Become ``cmd`` (POSIX): stopping kit.py by its process id then stops what it started."""
    if cwd is not None:
        os.chdir(cwd)
    if os.name == "nt":
        return subprocess.call(cmd, env=env)
    os.execve(cmd[0], cmd, env)


def lab(args) -> int:
    python = setup()
    env = environment()
    say(f"starting JupyterLab on the course folder, opening {FIRST_NOTEBOOK} (stop it with Ctrl+C)")
    return replace_process([*lab_command(python, env), *args], env, cwd=ROOT)


def grade(args) -> int:
    python = setup()
    return replace_process([str(python), "-m", "ipukit.grade", *args], environment())


def test(args) -> int:
    python = setup()
    ensure_chromium()
    ensure_proxy()
    say("running the test suite")
    return replace_process([str(python), "-m", "pytest", *args], environment(), cwd=ROOT)


def main() -> int:
    commands = {"lab": lab, "test": test, "grade": grade}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
