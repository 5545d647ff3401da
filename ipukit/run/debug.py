"""``IPUKIT_DEBUG=1``: print what the emulator generated — each step's exchange plan and each
numba driver's source — to standard error, to see what runs before asking why it is slow or wrong.

Nothing here changes a result; with the switch off (the default) it costs nothing.
"""
from __future__ import annotations

import sys

from .. import _env

MAX_RUNS = 12           # rows of a plan printed in full; the rest are counted


def plan_text(name: str, plan) -> str:
    """An exchange plan as rows of ``src tile:offset -> dst tile:offset, bytes``."""
    rows = plan.rows()
    lines = [f"{name}: {len(rows)} run(s), {plan.total_bytes:,} B"]
    lines += [f"    tile {s}:{so} -> tile {d}:{do}  {n:,} B" for s, so, d, do, n in rows[:MAX_RUNS]]
    if len(rows) > MAX_RUNS:
        lines.append(f"    ... {len(rows) - MAX_RUNS} more run(s)")
    return "\n".join(lines)


def show_plans(steps) -> None:
    """Every step's plans: Copy steps' exchange, and each compute set's gather and scatter."""
    if not _env.debug():
        return
    out = []
    for i, step in enumerate(steps):
        if step.plan is not None:
            out.append(plan_text(f"step {i}, {step.name}", step.plan))
        if step.compute is not None:
            out.append(plan_text(f"step {i}, {step.name}, gather (exchange in)", step.compute.gather))
            out.append(plan_text(f"step {i}, {step.name}, scatter (write back)", step.compute.scatter))
    print("ipukit debug: exchange plans\n" + "\n".join(out), file=sys.stderr)


def show_driver(what: str, source: str) -> None:
    """The generated source of a numba driver."""
    if _env.debug():
        print(f"ipukit debug: numba driver for {what}\n{source}", file=sys.stderr)
