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
# # 02 · Bulk-synchronous parallel execution
#
# The 1216 tiles of an IPU share no memory, so they need a rule for working together: when may
# a tile use a value that another tile computed, and how does it know that the value is ready?
# The IPU's answer is **bulk-synchronous parallel** execution (BSP; Valiant, 1990). A program is
# a sequence of *supersteps*. In each one, every tile first computes on its own SRAM, then all
# tiles wait for each other at a *sync*, then they *exchange* data. Poplar inserts the syncs and
# exchanges for you (Graphcore's Poplar tutorials, tutorial 1), but it is your mapping that
# decides how long each phase takes. This notebook takes a superstep apart on the emulator and
# shows the two rules that follow from BSP: a phase lasts as long as its slowest tile, and no
# lock is ever needed.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. name the phases of a BSP superstep and show how one `Execute` becomes sync, exchange and
#    compute phases in ipukit's profile;
# 2. read an execution trace (`viz.plot_trace`) together with `viz.profile_bars` and
#    `profile.summary()`, and tell compute, exchange, sync and waiting apart;
# 3. explain why a sync needs a few hundred elements of work per tile to pay for itself;
# 4. predict how long a compute phase lasts from where its vertices are and what they cost, and
#    fix a mapping that makes every tile wait for one;
# 5. explain why BSP needs no locks, trigger the two errors ipukit raises for vertices that would
#    race, and fix them with separate tensors or separate compute sets.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The whole notebook runs in well under a minute.
#
# Every number below comes from the emulator (`ipukit`) or from a published figure, cited where
# it is used. The machine is a *teaching-size* GC2 with 16 tiles instead of 1216; each tile is
# as on the real chip.

# %%
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import display

import ipukit
from ipukit import codelets, viz, widgets
from ipukit.errors import WriteConflictError
from ipukit.exercise import load
from ipukit.palette import PHASE_COLORS

SPEC = ipukit.GC2.replace(tiles=16)      # a GC2 with 16 tiles: every tile as on the real chip
print(SPEC.describe())

# %% [markdown]
# ## 1 · One superstep: compute, sync, exchange
#
# A superstep has three phases:
#
# - **compute**: every tile runs its vertices on data in its own SRAM, and touches nothing else;
# - **sync**: every tile stops and waits until all tiles have finished (a barrier in hardware);
# - **exchange**: tiles send data to each other over the on-chip fabric, on a schedule fixed by
#   the compiler (notebook 03 measures it).
#
# Then the next superstep starts. A phase ends when its *busiest* tile is done, because the
# sync waits for everyone.
#
# In Poplar and in ipukit you never write a sync or an exchange yourself. You write
# `Execute(compute_set)`, and the compiler works out what has to move. If a vertex's field is
# connected to elements that live on another tile, an exchange brings them to the vertex's tile
# before the compute phase; if its output lives on another tile, an exchange takes it there
# afterwards (Graphcore's Poplar tutorials, tutorial 3). Each of those phases starts with a sync.
#
# The experiment: `out = x + z` for 1,536 floats per tile on 16 tiles, six `add` vertices per
# tile (one per worker, notebook 01). We build it three times, changing only where `z` and `out`
# live: on the vertex's own tile, or on the next tile.

# %%
PER_TILE = 1536
N = 16 * PER_TILE


def add_engine(z_on_next_tile=False, out_on_next_tile=False):
    # out = x + z with six vertices per tile; z and out on the vertex's tile or on the next one
    g = ipukit.Graph(SPEC)
    x, z, out = (g.add_variable(N, name=name) for name in ("x", "z", "out"))
    for t, shift in ((x, 0), (z, z_on_next_tile), (out, out_on_next_tile)):
        for tile in range(16):
            g.set_tile_mapping(t[tile * PER_TILE:(tile + 1) * PER_TILE], (tile + shift) % 16)
    cs = g.add_compute_set("add")
    for tile in range(16):
        for w in range(6):
            lo, hi = tile * PER_TILE + w * PER_TILE // 6, tile * PER_TILE + (w + 1) * PER_TILE // 6
            g.add_vertex(cs, codelets.add, tile=tile, a=x[lo:hi], b=z[lo:hi], out=out[lo:hi])
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    rng = np.random.default_rng(0)
    x_host, z_host = rng.standard_normal(N, np.float32), rng.standard_normal(N, np.float32)
    eng.write(x, x_host)
    eng.write(z, z_host)
    eng.run()
    assert np.array_equal(eng.read(out), x_host + z_host)      # the emulator computes for real
    return eng


