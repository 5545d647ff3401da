"""Environment switches, read in one place (imports nothing from ipukit).

IPUKIT_BACKEND    default engine backend: "numba" (default) or "reference"
IPUKIT_TARGET     where ipukit.check finds exercise code: "exercises" (default) or "solutions"
IPUKIT_COURSE_DIR the course folder the grader and ipukit.check use (default: the current folder
                  or one above it that holds tests/grading/exercises.toml, else the repository
                  ipukit is installed from); kit.py sets it
IPUKIT_CACHE_DIR  where compiled codelet drivers are cached (default: NUMBA_CACHE_DIR/ipukit
                  or ~/.cache/ipukit)
NUMBA_CACHE_DIR   numba's own cache; when unset, ipukit sets it on import to the course's
                  .cache/numba (the folder kit.py uses), else ~/.cache/ipukit/numba, so a plain
                  `python` and `kit.py` compile once between them
IPUKIT_QUIET      set to 1 to silence the one-line "compiling" notice
IPUKIT_DEBUG      set to 1 to print the exchange plans of each engine and the source of each generated
                  numba driver (to standard error)
IPUKIT_LOOP_BUDGET  loop iterations one call of a learner's codelet may run before it is stopped
                  as endless (default 1,000,000,000; read when the codelet is first run)
IPUKIT_THREADS    threads the numba backend runs a compute set on (default: the CPUs this process
                  may use, from its CPU affinity and cgroup CPU quota; 1 = never in parallel)
"""
from __future__ import annotations

import os
from pathlib import Path


def backend() -> str:
    return os.environ.get("IPUKIT_BACKEND", "numba")


def target() -> str:
    return os.environ.get("IPUKIT_TARGET", "exercises")


def course_dir() -> str:
    return os.environ.get("IPUKIT_COURSE_DIR", "")


def debug() -> bool:
    return os.environ.get("IPUKIT_DEBUG", "") not in ("", "0")


def quiet() -> bool:
    return os.environ.get("IPUKIT_QUIET", "") not in ("", "0")


def loop_budget() -> int:
    return int(os.environ.get("IPUKIT_LOOP_BUDGET", "") or 1_000_000_000)


def default_numba_cache() -> None:
    """Point numba at one shared, writable cache unless the user chose one.

    numba reads NUMBA_CACHE_DIR when it is first imported, so this runs at the
    top of ``import ipukit``.  The course repository (the folder holding kit.py
    next to the package) keeps it in ``.cache/numba``, exactly where kit.py does.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    repo = Path(__file__).resolve().parent.parent
    candidates = ([repo / ".cache" / "numba"] if (repo / "kit.py").is_file() else []) + \
                 [Path.home() / ".cache" / "ipukit" / "numba"]
    for path in candidates:
        if _writable(path):
            os.environ["NUMBA_CACHE_DIR"] = str(path)
            return


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError:
        return False
    return True


def threads() -> int | None:
    value = os.environ.get("IPUKIT_THREADS", "").strip()
    return max(1, int(value)) if value else None


def cache_dir() -> Path | None:
    """A writable directory for generated driver modules, or None."""
    if os.environ.get("IPUKIT_CACHE_DIR"):
        path = Path(os.environ["IPUKIT_CACHE_DIR"])
    elif os.environ.get("NUMBA_CACHE_DIR"):
        path = Path(os.environ["NUMBA_CACHE_DIR"]) / "ipukit"
    else:
        path = Path.home() / ".cache" / "ipukit"
    return path if _writable(path) else None
