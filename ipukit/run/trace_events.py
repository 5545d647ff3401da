"""A run's profile as a Chrome / Perfetto trace: open it in ui.perfetto.dev.

``profile.to_trace_events("run.json")`` writes the Trace Event Format (the JSON
that chrome://tracing and Perfetto's UI read) in its object form::

    {"traceEvents": [...], "otherData": {...}}

Events used (every one has ``name``, ``ph``, ``pid`` and ``tid``):

- ``ph: "M"`` metadata: ``process_name`` / ``thread_name`` (``args.name``) and
  ``process_sort_index`` / ``thread_sort_index`` (``args.sort_index``);
- ``ph: "X"`` complete events: ``ts`` (start) and ``dur`` in microseconds,
  ``cat`` the phase kind, ``args`` the cycles and bytes behind them;
- ``ph: "C"`` counters: ``ts`` and ``args`` holding one number per series.

The layout follows PopVision's execution trace.  Each IPU is a process
(``pid = ipu + 1``) with these threads:

- ``steps``: one event per executed program step (an Execute, a Copy, a stream copy);
- ``phases``: the step's phases one after another (sync, exchange, compute, host),
  each as long as its slowest tile or link.  Per phase kind, their cycles add up
  to the profile's totals (``profile.cycles_by_phase()``);
- ``tile N``: what tile N does in each phase, as long as *its* work: a tile
  that finishes early waits (a gap) for the slowest one.  A sync holds every tile;
- ``tile N worker W`` (only with ``engine=``): the vertices each of the tile's
  worker threads runs in a compute phase, as ``viz.plot_worker_slots`` draws them;
- counters ``exchange bytes`` (received / sent by the IPU's tiles in an
  exchange phase) and ``host bytes`` (to / from the device in a stream copy),
  back to 0 when the phase ends.

Cycles become microseconds at the spec's clock.  Times are rounded to whole
nanoseconds from the start of the run (a GC2 cycle is 0.625 ns), so events on a
thread abut exactly; ``args.cycles`` keeps the exact count.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..compile.compute_set import worker_schedule

MAX_EVENTS = 2_000_000          # a trace larger than this is slow to open: choose tiles or steps

_COUNTERS = {"exchange": ("exchange bytes", "received", "sent"),
             "host": ("host bytes", "to_device", "from_device"),
             "remote": ("Streaming Memory bytes", "to_device", "from_device")}


def to_trace_events(profile, path=None, *, engine=None, tiles=None, first: int = 0, steps: int | None = None,
                    max_events: int = MAX_EVENTS) -> dict:
    """Write ``profile`` as Trace Event Format JSON to ``path`` (if given); return the trace as a dict.

    Args:
        path: where to write the JSON (open it at https://ui.perfetto.dev).
        engine: the Engine that made the profile; adds one thread per worker of
            each shown tile, with the vertices it runs.
        tiles: the (global) tile ids to give a thread each; default every tile.
        first, steps: the executed steps to include, as in ``viz.plot_trace``
            (default: all that the profile's trace holds).
        max_events: refuse to build a larger trace (name fewer tiles or steps).
    """
    spec = profile.spec
    num_tiles, per_ipu, workers = profile.num_tiles, spec.tiles, spec.workers_per_tile
    shown = _tiles(tiles, num_tiles)
    executed = len(profile.trace)
    if not 0 <= first <= executed:
        raise ValueError(f"to_trace_events: first={first}, but the profile's trace holds {executed} executed steps")
    if steps is not None and steps < 0:
        raise ValueError(f"to_trace_events: steps must be >= 0, got {steps}")
    last = executed if steps is None else min(executed, first + steps)
    plans = _worker_plans(engine, profile) if engine is not None else None

    stride = 10 ** len(str(workers))            # tile t: tid (t + 1) * stride; its worker w: + w + 1
    tile_tid = lambda t: (t + 1) * stride                       # noqa: E731
    pid = lambda ipu: ipu + 1                                   # noqa: E731
    events = _metadata(spec, shown, tile_tid, pid, stride, with_workers=plans is not None)

    def ns(cycles: int) -> int:                 # whole nanoseconds since the start of the run
        return round(cycles * 1e9 / spec.clock_hz)

    def complete(name, cat, start, end, p, tid, args):
        a, b = ns(start), ns(end)
        events.append({"name": name, "cat": cat, "ph": "X", "ts": a / 1000, "dur": (b - a) / 1000,
                       "pid": p, "tid": tid, "args": args})

    def counter(name, at, p, values):
        events.append({"name": name, "ph": "C", "ts": ns(at) / 1000, "pid": p, "tid": 0, "args": values})

    t = sum(profile.steps[i].cycles() for i in profile.trace[:first])     # cycles before the first shown step
    for pos in range(first, last):
        record = profile.steps[profile.trace[pos]]
        step_end = t + record.cycles()
        label = record.name
        for ipu in range(spec.num_ipus):
            if step_end > t:
                complete(label, "step", t, step_end, pid(ipu), 1,
                         {"step": record.index, "kind": record.kind, "execution": pos, "cycles": record.cycles(),
                          "vertices": record.vertices})
        for phase in record.phases:
            end = t + phase.cycles
            if phase.cycles:
                for ipu in range(spec.num_ipus):
                    args = {"step": label, "cycles": phase.cycles}
                    if phase.kind in ("exchange", "host", "remote"):
                        lo, hi = ipu * per_ipu, (ipu + 1) * per_ipu
                        args["bytes_received"] = int(phase.bytes_received[lo:hi].sum())
                        args["bytes_sent"] = int(phase.bytes_sent[lo:hi].sum())
                        if phase.link_bytes:
                            args["link_bytes"] = int(phase.link_bytes)
                    complete(phase.kind, phase.kind, t, end, pid(ipu), 2, args)
                    if phase.kind in _COUNTERS:
                        name, into, out_of = _COUNTERS[phase.kind]
                        counter(name, t, pid(ipu), {into: args["bytes_received"], out_of: args["bytes_sent"]})
                        counter(name, end, pid(ipu), {into: 0, out_of: 0})
                for tile in shown:
                    busy = phase.cycles if phase.tile_cycles is None else int(phase.tile_cycles[tile])
                    if busy <= 0:
                        continue
                    args = {"step": label, "cycles": busy}
                    if phase.bytes_received is not None:
                        args["bytes_received"] = int(phase.bytes_received[tile])
                        args["bytes_sent"] = int(phase.bytes_sent[tile])
                    complete(phase.kind, phase.kind, t, t + busy, pid(tile // per_ipu), tile_tid(tile), args)
                if phase.kind == "compute" and plans is not None and record.index in plans:
                    _worker_events(plans[record.index], spec, shown, t, tile_tid, pid, complete)
            if len(events) > max_events:
                raise ValueError(f"to_trace_events: more than {max_events:,} events by executed step {pos}; "
                                 f"name fewer tiles (tiles=[...]) or steps (first=, steps=), or raise max_events")
            t = end
        t = step_end

    trace = {"traceEvents": events, "otherData": _other_data(profile, first, last)}
    if path is not None:
        Path(path).write_text(json.dumps(trace, separators=(",", ":")))
    return trace


def _tiles(tiles, num_tiles: int) -> list:
    if tiles is None:
        return list(range(num_tiles))
    out = sorted({int(t) for t in tiles})
    bad = [t for t in out if not 0 <= t < num_tiles]
    if bad:
        raise ValueError(f"to_trace_events: tile {bad[0]} is out of range; the profile has {num_tiles} tiles "
                         f"(0 to {num_tiles - 1})")
    return out


def _metadata(spec, shown, tile_tid, pid, stride, with_workers: bool) -> list:
    def meta(kind, p, tid, **args):
        return {"name": kind, "ph": "M", "pid": p, "tid": tid, "args": args}

    events = []
    for ipu in range(spec.num_ipus):
        p = pid(ipu)
        events += [meta("process_name", p, 0, name=f"IPU {ipu} ({spec.name}, {spec.tiles} tiles)"),
                   meta("process_sort_index", p, 0, sort_index=ipu),
                   meta("thread_name", p, 1, name="steps"), meta("thread_sort_index", p, 1, sort_index=0),
                   meta("thread_name", p, 2, name="phases"), meta("thread_sort_index", p, 2, sort_index=1)]
    for tile in shown:
        p, tid = pid(tile // spec.tiles), tile_tid(tile)
        events += [meta("thread_name", p, tid, name=f"tile {tile}"),
                   meta("thread_sort_index", p, tid, sort_index=tid)]
        if with_workers:
            for w in range(spec.workers_per_tile):
                events += [meta("thread_name", p, tid + w + 1, name=f"tile {tile} worker {w}"),
                           meta("thread_sort_index", p, tid + w + 1, sort_index=tid + w + 1)]
    return events


def _worker_plans(engine, profile) -> dict:
    """Step index -> the compute plan it runs, from the engine that made ``profile``."""
    steps = getattr(engine, "steps", None)
    if steps is None or len(steps) != len(profile.steps) or any(
            s.phases is not r.phases for s, r in zip(steps, profile.steps)):
        raise ValueError("to_trace_events: engine= must be the Engine whose run made this profile")
    return {i: s.compute for i, s in enumerate(steps) if getattr(s, "compute", None) is not None}


def _worker_events(plan, spec, shown, start, tile_tid, pid, complete) -> None:
    for tile in shown:
        for worker, at, length, vertex in worker_schedule(plan, spec, tile):
            if length > 0:
                complete(vertex.codelet.name, "vertex", start + at, start + at + length, pid(tile // spec.tiles),
                         tile_tid(tile) + worker + 1,
                         {"vertex": vertex.name, "compute_set": vertex.compute_set.name,
                          "worker_cycles": length // spec.workers_per_tile, "cycles": length})


def _other_data(profile, first: int, last: int) -> dict:
    spec = profile.spec
    whole = first == 0 and last == len(profile.trace) and profile.trace_complete
    return {"generator": "ipukit", "target": spec.describe(), "clock_hz": spec.clock_hz,
            "num_ipus": spec.num_ipus, "tiles_per_ipu": spec.tiles,
            "executed_steps_shown": [first, last], "whole_run": whole,
            "note": ("every executed step is shown: per phase, the cycles of the 'phases' thread add up to "
                     "the totals" if whole else
                     "part of the run is shown (the profile's trace keeps only the first executed steps of a long "
                     "run, or first=/steps= chose fewer): the totals below are the whole run's"),
            "totals": {f"{k}_cycles": v for k, v in profile.cycles_by_phase().items()}
            | {"total_cycles": profile.total_cycles, "exchange_bytes": profile.exchange_bytes,
               "host_bytes": profile.host_bytes, "link_bytes": profile.link_bytes}}