for z_next, out_next in ((False, False), (True, False), (True, True)):
    p = add_engine(z_next, out_next).profile
    phases = " -> ".join(f"{ph.kind} {ph.cycles:,}" for ph in p.steps[0].phases)
    print(f"z on next tile: {z_next!s:<5}  out on next tile: {out_next!s:<5}  {phases}   "
          f"total {p.total_cycles:,} cycles")

# %% [markdown]
# **What to notice.**
#
# - With everything local, the `Execute` is a sync and a compute phase: 1,746 cycles. Each vertex
#   adds 256 floats in 10 + 2 × 128 = 266 worker cycles, and six workers sharing the pipeline make
#   that 6 × 266 = 1,596 tile cycles.
# - With `z` on the next tile, an exchange *in* comes first, with its own sync: each tile
#   receives 1,536 floats (6,144 B) at 4 bytes per cycle, 1,536 cycles.
# - With `out` on the next tile too, a third sync and an exchange *out* follow the compute phase.
#   The same arithmetic now takes 5,118 cycles, three times as long, and none of the extra time
#   is arithmetic.
#
# The profile keeps every phase of every step. `viz.plot_trace` draws them, one row per tile, in
# the colours used throughout the course:

# %%
viz.plot_trace(add_engine(True, True).profile)

# %% [markdown]
# Read it from left to right: a grey sync (every tile waits at the barrier), the orange exchange
# that brings `z` in, another sync, the blue compute phase, a sync, and the exchange that takes
# `out` to the next tile. All 16 tiles do the same thing at the same time: that is the
# *bulk-synchronous* part. The strip below the trace adds the cycles up by phase: here compute
# is only 31 % of the run.

# %% [markdown]
# ## 2 · Reading the execution trace
#
# Real programs run many supersteps. `widgets.bsp_graph` builds a small one that the explorer in
# section 3 also uses: each tile scales its 2,000 floats with six `scale` vertices, then a `Copy`
# sends the last 16 floats of every tile to the next tile (a *halo*, as a stencil code would
# send its border to its neighbour), and the pair repeats three times. Three views of the same
# run, each answering a different question:

# %%
g, program = widgets.bsp_graph(SPEC, work=2000)
eng = ipukit.Engine(g, program)
profile = eng.run()
print(profile.summary())

# %% [markdown]
# `profile.summary()` is ipukit's version of Poplar's `engine.printProfileSummary`: totals by
# phase, then the costliest steps. The program ran 6 supersteps (3 `Execute`, 3 `Copy`) but only
# 2 *distinct* steps, each 3 times. The *balance* column is the mean compute cycles of the tiles
# that compute divided by the slowest one: 1.00 means no tile waits for another.
#
# **Where does the time go?** `viz.profile_bars` answers per step (each bar is one step's cycles ×
# how often it ran):

# %%
viz.profile_bars(profile)

# %% [markdown]
# **What happens when?** The execution trace draws every executed step in order:

# %%
viz.plot_trace(profile)


# %% [markdown]
# **What to notice.** The top axis names each step. Each `Execute 'work'` is a sync (150 cycles)
# and a compute phase (1,062 cycles: 6 × (10 + ⌈334 / 2⌉), the busiest worker has 334 floats);
# each `Copy` is a sync and 16 cycles of exchange (64 B per tile at 4 B per cycle). In the strip,
# compute takes 77 % of the run, the six syncs 22 %, and the exchange 1 %. Pale grey cells would
# be tiles *idle*, waiting for a slower one; there are none here.
#
# ### The price of a sync
#
# The sync costs the same whether a tile did a lot of work or very little. How much work does a
# tile need to make it worth it? One superstep, `y = 2 x`, six vertices per tile, with more and
# more floats per tile:

# %%
def scale_engine(sizes, vertices=6):
    # y = 2 x with sizes[t] floats on tile t, cut into `vertices` nearly equal vertices per tile
    sizes = np.asarray(sizes)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    g = ipukit.Graph(SPEC)
    x, y = g.add_variable(bounds[-1], name="x"), g.add_variable(bounds[-1], name="y")
    mapping = [[(bounds[t], bounds[t + 1])] for t in range(16)]
    g.set_tile_mapping(x, mapping)
    g.set_tile_mapping(y, mapping)
    cs = g.add_compute_set("scale")
    for tile in range(16):
        cuts = np.linspace(bounds[tile], bounds[tile + 1], min(vertices, sizes[tile]) + 1).astype(int)
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            g.add_vertex(cs, codelets.scale, tile=tile, a=x[lo:hi], out=y[lo:hi], factor=2.0)
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    values = np.arange(bounds[-1], dtype=np.float32)
    eng.write(x, values)
    eng.run()
    assert np.array_equal(eng.read(y), 2 * values)
    return eng


sweep = [4, 16, 64, 256, 1024, 4096, 16384]
compute = [scale_engine([n] * 16).profile.compute_cycles for n in sweep]
print("floats per tile   compute cycles   sync cycles   share of the superstep spent computing")
for n, c in zip(sweep, compute):
    print(f"{n:>15,}   {c:>14,}   {SPEC.sync_cycles:>11}   {100 * c / (c + SPEC.sync_cycles):>5.0f} %")

fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
labels = [f"{n:,}" for n in sweep]
share = np.array([100 * c / (c + SPEC.sync_cycles) for c in compute])
ax.bar(labels, share, color=PHASE_COLORS["compute"], label="compute")
ax.bar(labels, 100 - share, bottom=share, color=PHASE_COLORS["sync"], label="sync")
for i, c in enumerate(compute):              # each number inside its segment, or above the bar when too thin
    ax.text(i, share[i] / 2, f"{c:,}", ha="center", va="center", fontsize=8, color="white")
    if 100 - share[i] >= 8:
        ax.text(i, (100 + share[i]) / 2, f"{SPEC.sync_cycles}", ha="center", va="center", fontsize=8)
    else:
        ax.text(i, 101, f"{SPEC.sync_cycles}", ha="center", va="bottom", fontsize=8)
ax.set_ylim(0, 110)
ax.set_yticks(range(0, 101, 20))
ax.spines[["top", "right"]].set_visible(False)
ax.set_xlabel("floats per tile (y = 2 x, six vertices per tile)")
ax.set_ylabel("share of the superstep (%)")
ax.set_title("One superstep: compute against its sync (numbers: cycles)", fontsize=10)
ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1));

# %% [markdown]
# **What to notice.**
#
# - At 4 floats per tile the tile computes for 66 cycles (four vertices of one float, 6 × 11) and
#   waits 150 for the sync: more than two thirds of the superstep is the barrier. (The README's
#   first program has 4 floats per tile too, in one vertex: 6 × 12 = 72 cycles of compute.)
# - Compute and sync break even at about 200 floats per tile; at 1,024 the sync is 21 % of the
#   step, and only from about 4,096 floats per tile does it fade below 10 %.
# - On a full GC2 that is 1216 × 4,096 ≈ 5 million floats *per superstep* before the syncs stop
#   mattering. Small tensors spread over all tiles are mostly sync: it can be faster to use fewer
#   tiles, or to do more work between two syncs.
#
# How long a sync really takes on the chip is not published; ipukit assumes 150 cycles
# (`SPEC.sync_cycles`, marked as an assumption in `ipukit/core/spec.py`). The lesson does not depend on
# the exact value: any fixed cost per superstep must be paid for with enough work per tile.

# %% [markdown]
# ## 3 · Imbalance: the slowest tile sets the pace
#
# Because the sync waits for every tile, a compute phase lasts as long as its *slowest* tile.
# Work that is badly spread wastes every other tile's time. Here are 32,000 floats scaled on 16
# tiles twice: once evenly (2,000 per tile), and once with a careless mapping that leaves 6,000
# on tile 0 and about 1,733 on each of the others.

# %%
even = scale_engine([2000] * 16)
uneven = scale_engine([6000] + [1733] * 15)
for name, e in (("even", even), ("uneven", uneven)):
    p = e.profile
    busy = p.tile_cycles("compute")
    print(f"{name:<7} {busy.sum() // 6:>7,} worker cycles of work; compute phase {p.compute_cycles:,} cycles "
          f"(slowest tile {busy.argmax()}, average tile {busy.mean():,.0f}); balance {p.steps[0].balance:.2f}")

