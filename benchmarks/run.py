"""Speed and memory of the emulator, measured side by side in one run.

    python benchmarks/run.py            # everything (a few minutes)
    python benchmarks/run.py --quick    # smaller reference-backend runs
    python benchmarks/run.py small matmul   # only some sections

Every figure is a ratio of two things measured here, now, on this machine
(emulator vs NumPy, compiled path vs reference path), with the absolute
numbers behind it.  Sections that need a fresh interpreter (import time,
the CUDA simulator, peak memory) run in a subprocess.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("IPUKIT_QUIET", "1")

import ipukit  # noqa: E402
from common import best_of, blocked_matmul_graph, learner_add, small_vertices_graph  # noqa: E402

RESULTS = {}


def report(section, **figures):
    RESULTS[section] = figures
    print(f"\n== {section}")
    for k, v in figures.items():
        print(f"   {k:<46} {v:,.4g}" if isinstance(v, float) else f"   {k:<46} {v}")


def small_vertices(quick):
    """1216 tiles x 6 add-vertices of 64 floats, Repeat(1000): vertex executions per second."""
    spec, reps = ipukit.GC2, 1000
    g, (a, b, c), prog = small_vertices_graph(spec, repeats=reps)
    eng = ipukit.Engine(g, prog)
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal(a.size).astype(np.float32) for _ in range(2))
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    fast = best_of(eng.run)
    execs = spec.tiles * 6 * reps
    assert np.array_equal(eng.read(c), A + B)
    ref_reps = 1 if quick else 3
    g2, (a2, b2, _), prog2 = small_vertices_graph(spec, repeats=ref_reps)
    ref = ipukit.Engine(g2, prog2, backend="reference")
    ref.write(a2, A)
    ref.write(b2, B)
    ref_time = best_of(ref.run, 1)
    out = np.empty_like(A)
    numpy_time = best_of(lambda: [np.add(A, B, out) for _ in range(reps)])
    report("small vertices: GC2, 6 x add(64 floats) per tile, Repeat(1000)",
           **{"vertex executions / s (numba backend)": execs / fast,
              "vertex executions / s (reference backend)": spec.tiles * 6 * ref_reps / ref_time,
              "speed-up of numba over reference": (spec.tiles * 6 * ref_reps / ref_time) ** -1 * execs / fast,
              "wall time of the run, s": fast,
              "same adds in NumPy (one np.add per step), s": numpy_time,
              "emulator / NumPy": fast / numpy_time})


def _time_matmul(build, size=1024):
    """Build (timed), compile (timed) and run a size^3 matmul; figures beside numpy.matmul."""
    t0 = time.perf_counter()
    g, (a, b, c), prog = build()
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    eng = ipukit.Engine(g, prog)
    compiled = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    run = best_of(eng.run, 5)
    ref = best_of(lambda: np.matmul(A, B), 5)
    return {"emulator run, s": run, "numpy.matmul, s": ref, "emulator / numpy.matmul": run / ref,
            "graph build, s": built, "engine compile, s": compiled,
            "max |error| vs numpy": float(np.abs(eng.read(c) - A @ B).max()),
            "estimated IPU time, us": eng.profile.seconds * 1e6,
            "fraction of the float32 AMP peak": 2 * size ** 3 / eng.profile.seconds
            / g.spec.peak_flops("float32")}


def matmul(quick):
    """1024^3 float32 matmul over all 1216 tiles of a GC2 with the partial-matmul codelet."""
    figures = _time_matmul(lambda: blocked_matmul_graph(ipukit.GC2, 1024, 1024, 1024, (19, 16, 4)))
    report("matmul 1024 x 1024 x 1024 float32 on GC2 (1216 tiles, splits M19 N16 K4)", **figures)


def planned_matmul(quick):
    """The same matmul through ipukit.ops: planner, inputs laid out for the plan, engine."""
    from ipukit import ops
    t0 = time.perf_counter()
    plan = ops.plan_matmul(ipukit.GC2, 1024, 1024, 1024)
    planned = time.perf_counter() - t0

    def build():
        g = ipukit.Graph(ipukit.GC2)
        a, b = ops.create_matmul_inputs(g, 1024, 1024, 1024, plan=plan)
        c, prog = ops.matmul(g, a, b, plan=plan)
        return g, (a, b, c), prog

    report("matmul 1024^3 float32 on GC2 through ipukit.ops (the planner's choice)",
           **{"plan (M, N, K parts)": str(plan.splits), "plan, s": planned, **_time_matmul(build)})


def compile_time(quick):
    """Build and compile graphs of 10,000 and 100,000 small vertices."""
    figures = {}
    for vertices in (10_000, 100_000):
        spec = ipukit.GC2
        per_tile = -(-vertices // spec.tiles)
        t0 = time.perf_counter()
        g = ipukit.Graph(spec)
        x, y = g.add_variable(vertices * 16, name="x"), g.add_variable(vertices * 16, name="y")
        g.map_linearly(x, grain_size=16 * per_tile)
        g.map_linearly(y, grain_size=16 * per_tile)
        cs = g.add_compute_set("relu")
        for v in range(vertices):
            g.add_vertex(cs, ipukit.codelets.relu, tile=v // per_tile, a=x[16 * v:16 * v + 16],
                         out=y[16 * v:16 * v + 16])
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        ipukit.Engine(g, ipukit.Execute(cs))
        figures[f"{vertices:,} vertices: build graph, s"] = built
        figures[f"{vertices:,} vertices: compile engine, s"] = time.perf_counter() - t0
    report("graph build and engine compile", **figures)


def import_time(quick):
    code = "import time; t = time.perf_counter(); import ipukit; print(time.perf_counter() - t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(3)]
    report("import", **{"import ipukit, s (best of 3 fresh interpreters)": min(times)})


CUDASIM = """
import os, time
import numpy as np
from numba import cuda

