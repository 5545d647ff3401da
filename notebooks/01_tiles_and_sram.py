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
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Tiles and SRAM
#
# A CPU or a GPU keeps its data in one big memory that every core can reach, and hides the
# distance with caches. An IPU has no such memory. It is 1216 small processors (*tiles*; 1472 on
# a GC200), and each tile owns 256 KiB of SRAM (624 KiB on a GC200) that no other tile can read.
# There is no DRAM behind it: every number a program uses lives in the SRAM of exactly one
# tile, and the tile computes on it with six hardware worker threads.
# So the first questions of any IPU program are: *where does each tensor live? Does it fit? Is
# each tile keeping its six workers busy?* This notebook answers all three on the emulator.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. describe a tile: one core whose six worker threads take turns on one pipeline, next to
#    its own SRAM, and say how much memory a GC2 and a GC200 have;
# 2. put a tensor on tiles by hand (`set_tile_mapping`) and evenly (`map_linearly` with a grain
#    size), and read the mapping back (`tile_mapping`, `element_tiles`), also through views;
# 3. read a memory map by category and by tensor, explain alignment padding (why 5 `int16`
#    take 16 bytes), and use the map to choose the tile for a tensor (best fit);
# 4. provoke an out-of-memory error, read its message and picture, and fix the mapping;
# 5. split a tile's work into vertices so that all six workers are busy, and explain why 7
#    vertices are slower than 6.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The whole notebook runs in well under a minute.
#
# Every number below comes from the emulator (`ipukit`) or from a published figure, cited where
# it is used. The machine is a *teaching-size* GC2: the same tiles, 16 of them instead of 1216.

# %%
import ipywidgets
import numpy as np
from IPython.display import display

import ipukit
from ipukit import codelets, viz, widgets
from ipukit.errors import MappingError, TileMemoryError
from ipukit.exercise import load

SPEC = ipukit.GC2.replace(tiles=16)      # a GC2 with 16 tiles: every tile as on the real chip
print(SPEC.describe())

# %% [markdown]
# ## 1 · A tile: one core, six workers, its own memory
#
# A tile is a small processor with its SRAM right next to it. On a GC2 every tile reads its
# SRAM in 6 cycles, whatever the other tiles are doing, at 16 bytes per cycle (Jia et al.,
# 2019): 16 B × 1216 tiles × 1.6 GHz = 31.1 TB/s for the chip, the figure ipukit uses (Graphcore
# publishes 45 TB/s for the GC2 and 47.5 TB/s for the GC200, counted in a way our sources do not
# give). That is the point of the design: memory this close is fast and predictable. The price
# is size: 256 KiB per tile.
#
# A tile runs six *worker* threads (plus a supervisor that starts them). They share one
# pipeline in turn: each worker issues one instruction every sixth cycle. Most instructions
# take about six cycles to finish, so six workers together keep the pipeline full, and a
# worker running alone uses one cycle in six: it runs at 1/6 of the tile's speed (Graphcore,
# *Assembly Programming* guide, §4.2). The University of Bristol's IPU cookbook reports the
# same: six vertices on a tile run about six times faster than one.
#
# The emulator's chip descriptions hold these numbers, each with its source in
# `ipukit/core/spec.py`:

# %%
for spec in (ipukit.GC2, ipukit.GC200):
    print(spec.describe())
    print(f"    {spec.sram_bytes_per_tile:,} B of SRAM per tile, {spec.total_sram_bytes / 2**20:,.0f} MiB "
          f"in all; {spec.total_tiles * spec.workers_per_tile:,} worker threads")

# %% [markdown]
# **What to notice.** A whole GC2 holds 304 MiB: 1216 × 256 KiB (Jia et al., 2019). A GC200 holds
# 897 MiB: 1472 × 624 KiB, the "900 MB" of Graphcore's Hot Chips 2021 talk (Knowles, 2021). A
# model, its activations and the code's working buffers must all fit in that, *tile by tile*: a
# tile that is full cannot borrow from its neighbour. (The GC200's IPU-M2000 system adds off-chip
# DRAM, *Streaming Memory*, up to 448 GB per system, outside the chip; ipukit does not model it.)