# %%
viz.plot_trace(uneven.profile, title="The same 32,000 floats, 6,000 of them on tile 0")

# %% [markdown]
# **What to notice.** Both runs do almost the same work in total, but the uneven one takes 2.9
# times as long: 3,060 cycles instead of 1,062. Tile 0 computes for the whole phase while the 15
# others finish after about a third of it and wait (pale grey) for the sync. The summary strip's
# **tile balance**, mean ÷ max of the computing tiles' cycles, is 0.35: on average a tile is busy
# 35 % of the phase. On 1216 tiles a single overloaded tile would hold up 1215 others in the same
# way. Balanced work per tile matters as much as the total amount of work.
#
# ### Inside the slowest tile: its workers
#
# Inside a tile the same rule applies one level down (notebook 01). The tile's *supervisor*
# starts its vertices in the order they were added, each on the next worker to become free (the
# lowest-numbered one if several are free), and the tile is busy for 6 × the time its last
# worker finishes. With equal vertices that deals them round-robin: vertices 1 to 6 go to
# workers 0 to 5 and the 7th back to worker 0. With uneven vertices it does not: while a long
# vertex keeps worker 0 busy, the next ones start on the workers that are free. A compute phase
# lasts 6 × (the last worker to finish on the slowest tile). Here is an irregular compute set, written as `(tile, floats)` for each `scale`
# vertex in the order they are added. The estimate of a `scale` vertex of `n` floats is
# 10 + ⌈n / 2⌉ worker cycles.

# %%
irregular = [(0, 1800)] + [(0, 200)] * 6 + [(1, 600)] * 6 + [(2, 150)] * 13 + [(3, 2400)]


def run_vertices(vertices, codelet_of=lambda tile: codelets.scale):
    # one scale vertex per (tile, floats), each on its own slice of x placed on that tile
    g = ipukit.Graph(SPEC)
    total = sum(n for _, n in vertices)
    x, y = g.add_variable(total, name="x"), g.add_variable(total, name="y")
    cs = g.add_compute_set("irregular")
    start = 0
    for tile, n in vertices:
        g.set_tile_mapping(x[start:start + n], tile)
        g.set_tile_mapping(y[start:start + n], tile)
        g.add_vertex(cs, codelet_of(tile), tile=tile, a=x[start:start + n], out=y[start:start + n], factor=2.0)
        start += n
    eng = ipukit.Engine(g, ipukit.Execute(cs))
    eng.run()
    return eng