@cuda.jit
def add(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a[i] + b[i]

n = 1216 * 64
a, b, out = np.ones(n, np.float32), np.full(n, 2, np.float32), np.zeros(n, np.float32)
t = time.perf_counter()
add[1216, 64](a, b, out)
seconds = time.perf_counter() - t
assert (out == 3).all()
print(seconds)
"""


def cuda_simulator(quick):
    """The same vector add as one ipukit program and as a kernel on numba's CUDA simulator."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    sim = float(subprocess.check_output([sys.executable, "-c", CUDASIM], text=True, env=env))
    g, (a, b, c), prog = small_vertices_graph(ipukit.GC2, vertices_per_tile=1, n=64, repeats=1)
    eng = ipukit.Engine(g, prog)
    eng.write(a, np.ones(a.size, np.float32))
    eng.write(b, np.full(b.size, 2, np.float32))
    eng.run()
    assert (eng.read(c) == 3).all()
    ours = best_of(eng.run, 20)
    g, (a, b, c), prog = small_vertices_graph(ipukit.GC2, vertices_per_tile=1, n=64, repeats=1,
                                              codelet=learner_add)
    eng = ipukit.Engine(g, prog)
    eng.write(a, np.ones(a.size, np.float32))
    eng.write(b, np.full(b.size, 2, np.float32))
    eng.run()
    assert (eng.read(c) == 3).all()
    learner = best_of(eng.run, 20)
    report("vector add of 1216 x 64 floats: ipukit vs numba's CUDA simulator",
           **{"CUDA simulator (1216 blocks x 64 threads), s": sim, "ipukit (1216 tiles x 1 vertex), s": ours,
              "ipukit speed-up": sim / ours, "ipukit, the add as a learner's codelet, s": learner,
              "ipukit speed-up, learner's codelet": sim / learner})


def _small_rate(codelet=None, reps=300, runs=3):
    """Vertex executions per second of the small-vertex run (6 x 64-float adds per GC2 tile)."""
    spec = ipukit.GC2
    g, (a, b, c), prog = small_vertices_graph(spec, repeats=reps, codelet=codelet)
    eng = ipukit.Engine(g, prog)
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal(a.size).astype(np.float32) for _ in range(2))
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    assert np.array_equal(eng.read(c), A + B)
    return spec.tiles * 6 * reps / best_of(eng.run, runs)