# %% [markdown]
# ## 2 · Tensors live on tiles
#
# In Poplar, and in ipukit, you first describe the data: a `Graph` holds *variables*
# (tensors). Creating one reserves nothing yet. Before the program can be compiled, every
# element must be given a tile: that is the tensor's *tile mapping*, and choosing it is the
# programmer's job, because it decides where memory is used and where the work can run.
#
# `graph.set_tile_mapping(t, tile)` puts every element of `t` on `tile`. Here the first two rows
# of a 4 × 6 matrix go to tile 0 and the last two to tile 5:

# %%
g = ipukit.Graph(SPEC)
m = g.add_variable((4, 6), name="m")        # 24 float32, not on any tile yet
g.set_tile_mapping(m[:2], 0)                # rows 0 and 1
g.set_tile_mapping(m[2:], 5)                # rows 2 and 3
print("tile of each element:\n", g.element_tiles(m))
mapping = g.tile_mapping(m)                 # Poplar's getTileMapping: per tile, intervals of m flattened
print("tile 0 holds", mapping[0], "and tile 5 holds", mapping[5])

# %% [markdown]
# `m[:2]` is a *view*: slicing, `reshape`, `.T` and `ipukit.concat` create no storage and move
# no data, they only pick elements. A view knows where each of its elements lives, and you can
# map through a view too. Here column 5 is moved to tile 9, which cuts every row in two:

# %%
col = m[:, 1]
print(col, "lives on tiles", g.element_tiles(col))
print("the transpose m.T:\n", g.element_tiles(m.T))
g.set_tile_mapping(m[:, 5], 9)              # map through a view: the last column goes to tile 9
print("after moving column 5:\n", g.element_tiles(m))
print("tile 0 now holds", g.tile_mapping(m)[0], "of m flattened")

# %% [markdown]
# **What to notice.** `tile_mapping` lists *intervals* of the tensor flattened in row-major
# order: after the column moved, tile 0 holds two pieces, elements 0–4 and 6–10. A tensor may be
# spread over tiles in any pattern, but the pattern decides what a vertex finds on its own
# tile. A tensor with elements on no tile cannot be compiled; the engine says which:

# %%
g_bad = ipukit.Graph(SPEC)
half = g_bad.add_variable(10, name="half_mapped")
g_bad.set_tile_mapping(half[:6], 0)
try:
    ipukit.Engine(g_bad, [])
except MappingError as err:
    print(f"MappingError: {err}")

# %% [markdown]
# ## 3 · Spreading a tensor evenly: `map_linearly` and the grain size
#
# Mapping by hand does not scale to 1216 tiles. `graph.map_linearly(t, grain_size=g)` does what
# Poplar's `poputil::mapTensorLinearly` does: it cuts `t` (flattened) into *grains* of `g`
# elements that are never split, and deals the grains out in order, the same number to every
# tile, so tile 0 gets the first share, tile 1 the next, and the last tiles may get less or
# nothing. Count the elements each tile receives for 1000 floats and three grain sizes:

# %%
for grain in (1, 64, 100):
    g = ipukit.Graph(SPEC)
    v = g.add_variable(1000, name="v")
    g.map_linearly(v, grain_size=grain)
    per_tile = np.bincount(g.element_tiles(v), minlength=g.num_tiles)
    print(f"grain {grain:>3}: elements per tile {per_tile}")

# %% [markdown]
# **What to notice.** With grain 1, 1000 elements spread as 63 per tile with 55 left for tile
# 15. With grain 64 every tile but the last holds exactly one grain. With grain 100 there are
# only 10 grains, so 6 tiles hold nothing: a coarse grain can leave tiles idle.
#
# Why would you want a grain at all? Because of what runs next. A vertex that works on a row of
# a matrix wants the whole row on its own tile; otherwise the missing part must first travel over
# the exchange (notebook 03). The grain keeps rows together:

# %%
for grain in (1, 100):
    g = ipukit.Graph(SPEC)
    w = g.add_variable((8, 100), name="w")            # 8 rows of 100 floats
    g.map_linearly(w, grain_size=grain)
    rows = [np.unique(g.element_tiles(w[r])).tolist() for r in range(8)]
    print(f"grain {grain:>3}: tiles holding each row {rows}")

# %% [markdown]
# ## 4 · The memory map
#
# A tile's SRAM holds three kinds of things, which the emulator lays out one after the other:
#
# * **data**: the tile's part of every tensor mapped to it;
# * **vertex state**: for each vertex on the tile, a few bytes saying where its fields are (always
#   there while the program is loaded);
# * **exchange buffers**: room for data a vertex needs from *other* tiles, which the exchange
#   delivers before the compute set runs (only needed while that compute set runs, so compute
#   sets share this region).
#
# Here is a real program: a matrix-vector product `y = W @ x` with a 600 × 1000 weight matrix, one
# whole row per grain, and one `dot` vertex per row on the row's tile (a *vertex* is one small task
# placed on one tile, as in notebook 00's first program; section 6 looks at how a tile runs them).
# The vector `x` sits on tile 0 and every tile needs it.

# %%
g = ipukit.Graph(SPEC)
W = g.add_variable((600, 1000), name="weights")
x = g.add_variable(1000, name="x")
y = g.add_variable(600, name="y")
g.map_linearly(W, grain_size=1000)          # whole rows: 38 per tile, the last tile 30
g.map_linearly(y)                           # 38 results per tile, next to their rows
g.set_tile_mapping(x, 0)