estimates = [(tile, 10 + -(-n // 2)) for tile, n in irregular]     # (tile, worker cycles)
eng = run_vertices(irregular)
busy = eng.profile.tile_cycles("compute")
print("compute cycles of tiles 0-3 by the emulator:", busy[:4].tolist())
print("compute phase:", eng.profile.compute_cycles, "cycles")

# %% [markdown]
# Tile 3 has a single vertex of 2,400 floats: 10 + 1,200 = 1,210 worker cycles on one worker,
# 7,260 tile cycles, while five of its workers do nothing. It is the slowest tile, although tile 0
# has more floats (3,000). `plot_worker_slots` shows tile 0, where the first vertex is large: its
# seventh vertex does not wait for worker 0, it starts on worker 1, the first to become free:

# %%
viz.plot_worker_slots(eng, "irregular", tile=0)


# %% [markdown]
# **Two rules, one tile.** Tile 0's vertices are 910 worker cycles (1,800 floats) and six of 110
# (200 floats each). How long the tile takes depends on the rule that deals them:
#
# | rule | worker 0 | worker 1 | workers 2-5 | tile 0 busy for |
# |---|---|---|---|---|
# | round-robin (vertex k on worker k mod 6) | 910 + 110 = 1,020 | 110 | 110 | 6 × 1,020 = 6,120 cycles |
# | next free worker (what the supervisor does) | 910 | 110 + 110 = 220 | 110 | 6 × 910 = 5,460 cycles |
#
# The two rules agree whenever the vertices are equal, which is why "round-robin" is a fair
# summary for the evenly cut compute sets of the sections above, and they part ways as soon as
# one vertex is longer than the others. The emulator, like the chip, uses the second; exercise
# 02.1 asks you to predict it.

# %% [markdown]
# ### One vertex, six workers: MultiVertex
#
# Tile 3 is slow because a vertex runs on one worker: five of its six workers idle for the whole
# phase. Cutting the work into six vertices is one cure (section 2 does it); Poplar's other is the
# **MultiVertex**, one vertex that all six workers run, each call told its worker id and the
# worker count and doing its share. PopLibs keeps workers busy this way with few vertices (its
# 1-D elementwise vertices are MultiVertex), and so do `ipukit.ops.add`, `sub` and `mul`. In
# ipukit, `@ipukit.codelet(..., multi=True)`: the function takes two more parameters, `worker` and
# `workers`, which the engine fills in, and the cycle estimate is one worker's share. Here tile 3's
# vertex becomes one:

# %%
@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"}, multi=True,
                cycles=lambda out, workers: 10 + out / (2 * workers))   # one worker's share
def scale_all_workers(a, out, factor, worker, workers):
    # worker w scales elements w, w + workers, w + 2 workers, ...
    for i in range(worker, out.size, workers):
        out[i] = a[i] * factor


eng_multi = run_vertices(irregular, codelet_of=lambda tile: scale_all_workers if tile == 3 else codelets.scale)
print("compute cycles of tiles 0-3:", eng_multi.profile.tile_cycles("compute")[:4].tolist())
print("compute phase:", eng_multi.profile.compute_cycles, "cycles, instead of", eng.profile.compute_cycles)
viz.plot_worker_slots(eng_multi, "irregular", tile=3)

# %% [markdown]
# Tile 3's 2,400 floats now take 6 × (10 + 2,400 / 12) = 1,260 cycles on six workers instead of
# 7,260 on one, and the phase is set by tile 0 (5,460 cycles). A MultiVertex starts when all six
# workers are free and each runs its share, so it suits one big piece of work; many small
# vertices fill the workers just as well.

# %% [markdown]
# ### Exercise 02.1 · Predict a compute phase
#
# In `exercises/ex02_bsp.py`, write **`compute_phase_cycles(vertices, workers=6)`**. `vertices`
# lists `(tile, cycles)` pairs in the order the vertices were added: the tile each vertex runs on
# and its estimate in worker cycles. Return the compute phase's length in tile cycles, as the
# profile reports it: each vertex started on the next free worker of its tile (the lowest-numbered
# if several are free), each tile busy for `workers` × the time its last worker finishes, the phase
# as long as the slowest tile (0 for no vertices).
# About 6 lines.
#
# The next cell runs your function on the irregular compute set above; the grader compares it
# with the emulator on random compute sets, also with 4 workers per tile.

# %%
ex = load("ex02_bsp")                     # loads your file again, so your latest edits count
try:
    predicted = ex.compute_phase_cycles(estimates)
    print(f"your prediction: {predicted:,} cycles; the emulator: {eng.profile.compute_cycles:,} cycles")
except NotImplementedError as err:
    print(f"Not done yet: {err}")

# %%
ipukit.check("ex02_1")

# %% [markdown]
# ### Explore: work per tile and imbalance
#
# `widgets.bsp_explorer` runs the program of section 2 (three supersteps of `scale` plus a halo
# `Copy`) with the settings you choose and draws its trace. First one setting as a plain call:
# 2,000 floats per tile, and tile 0 with 100 % more.

# %%
widgets.bsp_experiment(work=2000, imbalance=100, vertices=6, tiles=16)

# %% [markdown]
# Tile 0's extra 2,000 floats stretch each compute phase from 1,062 to 2,064 cycles, and the 15
# other tiles spend almost half of every phase waiting: the run takes 7,140 cycles instead of
# 4,134. Now move the sliders (each change builds and runs a new engine; `scale` is a built-in
# codelet, so nothing is compiled) and predict before you look:
#
# - Set the extra work on tile 0 to 400 %. How much longer is the run? Which phase grows?
# - Set the elements per tile to 200. What share of the run is sync now? At 20,000?
# - Try 5, 6, 7 and 12 vertices per tile. Why is 7 slower than 6?
# - Does the number of tiles change the cycles? (Each tile keeps its own work.)

# %%
widgets.bsp_explorer(work=2000, imbalance=0, vertices=6, tiles=16)

# %% [markdown]
# ## 4 · Why BSP needs no locks
#
# On a shared-memory machine, threads that update the same data need locks or atomic
# instructions, and a forgotten one gives a *race*: a result that depends on which thread got
# there first, and changes from run to run. BSP rules races out by construction:
#
# - in a compute phase a tile reads and writes only its own SRAM, so no tile can see another
#   tile's half-finished work;
# - data moves only in the exchange, after the sync, when every tile has finished computing.
#
# One danger is left: the vertices of *one compute set* all run at the same time, on different
# tiles or on different workers of one tile. If two of them wrote the same element, or one read
# an element that another writes, the result would depend on which got there first. ipukit
# refuses both when the engine is built, before anything runs, with a `WriteConflictError` that
# names the two vertices and the element.
#
# ### Two writers of one element
#
# A first attempt at summing a tensor: each tile sums its block, straight into `total`.

# %%
g = ipukit.Graph(SPEC)
x = g.add_variable(16 * 1000, name="x")
total = g.add_variable(1, name="total")
g.map_linearly(x)                           # 1,000 floats per tile
g.set_tile_mapping(total, 0)
cs = g.add_compute_set("sum into total")
for tile in range(16):
    g.add_vertex(cs, codelets.reduce_sum, tile=tile, a=x[tile * 1000:(tile + 1) * 1000], out=total)
try:
    ipukit.Engine(g, ipukit.Execute(cs))
except WriteConflictError as err:
    print(f"WriteConflictError: {err}")

# %% [markdown]
# Sixteen vertices would write `total[0]` at the same moment; which value survives would depend
# on timing. The fix uses both tools of BSP: a **separate tensor** gives each vertex its own
# element to write (one *partial sum* per tile, on that tile), and a **separate compute set**, in
# the next superstep, adds the partial sums once they are all written:

# %%
g = ipukit.Graph(SPEC)
x = g.add_variable(16 * 1000, name="x")
total = g.add_variable(1, name="total")
partials = g.add_variable(16, name="partials")     # one element per tile: one writer each
g.map_linearly(x)
g.map_linearly(partials)                           # partials[t] on tile t
g.set_tile_mapping(total, 0)

per_tile = g.add_compute_set("partial sums")
for tile in range(16):
    g.add_vertex(per_tile, codelets.reduce_sum, tile=tile, a=x[tile * 1000:(tile + 1) * 1000],
                 out=partials[tile:tile + 1])
combine = g.add_compute_set("add the partials")
g.add_vertex(combine, codelets.reduce_sum, tile=0, a=partials, out=total)

eng = ipukit.Engine(g, ipukit.Sequence(ipukit.Execute(per_tile), ipukit.Execute(combine)))
values = np.random.default_rng(1).standard_normal(16 * 1000).astype(np.float32)
eng.write(x, values)
p = eng.run()
print(f"total = {eng.read(total)[0]:.4f}; NumPy (float64): {values.astype(np.float64).sum():.4f}")
print(f"{p.num_supersteps} supersteps, {p.total_cycles:,} cycles, {p.exchange_bytes} B over the exchange")
viz.plot_trace(p)

# %% [markdown]
# **What to notice.** Two supersteps, and no lock anywhere: the sync between them guarantees that
# all 16 partial sums are written before tile 0 reads them. The second `Execute` first gathers the
# 15 remote partial sums into tile 0 (60 B), then tile 0 adds 16 numbers on one worker while the
# other tiles wait. The first superstep is the expensive one here: each tile sums 1,000 floats
# on a *single* worker, 6 × (10 + 500) = 3,060 cycles, while five workers idle.
#
# ### Exercise 02.2 · Sum without locks
#
# Make the sum fast. Write **`sum_without_locks(graph, x, total)`**: `x` arrives mapped very
# unevenly (60 % of it on tile 0) and `total` is one element on tile 0; return a program that
# leaves `sum(x)` in `total`. Spread `x` evenly (a new mapping replaces the old one), give every
# *worker* of every tile its own partial sum, and add the partial sums in a second superstep.
# The grader checks the sum against NumPy, at most 2 supersteps, and the run's cycles against
# that plan run on the emulator (10 % slack). On the 16,000 floats below the plan takes 1,455
# cycles, against 3,634 for the one-worker version above. About 15 lines.

# %%
ex = load("ex02_bsp")
g = ipukit.Graph(SPEC)
x = g.add_variable(16 * 1000, name="x")
total = g.add_variable(1, name="total")
g.set_tile_mapping(x[:9600], 0)                    # 60 % on tile 0, the rest on tiles 1-3
g.map_linearly(x[9600:], tiles=range(1, 4))
g.set_tile_mapping(total, 0)
values = np.random.default_rng(1).standard_normal(16 * 1000).astype(np.float32)
try:
    program = ex.sum_without_locks(g, x, total)
except NotImplementedError as err:
    print(f"Not done yet: {err}")
else:
    eng = ipukit.Engine(g, program)
    eng.write(x, values)
    p = eng.run()
    print(f"total = {eng.read(total)[0]:.4f}; NumPy (float64): {values.astype(np.float64).sum():.4f}")
    print(f"{p.num_supersteps} supersteps, {p.total_cycles:,} cycles")
    display(viz.plot_trace(p))

# %%
ipukit.check("ex02_2")

# %% [markdown]
# ### A read of what another vertex writes
#
# The second kind of race is subtler. A 3-point smoothing on a ring replaces each element by the
# average of itself and its two neighbours:
#
# $$x_i \leftarrow \frac{x_{i-1} + x_i + x_{i+1}}{3}, \qquad x_{-1} = x_{n-1},\; x_n = x_0.$$
#
# Each tile's vertex needs one element from each neighbouring tile, a *halo*. The exercise module
# gives a codelet for one block, `smooth3`: its `window` field is the block plus one neighbour on
# each side, and `out` gets the block's new values. Done in place, in one compute set:

# %%
print(ex.smooth3)


def smooth_step(g, src, dst, name):
    # a compute set writing dst = the smoothing of src, one smooth3 vertex per tile's block
    n = src.size
    cs = g.add_compute_set(name)
    for tile, intervals in enumerate(g.tile_mapping(dst)):
        for lo, hi in intervals:
            left = src[lo - 1:lo] if lo > 0 else src[n - 1:]         # wraps around the ring
            right = src[hi:hi + 1] if hi < n else src[:1]
            g.add_vertex(cs, ex.smooth3, tile=tile, window=ipukit.concat([left, src[lo:hi], right]),
                         out=dst[lo:hi])
    return cs


g = ipukit.Graph(SPEC)
x = g.add_variable(16 * 8, name="x")
g.map_linearly(x)                           # 8 floats per tile
in_place = smooth_step(g, x, x, "smooth in place")
try:
    ipukit.Engine(g, ipukit.Execute(in_place))
except WriteConflictError as err:
    print(f"WriteConflictError: {err}")

# %% [markdown]
# Tile 0's vertex reads `x[127]`, its left neighbour around the ring, which tile 15's vertex
# writes in the same compute set; every block's edges are read by one vertex and written by
# another. Here the two vertices sit on different tiles, so the exchange before the compute
# phase would happen to deliver the old value; on one tile, two workers would truly race. A
# program whose meaning depends on where its vertices sit is a bug waiting to happen, and ipukit
# refuses it. The fix: write the new values into a **separate tensor** and copy them back, one
# more superstep per round:

# %%
x_next = g.add_variable(16 * 8, name="x_next")
g.set_tile_mapping(x_next, g.tile_mapping(x))    # the same tiles as x: the copy back stays on-tile
step = smooth_step(g, x, x_next, "smooth x -> x_next")
rounds = 2
eng = ipukit.Engine(g, ipukit.Repeat(rounds, ipukit.Sequence(ipukit.Execute(step), ipukit.Copy(x_next, x))))
ring = np.sin(np.linspace(0, 2 * np.pi, 128, endpoint=False)).astype(np.float32)
ring[::7] += 1                                   # a few spikes to smooth
eng.write(x, ring)
p = eng.run()
expected = ring.copy()
for _ in range(rounds):
    expected = (np.roll(expected, 1) + expected + np.roll(expected, -1)) / np.float32(3)
print(f"largest difference from NumPy: {np.abs(eng.read(x) - expected).max()}")
print(f"{rounds} rounds: {p.num_supersteps} supersteps, {p.exchange_bytes} B over the exchange, "
      f"{p.total_cycles:,} cycles")
viz.plot_trace(p)

# %% [markdown]
# **What to notice.** The result matches NumPy exactly. Each round is an `Execute` (a sync, the
# halo exchange of 8 B into every tile, a sync, the compute) and a `Copy` back (a sync and an
# on-tile copy): 2 supersteps and 3 syncs per round, for 140 cycles of compute. Three quarters of
# the trace is grey: with 8 floats per tile, this program is mostly synchronisation (section 2),
# and the copy back adds a superstep that does no useful work.
#
# ### Exercise 02.3 · Smooth a ring in supersteps
#
# The copy back is not needed: two tensors can take turns, one round reading `x` and writing
# the other, the next round the other way round. Write **`smooth(graph, x, iterations)`** in
# `exercises/ex02_bsp.py`: `x` is mapped with one contiguous block per tile; return a program
# that leaves in `x` the result of `iterations` rounds of smoothing, using `smooth3`. Budget: at
# most `iterations + 1` supersteps, and no more exchange than the halo (8 B per tile per round),
# so the second tensor must live on the same tiles as `x`. About 20 lines.

# %%
ex = load("ex02_bsp")
g = ipukit.Graph(SPEC)
x = g.add_variable(128, name="x")
g.map_linearly(x)
try:
    program = ex.smooth(g, x, 4)
except NotImplementedError as err:
    print(f"Not done yet: {err}")
else:
    eng = ipukit.Engine(g, program)
    eng.write(x, ring)
    p = eng.run()
    expected = ring.copy()
    for _ in range(4):
        expected = (np.roll(expected, 1) + expected + np.roll(expected, -1)) / np.float32(3)
    print(f"largest difference from NumPy: {np.abs(eng.read(x) - expected).max()}")
    print(f"4 rounds: {p.num_supersteps} supersteps, {p.exchange_bytes} B over the exchange, "
          f"{p.total_cycles:,} cycles")
    display(viz.plot_trace(p))

# %%
ipukit.check("ex02_3")

# %% [markdown]
# Separate tensors and separate compute sets are the two tools for every such conflict: a
# vertex gets elements of its own to write, and whatever must be read after it is written goes
# into the next superstep. Reductions over many tiles work this way, in supersteps of partial
# results (notebook 03 builds several), never with a shared accumulator.
#
# ## What ipukit leaves out
#
# The IPU synchronises its tiles in hardware; how many cycles a sync takes on the chip is not
# published, and ipukit's 150 cycles are an assumption (`ipukit/core/spec.py`). ipukit also gives every
# exchange its own sync, where a compiler could merge the exchange after one compute set with the
# one before the next and save a sync. Neither changes the rules this notebook is about: a
# phase lasts as long as its slowest tile, each superstep pays a fixed cost, and vertices of one
# compute set must not share what they write.

# %% [markdown]
# ## Recap
#
# - A BSP superstep is **compute** (each tile on its own SRAM), **sync** (every tile waits for
#   all), **exchange** (data moves between tiles). An `Execute` becomes an exchange in (for fields
#   that live elsewhere), the compute phase and an exchange out (for outputs that live elsewhere),
#   each after a sync.
# - `profile.summary()` gives the totals and the costliest steps, `viz.profile_bars` where the
#   cycles go per step, and `viz.plot_trace` what every tile does when, with the cycle shares and
#   the tile balance in its strip.
# - A sync costs the same whatever the work: with 150 cycles per sync, a tile needs a few hundred
#   floats per superstep to break even and thousands to make the sync negligible.
# - A compute phase lasts 6 × the last worker to finish on the slowest tile. Each vertex starts on
#   the next free worker (round-robin only when the vertices are equal); a MultiVertex
#   (`multi=True`) is one vertex run by all six workers. One overloaded tile makes all the others
#   wait: balance the work per tile, then per worker.
# - BSP needs no locks: tiles touch only their own memory while computing, and data moves only
#   between syncs. Within a compute set, ipukit refuses two writers of one element and a read of
#   what another vertex writes (`WriteConflictError`); the fixes are separate tensors and separate
#   compute sets.
#
# **Next: notebook 03 · Exchange and collectives**, which measures the exchange phase and builds
# broadcasts, reductions and all-reduces out of supersteps.