def learner_codelets(quick):
    """The small-vertex run with the add written as a learner's codelet (a loop, bounds-checked,
    loops counted, inputs guarded) beside the built-in add, measured alternately in one run."""
    from ipukit.run import numba_executor as fast
    rates = {"built-in": [], "learner": [], "learner, one vertex after another": []}
    for _ in range(1 if quick else 3):
        rates["built-in"].append(_small_rate())
        rates["learner"].append(_small_rate(learner_add))
        fast.MODE = "sequential"
        try:
            rates["learner, one vertex after another"].append(_small_rate(learner_add))
        finally:
            fast.MODE = "auto"
    best = {k: max(v) for k, v in rates.items()}
    report("learner codelets: small-vertex run, the add as a learner's codelet vs the built-in",
           **{f"{k}: vertex executions / s": v for k, v in best.items()},
           **{"learner / built-in rate": best["learner"] / best["built-in"],
              "learner (sequential driver) / built-in rate": best["learner, one vertex after another"]
              / best["built-in"]})


def contention(quick):
    """The small-vertex run idle, then with one and two CPU-bound processes per usable CPU beside it,
    then idle again (the machine may be shared: every ratio is against the idle runs of this run)."""
    from ipukit.run import numba_executor as fast
    cpus = fast.usable_cpus()
    figures = {"usable CPUs (affinity, cgroup quota)": cpus, "threads": fast.thread_count()}
    idle = [_small_rate()]
    for per_cpu in (1, 2):
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(per_cpu * cpus)]
        try:
            time.sleep(0.5)
            loaded = _small_rate()
        finally:
            for h in hogs:
                h.kill()
                h.wait()
        figures[f"{per_cpu} CPU-bound process(es) per CPU: vertex executions / s"] = loaded
        idle.append(_small_rate())
        figures[f"{per_cpu} per CPU: loaded / idle"] = loaded / max(idle[-2:])
    figures["idle: vertex executions / s (best of the idle runs)"] = max(idle)
    figures["fair share with two per CPU (1 of 3 runnable processes)"] = 1 / 3
    report("contention: the small-vertex run with CPU-bound processes beside it", **figures)


