"""How many threads the numba executor may use: the CPUs this process may really run on.

``os.cpu_count()`` counts every core of the host; a container on Binder or a class JupyterHub
gets a CPU quota, and a process may be pinned to fewer cores.  Too many threads on a shared
machine make every parallel launch wait for a descheduled thread.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numba

from .. import _env


def usable_cpus(affinity=None, cgroup_root="/sys/fs/cgroup") -> int:
    """How many CPUs this process may really use: the CPUs it may run on (``sched_getaffinity``),
    capped by the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)
    rounded up.  Binder and JupyterHub limit a container by quota while ``os.cpu_count()``
    shows every core of the host."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            affinity = range(os.cpu_count() or 1)
    cpus = max(1, len(affinity))
    quota = _cgroup_quota(Path(cgroup_root))
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota - 1e-9)))
    return cpus


def _cgroup_quota(root: Path):
    """CPUs' worth of the cgroup quota (a float), or None when there is none or it cannot be read."""
    def read(path):
        try:
            return path.read_text().split()
        except (OSError, UnicodeDecodeError):
            return None

    v2 = read(root / "cpu.max")
    if v2 is not None:
        if len(v2) >= 2 and v2[0] != "max":
            try:
                return int(v2[0]) / int(v2[1])
            except (ValueError, ZeroDivisionError):
                return None
        return None
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu", "."):
        q, per = read(root / sub / "cpu.cfs_quota_us"), read(root / sub / "cpu.cfs_period_us")
        if q and per:
            try:
                quota, period = int(q[0]), int(per[0])
            except ValueError:
                return None
            return quota / period if quota > 0 and period > 0 else None
    return None


def thread_count() -> int:
    """Threads for parallel drivers: ``IPUKIT_THREADS`` if set, else :func:`usable_cpus`
    (never more than numba was started with)."""
    wanted = _env.threads() or usable_cpus()
    return max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
