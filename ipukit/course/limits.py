"""Resource limits for grading untrusted code: memory, CPU time, processes, output.

A class's submissions are run by the grader, one exercise per process.  A
submission that allocates 30 GB, loops for ever, forks without end or prints
without end must cost that exercise only, never the grading machine.  Each
exercise's process gets (Linux, no cgroups needed):

* memory: ``RLIMIT_AS`` (address space, so ``np.ones(30e9)`` raises MemoryError
  at once), and the resident memory of all its processes summed by a watcher;
* CPU time: ``RLIMIT_CPU`` (SIGXCPU at the limit, SIGKILL one second later);
* processes: a watcher thread counts the processes of the exercise's session
  (the session the grader starts it in, plus every descendant that left it) and
  kills them all when there are too many.  ``RLIMIT_NPROC`` is set as well, but it
  counts every process of the user and root ignores it, so the watcher is what
  stops a fork loop when the grader runs as root (as in a container);
* output: ``RLIMIT_FSIZE`` on any file it writes (pytest's capture file
  included) and a cap on the captured stdout.

Known gap: a process that both starts a new session and is orphaned (a double
fork with ``setsid``) leaves the watcher's sight; run the grader as a non-root user
(``RLIMIT_NPROC`` then holds) or in a container to close it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass

GIB = 1 << 30
MIB = 1 << 20

# statuses a limit gives, beside passed / failed / not started / timeout / error
MEMORY, CPU, PROCESSES, OUTPUT = "memory limit", "CPU limit", "too many processes", "output limit"
LIMIT_STATUSES = (MEMORY, CPU, PROCESSES, OUTPUT)


@dataclass(frozen=True)
class Limits:
    """What one exercise's process may use (None: no limit)."""
    memory_bytes: int | None = 4 * GIB
    cpu_seconds: int | None = 120
    max_processes: int | None = 64
    max_output_bytes: int | None = 64 * MIB

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        parts = []
        if self.memory_bytes:
            parts.append(f"memory {_bytes(self.memory_bytes)}")
        if self.cpu_seconds:
            parts.append(f"CPU {self.cpu_seconds} s")
        if self.max_processes:
            parts.append(f"{self.max_processes} processes")
        if self.max_output_bytes:
            parts.append(f"output {_bytes(self.max_output_bytes)}")
        return ", ".join(parts) or "no limits"


DEFAULT = Limits()


_ARGS = {"memory": "memory_bytes", "cpu": "cpu_seconds", "max_processes": "max_processes",
         "max_output": "max_output_bytes"}


def any_given(args) -> bool:
    """Whether the command line named any limit (``--memory``, ``--cpu``, ...)."""
    return any(getattr(args, a, None) is not None for a in _ARGS)


def from_args(args) -> Limits:
    """The limits of a command line: those given, the defaults for the rest."""
    given = {field: getattr(args, a) for a, field in _ARGS.items() if getattr(args, a, None) is not None}
    return Limits(**{**DEFAULT.to_dict(), **given})


def _bytes(n: int) -> str:
    if n >= GIB and n % GIB == 0:
        return f"{n // GIB} GiB"
    if n >= MIB:
        return f"{n / MIB:g} MiB"
    return f"{n:,} B"


def parse_size(text: str) -> int:
    """``"1G"``, ``"512M"``, ``"64k"`` or a number of bytes."""
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": MIB, "G": GIB, "T": 1 << 40}.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in "KMGT" and t[-1:] else t
    try:
        value = float(number) * scale
    except ValueError:
        raise ValueError(f"size '{text}': give bytes or a number with K, M or G (e.g. 2G)") from None
    if value <= 0:
        raise ValueError(f"size '{text}' must be positive")
    return int(value)