def threshold(quick):
    """Where a parallel launch starts to pay: one Execute of add-vertices of 64 floats, parallel vs
    one thread, by the group's bytes (PARALLEL_GROUP_BYTES is set from this)."""
    from ipukit.run import numba_executor as fast
    figures = {}
    for vertices in (16, 64, 256, 1024, 4096):
        per_tile = -(-vertices // ipukit.GC2.tiles)
        spec = ipukit.GC2.replace(tiles=vertices // per_tile)
        g, (a, b, c), prog = small_vertices_graph(spec, vertices_per_tile=per_tile, repeats=200)
        eng = ipukit.Engine(g, prog)
        times = {}
        for mode in ("sequential", "parallel", "sequential", "parallel"):
            fast.MODE = mode
            try:
                eng.run()
                t = best_of(eng.run, 3)
            finally:
                fast.MODE = "auto"
            times[mode] = min(times.get(mode, t), t)
        nbytes = 3 * 4 * a.size          # a, b and out, float32
        figures[f"{nbytes / 1024:,.0f} KiB group: parallel / sequential time"] = times["parallel"] / times["sequential"]
    figures["PARALLEL_GROUP_BYTES, KiB"] = fast.PARALLEL_GROUP_BYTES / 1024
    report("threshold: parallel vs sequential drivers by group size", **figures)


def steps(quick):
    """Python overhead per superstep: Repeat(20000) of one tiny Execute plus one tiny Copy, through
    the engine's flat loop for a Repeat of plain steps vs step by step (same profile and trace)."""
    from ipukit import codelets as C
    g = ipukit.Graph(ipukit.GC2.replace(tiles=2))
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 1)
    cs = g.add_compute_set("tiny")
    g.add_vertex(cs, C.relu, tile=0, a=x, out=x)
    reps = 20_000
    eng = ipukit.Engine(g, ipukit.Repeat(reps, ipukit.Sequence(ipukit.Execute(cs), ipukit.Copy(x, y))))
    eng.run()
    fast = best_of(eng.run, 3)
    trace = eng.profile.trace
    eng._flat = lambda node: None          # the step-by-step interpreter
    slow = best_of(eng.run, 3)
    assert eng.profile.trace == trace
    report("supersteps: Repeat(20000) of a one-vertex Execute and a Copy",
           **{"flat loop: supersteps / s": 2 * reps / fast, "step by step: supersteps / s": 2 * reps / slow,
              "speed-up of the flat loop": slow / fast})


def matmul_linear(quick):
    """ops.matmul from inputs mapped with map_linearly (what a learner does), beside numpy.matmul."""
    from ipukit import ops

    def build(rearrange):
        g = ipukit.Graph(ipukit.GC2)
        a, b = g.add_variable((1024, 1024), name="A"), g.add_variable((1024, 1024), name="B")
        g.map_linearly(a)
        g.map_linearly(b)
        c, prog = ops.matmul(g, a, b, rearrange=rearrange)
        return g, (a, b, c), prog

    for rearrange in (False, True):
        report(f"matmul 1024^3 float32 on GC2 through ipukit.ops from linearly mapped inputs, rearrange={rearrange}",
               **_time_matmul(lambda r=rearrange: build(r)))


MEMORY = """
import resource, sys
import numpy as np
import ipukit
from ipukit import codelets as C
fraction = float(sys.argv[1])
spec = ipukit.GC200
per_tile = int(spec.sram_bytes_per_tile * fraction) // 4 // 6 * 6
g = ipukit.Graph(spec)
x = g.add_variable(per_tile * spec.tiles, name="x")
g.map_linearly(x, grain_size=per_tile)
cs = g.add_compute_set("relu")
chunk = per_tile // 6
for t in range(spec.tiles):
    for w in range(6):
        part = x[t * per_tile + w * chunk: t * per_tile + (w + 1) * chunk]
        g.add_vertex(cs, C.relu, tile=t, a=part, out=part)
eng = ipukit.Engine(g, ipukit.Execute(cs))
rows = x.reshape(spec.tiles, per_tile)           # written a tile at a time: count the emulator, not the input
for t in range(spec.tiles):
    eng.write(rows[t], np.full(per_tile, -1, np.float32))
eng.run()
assert eng.read(x[:10]).max() == 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, eng.memory.total_used)
"""


def memory(quick):
    """Peak host memory of the emulator for a full GC200 whose tiles are filled with one tensor."""
    figures = {}
    sram = ipukit.GC200.total_sram_bytes
    for fraction in ((0.5,) if quick else (0.25, 0.5, 0.9)):
        out = subprocess.check_output([sys.executable, "-c", MEMORY, str(fraction)], text=True)
        rss, used = (int(v) for v in out.split())
        figures[f"{fraction:.0%} of SRAM used ({used / 2**20:,.0f} MiB): peak RSS, MiB"] = rss / 2**20
        figures[f"{fraction:.0%} of SRAM used: peak RSS / emulated SRAM ({sram / 2**20:,.0f} MiB)"] = rss / sram
    report("memory: full GC200 (1472 tiles x 624 KiB)", **figures)


NOTEBOOK = """
import sys, time, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
t = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print(time.perf_counter() - t)
"""


def course(quick):
    """Execute every notebook headless, with a cold and then a warm numba cache."""
    import shutil
    import tempfile
    notebooks = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    figures = {}
    cold_dir = Path(tempfile.mkdtemp(prefix="ipukit-cold-cache-"))
    for label, cache in (("cold", cold_dir), ("warm", cold_dir)):
        env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "IPUKIT_TARGET": "solutions", "IPUKIT_QUIET": "1"}
        total = 0.0
        for nb in notebooks:
            seconds = float(subprocess.check_output([sys.executable, "-c", NOTEBOOK, str(nb), str(nb.parent)],
                                                    text=True, env=env, stderr=subprocess.DEVNULL).split()[-1])
            total += seconds
            figures[f"{label} cache: {nb.stem}, s"] = seconds
        figures[f"{label} cache: all {len(notebooks)} notebooks, s"] = total
    shutil.rmtree(cold_dir, ignore_errors=True)
    report("the course, executed headless (solutions wired in)", **figures)


SECTIONS = {"small": small_vertices, "learner": learner_codelets, "contention": contention,
            "threshold": threshold, "steps": steps, "matmul": matmul, "planned": planned_matmul,
            "linear": matmul_linear, "compile": compile_time, "import": import_time, "cudasim": cuda_simulator,
            "memory": memory, "course": course}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    print(f"ipukit {ipukit.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    for name in args.sections or SECTIONS:
        SECTIONS[name](args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps(RESULTS, indent=2))


if __name__ == "__main__":
    main()
