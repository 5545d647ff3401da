# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Programming the graph
#
# Notebooks 01 to 03 took the IPU apart one idea at a time: tiles and their SRAM, bulk-synchronous
# supersteps, the exchange. This notebook puts the pieces together the way a Poplar engineer works
# every day. You describe a whole computation as a **graph** (tensors placed on tiles, and small
# programs called *codelets* running as vertices next to their data), add a **control program** that
# says what runs in which order, including loops that stop when the data says so, and hand both to an
# **engine** that compiles them once and runs them as often as you like. Nothing moves while you
# build the graph. That split (describe, compile, run) is what lets Poplar plan every exchange and
# every byte of SRAM before the first cycle, and it is why a profile can tell you exactly where each
# cycle went.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. build a complete program (variables and constants, a tile mapping, vertices in compute sets, a
#    control program of `Sequence`, `Repeat`, `Copy`, `RepeatWhileTrue` and `If`) and name the Poplar
#    C++ call behind each step;
# 2. write a codelet with field specs and a cycle estimate made the way PopLibs makes them (a fixed
#    start plus a cost per 64-bit vector), and predict the compute phase it gives;
# 3. feed a program from the host through streams, and read `eng.profile.summary()` line by line;
# 4. write a loop that stops on a data-dependent condition, and stop a runaway loop with the step
#    budget;
# 5. debug a codelet with the reference backend and `NUMBA_DISABLE_JIT`, and read the errors ipukit
#    raises when a graph is wrong.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The whole notebook runs in well under a minute on a laptop.
#
# Three exercises are waiting in `exercises/ex04_graph.py`: a codelet with its cycle estimate (04.1),
# a program fed by host streams (04.2) and a loop that stops by itself (04.3). Each appears where its
# idea is taught; edit the file, save it, and run the `ipukit.check(...)` cell below the exercise.

# %%
import json
import os
import subprocess
import sys
import textwrap

import ipywidgets as W
import numpy as np
from matplotlib.ticker import EngFormatter

import ipukit
from ipukit import Copy, Execute, If, Repeat, RepeatWhileTrue, Sequence, codelets, cost, viz, widgets
from ipukit.errors import IPUError, StepBudgetError
from ipukit.exercise import load
from ipukit.palette import PHASE_COLORS, SERIES

# %% [markdown]
# ## 1 · Tensors, and where they live
#
# A Poplar graph starts with **variables**: named tensors that will live in tile SRAM. Creating one
# allocates nothing yet; it records a shape and a type. Then every element gets a **tile**. The IPU
# has no shared memory where an unplaced tensor could wait, so a tensor with even one unmapped element
# is an error when the engine is built. **Constants** are tensors whose values are fixed when the
# program is compiled; they sit in SRAM like any other tensor.
#
# Our running example is `saxpy`, the classic of linear algebra libraries: $y \leftarrow a\,x + y$
# for two vectors of 4,096 float32, on a teaching-size GC2 of 16 tiles. `y` starts from a constant
# `y0`.

# %%
spec = ipukit.GC2.replace(tiles=16)       # a teaching-size GC2: 16 of its 1216 tiles
g = ipukit.Graph(spec)
N = 4096
x = g.add_variable(N, name="x")           # the input vector
y = g.add_variable(N, name="y")           # the vector saxpy updates in place
y0 = g.add_constant(np.linspace(0, 1, N, dtype=np.float32), name="y0")    # y's first values
for t in (x, y, y0):
    g.map_linearly(t)                     # 4096 / 16 = 256 elements per tile, in order

print(g)
mapping = g.tile_mapping(x)               # per tile: (start, end) intervals of x
print("tile 0 holds x", mapping[0], "and tile 15 holds x", mapping[15])
print("x[1000] lives on tile", g.element_tiles(x)[1000])


# %% [markdown]
# The same steps in Poplar C++ (the table in the README maps every name):
#
# ```cpp
# Graph graph(target);                                  // target: an IPUModel with 16 tiles
# Tensor x  = graph.addVariable(FLOAT, {4096}, "x");
# Tensor y  = graph.addVariable(FLOAT, {4096}, "y");
# Tensor y0 = graph.addConstant<float>(FLOAT, {4096}, values, "y0");
# for (const Tensor &t : {x, y, y0})
#   poputil::mapTensorLinearly(graph, t);
# auto mapping = graph.getTileMapping(x);               // per tile: intervals of x
# ```
#
# Before any code exists, the graph already knows which tile holds which element. A picture of the
# mapping, each tensor drawn as a strip of its elements:

# %%
def plot_mapping(graph, tensors):
    # Each tensor as a strip of its elements, cut into blocks labelled with the tile that holds them.
    fig = viz.IPUFigure(figsize=(11, 0.9 + 0.45 * len(tensors)), layout="constrained")
    ax = fig.subplots()
    for row, t in enumerate(tensors):
        for tile, intervals in enumerate(graph.tile_mapping(t)):
            for lo, hi in intervals:
                dark = tile % 2 == 0
                ax.barh(row, hi - lo, left=lo, height=0.8, color=SERIES[0] if dark else SERIES[4])
                ax.text((lo + hi) / 2, row, str(tile), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_yticks(range(len(tensors)), [f"'{t.name}'" for t in tensors])
    ax.invert_yaxis()
    ax.set_xlim(0, max(t.size for t in tensors))
    ax.set_xlabel("element index")
    ax.set_title("Tile mapping: each block of elements is labelled with the tile that holds it")
    return fig

plot_mapping(g, [x, y, y0])


# %% [markdown]
# **What to notice.** Each tensor is cut into 16 blocks of 256 elements (1 KiB of float32) at the same
# places, so element *i* of `x`, `y` and `y0` sits on the same tile. A vertex that works on elements 0
# to 255 will find all its data at home and need no exchange: mapping the operands of an operation
# alike is the first thing a Poplar engineer checks.

# %% [markdown]
# ## 2 · A codelet of your own
#
# A **codelet** is the code of a vertex. In Poplar it is a C++ class derived from `poplar::Vertex`,
# with `Input`, `Output` and `InOut` fields and a `compute()` method. In ipukit it is a plain Python
# function over NumPy arrays, turned into a vertex type by `@ipukit.codelet`:
#
# - `inputs`, `outputs` and `inouts` name the parameters that are **fields**, connected to tensors.
#   An input is read-only, an output is written, an inout is both.
# - Each field has a **spec**, a short string saying what it may be connected to: `"float32[n]"` is a
#   1-D float32 vector of `n` elements; `"T[m,k]"` is a matrix of any dtype `T`; `"[n]"` is any dtype,
#   `"*"` anything. Names bind across fields: `x` and `y` below must have the same `n`.
# - Every other parameter (`a` here) is a **scalar**, fixed per vertex when it is added.
# - `cycles` is your **estimate** of how many cycles one vertex takes on one worker.

# %%
@ipukit.codelet(inputs={"x": "float32[n]"}, inouts={"y": "float32[n]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 3 * -(-n // 2))   # see below
def saxpy(x, y, a):
    for i in range(y.size):
        y[i] += a * x[i]

saxpy

# %% [markdown]
# A codelet is still the function you wrote: call it on NumPy arrays to try it before it goes
# anywhere near a tile.

# %%
xs, ys = np.arange(4, dtype=np.float32), np.ones(4, np.float32)
saxpy(xs, ys, 2.0)
ys

# %% [markdown]
# ### The cycle estimate, as PopLibs makes it
#
# On Poplar's IPU Model, and in ipukit, nothing is timed: a run's cycles are *estimates* added up.
# PopLibs ships an estimator for each of its vertices, and you give yours with
# `graph.setPerfEstimate`. As the University of Bristol HPC group's *IPU cookbook* warns, the model's
# timings are only as good as these estimates. PopLibs' estimators for elementwise vertices are built
# the same way:
#
# $$\text{cycles} = \text{a fixed start} + \text{cycles per vector} \times \lceil n / \text{elements per vector} \rceil$$
#
# The start pays for loading the field pointers, setting up the loop and returning. The vector term is
# there because a worker moves and computes 64 bits at a time: two float32 or four float16. ipukit's
# built-in codelets use a start of 10 worker cycles and 2 cycles per vector for a binary op such as
# `add` (two loads, the add and a store, paired two by two by the tile's dual-issue pipeline); both
# numbers are assumptions, marked as such in `ipukit/core/cost.py`. `saxpy` adds a multiply to the same
# work, so we count **3 cycles per vector**. The `cycles` function receives element counts by name
# (here the dimension `n`; a field's name gives its element count too).

# %%
print(" elements   saxpy (ours)   built-in add")
for n in (1, 2, 3, 43, 256, 4096):
    print(f"{n:>9} {saxpy.cycles(n=n):>14} {cost.elementwise_cycles(n, spec, np.float32):>14}")


# %% [markdown]
# **What to notice.** One and two elements cost the same: they are one 64-bit vector. For small
# vertices the start dominates (13 cycles for 2 elements, 10 of them to start); for large ones the
# per-vector term does. These are **worker** cycles: a worker issues one instruction every sixth tile
# cycle (notebook 02), so a vertex alone on its tile keeps the tile busy for 6 × its estimate.

# %% [markdown]
# ## 3 · Compute sets, a control program, and the engine
#
# A **vertex** is one instance of a codelet on one tile, with its fields connected to tensor slices.
# A **compute set** groups vertices that run at the same time, in one BSP superstep. Each tile has six
# workers, and each vertex starts on the next free one (round-robin when the vertices are equal), so
# we cut each tile's 256 elements into six pieces: one vertex per worker.
#
# The **control program** says what runs in order: here a `Copy` of the constant into `y`, then the
# compute set. The **engine** compiles graph and program once (it checks the mapping, lays out every
# tile's SRAM, plans every exchange and compiles the codelets with numba) and then runs them.

# %%
def pieces(lo, hi, parts=6):
    # Cut the interval [lo, hi) into up to `parts` nearly equal pieces: one per worker.
    cuts = np.linspace(lo, hi, min(parts, hi - lo) + 1).astype(int)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))

cs = g.add_compute_set("saxpy")
for tile, intervals in enumerate(g.tile_mapping(y)):
    for lo, hi in intervals:
        for a, b in pieces(lo, hi, spec.workers_per_tile):
            g.add_vertex(cs, saxpy, tile=tile, x=x[a:b], y=y[a:b], a=0.5)
print(cs, "; on tile 0:", [(v.tensors["y"].name, v.tile) for v in cs.vertices[:6]])

program = Sequence(Copy(y0, y), Execute(cs))
eng = ipukit.Engine(g, program)           # compile once (saxpy is compiled by numba here)

rng = np.random.default_rng(0)
xs = rng.normal(size=N).astype(np.float32)
eng.write(x, xs)                          # host -> tiles, outside the program
eng.run()
result = eng.read(y)                      # tiles -> host
expected = np.linspace(0, 1, N, dtype=np.float32) + 0.5 * xs
print("first values:", result[:4])
print("same as NumPy:", np.allclose(result, expected, rtol=1e-6, atol=0))

# %% [markdown]
# In Poplar C++, the vertex class lives in its own file and the graph connects it:
#
# ```cpp
# // saxpy.cpp, compiled for the tiles by graph.addCodelets("saxpy.cpp")
# class Saxpy : public poplar::Vertex {
# public:
#   poplar::Input<poplar::Vector<float>> x;
#   poplar::InOut<poplar::Vector<float>> y;
#   float a;
#   bool compute() {
#     for (unsigned i = 0; i < y.size(); ++i) y[i] += a * x[i];
#     return true;
#   }
# };
# ```
#
# ```cpp
# ComputeSet cs = graph.addComputeSet("saxpy");
# VertexRef v = graph.addVertex(cs, "Saxpy", {{"x", x.slice(lo, hi)}, {"y", y.slice(lo, hi)}});
# graph.setInitialValue(v["a"], 0.5f);
# graph.setTileMapping(v, tile);
# graph.setPerfEstimate(v, cycles);                     // the IPU Model's estimate
# // ... once per piece, as in the loop above
# Sequence prog({Copy(y0, y), Execute(cs)});
# Engine engine(graph, prog);
# engine.load(device);
# engine.writeTensor("x", xs.data(), xs.data() + xs.size());   // after graph.createHostWrite("x", x)
# engine.run(0);
# engine.readTensor("y", out.data(), out.data() + out.size()); // after graph.createHostRead("y", y)
# ```

# %% [markdown]
# ## 4 · Reading the profile
#
# Every `run()` leaves its profile in `eng.profile`. `summary()` prints it in the spirit of Poplar's
# `engine.printProfileSummary`:

# %%
print(eng.profile.summary())

# %% [markdown]
# Line by line:
#
# - **Target** is the machine: 16 GC2 tiles of 256 KiB, six workers each, clocked at 1.6 GHz.
# - **Program**: 2 supersteps ran (the `Copy` and the `Execute`), which are 2 distinct steps of the
#   program, and 96 vertex executions (16 tiles × 6 vertices).
# - **Cycles** splits the run by phase. *Compute* is the tiles working on their own memory; *exchange*
#   is data crossing between tiles (none here: every vertex found its data at home); *sync* is the
#   barrier before every phase, 150 cycles each (an assumption: no figure is published); *host* is
#   traffic with the host. The total is converted to time at the clock rate.
# - **Exchange** counts the bytes received over the exchange and moved to or from the host.
# - **Memory** is the SRAM plan: bytes used against the 16 × 256 KiB available, the busiest tile,
#   and the split between tensor data, vertex state (each vertex's field pointers and scalars) and
#   exchange buffers.
# - **Steps by cycles** lists each step: how often it ran, its cycles per run split by phase,
#   its *balance* (mean over max of the compute cycles of the tiles that computed: 1.00 means no tile
#   waited for another) and its share of the run.
#
# Where do the step numbers come from? The rules of notebook 02, applied to our estimate:

# %%
tile0 = pieces(0, 256)
estimates = [saxpy.cycles(n=b - a) for a, b in tile0]
print("tile 0's six vertices hold", [b - a for a, b in tile0], "elements")
print("their estimates, one per worker:", estimates, "worker cycles")
print("compute phase = 6 x the busiest worker =", 6 * max(estimates), "cycles")
copy_bytes = 256 * 4
print(f"Copy y0 -> y stays on each tile: {copy_bytes} B at {spec.memory_write_bytes_per_cycle} B/cycle =",
      copy_bytes // spec.memory_write_bytes_per_cycle, "cycles, after a sync of", spec.sync_cycles)

# %% [markdown]
# The execution trace draws the same run, tile by tile, after PopVision's: each row a tile, each
# colour a phase, time left to right.

# %%
viz.plot_trace(eng.profile)

# %% [markdown]
# **What to notice.** Two syncs take 300 of the run's 884 cycles: with 256 elements per tile, the
# barrier is a third of the time. All 16 tiles finish each phase together (balance 1.00), because the
# mapping and the vertices are even.
#
# The profile is also plain data. `to_json()` gives the same numbers to a script, a plot, or a file
# you keep to compare runs (`to_json(tiles=True)` adds per-tile arrays):

# %%
report = json.loads(eng.profile.to_json())
print(report["totals"])
print(report["steps"][1])

# %% [markdown]
# The memory report is `eng.memory` (PopVision's memory report). It knows which tensor sits where,
# and what the vertices cost:

# %%
print(eng.memory.tensors_on(0), "  (name, bytes, offset on tile 0)")
print("vertex state on tile 0:", eng.memory.category("vertex state")[0], "B for 6 vertices:",
      cost.vertex_state_bytes(num_fields=2, num_scalars=1), "B each")


# %% [markdown]
# Each vertex costs 24 B of SRAM, always live: a 4-byte header, a pointer and a size for each of its
# two fields, and its scalar `a`. Our program uses 3,216 B of each tile's 256 KiB, about 1 %. How far
# could it grow? `saxpy_graph` builds the same saxpy (without the constant) at any size, and the graph
# can plan its SRAM before anything is compiled:

# %%
def saxpy_graph(codelet, elements_per_tile=256, vertices_per_tile=6, tiles=16):
    # x and y mapped linearly over `tiles` tiles; one `codelet` vertex per piece of each tile's block.
    graph = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    gx, gy = (graph.add_variable(elements_per_tile * tiles, name=n) for n in ("x", "y"))
    graph.map_linearly(gx)
    graph.map_linearly(gy)
    step = graph.add_compute_set("saxpy")
    for tile, intervals in enumerate(graph.tile_mapping(gy)):
        for lo, hi in intervals:
            for a, b in pieces(lo, hi, vertices_per_tile):
                graph.add_vertex(step, codelet, tile=tile, x=gx[a:b], y=gy[a:b], a=0.5)
    return graph, Execute(step)

def show_error(attempt):
    # Run attempt() and print the IPUError it raises, if any.
    try:
        attempt()
        print("no error")
    except IPUError as e:
        print(f"{type(e).__name__}: {e}\n")

big, _ = saxpy_graph(saxpy, elements_per_tile=32_000)
too_big, too_big_program = saxpy_graph(saxpy, elements_per_tile=33_000)
show_error(lambda: ipukit.Engine(too_big, too_big_program))
viz.plot_memory(big.memory_report())

# %% [markdown]
# **What to notice.** 32,000 elements of `x` and of `y` per tile fill 98 % of every tile; 33,000 do
# not fit, and the engine refuses to build, naming the tile and the bytes. There is no DRAM to spill
# to: what a program can hold is decided tile by tile, when it is compiled.

# %% [markdown]
# ## 5 · Your estimate, the six workers, and the profile
#
# The profile is only as good as the estimates in it. To see how much the estimate matters, here is
# the same `saxpy`, same graph, same results, with four different `cycles=` choices:
#
# | estimate | worker cycles for `n` elements | the reasoning |
# |---|---|---|
# | none given | 10 + 1 per element of every field | ipukit's placeholder when you write no estimate |
# | scalar code | 10 + 5 per element | load, load, multiply, add, store, one element at a time |
# | vectorised (ours) | 10 + 3 per 64-bit vector | two float32 per instruction, loads paired with arithmetic |
# | careless | 1 | "it's only a few lines" |
#
# `ipukit.Codelet(fn, ...)` builds a codelet from an existing function, so the four share `saxpy`'s
# code. The engines use `backend="reference"`: the cost does not depend on the backend, and these
# runs need no compiling.

# %%
FIELDS = dict(inputs={"x": "float32[n]"}, inouts={"y": "float32[n]"})
CHOICES = {
    "none given": None,
    "scalar code": lambda n: 10 + 5 * n,
    "vectorised (ours)": lambda n: 10 + 3 * -(-n // 2),
    "careless": 1,
}

print(f"{'estimate':<20}{'one vertex':>12}{'compute':>10}{'total':>8}{'compute share':>15}")
for label, cycles in CHOICES.items():
    variant = ipukit.Codelet(saxpy.fn, cycles=cycles, name="saxpy", **FIELDS)
    p = ipukit.Engine(*saxpy_graph(variant), backend="reference").run()
    one = p.steps[0].phases[-1].tile_cycles[0] // 6          # tile 0's busiest worker
    print(f"{label:<20}{one:>12}{p.compute_cycles:>10}{p.total_cycles:>8}{p.compute_cycles / p.total_cycles:>14.0%}")


# %% [markdown]
# **What to notice.** The same program is 4 % compute or 90 % compute depending on one line you
# wrote. The careless estimate makes the sync look like the only cost; the scalar one makes compute
# look like everything. Nothing measures your codelet: if the estimate is wrong, every conclusion
# drawn from the profile is wrong with it. Count what one 64-bit vector needs, add a start, and say
# in a comment how you counted.
#
# The estimate meets the **worker rule** in the compute phase: a tile is busy for 6 × its busiest
# worker's total. Below, tile 0's six workers as a Gantt chart, for the same graph with a seventh
# vertex per tile: worker 0 gets two vertices and the whole tile waits for it.

# %%
def worker_experiment(elements_per_tile=256, vertices_per_tile=7, cycles_per_vector=3, start=10):
    # Tile 0's worker slots for saxpy with the estimate start + cycles_per_vector per 64-bit vector.
    estimate = ipukit.Codelet(saxpy.fn, cycles=lambda n: start + cycles_per_vector * -(-n // 2),
                              name="saxpy", **FIELDS)
    engine = ipukit.Engine(*saxpy_graph(estimate, elements_per_tile, vertices_per_tile),
                           backend="reference")                 # the cost is known without running
    phases = {ph.kind: ph.cycles for ph in engine.steps[0].phases}
    return viz.plot_worker_slots(engine, "saxpy", tile=0, title=(
        f"{elements_per_tile} elements in {vertices_per_tile} vertices per tile, estimate {start} + "
        f"{cycles_per_vector} per 64-bit vector\ncompute phase {phases['compute']:,} cycles, "
        f"after a sync of {phases['sync']}"))

worker_experiment()


# %% [markdown]
# The seventh vertex takes the compute phase from 456 cycles (six vertices, one per worker) to 786:
# the tile is only done when worker 0 is. Move the sliders (vertices per tile, elements per tile, and
# the two numbers of the estimate). Find the vertex count where one more vertex per tile costs the
# most, and the tile size below which the sync costs more than the compute.

# %%
def choice(options, value, description):
    return W.SelectionSlider(options=options, value=value, description=description, continuous_update=False,
                             style={"description_width": "initial"}, layout=W.Layout(width="95%"))

widgets.interactive_figure(
    worker_experiment,
    elements_per_tile=choice([24, 48, 96, 256, 1024, 4096], 256, "elements per tile"),
    vertices_per_tile=choice(list(range(1, 13)), 7, "vertices per tile"),
    cycles_per_vector=choice([1, 2, 3, 4, 6, 8], 3, "cycles per 64-bit vector"),
    start=choice([0, 5, 10, 20, 50], 10, "cycles to start a vertex"))


# %% [markdown]
# ## 6 · When a codelet goes wrong
#
# ipukit compiles codelets with numba, which makes them fast and makes them hard to look inside.
# Two switches turn them back into plain Python:
#
# - **`backend="reference"`** runs every codelet as Python, one vertex at a time: `print`, f-strings
#   and `breakpoint()` work inside it, and a failure names the exact index. Results and profiles are
#   identical to the numba backend.
# - **`NUMBA_DISABLE_JIT=1`**, set before Python starts, turns numba off everywhere: the default
#   backend then runs your codelet as Python too. Use it for code you cannot change, such as the
#   grader: `NUMBA_DISABLE_JIT=1 python -m ipukit.grade ex04_1` in a terminal.
#
# A codelet with an f-string `print` does not compile with numba, but runs on the reference backend:

# %%
@ipukit.codelet(inputs={"x": "float32[n]"}, inouts={"y": "float32[n]"}, cycles=10)
def saxpy_debug(x, y, a):
    print(f"  a vertex sees x = {x} and y = {y}")
    for i in range(y.size):
        y[i] += a * x[i]

small = ipukit.Graph(ipukit.GC2.replace(tiles=2))
sx, sy = small.add_variable(4, name="x"), small.add_variable(4, name="y")
small.map_linearly(sx)
small.map_linearly(sy)
debug_cs = small.add_compute_set("saxpy")
for tile in range(2):
    part = slice(2 * tile, 2 * tile + 2)
    small.add_vertex(debug_cs, saxpy_debug, tile=tile, x=sx[part], y=sy[part], a=0.5)
debug = ipukit.Engine(small, Execute(debug_cs), backend="reference")
debug.write(sx, np.arange(4, dtype=np.float32))
debug.run()
print("y =", debug.read(sy))

# %% [markdown]
# The same codelet on the default (numba) backend, in a fresh Python process started with
# `NUMBA_DISABLE_JIT=1` (the variable must be set before numba is imported, so it cannot be switched
# on inside this kernel):

# %%
script = textwrap.dedent('''
    import numpy as np, ipukit
    @ipukit.codelet(inputs={"x": "float32[n]"}, inouts={"y": "float32[n]"}, cycles=10)
    def saxpy_debug(x, y, a):
        print(f"  a vertex sees x = {x} and y = {y}")
        for i in range(y.size):
            y[i] += a * x[i]
    g = ipukit.Graph(ipukit.GC2.replace(tiles=1))
    x, y = g.add_variable(2, name="x"), g.add_variable(2, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 0)
    cs = g.add_compute_set("saxpy")
    g.add_vertex(cs, saxpy_debug, tile=0, x=x, y=y, a=0.5)
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    eng.write(x, np.array([4, 6], np.float32))
    eng.run()
    print("backend:", eng.backend, "-> y =", eng.read(y))
''')
env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "IPUKIT_QUIET": "1"}
done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
print(done.stdout or done.stderr[-2000:])

# %% [markdown]
# ### Errors that teach
#
# ipukit refuses a wrong graph as early as it can, with a message that names the vertex, the field
# and the numbers. Three you will meet:

# %%
bad = ipukit.Graph(ipukit.GC2.replace(tiles=2))
bx, by = bad.add_variable(16, name="x"), bad.add_variable(16, name="y")
bad.map_linearly(bx)
bad.map_linearly(by)
bad_cs = bad.add_compute_set("saxpy")

# 1. A field shape that does not match the spec: x and y must both have n elements.
show_error(lambda: bad.add_vertex(bad_cs, saxpy, tile=0, x=bx[0:8], y=by[0:9], a=0.5))

# 2. Writing to an input: refused when the codelet is defined, before anything runs.
def define_codelet_that_writes_its_input():
    @ipukit.codelet(inputs={"x": "float32[n]"}, outputs={"y": "float32[n]"}, cycles=10)
    def double_in_place(x, y):
        for i in range(x.size):
            x[i] = 2 * x[i]
            y[i] = x[i]
show_error(define_codelet_that_writes_its_input)


# %% [markdown]
# The third is a bug only running can find: an index one past the end. Your codelets are compiled
# with bounds checks (the built-ins are not), so numba stops instead of silently reading the next
# tensor in SRAM. numba only says *that* an index was out of bounds; the reference backend says
# *which*:

# %%
# 3. An index out of range: y[i] = x[i + 1] reads one element past the end of x.
@ipukit.codelet(inputs={"x": "float32[n]"}, outputs={"y": "float32[n]"}, cycles=10)
def shift_left(x, y):
    for i in range(y.size):
        y[i] = x[i + 1]

shift_cs = bad.add_compute_set("shift")
for tile in range(2):
    part = slice(8 * tile, 8 * tile + 8)
    bad.add_vertex(shift_cs, shift_left, tile=tile, x=bx[part], y=by[part])
for backend in ("numba", "reference"):
    show_error(lambda: ipukit.Engine(bad, Execute(shift_cs), backend=backend).run())

# %% [markdown]
# **What to notice.** Each message says where (vertex `shift_left#0`, compute set `shift`, tile 0),
# what (an `IndexError` inside the codelet) and, on the reference backend, the numbers (index 8 in a
# field of 8 elements). The fix here is a field one element longer, `x[lo:hi + 1]`, with a spec such
# as `"float32[m]"` so its length may differ from `y`'s. Notebook 02 met the other errors of a compute
# set: two vertices writing one element, or one reading what another writes.

# %% [markdown]
# ### Exercise 04.1 · A codelet with a cycle estimate
#
# In `exercises/ex04_graph.py`, write the body of the codelet `clipped_update`, a gradient step whose
# result is clipped to a range, the way optimisers keep weights bounded:
#
# $$w_i \leftarrow \operatorname{clip}(w_i - \text{lr}\cdot g_i,\ -\text{limit},\ \text{limit})$$
#
# and its estimate `clipped_update_cycles(n)`: a start plus cycles per 64-bit vector, counted as in
# section 2. The decorator is written for you. The grader runs your codelet on both backends against
# NumPy, and accepts a start of 5 to 50 cycles and 2 to 8 cycles per vector.
#
# A codelet can be called on NumPy arrays, so you can try yours right here:

# %%
ex = load("ex04_graph")           # your exercises/ex04_graph.py, read afresh on every load
try:
    print("estimate for 1,024 elements:", ex.clipped_update_cycles(1024), "worker cycles")
    w = np.array([0.0, 1.0, -1.0, 2.0, -3.0], np.float32)
    grad = np.array([1.0, -4.0, 4.0, 0.0, -1.0], np.float32)
    ex.clipped_update(w, grad, 0.5, 2.0)       # lr = 0.5, limit = 2
    print("w after one clipped step:", w, "(expected [-0.5, 2, -2, 2, -2])")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex04_1")

# %% [markdown]
# ## 7 · Host streams: data in, results out
#
# `eng.write` and `eng.read` move tensors between host and tiles *outside* a program. Inside one,
# data arrives through **host streams**: first-in first-out queues that a `Copy` reads from or writes
# to, one chunk per execution. This is how a training loop feeds batches: the weights stay in SRAM,
# and the data streams past them.
#
# `engine.connect_stream` attaches a host array to a stream, and the engine walks it as a **circular
# buffer**, as Poplar's `engine.connectStream` does: when a copy reaches the end of the array, the
# next one starts again at the beginning.
#
# Below, `y ← 0.5·x + y` for five batches of 1,024 elements, while the host array holds only three
# batches (all ones, all twos, all threes). `y` is sent back after every batch.

# %%
B = 1024
gs = ipukit.Graph(spec)
bx, by = gs.add_variable(B, name="x"), gs.add_variable(B, name="y")
gs.map_linearly(bx)
gs.map_linearly(by)
x_in = gs.add_host_stream("x_batches", B)                          # host -> IPU
y_out = gs.add_host_stream("y_out", B, direction="from_device")    # IPU -> host

zero, update = gs.add_compute_set("y = 0"), gs.add_compute_set("saxpy")
for tile, intervals in enumerate(gs.tile_mapping(by)):
    for lo, hi in intervals:
        gs.add_vertex(zero, codelets.fill, tile=tile, out=by[lo:hi], value=0.0)
        for a, b in pieces(lo, hi):
            gs.add_vertex(update, saxpy, tile=tile, x=bx[a:b], y=by[a:b], a=0.5)

one_batch = Sequence(Copy(x_in, bx), Execute(update), Copy(by, y_out))
streaming = ipukit.Engine(gs, Sequence(Execute(zero), Repeat(5, one_batch)))

host_in = np.repeat(np.arange(1, 4, dtype=np.float32), B).reshape(3, B)   # 3 batches: 1s, 2s, 3s
host_out = np.zeros((5, B), np.float32)
streaming.connect_stream("x_batches", host_in)
streaming.connect_stream("y_out", host_out)
p = streaming.run()
print("y[0] after each batch:", host_out[:, 0])
print("so each copy read the batch of", np.diff(host_out[:, 0], prepend=0) / 0.5, "(the buffer wraps after three)\n")
print(p.summary())

# %% [markdown]
# In Poplar C++:
#
# ```cpp
# DataStream xIn  = graph.addHostToDeviceFIFO("x_batches", FLOAT, 1024);
# DataStream yOut = graph.addDeviceToHostFIFO("y_out", FLOAT, 1024);
# Sequence oneBatch({Copy(xIn, x), Execute(update), Copy(y, yOut)});
# Sequence prog({Execute(zero), Repeat(5, oneBatch)});       // popops::zero would build `zero`
# Engine engine(graph, prog);
# engine.load(device);
# engine.connectStream("x_batches", hostIn.data(), hostIn.data() + hostIn.size());
# engine.connectStream("y_out", hostOut.data(), hostOut.data() + hostOut.size());
# engine.run(0);
# ```
#
# The trace shows where the time goes: host copies in purple, one before and one after each saxpy.

# %%
viz.plot_trace(p)

# %% [markdown]
# **What to notice.** Each batch moves 4 KiB in and 4 KiB out over the host link (PCIe Gen4 × 16,
# 31.5 GB/s each way in theory, about 19.7 bytes per cycle at 1.6 GHz: 209 cycles a copy), while
# the saxpy itself takes 168 cycles of compute. The host transfers take 37 % of the run, twice the
# compute, and with their syncs the two copies are two thirds of it. This is the normal state of
# a small program: in Graphcore's Poplar tutorial 6, a run on the Mk2 IPU Model spent 99.7 % of its
# cycles exchanging with the host (on real IPU hardware the same program spends 10.4 % there: the
# Model, like ipukit, counts the bytes but underestimates that tutorial's compute). It is why real IPU
# programs keep weights and state on chip, stream only the data, and do as much work per byte
# streamed as they can.

# %% [markdown]
# ### Exercise 04.2 · Stream batches through on-chip state
#
# Write `ema_stream(graph, batch_size, num_batches, alpha)`: a program that keeps an **exponential
# moving average** of a stream of batches on the tiles. Batches arrive on a stream named `"batches"`;
# the average `avg` starts at 0 and after each batch $x$ becomes
#
# $$\text{avg} \leftarrow \text{avg} + \alpha\,(x - \text{avg}),$$
#
# then goes to the host on a stream named `"averages"`. Budget: **3 supersteps per batch, plus 1**,
# **no byte across the exchange**, and every tile busy in each update. With built-in codelets the
# update alone would take three compute sets (`sub`, `scale`, `add`); write one codelet that does it
# in one: the fusion a compiler would do for you.
#
# A small run of your program: 4 tiles, batches of 8, $\alpha = 0.5$.

# %%
ex = load("ex04_graph")
try:
    g42 = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    e42 = ipukit.Engine(g42, ex.ema_stream(g42, batch_size=8, num_batches=3, alpha=0.5))
    batches = np.array([[2.0] * 8, [4.0] * 8, [0.0] * 8], np.float32)
    averages = np.zeros_like(batches)
    e42.connect_stream("batches", batches)
    e42.connect_stream("averages", averages)
    p42 = e42.run()
    print("average after each batch:", averages[:, 0], "(expected [1, 2.5, 1.25])")
    print(f"{p42.num_supersteps} supersteps (budget {3 * 3 + 1}), {p42.exchange_bytes} B exchanged (budget 0)")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex04_2")


# %% [markdown]
# ## 8 · Control flow on the device
#
# A control program is data: a tree of program nodes that the engine walks. Besides `Sequence`,
# `Execute` and `Copy`:
#
# - `Repeat(n, body)` runs `body` a fixed `n` times;
# - `If(predicate, then, else_)` runs one branch;
# - `RepeatWhileTrue(cond, predicate, body)` runs `cond`, tests the predicate, and while it is
#   non-zero runs `body` and `cond` again.
#
# A **predicate** is a one-element tensor on some tile, non-zero meaning true. Its value lives in one
# tile's SRAM, yet every tile must take the same branch, so the decision has to reach every tile:
# ipukit charges each test of a predicate one sync (150 cycles), and does not count it as a superstep.
#
# Three small programs on one engine (Poplar's `Engine(graph, {prog0, prog1, prog2})` and
# `engine.run(k)`), all on a counter:

# %%
@ipukit.codelet(inouts={"count": "int32[1]"}, cycles=cost.VERTEX_OVERHEAD)
def increment(count):
    count[0] += 1

@ipukit.codelet(inputs={"count": "int32[1]"}, outputs={"flag": "int32[1]"}, cycles=cost.VERTEX_OVERHEAD)
def below(count, flag, limit):
    flag[0] = 1 if count[0] < limit else 0

gc = ipukit.Graph(ipukit.GC2.replace(tiles=1))
count, flag = gc.add_variable(1, "int32", name="count"), gc.add_variable(1, "int32", name="flag")
gc.set_tile_mapping(count, 0)
gc.set_tile_mapping(flag, 0)
inc, test = gc.add_compute_set("increment"), gc.add_compute_set("count < 5?")
gc.add_vertex(inc, increment, tile=0, count=count)
gc.add_vertex(test, below, tile=0, count=count, flag=flag, limit=5)

programs = [
    Repeat(3, Execute(inc)),                                   # 0: add 3
    RepeatWhileTrue(Execute(test), flag, Execute(inc)),        # 1: count up to 5
    Sequence(Execute(test), If(flag, Execute(inc))),           # 2: add 1 if below 5
]
counter = ipukit.Engine(gc, programs)

def show_run(k, start):
    counter.write(count, [start])
    p = counter.run(k)
    names = [counter.steps[i].name.split(" (")[0].replace("Execute ", "") for i in p.trace]
    print(f"program {k} from {start}: count = {counter.read(count)[0]}, {p.num_supersteps} supersteps, "
          f"{p.total_cycles:,} cycles\n    " + " -> ".join(names))

show_run(0, start=0)
show_run(1, start=0)
show_run(1, start=7)
show_run(2, start=4)
show_run(2, start=5)


# %% [markdown]
# **What to notice.** The loop from 0 ran `cond` six times and the body five: `cond` always runs once
# more than the body, because it decides. Started at 7, the body never ran, but `cond` still did.
# Every test of `flag` shows up in the trace and costs a sync.
#
# So when the work of an iteration is what produces the predicate (a sweep that measures its own
# change, a sort round that counts its swaps), put the work in `cond` and leave the body empty:
# `RepeatWhileTrue(work, predicate, Sequence())` is a **do-while** loop, with no extra superstep to
# compute the predicate first.
#
# In Poplar C++ these are the same nodes: `Repeat(3, Execute(inc))`,
# `RepeatWhileTrue(Execute(test), flag, Execute(inc))`, `If(flag, Execute(inc), Sequence())`.

# %% [markdown]
# ## 9 · Worked example: Jacobi iteration until convergence
#
# A rod is held at temperature 1 at its left end and 0 at its right end; inside, it starts cold. Heat
# flows until the temperature is a straight line between the ends. **Jacobi iteration** finds that
# steady state by repeating one update on every interior point at once,
#
# $$u_i \leftarrow \tfrac{1}{2}\,(u_{i-1} + u_{i+1}),$$
#
# until the largest change of a sweep falls below a tolerance. It is the simplest of the stencil
# solvers that fill scientific computing, and it has everything a real IPU program has:
#
# - **halos**: a tile's first and last points need a neighbour that lives on the next tile, so every
#   sweep starts with a small exchange;
# - **two buffers**: a sweep reads `u` and writes `u_next`, then the next sweep the other way round,
#   since a compute set must not read what it writes;
# - **a global decision**: each vertex reports its largest change, and one vertex on tile 0 turns them
#   into the loop's predicate, which needs an exchange of its own;
# - **a loop that stops on the data**: a `RepeatWhileTrue` do-while.

# %%
@ipukit.codelet(inputs={"old": "float32[m]"}, outputs={"new": "float32[n]", "change": "float32[1]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 4 * -(-n // 2))   # 3 loads, 5 ops, a store, paired
def jacobi_sweep(old, new, change):
    # new[i] = mean of old's neighbours; old holds new's points plus one more on each side.
    change[0] = 0
    for i in range(new.size):
        value = 0.5 * (old[i] + old[i + 2])
        step = abs(value - old[i + 1])
        if step > change[0]:
            change[0] = step
        new[i] = value

@ipukit.codelet(inputs={"changes": "float32[k]"}, outputs={"go": "int32[1]"},
                cycles=lambda k: cost.VERTEX_OVERHEAD + 2 * k)
def any_above(changes, go, tol):
    # go = 1 while some vertex's largest change is still above tol.
    go[0] = 0
    for i in range(changes.size):
        if changes[i] > tol:
            go[0] = 1

def jacobi_graph(points, tiles, tol):
    # The rod: points interior values plus the two ends, over `tiles` tiles; two sweeps and a check.
    graph = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    u = [graph.add_variable(points + 2, name=name) for name in ("u", "u_next")]
    graph.map_linearly(u[0][1:-1])
    for t in u:                                          # both buffers mapped alike; the ends on
        graph.set_tile_mapping(t[1:-1], graph.tile_mapping(u[0][1:-1]))   # the first and last tile
        graph.set_tile_mapping(t[0], 0)
        graph.set_tile_mapping(t[-1], tiles - 1)
    blocks = [(tile, a, b) for tile, intervals in enumerate(graph.tile_mapping(u[0][1:-1]))
              for lo, hi in intervals for a, b in pieces(lo + 1, hi + 1)]   # u's indices, ends excluded
    changes = graph.add_variable(len(blocks), name="changes")             # one slot per vertex
    go = graph.add_variable(1, "int32", name="go")
    graph.set_tile_mapping(go, 0)
    sweeps = []
    for src, dst in ((u[0], u[1]), (u[1], u[0])):
        sweep = graph.add_compute_set(f"sweep {src.name} -> {dst.name}")
        for k, (tile, a, b) in enumerate(blocks):
            graph.set_tile_mapping(changes[k], tile)
            graph.add_vertex(sweep, jacobi_sweep, tile=tile, old=src[a - 1:b + 1], new=dst[a:b],
                             change=changes[k:k + 1])
        sweeps.append(Execute(sweep))
    check = graph.add_compute_set("check")
    graph.add_vertex(check, any_above, tile=0, changes=changes, go=go, tol=tol)
    return graph, u, Sequence(*sweeps), Execute(check), go

def run_jacobi(points=64, tiles=8, tol=1e-6, check_every=1):
    # Sweep pairs until the largest change is below tol, checking every `check_every` pairs.
    graph, u, two_sweeps, check, go = jacobi_graph(points, tiles, tol)
    loop = RepeatWhileTrue(Sequence(Repeat(check_every, two_sweeps), check), go, Sequence())   # do-while
    engine = ipukit.Engine(graph, loop)
    start = np.zeros(points + 2, np.float32)
    start[0] = 1.0                                       # the hot end; the rest starts cold
    for t in u:
        engine.write(t, start)
    engine.run()
    return engine, u

rod, u = run_jacobi()
sweeps = sum(r.count for r in rod.profile.steps if r.name.startswith("Execute 'sweep"))
exact = np.linspace(1, 0, 66)
print(f"{sweeps:,} sweeps; largest error against the straight line: {np.abs(rod.read(u[0]) - exact).max():.1e}")
print(rod.profile.summary())

# %% [markdown]
# Poplar C++ builds the loop from the same nodes: `RepeatWhileTrue(Sequence({Repeat(k, sweeps),
# Execute(check)}), go, Sequence())`. The trace of the first seven steps, with the halo exchanges in
# orange:

# %%
viz.plot_trace(rod.profile, steps=7)


# %% [markdown]
# **What to notice.** The rod converged, but look at how. Each sweep is 389 cycles, of which 300 are
# two syncs (one before the halo exchange, one before the compute) and 87 are compute. Each check
# costs 981 cycles more, half of the run: its exchange brings the 48 changes to tile 0, and then one
# vertex works while the seven other tiles wait (the long idle stretch above), before the loop test's
# own sync. With 8 points per tile the machine mostly waits at barriers: this rod is far too short for
# 8 tiles, and a reminder that BSP rewards big supersteps.
#
# That suggests two experiments, in one picture. How often should the loop check, and how tight must
# the tolerance be? Checking less often saves the check's cycles but may run past the point where the
# loop could have stopped (the overshoot); a looser tolerance saves sweeps but stops further from the
# answer. `jacobi_experiment` runs the loop and draws the rod and where the cycles went:

# %%
def jacobi_experiment(points=64, tol=1e-6, check_every=1, tiles=8):
    engine, u = run_jacobi(points, tiles, tol, check_every)
    p = engine.profile
    got, exact = engine.read(u[0]), np.linspace(1, 0, points + 2)
    groups = {"sweeps": "Execute 'sweep", "checks": "Execute 'check", "loop tests": "RepeatWhileTrue"}
    fig = viz.IPUFigure(figsize=(11, 3.8), layout="constrained")
    rod_ax, cost_ax = fig.subplots(1, 2, width_ratios=[1.1, 1])
    rod_ax.plot(exact, color=PHASE_COLORS["sync"], lw=4, label="steady state (exact)")
    rod_ax.plot(got, ".-", color=SERIES[0], ms=4, lw=1, label="after the loop")
    rod_ax.set_xlabel("position along the rod (point)")
    rod_ax.set_ylabel("temperature")
    rod_ax.legend(fontsize=8)
    rod_ax.set_title(f"largest error {np.abs(got - exact).max():.1e}", fontsize=9)
    left = np.zeros(len(groups))
    for kind in ("compute", "exchange", "sync"):
        widths = np.array([sum(r.count * r.cycles(kind) for r in p.steps if r.name.startswith(prefix))
                           for prefix in groups.values()], float)
        cost_ax.barh(range(len(groups)), widths, left=left, color=PHASE_COLORS[kind], label=kind)
        left += widths
    runs = [sum(r.count for r in p.steps if r.name.startswith(prefix)) for prefix in groups.values()]
    cost_ax.set_yticks(range(len(groups)), [f"{name}\n({n:,} runs)" for name, n in zip(groups, runs)])
    cost_ax.invert_yaxis()
    cost_ax.xaxis.set_major_formatter(EngFormatter())
    cost_ax.set_xlabel("cycles in the run")
    cost_ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{points} points on {tiles} tiles, tolerance {tol:g}, a check every {check_every} pair(s) "
                 f"of sweeps: {runs[0]:,} sweeps, {p.num_supersteps:,} supersteps, {p.total_cycles:,} cycles")
    return fig

jacobi_experiment(check_every=1)

# %%
widgets.interactive_figure(
    jacobi_experiment,
    points=choice([16, 32, 64, 96], 64, "interior points"),
    tol=choice([1e-3, 1e-4, 1e-5, 1e-6], 1e-6, "tolerance"),
    check_every=choice([1, 2, 4, 8, 16, 32], 1, "check every ... pairs of sweeps"),
    tiles=W.fixed(8))

# %% [markdown]
# Move the sliders: check every 8 pairs of sweeps instead of every pair, then loosen the tolerance.
#
# **What to notice.** Checking after every pair of sweeps, checks and loop tests take 60 % of the
# run. Checking every 8 pairs halves the total, at the price of 14 sweeps more than needed (a loop
# that checks every *k* pairs can overshoot by up to 2*k* − 2 sweeps); beyond that the savings shrink
# towards the cost of the sweeps themselves. The tolerance is not the error: with a tolerance of
# $10^{-4}$ the loop stops while the rod is still 0.04 away from the straight line, and with
# $10^{-3}$ it is 0.37 away, because Jacobi's changes become small long before its error does. Real
# solvers check convergence every few iterations, and test a residual, not the last change.
#
# ### When the loop never stops
#
# A `RepeatWhileTrue` whose predicate never turns false runs for ever, so the engine counts the
# steps it executes and stops at `max_steps` (a million by default) with a `StepBudgetError`. (A
# loop inside your codelet that never ends is stopped the same way: each call may run a billion
# loop iterations, then a `LoopBudgetError` names the vertex and the loop's line; Jupyter's
# interrupt button works too.) Here is a classic mistake: `go` is set to 1 from
# the host to start the loop, but the check was left out of it, so nothing ever sets `go` back to 0.

# %%
graph, u, two_sweeps, check, go = jacobi_graph(points=64, tiles=8, tol=1e-6)
forgot_the_check = RepeatWhileTrue(two_sweeps, go, Sequence())
runaway = ipukit.Engine(graph, forgot_the_check, max_steps=20_000)
start = np.zeros(66, np.float32)
start[0] = 1.0
for t in u:
    runaway.write(t, start)
runaway.write(go, [1])
try:
    runaway.run()
except StepBudgetError as e:
    print(f"StepBudgetError: {e}")
sweeps_done = sum(r.count for r in runaway.profile.steps if r.name.startswith("Execute 'sweep"))
error = np.abs(runaway.read(u[0]) - np.linspace(1, 0, 66)).max()
print(f"\nstopped after {sweeps_done:,} sweeps, with the rod's error at {error:.1e}: it had converged, "
      "but nothing told the loop")

# %% [markdown]
# Set `max_steps` near what you expect a program to need while you develop it: a loop that should
# stop after a few thousand steps then fails in a fraction of a second instead of running a million.
#
# ### Exercise 04.3 · Sort until nothing moves
#
# **Odd-even transposition sort** is the parallel cousin of bubble sort: in an *even phase*, the pairs
# (0, 1), (2, 3), ... are put in order, all at once; in an *odd phase*, the pairs (1, 2), (3, 4), ...
# A round is an even phase and an odd phase. After enough rounds the data is sorted, and a round that
# swaps nothing proves it. How many rounds that takes depends on the data: an input already sorted
# needs one.
#
# Write `odd_even_sort(graph, x)`, returning a program that sorts `x` in place and stops after the
# first round without a swap. The vertex, `compare_exchange`, is given in the exercise file. Budget:
# **3 supersteps per round**, which leaves no superstep to spare for a separate test before the loop
# (think do-while). Pairs whose two elements live on different tiles are fine: the exchange brings
# them together and takes them back.

# %%
ex = load("ex04_graph")
try:
    g43 = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    x43 = g43.add_variable(12, "int32", name="x")
    g43.map_linearly(x43)                          # 3 elements per tile: some pairs cross tiles
    e43 = ipukit.Engine(g43, ex.odd_even_sort(g43, x43), max_steps=1_000)
    e43.write(x43, [9, 3, 7, 1, 8, 2, 12, 5, 11, 4, 10, 6])
    p43 = e43.run()
    print("sorted:", e43.read(x43))
    print(f"{p43.num_supersteps} supersteps, {p43.exchange_bytes} B exchanged")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex04_3")

# %% [markdown]
# ## Recap
#
# - A Poplar program is a **graph** plus a **control program**: variables and constants mapped onto
#   tiles (`add_variable`, `add_constant`, `map_linearly`), vertices of codelets in compute sets
#   (`add_compute_set`, `add_vertex`), and `Sequence`, `Execute`, `Copy`, `Repeat`,
#   `RepeatWhileTrue`, `If`. The engine compiles them once; nothing moves until `run()`.
# - A **codelet** is a function over its fields, with specs that say what may be connected to them,
#   and a **cycle estimate** that you write: a fixed start plus a cost per 64-bit vector, as PopLibs
#   estimates its vertices. The profile is only as good as those estimates.
# - `eng.profile.summary()` splits a run into compute, exchange, sync and host cycles, step by step;
#   `to_json()` and `eng.memory` give the same numbers as data. With little work per tile, syncs
#   dominate; with little work per byte streamed, the host link does.
# - **Host streams** feed a program chunk by chunk from a circular buffer while state stays in SRAM.
# - A **predicate** is a one-element tensor; testing it costs a sync. Put the work that computes it in
#   `RepeatWhileTrue`'s `cond` (a do-while), check convergence every few iterations, and keep
#   `max_steps` as a safety net against loops that never end.
# - When a codelet misbehaves: `backend="reference"` or `NUMBA_DISABLE_JIT=1` make it plain Python,
#   and ipukit's errors name the vertex, field and numbers.
#
# Next, **05 · Mapping a matmul**: the same tools on the operation that dominates machine learning,
# where how you split a matrix over tiles decides both memory and speed.
