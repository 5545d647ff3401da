"""What a run cost: cycles per phase, per step and per tile; bytes moved.

Step costs are static (they depend on the graph, not on the data), so the
engine only counts how often each step ran; ``Repeat(10**6, ...)`` keeps the
profile small.  Field names follow PopVision: compute, exchange, sync, host; ``remote`` is
the copies between tiles and Streaming Memory (remote buffers).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

PHASES = ("compute", "exchange", "sync", "host", "remote")


@dataclass
class StepRecord:
    """One program step and how many times the run executed it."""
    index: int
    kind: str           # "execute", "copy", "host", "remote" or "control"
    name: str
    count: int
    phases: list        # cost.Phase, in order, for one execution
    vertices: int = 0

    def cycles(self, kind: str | None = None) -> int:
        """Cycles of one execution (of one phase kind, or all)."""
        return sum(p.cycles for p in self.phases if kind is None or p.kind == kind)

    def tile_cycles(self, kind: str, num_tiles: int) -> np.ndarray:
        out = np.zeros(num_tiles, np.int64)
        for p in self.phases:
            if p.kind == kind and p.tile_cycles is not None:
                out += p.tile_cycles
        return out

    def tile_bytes(self, direction: str, num_tiles: int, kinds=("exchange",)) -> np.ndarray:
        out = np.zeros(num_tiles, np.int64)
        for p in self.phases:
            if p.kind in kinds:
                arr = p.bytes_sent if direction == "sent" else p.bytes_received
                out += arr
        return out

    @property
    def balance(self) -> float:
        """Mean / max compute cycles over the tiles that compute (1.0 = perfectly even)."""
        for p in self.phases:
            if p.kind == "compute" and p.tile_cycles is not None and p.cycles:
                busy = p.tile_cycles[p.tile_cycles > 0]
                return float(busy.mean() / p.cycles)
        return 1.0


class Profile:
    """The profile of one ``engine.run()`` (``engine.profile``)."""

    def __init__(self, spec, steps, counts, trace, memory, trace_complete=True):
        self.spec = spec
        self.num_tiles = spec.total_tiles
        self.steps = [StepRecord(i, s.kind, s.name, int(c), s.phases,
                                 len(s.compute.vertex_tiles) if s.compute is not None else 0)
                      for i, (s, c) in enumerate(zip(steps, counts))]
        self.trace = list(trace)            # executed step indices, in order (capped)
        self.trace_complete = trace_complete
        self.memory = memory

    # --- totals ----------------------------------------------------------------
    def _total(self, kind=None) -> int:
        return sum(r.count * r.cycles(kind) for r in self.steps)

    @property
    def compute_cycles(self) -> int:
        return self._total("compute")

    @property
    def exchange_cycles(self) -> int:
        return self._total("exchange")

    @property
    def sync_cycles(self) -> int:
        return self._total("sync")

    @property
    def host_cycles(self) -> int:
        return self._total("host")

    @property
    def remote_cycles(self) -> int:
        """Cycles copying between tiles and Streaming Memory (remote buffers)."""
        return self._total("remote")

    @property
    def total_cycles(self) -> int:
        return self._total()

    @property
    def seconds(self) -> float:
        """Total cycles at the spec's clock."""
        return self.total_cycles / self.spec.clock_hz

    @property
    def num_supersteps(self) -> int:
        """Executed supersteps: each Execute, Copy or stream copy run counts one."""
        return sum(r.count for r in self.steps if r.kind != "control")

    @property
    def vertex_executions(self) -> int:
        return sum(r.count * r.vertices for r in self.steps)

    @property
    def exchange_bytes(self) -> int:
        """Bytes received over the on-chip exchange (and IPU-Links) in the run."""
        return sum(r.count * int(p.bytes_received.sum()) for r in self.steps for p in r.phases
                   if p.kind == "exchange")

    @property
    def link_bytes(self) -> int:
        return sum(r.count * p.link_bytes for r in self.steps for p in r.phases)

    @property
    def host_bytes(self) -> int:
        return sum(r.count * int((p.bytes_received + p.bytes_sent).sum()) for r in self.steps
                   for p in r.phases if p.kind == "host")

    @property
    def remote_bytes(self) -> int:
        """Bytes moved between tiles and Streaming Memory in the run."""
        return sum(r.count * int((p.bytes_received + p.bytes_sent).sum()) for r in self.steps
                   for p in r.phases if p.kind == "remote")

    def tile_cycles(self, kind: str) -> np.ndarray:
        """Busy cycles of each tile in phases of ``kind`` over the whole run."""
        out = np.zeros(self.num_tiles, np.int64)
        for r in self.steps:
            if r.count:
                out += r.count * r.tile_cycles(kind, self.num_tiles)
        return out

    def tile_bytes(self, direction: str = "received") -> np.ndarray:
        out = np.zeros(self.num_tiles, np.int64)
        for r in self.steps:
            if r.count:
                out += r.count * r.tile_bytes(direction, self.num_tiles)
        return out

    def cycles_by_phase(self) -> dict:
        return {k: self._total(k) for k in PHASES}

    # --- reports ------------------------------------------------------------------
    def summary(self, top: int = 12) -> str:
        """A text report in the spirit of Poplar's ``printProfileSummary``."""
        total = self.total_cycles
        ran = [r for r in self.steps if r.count]
        lines = [f"Target: {self.spec.describe()}",
                 f"Program: {_count(self.num_supersteps, 'superstep')} executed "
                 f"({_count(len(ran), 'distinct step')}), {_count(self.vertex_executions, 'vertex execution')}",
                 "", "Cycles              total     share"]
        remote = self.remote_cycles > 0
        shown = [k for k in PHASES if k != "remote" or remote]
        for k in shown:
            c = self._total(k)
            lines.append(f"  {k:<10}{c:>14,}   {100 * c / total if total else 0:5.1f} %")
        lines.append(f"  {'total':<10}{total:>14,}   = {_time(self.seconds)} at "
                     f"{self.spec.clock_hz / 1e9:.2f} GHz")
        lines += ["", f"Exchange: {self.exchange_bytes:,} B received over the exchange"
                  + (f", {self.link_bytes:,} B over IPU-Links" if self.spec.num_ipus > 1 else "")
                  + f"; host transfers {self.host_bytes:,} B"
                  + (f"; Streaming Memory {self.remote_bytes:,} B" if remote else "")]
        if self.memory is not None:
            lines += ["", self.memory.summary()]
        if ran:
            lines += ["", f"Steps by cycles (top {min(top, len(ran))} of {len(ran)})",
                      f"  {'step':<44}{'runs':>8}{'cycles/run':>12}{'compute':>10}{'exchange':>10}"
                      f"{'sync':>7}{'host':>8}" + (f"{'remote':>8}" if remote else "")
                      + f"{'balance':>9}{'share':>7}"]
            for r in sorted(ran, key=lambda r: -r.count * r.cycles())[:top]:
                share = 100 * r.count * r.cycles() / total if total else 0
                lines.append(f"  {r.name[:43]:<44}{r.count:>8,}{r.cycles():>12,}{r.cycles('compute'):>10,}"
                             f"{r.cycles('exchange'):>10,}{r.cycles('sync'):>7,}{r.cycles('host'):>8,}"
                             + (f"{r.cycles('remote'):>8,}" if remote else "")
                             + f"{r.balance:>9.2f}{share:>6.1f}%")
        return "\n".join(lines)

    def to_dict(self, tiles: bool = False) -> dict:
        """Plain data (numbers, lists, strings); ``tiles=True`` adds per-tile arrays."""
        d = {
            "target": {"name": self.spec.name, "tiles": self.num_tiles, "num_ipus": self.spec.num_ipus,
                       "clock_hz": self.spec.clock_hz, "sram_bytes_per_tile": self.spec.sram_bytes_per_tile},
            "totals": {"total_cycles": self.total_cycles, **{f"{k}_cycles": v for k, v in
                                                               self.cycles_by_phase().items()},
                       "seconds": self.seconds, "num_supersteps": self.num_supersteps,
                       "vertex_executions": self.vertex_executions, "exchange_bytes": self.exchange_bytes,
                       "link_bytes": self.link_bytes, "host_bytes": self.host_bytes,
                       "remote_bytes": self.remote_bytes},
            "steps": [{"index": r.index, "kind": r.kind, "name": r.name, "count": r.count,
                       "cycles_per_run": r.cycles(), "vertices": r.vertices, "balance": r.balance,
                       **{k: r.cycles(k) for k in PHASES}} for r in self.steps],
        }
        if self.memory is not None:
            d["memory"] = {"total_used": self.memory.total_used, "peak_bytes": self.memory.peak_bytes,
                           "max_tile": self.memory.max_tile,
                           "over_tiles": self.memory.over_tiles.tolist()}
        if tiles:
            d["tiles"] = {f"{k}_cycles": self.tile_cycles(k).tolist() for k in PHASES if k != "sync"}
            d["tiles"]["bytes_received"] = self.tile_bytes("received").tolist()
            d["tiles"]["bytes_sent"] = self.tile_bytes("sent").tolist()
            if self.memory is not None:
                d["tiles"]["memory_used"] = self.memory.used.tolist()
        return d

    def to_json(self, tiles: bool = False, **kwargs) -> str:
        return json.dumps(self.to_dict(tiles), **kwargs)

    from .trace_events import to_trace_events  # profile.to_trace_events(path): JSON for ui.perfetto.dev

    def __repr__(self):
        return (f"<Profile: {self.total_cycles:,} cycles ({_time(self.seconds)}), "
                f"{self.num_supersteps:,} supersteps>")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:,.2f} {unit}"
    return f"{seconds / 1e-9:,.1f} ns"