matvec = g.add_compute_set("matvec")
for tile, intervals in enumerate(g.tile_mapping(W)):
    for lo, hi in intervals:
        for r in range(lo // 1000, hi // 1000):
            g.add_vertex(matvec, codelets.dot, tile=tile, a=W[r], b=x, out=y[r:r + 1])

eng = ipukit.Engine(g, ipukit.Execute(matvec))
rng = np.random.default_rng(0)
W_host, x_host = rng.standard_normal((600, 1000), np.float32), rng.standard_normal(1000, np.float32)
eng.write(W, W_host)
eng.write(x, x_host)
eng.run()
print("y matches NumPy:", np.allclose(eng.read(y), W_host @ x_host, rtol=1e-5, atol=1e-3))
print(eng.memory.summary())
print("on tile 0 (name, bytes, offset):", eng.memory.tensors_on(0))

# %% [markdown]
# `eng.memory` (or `graph.memory_report()` before any engine exists) is the emulator's
# memory report, the counterpart of the Memory Report in Graphcore's PopVision Graph Analyser.
# `ipukit.viz.plot_memory` draws it: every tile as a cell coloured by bytes used, and the bytes
# of each tile stacked by category under the dashed line of the tile's SRAM.

# %%
viz.plot_memory(eng.memory)

# %% [markdown]
# The same map split by tensor:

# %%
viz.plot_memory(eng.memory, by="tensor")

# %% [markdown]
# **What to notice.**
#
# * The weights dominate: 38 rows × 4,000 B = 152,000 B on tiles 0–14, and the last tile, with 30
#   rows, is lighter. A linear mapping is even only to within one grain.
# * Tile 0 also holds `x` (4,000 B). Every other tile holds a 4,000 B exchange buffer: the copy of
#   `x` its 38 vertices read, received once and shared by them.
# * Vertex state is small here (each `dot` vertex: a header and one (address, size) pair per field,
#   28 B), but it grows with the number of vertices, and it is always live.
# * The busiest tile sets the limit: a program fits only if *every* tile fits.
#
# ### Alignment: why 5 `int16` take 16 bytes
#
# The emulator starts each tensor's block on a tile at an 8-byte (64-bit) boundary, the width of
# the tile's vector loads and stores (`SPEC.alignment`), so the next block starts aligned too.
# A block's size is therefore rounded up to a multiple of 8 bytes:

# %%
g = ipukit.Graph(SPEC)
ids = g.add_variable(5, "int16", name="ids")
g.set_tile_mapping(ids, 0)
report = g.memory_report()
print(f"5 x int16 = {ids.nbytes} B of values; tile 0 uses {report.used[0]} B "
      f"(alignment {SPEC.alignment} B)")

g = ipukit.Graph(SPEC)
labels = g.add_variable(80, "int16", name="labels")
for grain in (1, 4):
    g.map_linearly(labels, grain_size=grain)
    report = g.memory_report()
    print(f"80 x int16 over 16 tiles, grain {grain}: {labels.nbytes} B of values take "
          f"{report.category('data').sum()} B on {int((report.used > 0).sum())} tiles")

# %% [markdown]
# **What to notice.** Ten bytes of values take 16 bytes of SRAM. Spread 5 per tile, 160 bytes of
# labels take 256: more than a third is padding. A grain that is a whole number of 8-byte words
# (4 `int16` here) avoids it. Padding is rarely large, but with thousands of small tensors on
# one tile it adds up; `plot_memory(..., by="tensor")` shows it as "alignment padding".
#
# ### Exercise 01.1 · Place a tensor on the tightest fit
#
# The memory map is also where you decide where the next tensor goes. A tensor that must sit whole on
# one tile (a small bias, a lookup table) fits on any tile with enough free bytes, but the choice
# matters for the tensors that come after it: put it in a large hole and a large tensor later finds
# none. The **best fit** rule puts it on the tile with the *least* free space that still holds it.
#
# In `exercises/ex01_tiles.py`, write `place_best_fit(graph, tensor)`: read `graph.memory_report()`
# (`report.used`, bytes per tile, and `report.capacity`, the SRAM of one tile), keep the tiles whose
# free bytes hold the tensor **with its alignment padding**, map the whole tensor onto the one with
# the least free space (the lowest id if several tie) and return that tile; raise `ValueError` naming
# the tensor if it fits nowhere. **Predict first**: the next cell fills three tiles unevenly and
# prints their free bytes; say where each of the two tensors should go before you run your function.

# %%
ex = load("ex01_tiles")                     # loads your file again, so your latest edits count
g = ipukit.Graph(SPEC)
for tile, nbytes in ((3, 250_000), (7, 240_000), (12, 200_000)):
    g.set_tile_mapping(g.add_variable(nbytes // 4, name=f"weights{tile}"), tile)
free = g.spec.sram_bytes_per_tile - g.memory_report().used
print("free bytes on tiles 3, 7 and 12:", [int(free[t]) for t in (3, 7, 12)], "(the other tiles are empty)")
try:
    for name, n in (("table", 2_500), ("bias", 5_001)):
        t = g.add_variable(n, name=name)
        print(f"{name} ({4 * n:,} B): tile {ex.place_best_fit(g, t)}")
except NotImplementedError as err:
    print(f"Not done yet: {err}")

# %%
ipukit.check("ex01_1")

# %% [markdown]
# ## 5 · Running out of memory
#
# A tile that needs more bytes than it has cannot spill anywhere: there is no DRAM behind it.
# Poplar refuses such a program when it compiles it, with `graph_memory_allocation_error: Out of
# memory: Cannot fit all variable data onto one or more tiles` (Graphcore Poplar tutorials,
# tutorial 4). ipukit refuses it too: building the `Engine` raises `TileMemoryError`.
#
# Let us provoke one on purpose: a 300 × 256 float32 weight matrix (307,200 B) mapped entirely on
# tile 0, whose SRAM is 262,144 B.

# %%
g = ipukit.Graph(SPEC)
big = g.add_variable((300, 256), name="weights")
g.set_tile_mapping(big, 0)                  # all 307,200 B on one tile
try:
    ipukit.Engine(g, [])
except TileMemoryError as err:
    oom = err
    print(f"TileMemoryError: {err}")

# %% [markdown]
# The message names the tile, how many bytes it needs and has, and what is on it. The error also
# carries the memory report of the layout that did not fit, `err.report`, so you can look at it:

# %%
viz.plot_memory(oom.report, title=f"'weights' alone on tile 0: {oom.report.peak_bytes:,} B on a "
                                  f"{oom.report.capacity:,} B tile")

# %% [markdown]
# **What to notice.** Tile 0 turns vermillion and its bar crosses the SRAM line; the other 15 tiles
# are empty. The 16 tiles together have 4 MiB, more than 13 times what the tensor needs:
# running out of memory on an IPU is almost always a *mapping* problem, not a capacity problem.
#
# ipukit is stricter here than Graphcore's own *IPU Model*, the CPU emulator in the Poplar SDK:
# the IPU Model does not stop on out-of-memory, so a program can run on the model and then fail to
# compile for the hardware (Graphcore Poplar tutorials, tutorial 4). ipukit behaves like the
# hardware, so the error appears when you make the mistake. (`graph.memory_report()` does not
# raise, for looking at a layout before you fix it.)
#
# Two fixes, both real:

# %%
g.map_linearly(big)                         # spread it over all 16 tiles
eng = ipukit.Engine(g, [])
print(f"spread over 16 GC2 tiles: busiest tile uses {eng.memory.peak_bytes:,} B of {eng.memory.capacity:,}")

g200 = ipukit.Graph(ipukit.GC200.replace(tiles=16))
on_one = g200.add_variable((300, 256), name="weights")
g200.set_tile_mapping(on_one, 0)
eng200 = ipukit.Engine(g200, [])
print(f"all on one GC200 tile:      tile 0 uses {eng200.memory.peak_bytes:,} B of {eng200.memory.capacity:,}")

# %% [markdown]
# Spreading is the fix that scales. A bigger tile only moves the wall: the GC200's 624 KiB take
# this tensor whole, but not one three times larger.
#
# ### Exercise 01.2 · Map a tensor under a memory cap
#
# Real programs leave room on each tile for other tensors, so a mapping often has a budget per
# tile. Write `map_under_cap(graph, tensor, cap_bytes)`: map every element of `tensor` onto the
# *fewest* tiles such that no tile holds more than `cap_bytes` of it (remember the alignment: each
# tile's block is rounded up to 8 bytes), and return the number of tiles used. If it cannot fit
# on the graph's tiles, raise `ValueError` naming the tensor. The grader checks the peak bytes on
# a tile and the number of tiles against budgets.

# %%
ex = load("ex01_tiles")
g = ipukit.Graph(SPEC)
weights = g.add_variable((300, 256), name="weights")
try:
    used = ex.map_under_cap(g, weights, 64 * 1024)
    report = g.memory_report()
    print(f"{used} tiles used; the busiest holds {report.peak_bytes:,} B (cap {64 * 1024:,} B)")
    display(viz.plot_memory(report, view="bars", title=f"'weights' on {used} tiles"))
except NotImplementedError as err:
    print(f"Not done yet: {err}")

# %%
ipukit.check("ex01_2")


# %% [markdown]
# ## 6 · Six workers per tile
#
# Memory is one half of a tile; the other is its six workers. In ipukit, as in Poplar, the work
# is a *compute set* of *vertices*: each vertex is one instance of a *codelet* (a small function
# over the tensors connected to it) placed on one tile. On each tile the vertices start in the
# order they were added, each on the next worker to become free; with equal vertices that is
# vertex 0 on worker 0, …, vertex 5 on worker 5, vertex 6 on worker 0 again (notebook 02 shows
# uneven ones). A worker runs its vertices one after another and issues one
# instruction every six tile cycles, so a tile is busy for 6 × its busiest worker's cycles.
#
# The experiment: double 6,000 floats on one tile with the built-in `codelets.scale`, cut into
# 1, 2, 3, … equal vertices. `scale`'s cost estimate is 10 cycles to start plus one cycle per
# 64-bit vector (2 floats) on one worker (see `ipukit/core/cost.py`).

# %%
def scale_on_tile(vertices, n=6000):
    # y = 2 * x for n floats on tile 0, cut into `vertices` nearly equal vertices; the engine after one run
    g = ipukit.Graph(SPEC)
    x, y = g.add_variable(n, name="x"), g.add_variable(n, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 0)
    cs = g.add_compute_set("scale")
    cuts = [i * n // vertices for i in range(vertices + 1)]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        g.add_vertex(cs, codelets.scale, tile=0, a=x[lo:hi], out=y[lo:hi], factor=2.0)
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    eng.write(x, np.arange(n, dtype=np.float32))
    eng.run()
    assert np.array_equal(eng.read(y), 2 * np.arange(n, dtype=np.float32))
    return eng


alone = scale_on_tile(1).profile.compute_cycles
print("vertices   compute cycles   speed-up over one vertex")
for k in (1, 2, 3, 5, 6, 7, 12, 13):
    cycles = scale_on_tile(k).profile.compute_cycles
    print(f"{k:>8}   {cycles:>14,}   {alone / cycles:>6.2f} x")


# %% [markdown]
# One vertex: 10 + 3,000 = 3,010 worker cycles, but its worker issues only every sixth cycle, so
# the tile is busy 18,060 cycles while five workers sit idle. Six vertices of 1,000 floats: 510
# worker cycles each, all at once: 3,060 cycles, 5.9 times faster (not quite 6, because each vertex
# pays its 10-cycle start). `plot_worker_slots` draws what each worker of a tile does during a
# compute set:

# %%
def worker_picture(vertices):
    eng = scale_on_tile(vertices)
    pieces = "1 vertex" if vertices == 1 else f"{vertices} vertices"
    return viz.plot_worker_slots(eng, "scale", tile=0, title=(
        f"6,000 floats on tile 0 in {pieces}: compute phase {eng.profile.compute_cycles:,} cycles"))


worker_picture(1)

# %%
worker_picture(6)

# %%
worker_picture(7)

# %% [markdown]
# **What to notice.** Seven vertices are *slower* than five or six: 5,268 cycles. Each vertex is
# smaller (857 or 858 floats), but the seventh lands on worker 0 again, after vertex 0, so worker 0
# has twice the work of the others, and the tile waits for it while five workers idle. Twelve
# vertices are even again (two each), but pay two starts per worker. The rule: give a tile a
# multiple of six equal vertices, and prefer exactly six unless the pieces must be smaller.
#
# The profile says the same in numbers. For six vertices, every cycle of the compute phase is
# useful; the 150-cycle sync before it is the price of starting a BSP step (notebook 02):

# %%
print(scale_on_tile(6).profile.summary())

# %% [markdown]
# Try it yourself: the slider sets how many vertices share the 6,000 floats (each redraw builds and
# runs a new engine; `scale` is a built-in codelet, so nothing is compiled).

# %%
vertices = ipywidgets.IntSlider(value=6, min=1, max=13, description="vertices on tile 0", continuous_update=False,
                                style={"description_width": "initial"})
widgets.interactive_figure(worker_picture, vertices=vertices)

# %% [markdown]
# ### Exercise 01.3 · Keep all six workers busy
#
# Now on many tiles. `x` and `out` have the same shape and mapping, and each tile holds one
# contiguous block of `x` (or nothing). Write `scale_on_all_workers(graph, cs, x, out, factor)`:
# add `codelets.scale` vertices to `cs` so that it computes `out = factor * x` where the data
# lives (no exchange), with the shortest compute phase the cost model allows, and return the
# number of vertices you added. Read each tile's block from `graph.tile_mapping(x)`.
#
# The grader runs your compute set and checks the result against NumPy, that no byte crossed the
# exchange, and the compute cycles against the best possible: for a busiest tile of `n` floats,
# 6 × (10 + ⌈n / 12⌉) cycles. Below, every tile holds 6 rows of 500 floats, so the best is
# 6 × (10 + 250) = 1,560 cycles.

# %%
ex = load("ex01_tiles")
g = ipukit.Graph(SPEC)
x, out = g.add_variable((96, 500), name="x"), g.add_variable((96, 500), name="out")
g.map_linearly(x, grain_size=500)           # 6 whole rows (3,000 floats) per tile
g.map_linearly(out, grain_size=500)
cs = g.add_compute_set("scale")
try:
    added = ex.scale_on_all_workers(g, cs, x, out, 0.5)
except NotImplementedError as err:
    print(f"Not done yet: {err}")
else:
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    eng.write(x, np.ones((96, 500), np.float32))
    p = eng.run()
    print(f"{added} vertices; compute phase {p.compute_cycles:,} cycles; {p.exchange_bytes:,} B exchanged; "
          f"out == 0.5 * x: {np.array_equal(eng.read(out), np.full((96, 500), 0.5, np.float32))}")
    display(viz.plot_worker_slots(eng, "scale", tile=0))

# %%
ipukit.check("ex01_3")

# %% [markdown]
# ## 7 · Explore: tensor size × tiles × grain × IPU
#
# The memory explorer builds a real program, `out = a + b` on three float32 tensors spread with
# `map_linearly`, compiles it for the tiles and chip you choose, and draws the memory map. If it
# does not fit, it draws the layout the engine refused.
#
# First, one setting as a plain call: 300,000 floats per tensor on 16 GC2 tiles with a grain of
# 32,768 elements.

# %%
widgets.memory_experiment(elements=300_000, tiles=16, grain_size=32_768, preset="GC2")

# %% [markdown]
# **What to notice.** 300,000 floats make only 10 grains of 32,768 (the last one partial), so
# tiles 0–9 get one grain each and tiles 10–15 nothing. Tiles 0–8 then hold 3 × 128 KiB = 384 KiB,
# more than their 256 KiB, while six tiles are empty. With grain 1 (where the explorer below
# starts) the same data uses 86 % of every tile and fits.
#
# Move the sliders and try to predict each picture before it appears:
#
# * Grain 1, then 4,096 at 100,000 floats: how many tiles get work?
# * 1,000,000 floats on 16 tiles: does it fit on a GC2? On a GC200? How many GC2 tiles does it need?
# * Which grain sizes leave tiles empty at 30,000 floats?

# %%
widgets.memory_explorer(elements=300_000, tiles=16, grain_size=1, preset="GC2")

# %% [markdown]
# ## Recap
#
# - A tile is a core with six hardware workers taking turns on one pipeline and its own SRAM:
#   256 KiB on a GC2 (304 MiB over 1216 tiles), 624 KiB on a GC200 (897 MiB over 1472). There is no
#   DRAM behind it, so every tensor must fit *tile by tile*.
# - Every element of every tensor is mapped to one tile: by hand with `set_tile_mapping` (also
#   through views), or evenly with `map_linearly(grain_size=...)`, which keeps grains whole and may
#   leave tiles empty. `tile_mapping` and `element_tiles` read it back.
# - The memory report (`graph.memory_report()`, `eng.memory`, `viz.plot_memory`) splits each tile's
#   bytes into data, vertex state and exchange buffers; blocks start on 8-byte boundaries, so small
#   pieces carry padding.
# - A tile over its SRAM is a `TileMemoryError` when the engine is built (a compile error on the
#   real IPU; Graphcore's IPU Model would let it pass). `err.report` shows the layout; the fix is
#   almost always a better mapping.
# - A tile is busy for 6 × its busiest worker. Each vertex starts on the next free worker (round-robin
#   when the vertices are equal), so six equal vertices per tile are about 6 times faster than one,
#   and a seventh makes it slower.
#
# **Next: notebook 02 · BSP**, where many tiles compute, synchronise and exchange in supersteps, and
# the slowest tile sets the pace for all.