# --- the launcher: set the limits, then exec the real command ---------------------------------
# Run as ``python -I -c _LAUNCHER '<limits json>' cmd...``: setting limits in a tiny process that
# then execs is safe in a threaded grader (preexec_fn is not).
_LAUNCHER = r"""
import json, os, resource, sys
lim = json.loads(sys.argv[1])
def cap(which, soft, hard=None):
    hard = soft if hard is None else hard
    old_soft, old_hard = resource.getrlimit(which)
    if old_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, old_hard), min(hard, old_hard)
    resource.setrlimit(which, (soft, hard))
if lim.get("memory_bytes"):
    cap(resource.RLIMIT_AS, lim["memory_bytes"])
if lim.get("cpu_seconds"):
    cap(resource.RLIMIT_CPU, lim["cpu_seconds"], lim["cpu_seconds"] + 1)
if lim.get("max_output_bytes"):
    cap(resource.RLIMIT_FSIZE, lim["max_output_bytes"])
if lim.get("max_processes") and os.geteuid() != 0:
    # counts every task (thread) of the user, so allow what the user runs already
    uid, tasks = os.getuid(), 0
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.stat("/proc/" + p).st_uid == uid:
                tasks += len(os.listdir("/proc/" + p + "/task"))
        except OSError:
            pass
    cap(resource.RLIMIT_NPROC, tasks + lim["max_processes"])
os.execv(sys.argv[2], sys.argv[2:])
"""


def wrap(cmd: list, limits: Limits | None) -> list:
    """``cmd`` run under ``limits`` (unchanged when there are none)."""
    if limits is None or os.name != "posix":
        return list(cmd)
    return [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(limits.to_dict()), *cmd]


def quiet_threads_env() -> dict:
    """One BLAS/OpenMP thread per process: threads count as processes for RLIMIT_NPROC and as CPU time."""
    return {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


# --- the watcher ------------------------------------------------------------------------------
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _scan() -> dict:
    """``{pid: (ppid, session, rss_bytes)}`` of every live process (zombies left out)."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                text = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()       # after "pid (comm)": state ppid pgrp session ...
        if len(fields) < 22 or fields[0] in ("Z", "X"):
            continue
        table[int(name)] = (int(fields[1]), int(fields[3]), int(fields[21]) * _PAGE)
    return table


def members(table: dict, leader: int, known: set) -> set:
    """The processes of ``leader``'s session, every descendant of one, and ``known`` ones still alive."""
    found = {pid for pid, (_, sid, _) in table.items() if sid == leader or pid == leader}
    found |= {pid for pid in known if pid in table}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in table.items():
            if pid not in found and ppid in found:
                found.add(pid)
                grew = True
    return found


def kill_all(leader: int, known: set = frozenset(), rounds: int = 100) -> None:
    """SIGKILL the session of ``leader`` and its descendants until none is left."""
    for _ in range(rounds):
        try:
            os.killpg(leader, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        left = members(_scan(), leader, set(known)) - {os.getpid()}
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)


class Watcher:
    """Counts the processes and resident memory of one exercise's session; kills them over a limit."""

    def __init__(self, leader: int, limits: Limits, interval: float = 0.1):
        self.leader = leader
        self.limits = limits
        self.interval = interval
        self.reason = None            # MEMORY or PROCESSES when the watcher stopped it
        self.detail = ""
        self.peak_processes = 0
        self._known: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ipukit-grade-watch-{leader}", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.reason is None:                       # leftovers of a run that ended: stop them too
            kill_all(self.leader, self._known, rounds=5)

    def _run(self) -> None:
        lim = self.limits
        while not self._stop.wait(self.interval):
            table = _scan()
            mine = members(table, self.leader, self._known)
            self._known = mine
            count = len(mine)
            rss = sum(table[p][2] for p in mine)
            self.peak_processes = max(self.peak_processes, count)
            if lim.max_processes and count > lim.max_processes:
                self.reason = PROCESSES
                self.detail = (f"{count} processes at once, over the limit of {lim.max_processes} "
                               "(a fork loop?); the grader stopped them all")
            elif lim.memory_bytes and rss > lim.memory_bytes:
                self.reason = MEMORY
                self.detail = (f"its processes held {_bytes(rss)} of memory together, over the limit of "
                               f"{_bytes(lim.memory_bytes)}; the grader stopped them")
            if self.reason:
                kill_all(self.leader, mine)
                return
