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
# # 08 · Sparsity and MIMD
#
# So far every tile has done the same kind of work on an equal share of the data. Real models are
# less tidy. A pruned weight matrix keeps some blocks and drops others; a ResNeXt or EfficientNet
# layer is many small independent convolutions; a graph has nodes with three neighbours and nodes
# with three thousand. This is *irregular* work, uneven in size or in kind, and it is where the IPU
# differs most from a GPU. Each of the IPU's tiles runs its own program on its own data: it is a
# **MIMD** machine (multiple instruction streams, multiple data). A GPU drives many lanes with one
# instruction stream, **SIMD** style, so lanes with less work wait for the busiest one. This notebook
# measures what that difference buys on the emulator and, just as important, where it buys nothing.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. explain why a lock-step (SIMD) machine pays for uneven or divergent work, compute that
#    padding for a list of work items, and say how warps of 32 lanes and a load-balanced
#    (merge-path) kernel reduce it;
# 2. run a block-sparse matrix product on the emulator, check it against NumPy, show that its cycles
#    follow the non-zero blocks, and find the density where it stops beating the dense product;
# 3. spot load imbalance in a trace when the non-zero blocks cluster, and fix it by spreading the
#    work evenly over tiles and workers;
# 4. build a block-sparse matrix–vector product that works only where the blocks are;
# 5. say what the published grouped-convolution speed-ups rest on and what the emulator can show
#    of them, and name the kinds of work where the IPU does not win, against fair GPU kernels too.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# Everything below runs on a teaching-size GC2 of 16 tiles (96 workers); each experiment takes a
# second or two. The SIMD machine we compare with is a *model*, priced by formulas stated in
# section 1; only the IPU is emulated.

# %%
import numpy as np
import ipywidgets as W

import ipukit
from ipukit import Engine, Execute, codelets, models, ops, sparse, viz, widgets
from ipukit.errors import TileMemoryError
from ipukit.exercise import load
from ipukit.palette import PHASE_COLORS, SERIES
from ipukit.viz.roofline import HARDWARE

SPEC = ipukit.GC2.replace(tiles=16)      # 16 tiles x 6 workers
ex = load("ex08_sparsity")               # your exercise module: exercises/ex08_sparsity.py

# %% [markdown]
# ## 1 · One program per worker, or one for all lanes
#
# Picture 96 workers, each handed a list of jobs of different lengths. On the IPU each of the
# 16 tiles × 6 workers follows its own instruction stream: it starts its next job as soon as its
# last one ends. The superstep still ends when the busiest worker is done (notebook 02), but
# during it nobody waits for anybody.
#
# A SIMD machine has one instruction stream for a whole group of lanes (NVIDIA calls such a group
# a *warp*). All lanes of a group execute the same instruction at the same time, so the group is
# busy until its longest job ends, and lanes with shorter jobs are switched off and wait. That
# waiting is **padding**. When jobs in one group need different code (an `if` that goes one way
# for some lanes and the other way for others), the group runs both paths one after the other,
# and each lane idles through the path it does not take. That is **divergence**.
#
# Let's measure both. Here are 768 *ragged rows*: vectors whose lengths follow a long-tailed
# distribution, as the degrees of a graph's nodes or the lengths of sentences do. Most are short
# and a few are long. Each row is scaled by 2 by one `scale` vertex on tile `i % 16`, where the
# row's data lives.

# %%
rng = np.random.default_rng(8)
ROWS = 768
lengths = np.clip(np.round(rng.lognormal(4.5, 0.8, ROWS)).astype(int), 8, 1000)   # 8 to 1000 floats
bounds = np.concatenate([[0], np.cumsum(lengths)])
row_data = rng.standard_normal(int(bounds[-1])).astype(np.float32)

def ragged_rows(kinds=None):
    # One vertex per row on tile i % 16: scale by 2, or relu where kinds[i] == "relu".
    g = ipukit.Graph(SPEC)
    x = g.add_variable(int(bounds[-1]), name="rows")
    y = g.add_variable(int(bounds[-1]), name="out")
    cs = g.add_compute_set("ragged rows")
    for i in range(ROWS):
        tile, r = i % 16, slice(int(bounds[i]), int(bounds[i + 1]))
        g.set_tile_mapping(x[r], tile)
        g.set_tile_mapping(y[r], tile)
        if kinds is not None and kinds[i] == "relu":
            g.add_vertex(cs, codelets.relu, tile=tile, a=x[r], out=y[r])
        else:
            g.add_vertex(cs, codelets.scale, tile=tile, a=x[r], out=y[r], factor=2.0)
    eng = Engine(g, Execute(cs))
    eng.write(x, row_data)
    eng.run()
    return eng, y

rows_eng, rows_out = ragged_rows()
assert np.array_equal(rows_eng.read(rows_out), 2 * row_data)
compute = rows_eng.profile.steps[0].phases[-1]          # the compute phase of the one superstep
busiest = int(np.argmax(compute.tile_cycles))
print(f"row lengths: median {np.median(lengths):.0f}, mean {lengths.mean():.0f}, longest {lengths.max()} floats")
print(f"IPU: {rows_eng.profile.total_cycles:,} cycles ({compute.cycles:,} compute + 150 sync); "
      f"busiest tile {busiest} ({compute.tile_cycles.max():,}), idlest {compute.tile_cycles.min():,}")

# %% [markdown]
# Inside the busiest tile, each of the six workers ran its eight rows back to back:

# %%
viz.plot_worker_slots(rows_eng, "ragged rows", tile=busiest)

# %% [markdown]
# **What to notice.**
# - Each bar is one row. A worker moves on to its next row the moment one ends, and the next row
#   goes to whichever worker is free first: the long row on worker 5 delays worker 5 and nobody else.
# - The tile is done when its busiest worker is (6 × that worker's summed cycles), and the phase
#   when the busiest tile is. The trace of all 16 tiles shows that wait, in pale grey:

# %%
viz.plot_trace(rows_eng.profile, title="768 ragged rows dealt round-robin: each tile waits for the slowest")

# %% [markdown]
# Now the same 768 vertices on a lock-step machine. `sparse.SIMDMachine.like(SPEC)` makes one with
# the **same peak** as our 16 tiles: 96 lanes, each issuing one instruction every 6 cycles as a
# worker does. The arithmetic is the same, so only the execution model differs. The model's
# assumptions, stated so you can argue with them:
#
# - a kernel's work items are dealt to lanes in order, 96 at a time (a *group*); a group lasts as
#   long as its longest item; items of different kinds in one group run one kind after another;
# - an item costs what the IPU's vertex estimate says (here, the `scale` vertex's cycles);
# - each kernel starts with a launch, set to the IPU's sync (150 cycles) so that neither machine
#   pays more for starting a phase (an assumption: the two are not the same mechanism);
# - memory is free in this section (`memory=None`); section 2 adds it.
#
# `machine.price(engine)` takes the vertices the engine ran, in the order they were added, and
# prices them in lock-step. This first model is deliberately simple, and it favours the IPU: a real
# GPU runs its lanes in warps of 32, not as one group of 96. We make it fairer at the end of this
# section.

# %%
lockstep = sparse.SIMDMachine.like(SPEC, memory=None)
print(lockstep)
cost = lockstep.price(rows_eng)
print(cost.describe())
print(f"useful share of the lanes' time: {cost.utilisation:.0%}")
work = rows_eng.steps[0].compute.vertex_cycles          # each vertex's estimate, in worker cycles
viz.plot_lockstep(lockstep, work)

# %% [markdown]
# **What to notice.**
# - Eight groups of 96 rows run one after another, and each lasts as long as its longest row. The
#   long bars sticking out to the right set the pace; the pale area is padding.
# - Only a fifth of the lanes' time does useful work: 16,878 cycles, against 5,898 on the IPU for
#   the same vertices. The IPU also wastes time (its tiles wait at the end of the superstep), but a
#   worker wastes it once, at the end, not in every group.
#
# **Divergence.** Now let every other row need different code: `relu` instead of `scale`. The two
# codelets cost the same per element, so the IPU does not notice. In lock-step, every group holds
# both kinds and runs them one after the other:

# %%
kinds = np.where(np.arange(ROWS) % 2 == 0, "scale", "relu")
mixed_eng, _ = ragged_rows(kinds)
mixed = lockstep.price(mixed_eng)
print(f"IPU, two codelets:        {mixed_eng.profile.total_cycles:,} cycles")
print(f"lock-step, two code paths: {mixed.cycles:,} cycles ({mixed.utilisation:.0%} useful)")

# %% [markdown]
# A lock-step machine has a standard remedy: **sort the work by size** (and by kind) before dealing
# it out, so that each group holds items of similar length.

# %%
by_size = lockstep.kernel(np.sort(work)[::-1], name="rows sorted by length")
print(f"lock-step, rows sorted longest first: {by_size.cycles:,.0f} cycles ({by_size.utilisation:.0%} useful)")

# %% [markdown]
# Sorting brings the lock-step machine down to 5,850 cycles, a little under the IPU's 5,898, whose
# round-robin dealing of rows to tiles left its tiles uneven (exercise 08.2 fixes that). But sorting is work too: a
# pass over the sizes and a reordering of the data before the real work starts, and it needs the
# sizes in advance. On the IPU nothing of the kind was needed: each worker simply ran
# the rows it was given. So far the MIMD advantage looks like one sentence: irregular work costs a MIMD machine
# only its imbalance, while a lock-step machine pays padding in every group unless the work is
# reorganised first. A fairer lock-step machine puts that sentence to the test.
#
# ### A fairer lock-step machine: warps, and three ways to deal rows
#
# A GPU does not run all its lanes as one group. It deals them in **warps of 32** (NVIDIA, CUDA C++
# Programming Guide, "SIMT architecture"), and a warp slot starts its next warp as soon as the last
# one ends, so a long row holds up only its own warp. And a GPU library chooses how to deal rows to
# lanes:
#
# - **a thread per row** (CSR-scalar): what we priced so far;
# - **a warp per row** (CSR-vector): the 32 lanes of a warp share one row, so a long row finishes 32
#   times sooner, but a short row leaves most of the warp idle;
# - **merge-path** (Merrill & Garland, "Merge-based parallel sparse matrix-vector multiplication",
#   SC16): cut the whole work, every element and every row's end, into runs of equal length, one per
#   thread; each thread finds where its run starts with a binary search. No sort, and no data moves.
#
# `sparse.SIMDMachine.like(SPEC, warp=32)` deals its 96 lanes in warps, and `machine.rows(lengths,
# per_element, per_row, strategy)` prices the three ways; a row costs what the `scale` vertex
# charges, 10 cycles to start and half a cycle per float. The references are the IPU's round-robin
# run from above, and the best that any placement of these rows on 96 workers could do (exercise 08.2
# comes close to it):

# %%
warps = sparse.SIMDMachine.like(SPEC, memory=None, warp=32)
dealt = {way: warps.rows(lengths, 0.5, 10, way) for way in ("thread", "warp", "merge")}
bound = 6 * (10 + np.ceil(lengths / 2).sum() / 96) + SPEC.sync_cycles   # one vertex per worker, all equally busy
print(f"{'IPU, round-robin (emulator)':<44}{rows_eng.profile.total_cycles:>8,}")
print(f"{'IPU, best possible placement (a bound)':<44}{bound:>8,.0f}")
print(f"{'lock-step, one group of 96 lanes':<44}{cost.cycles:>8,}")
for way, label in (("thread", "a thread per row"), ("warp", "a warp per row"), ("merge", "merge-path")):
    print(f"{'lock-step, warps of 32, ' + label:<44}{dealt[way].cycles:>8,}")
viz.plot_lockstep(warps, work, title="A thread per row, in warps of 32 on three warp slots")

# %% [markdown]
# **What to notice.**
# - Warps of 32 alone change little for a thread per row (14,448 cycles against 16,878): every warp
#   still holds a long row or two, and the picture is pale with padding.
# - A warp per row is slower still (18,924 cycles): the median row has 90 floats, under three per
#   lane, and every lane pays the row's start. It pays off when rows are few and long.
# - **Merge-path beats the IPU's round-robin placement**: 4,218 cycles against 5,898. Only a balanced
#   IPU placement does better: the bound is 3,253 cycles, 1.3 × less.
#
# So the sentence above needs correcting. Irregular work costs a MIMD machine its imbalance and a
# lock-step machine its padding, and dealing the work out evenly removes most of either. Neither
# machine does that by itself: the IPU needs a balanced placement (exercise 08.2), the GPU a
# load-balanced kernel. What MIMD keeps for free is the absence of divergence: different code on
# different workers costs nothing extra, while a warp holding both kinds still runs both paths.
#
#

# %% [markdown]
# ### Exercise 08.1 · The padding cost of lock-step lanes
#
# In `exercises/ex08_sparsity.py`, write `lockstep_cycles(work, lanes, kinds=None)`. Deal the items
# to `lanes` lanes in order, `lanes` at a time; a group lasts as long as its longest item, and when
# `kinds` is given, the kinds present in a group run one after another, each as long as its own
# longest item. Return `(cycles, utilisation)`, where utilisation is `sum(work) / (lanes * cycles)`.
# The grader walks the groups item by item on fixed and random lists.
#
# Below, your function prices the ragged rows. Its cycles count lane-instructions, so six times
# them should equal the lock-step machine's compute cycles.

# %%
ex = load("ex08_sparsity")
print("small example: 4 lanes, work [1, 9, 2, 3, 5, 5]")
try:
    print("  yours:", ex.lockstep_cycles([1, 9, 2, 3, 5, 5], 4))
    cycles, util = ex.lockstep_cycles(work, 96, kinds)
    print(f"ragged rows, two code paths: yours {6 * cycles:,.0f} cycles ({util:.0%} useful), "
          f"the model {mixed.total('compute_cycles'):,.0f}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex08_1")

# %% [markdown]
# ## 2 · A block-sparse matrix product
#
# Pruning a network sets many of its weights to zero. If the zeros are scattered one by one, every
# non-zero needs its own index and brings very little work with it. If they come in whole
# **blocks** (say 16 × 16), the non-zero blocks are small dense matrices, and a product with them is
# a list of small dense products. Only those blocks are stored, row of blocks by row of blocks: the
# *block compressed sparse row* (BSR) format.
#
# `sparse.block_sparse_matmul(g, mask, block_size, n)` builds `C = A @ B` on the emulator, where A
# is block-sparse (its non-zero blocks are where the boolean `mask` is true) and B has `n` columns.
# Row of blocks i of C is the sum over the non-zero blocks (i, k) of A of `A[i, k] @ B[k]`. Its
# default placement, `"balanced"`, works like this:
#
# 1. take the list of non-zero blocks in BSR order and cut it into 16 runs of equal length, one
#    run per tile (lengths differ by one at most); each block of A is stored on the tile that
#    multiplies it;
# 2. on each tile, each share of a row of blocks becomes six `block_row_product` vertices, one per
#    worker, each for a sixth of B's columns, so all six workers get the same work;
# 3. a row of blocks that was cut between tiles leaves partial sums; a second superstep adds them
#    up on the tile that holds that row of C.
#
# So the work goes only where the blocks are, and every tile gets the same number of them. Here is
# a 256 × 256 matrix in 16 × 16 blocks with a quarter of them non-zero, times a 256 × 64 matrix:

# %%
M = K = 256
N = 64
BLOCK = 16
rng = np.random.default_rng(0)
A = rng.standard_normal((M, K)).astype(np.float32)
B = rng.standard_normal((K, N)).astype(np.float32)

def run_sparse(mask, placement="balanced", block=BLOCK):
    g = ipukit.Graph(SPEC)
    sp = sparse.block_sparse_matmul(g, mask, block, N, placement)
    eng = Engine(g, sp.program)
    sp.write(eng, A, B)                      # stores only the blocks of A where the mask is true
    eng.run()
    expected = (A * sparse.expand_mask(mask, block)).astype(np.float64) @ B    # NumPy, dense
    assert np.allclose(sp.read(eng), expected, rtol=1e-4, atol=1e-3), "does not match NumPy"
    return sp, eng

mask = sparse.random_block_mask(16, 16, density=0.25, seed=1)
sp, eng = run_sparse(mask)
p = eng.profile
print(f"{sp.nnz} of {mask.size} blocks non-zero; result matches NumPy")
print(f"{p.total_cycles:,} cycles: {p.cycles_by_phase()}")
print(f"supersteps: {p.num_supersteps} (block products, then {sp.split_rows} rows' partial sums)")

# %%
viz.plot_placement(sp)

# %% [markdown]
# **What to notice.**
# - Each colour is a tile. The runs follow the rows of blocks, so a tile's blocks sit in one or two
#   neighbouring rows, and a row cut between two tiles (two colours in one row) needs the
#   second superstep.
# - Every tile multiplies exactly 4 blocks. Its compute is 6 × (one vertex per worker, each 4 blocks
#   deep), and the exchange brings it the rows of B that its blocks multiply.
#
# How do the cycles change with the density? Below, each point is one run of the emulator (every
# result checked against NumPy), from 1 in 16 blocks to all of them. The dense line is
# `ops.matmul` on the full 256 × 256 × 64 product, planned over the same 16 tiles (notebook 05).

# %%
g = ipukit.Graph(SPEC)
a_t, b_t = ops.create_matmul_inputs(g, M, K, N)
c_t, prog = ops.matmul(g, a_t, b_t)
dense_eng = Engine(g, prog)
dense_eng.write(a_t, A)
dense_eng.write(b_t, B)
dense_eng.run()
assert np.allclose(dense_eng.read(c_t), A.astype(np.float64) @ B, rtol=1e-4, atol=1e-3)
DENSE = dense_eng.profile.total_cycles

v100 = sparse.SIMDMachine.like(SPEC, warp=32)        # same peak; memory with a V100's balance; warps of 32


def merge_path_bsr(mask, block=BLOCK):
    # The product as a merge-path kernel: each row of blocks (one per sixth of B's columns, as the
    # vertices) is a row of work items, one per non-zero block, cut evenly over all lanes; a second
    # kernel adds the partial sums of the rows that were split.
    cols = N / 6
    return v100.rows(np.repeat(mask.sum(axis=1), 6), 2 * block * block * cols / SPEC.flops_per_cycle("float32"), 10,
                     "merge", reduce_cycles=block * cols, nbytes=4 * (int(mask.sum()) * block * block + K * N + M * N))


densities = np.arange(1, 17) / 16
sweep = []
for d in densities:
    m = sparse.random_block_mask(16, 16, d, seed=1)
    _, balanced = run_sparse(m)
    _, by_rows = run_sparse(m, "rows")
    sweep.append((balanced.profile.total_cycles, v100.price(by_rows), merge_path_bsr(m)))

fig = viz.IPUFigure(figsize=(9, 4), layout="constrained")
ax = fig.subplots()
ax.plot(densities, [s[0] for s in sweep], "o-", color=SERIES[0], label="IPU: block-sparse, balanced (emulator)")
ax.axhline(DENSE, color=SERIES[0], ls="--", label=f"IPU: dense ops.matmul (emulator), {DENSE:,}")
ax.plot(densities, [s[1].cycles for s in sweep], "s-", color=SERIES[1], label="lock-step: BSR kernel, a thread per row (model)")
ax.axhline(sweep[-1][1].cycles, color=SERIES[1], ls="--", label=f"lock-step: every block (model), {sweep[-1][1].cycles:,}")
ax.plot(densities, [s[2].cycles for s in sweep], "^-", color=SERIES[3], label="lock-step: merge-path kernel (model)")
ax.set_xlabel("density: share of non-zero 16 x 16 blocks")
ax.set_ylabel("cycles")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8)
ax.set_title("256 x 256 block-sparse A times 256 x 64 B on 16 tiles")
fig

# %%
cross = next(d for d, s in zip(densities, sweep) if s[0] > DENSE)
print(f"the block-sparse product costs more than the dense one from {cross:.0%} density on "
      f"({sweep[list(densities).index(cross)][0]:,} against {DENSE:,} cycles)")
print(f"at 1/16 density: {sweep[0][0]:,} cycles, {DENSE / sweep[0][0]:.1f}x faster than dense")
faster = [d for d, s in zip(densities, sweep) if s[2].cycles < s[0]]
print(f"the lock-step merge-path kernel beats the balanced IPU placement at {len(faster)} of {len(densities)} "
      f"densities, from {min(faster):.0%} on")

# %% [markdown]
# **What to notice, on the IPU (blue).**
# - The cycles climb with the number of non-zero blocks: every 16 more blocks give each tile one
#   more block to multiply and one more row of B to receive.
# - The dense product is faster from 81 % density on. At full density the block-sparse version
#   does the same arithmetic, but every tile receives all of B (15,360 exchange cycles), where the
#   matmul planner splits the product so that each tile receives much less (notebook 05).
# - At low density the fixed costs show: the syncs of two supersteps, and a tile with one block
#   still runs six vertices with their start-up cycles.
# - The emulator charges a 16 × 16 block product at the AMP unit's full rate, whatever its size.
#   That is optimistic for small blocks: any per-block overhead a real kernel pays would slow the
#   block-sparse product and move the crossover to a lower density.
#
# **And the lock-step models (orange and purple), in warps of 32.** Orange runs the usual BSR
# kernel: one lane per row of blocks and sixth of B's columns (the same vertices as the `"rows"`
# placement of section 3), each looping over its row's non-zero blocks. Purple is merge-path: the
# same non-zero blocks cut evenly over all 96 lanes, and a second kernel for the partial sums of
# split rows, as the IPU's balanced placement does. Its memory, `SIMDMachine.like(SPEC)`, keeps a V100's ratio
# of peak FLOP/s to memory bandwidth (the V100 datasheet: 15.7 TFLOPS in float32 over 900 GB/s,
# 17.4 FLOP per byte), and it overlaps memory with compute; every distinct byte moves once.
# - With a *uniform* random mask, it keeps up with the IPU and is often faster! Its rows have
#   similar numbers of blocks, so the padding is moderate (about half the lanes at 25 % density),
#   and its memory traffic hides behind its compute. The IPU's superstep, by contrast, first
#   exchanges the rows of B and only then computes: BSP does not overlap the two.
# - **Merge-path is faster than the IPU's balanced placement from 3 blocks in 16 upward** (at a
#   quarter of the blocks, 14,722 cycles against 17,920), and by up to 1.6 × at higher densities. Only
#   at the lowest densities, where its fixed costs (two launches, reading all of B and C) dominate,
#   does the IPU win.
# - So MIMD is no blanket win on block-sparse work; against a load-balanced GPU kernel it loses in
#   this model. Section 3 asks whether clustering changes that.

# %% [markdown]
# ## 3 · When the blocks cluster
#
# Real sparsity need not be uniform: pruning can leave some output neurons with many weights and
# others with almost none.
# `random_block_mask(..., clustering=c)` packs a share `c` of the non-zero blocks into whole rows
# (chosen at random), and scatters the rest. At `clustering=1` a 25 % mask is four dense rows of
# blocks and twelve empty ones.
#
# Two placements of the same product:
# - `"rows"`: row of blocks i goes to tile `i % 16`, whole. Simple, and no partial sums to add.
# - `"balanced"`: the equal runs of section 2, at the price of a second superstep.

# %%
clustered = sparse.random_block_mask(16, 16, density=0.25, clustering=1.0, seed=1)
sp_rows, eng_rows = run_sparse(clustered, "rows")
sp_bal, eng_bal = run_sparse(clustered, "balanced")
for label, e in (("rows", eng_rows), ("balanced", eng_bal)):
    q = e.profile
    print(f"{label:9}{q.total_cycles:>8,} cycles  {q.cycles_by_phase()}  tile balance {q.steps[0].balance:.2f}")
print(f"lock-step BSR kernel, a thread per row (model): {v100.price(eng_rows).cycles:,} cycles")
print(f"lock-step merge-path kernel (model): {merge_path_bsr(clustered).cycles:,} cycles")
viz.plot_placement(sp_rows)

# %%
viz.plot_trace(eng_rows.profile, title="'rows': four tiles hold the four dense rows of blocks; twelve wait")

# %%
viz.plot_trace(eng_bal.profile, title="'balanced': every tile multiplies 4 blocks, then partial sums are added")

# %% [markdown]
# **What to notice.**
# - With `"rows"`, four tiles multiply 16 blocks each and twelve multiply nothing: the tile balance
#   is 0.26, and the product takes as long as a fully dense one (50,024 cycles), at a quarter of the
#   arithmetic.
# - `"balanced"` gives every tile 4 blocks: 20,012 cycles, 2.5 × faster. It pays for a second
#   superstep (the second compute block in the trace, with its exchange of partial sums), which
#   costs far less than the imbalance it removes.
# - The lock-step BSR kernel with a thread per row (34,590 cycles) pads every lane to the densest
#   row. The merge-path kernel splits long rows and adds partial sums, just as the IPU's balanced
#   placement does, and does not notice the clustering at all: 14,722 cycles, **faster than the
#   IPU's 20,012** in this model, because its memory traffic hides behind its compute while the IPU
#   exchanges before it computes.
#
# Here is the whole range, from uniform to fully clustered, at 25 % density:

# %%
levels = [0.0, 0.25, 0.5, 0.75, 1.0]
runs = []
for c in levels:
    m = sparse.random_block_mask(16, 16, 0.25, clustering=c, seed=1)
    runs.append((run_sparse(m, "balanced")[1].profile.total_cycles, run_sparse(m, "rows")[1]))

fig = viz.IPUFigure(figsize=(9, 3.6), layout="constrained")
ax = fig.subplots()
ax.plot(levels, [r[0] for r in runs], "o-", color=SERIES[0], label="IPU, 'balanced' (emulator)")
ax.plot(levels, [r[1].profile.total_cycles for r in runs], "o--", color=SERIES[2], label="IPU, 'rows' (emulator)")
ax.plot(levels, [v100.price(r[1]).cycles for r in runs], "s-", color=SERIES[1],
        label="lock-step BSR kernel, a thread per row (model)")
ax.plot(levels, [merge_path_bsr(sparse.random_block_mask(16, 16, 0.25, clustering=c, seed=1)).cycles for c in levels],
        "^-", color=SERIES[3], label="lock-step merge-path kernel (model)")
ax.set_xticks(levels)
ax.set_xlabel("clustering: share of the non-zero blocks packed into whole rows")
ax.set_ylabel("cycles")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8)
ax.set_title("25 % of the blocks non-zero, from scattered to clustered")
fig

# %% [markdown]
# **What to notice.** As soon as a quarter of the blocks cluster, one row of blocks is full, and
# both the `"rows"` placement and the thread-per-row lock-step kernel take as long as that row: like
# the dense product. The balanced placement moves little (18,000 to 22,000 cycles). MIMD does not
# balance work by itself (`"rows"` runs on the same tiles), but it lets each tile run a different
# amount of different work, so the placement is free to even it out. The merge-path kernel evens it
# out too, on lanes that run in step, and stays below both IPU placements at every clustering: the
# advantage of MIMD on clustered blocks holds against the naive GPU kernel only.
#
# Try it yourself: density, block size and clustering. Left, the balanced placement; right, the
# cycles of each way to compute the product, split by where they go. For the lock-step machine,
# *padding* is lane time spent waiting in a group, and *memory* is the memory time not hidden behind
# compute.

# %%
from matplotlib.patches import Patch

_dense_cache = {}

def lockstep_bars(ax, y, cost, label):
    useful, padding = cost.total("useful_cycles"), cost.total("compute_cycles") - cost.total("useful_cycles")
    memory = max(0.0, cost.total("memory_cycles") - cost.total("compute_cycles"))
    left = 0.0
    for width, color, hatch in ((useful, PHASE_COLORS["compute"], None), (padding, PHASE_COLORS["idle"], "//"),
                                (memory, PHASE_COLORS["exchange"], None), (cost.total("launch_cycles"),
                                                                           PHASE_COLORS["sync"], None)):
        ax.barh(y, width, left=left, color=color, hatch=hatch, edgecolor="0.5" if hatch else "none", height=0.7)
        left += width
    ax.text(left, y, f" {cost.cycles:,}", va="center", fontsize=8)

def sparse_experiment(density=0.25, block_size=16, clustering=0.0):
    blocks = M // block_size
    m = sparse.random_block_mask(blocks, blocks, density, clustering, seed=1)
    sp_b, e_bal = run_sparse(m, "balanced", block_size)
    _, e_rows = run_sparse(m, "rows", block_size)
    if block_size not in _dense_cache:
        _dense_cache[block_size] = v100.price(run_sparse(np.ones((blocks, blocks), bool), "rows", block_size)[1])
    fig = viz.IPUFigure(figsize=(12, 3.8), layout="constrained")
    grid, ax = fig.subplots(1, 2, width_ratios=[1, 2.4])
    viz.draw_placement(grid, sp_b)
    grid.set_title(f"'balanced': {sp_b.nnz} non-zero blocks, by tile", fontsize=9)
    labels = ["IPU dense ops.matmul", "IPU block-sparse 'rows'", "IPU block-sparse 'balanced'",
              "lock-step BSR, every block", "lock-step BSR, a thread per row", "lock-step merge-path"]
    for y, prof in enumerate((dense_eng.profile, e_rows.profile, e_bal.profile)):
        left = 0
        for kind in ("compute", "exchange", "sync"):
            ax.barh(y, prof.cycles_by_phase()[kind], left=left, color=PHASE_COLORS[kind], height=0.7)
            left += prof.cycles_by_phase()[kind]
        ax.text(left, y, f" {prof.total_cycles:,}", va="center", fontsize=8)
    lockstep_bars(ax, 3, _dense_cache[block_size], labels[3])
    lockstep_bars(ax, 4, v100.price(e_rows), labels[4])
    merged = merge_path_bsr(m, block_size)
    lockstep_bars(ax, 5, merged, labels[5])
    ax.set_yticks(range(6), labels, fontsize=8)
    ax.set_ylim(5.6, -0.6)
    ax.set_xlim(0, 1.15 * max(dense_eng.profile.total_cycles, e_rows.profile.total_cycles,
                              _dense_cache[block_size].cycles, v100.price(e_rows).cycles, merged.cycles))
    ax.set_xlabel("cycles")
    ax.legend([Patch(color=PHASE_COLORS[k]) for k in ("compute", "exchange", "sync")]
              + [Patch(facecolor=PHASE_COLORS["idle"], hatch="//", edgecolor="0.5")],
              ["compute (lock-step: useful work)", "exchange (lock-step: memory\ntime not hidden by compute)",
               "sync (lock-step: launch)", "lock-step: padding"], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1), frameon=False)
    fig.suptitle(f"{M} x {M} A at {density:.0%} density, {block_size} x {block_size} blocks, "
                 f"clustering {clustering:.2f}, times {M} x {N} B on 16 tiles")
    return fig

sparse_experiment(0.25, 16, 1.0)

# %%
widgets.interactive_figure(
    sparse_experiment,
    density=W.SelectionSlider(options=[0.0625, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0], value=0.25,
                              description="density", continuous_update=False),
    block_size=W.Dropdown(options=[8, 16, 32], value=16, description="block size"),
    clustering=W.SelectionSlider(options=[0.0, 0.25, 0.5, 0.75, 1.0], value=0.0, description="clustering",
                                 continuous_update=False))

# %% [markdown]
# Things to try: 32 × 32 blocks make only 8 rows of blocks, so `"rows"` leaves half the tiles idle
# even on a uniform mask, while `"balanced"` still spreads the blocks. 8 × 8 blocks make more, smaller
# vertices, and their start-up cycles start to show.
#
# ### Exercise 08.2 · Balance uneven work over tiles and workers
#
# The ragged rows of section 1 were dealt round-robin, and the tiles finished far apart. Write
# `balance_items(costs, tiles, workers=6)`: give every item to one worker of one tile so that the
# slowest tile (6 × its busiest worker's summed costs) is as fast as possible. Return
# `assignment[t][w]`, the item indices worker w of tile t runs. The grader compares your slowest
# tile with the **largest-first greedy** rule (take the items from the biggest down, and give each
# to the least loaded of all tiles × workers), which yours must match or beat, and runs the
# result on the emulator.
#
# Below, your assignment is built for real. Each worker's rows are laid out one after another on
# its tile and scaled by a single `scale` vertex, checked against NumPy. A row costs one cycle per
# two floats (the `scale` vertex's rate, one 64-bit vector per cycle), and each worker's vertex adds
# one 10-cycle start.

# %%
row_cycles = np.ceil(lengths / 2)                 # scale: one 64-bit vector (2 floats) per cycle

def balanced_rows(assignment):
    # Lay each worker's rows out one after another on its tile; one scale vertex per worker.
    g = ipukit.Graph(SPEC)
    order = [i for per_tile in assignment for mine in per_tile for i in mine]
    x = g.add_variable(int(bounds[-1]), name="rows")
    y = g.add_variable(int(bounds[-1]), name="out")
    cs = g.add_compute_set("balanced rows")
    start = 0
    for tile, per_tile in enumerate(assignment):
        for mine in per_tile:
            n = int(lengths[mine].sum())
            if n:
                part = slice(start, start + n)
                g.set_tile_mapping(x[part], tile)
                g.set_tile_mapping(y[part], tile)
                g.add_vertex(cs, codelets.scale, tile=tile, a=x[part], out=y[part], factor=2.0)
                start += n
    eng = Engine(g, Execute(cs))
    laid_out = np.concatenate([row_data[bounds[i]:bounds[i + 1]] for i in order])
    eng.write(x, laid_out)
    eng.run()
    assert np.array_equal(eng.read(y), 2 * laid_out)
    return eng

round_robin = [[[i for i in range(ROWS) if i % 16 == t and (i // 16) % 6 == w] for w in range(6)]
               for t in range(16)]            # what section 1 did: tile i % 16, workers in turn
ex = load("ex08_sparsity")
try:
    assignment = ex.balance_items(row_cycles.tolist(), 16)
    for label, plan in (("round-robin", round_robin), ("yours", assignment)):
        slots = np.array([[row_cycles[mine].sum() for mine in per_tile] for per_tile in plan])
        q = balanced_rows(plan).profile
        print(f"{label:12} slowest tile by the rule {6 * (10 + slots.max()):>6,.0f} cycles; on the emulator "
              f"{q.compute_cycles:>6,} compute cycles, tile balance {q.steps[0].balance:.2f}")
    best = 6 * (10 + row_cycles.sum() / 96)
    print(f"{'':12} no placement beats 6 x (10 + {row_cycles.sum():,.0f} / 96) = {best:,.0f}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex08_2")

# %%
try:
    balanced_profile = balanced_rows(ex.balance_items(row_cycles.tolist(), 16)).profile
except NotImplementedError:
    balanced_profile = None
    print("Do exercise 08.2 to see the balanced trace.")
if balanced_profile is not None:
    display(viz.plot_trace(balanced_profile, title="The same rows, balanced by your function"))


# %% [markdown]
# **What to notice** (once your function passes). Compare with the trace of section 1: every tile now
# ends within about 2 % of the slowest, and the superstep is about 1.8 × shorter (3,138 compute cycles
# against 5,658 for the round-robin rows laid out the same way), within 2 % of the bound no placement
# can beat. Nothing about the machine changed, only where the work went.

# %% [markdown]
# ## 4 · Build it yourself: a block-sparse matrix–vector product
#
# ### Exercise 08.3 · Work only where the blocks are
#
# Write `block_sparse_matvec(graph, mask, a, x, y)`, which returns a program computing `y = A @ x`
# for a block-sparse A. The tensor `a` holds A's non-zero blocks in BSR order, `a[q]` being one
# (bs, bs) block, and row of blocks i lives on the tile that holds `y[i * bs]`. Put each row's
# work on its own tile, so that only the blocks of x that a row needs are exchanged and A never
# moves. `sparse.block_row_product` sums `a[r] @ b[r]` over a stack of blocks; a row with no
# non-zero block gets zeros from `codelets.fill`.
#
# The grader compares with NumPy, checks that no more than the needed blocks of x are exchanged
# (`nnz × bs × 4` bytes), and runs your function on a matrix with one block in eight and on one
# with every block: the first must take at most 30 % of the second's compute cycles.

# %%
def matvec_demo(mask, bs=8, tiles=4):
    g = ipukit.Graph(SPEC.replace(tiles=tiles))
    rows, cols = mask.shape
    a = g.add_variable((int(mask.sum()), bs, bs), name="a")
    x = g.add_variable(cols * bs, name="x")
    y = g.add_variable(rows * bs, name="y")
    g.map_linearly(x, grain_size=bs)
    starts = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
    for i in range(rows):                     # row of blocks i, and its part of y, on tile i % tiles
        g.set_tile_mapping(y[i * bs:(i + 1) * bs], i % tiles)
        g.set_tile_mapping(a[starts[i]:starts[i + 1]], i % tiles)
    eng = Engine(g, ex.block_sparse_matvec(g, mask, a, x, y))
    dense = (rng.standard_normal((rows * bs, cols * bs)) * sparse.expand_mask(mask, bs)).astype(np.float32)
    xv = rng.standard_normal(cols * bs).astype(np.float32)
    eng.write(a, dense.reshape(rows, bs, cols, bs).transpose(0, 2, 1, 3)[mask])
    eng.write(x, xv)
    eng.run()
    print(f"{int(mask.sum())} blocks: matches NumPy: {np.allclose(eng.read(y), dense @ xv, rtol=1e-4, atol=1e-4)}; "
          f"{eng.profile.compute_cycles:,} compute cycles, {eng.profile.exchange_bytes:,} B exchanged")

ex = load("ex08_sparsity")
try:
    matvec_demo(sparse.random_block_mask(8, 16, 0.125, seed=2))
    matvec_demo(np.ones((8, 16), bool))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex08_3")


# %% [markdown]
# ## 5 · Grouped convolutions
#
# A convolution with `groups = G` splits its C input channels and O filters into G independent
# groups: group g's filters only see group g's channels. ResNeXt-50 (32×4d; Xie et al., 2017) splits
# its 3 × 3 convolutions into 32 groups (of 4 channels each in its first stage), and EfficientNet and
# MobileNet use *depthwise* ones, with one channel per group. Each group is a small, independent
# convolution that needs 1/G of the FLOPs of the full one.
#
# On the IPU, independent groups map naturally onto tiles: `ops.conv2d(..., groups=G)` turns the
# convolution into a batched matrix product over image patches, the groups side by side on
# different tiles, all in the same supersteps. Here are 64 channels of 8 × 8 pixels, 64 filters of
# 3 × 3 and batch size 1, with 1 to 64 groups. Three results are checked against a plain NumPy
# convolution.

# %%
def conv_numpy(x, w, groups):
    n, c, h, wd = x.shape
    o, cg = w.shape[:2]
    og = o // groups
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, o, h, wd))
    for f in range(o):
        first = (f // og) * cg                  # this filter's group's first channel
        for ch in range(cg):
            for i in range(3):
                for j in range(3):
                    y[:, f] += w[f, ch, i, j] * xp[:, first + ch, i:i + h, j:j + wd]
    return y

def run_conv(groups, batch=1, channels=64, size=8, check=False):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((batch, channels, size, size), name="x")
    w = g.add_variable((channels, channels // groups, 3, 3), name="w")
    g.map_linearly(x)
    g.map_linearly(w)
    y, prog = ops.conv2d(g, x, w, padding=1, groups=groups)
    eng = Engine(g, prog)
    xv = rng.standard_normal(x.shape).astype(np.float32)
    wv = rng.standard_normal(w.shape).astype(np.float32)
    eng.write(x, xv)
    eng.write(w, wv)
    eng.run()
    if check:
        assert np.allclose(eng.read(y), conv_numpy(xv, wv, groups), rtol=1e-4, atol=1e-3)
    return eng.profile

GROUPS = [1, 2, 4, 8, 16, 32, 64]
print(f"{'groups':>6}{'MFLOP':>7}{'IPU cycles':>12}   {'compute + exchange + sync':<27}"
      f"{'lock-step: a kernel per group':>30}{'one kernel for all':>20}")
conv_rows = []
for G in GROUPS:
    prof = run_conv(G, check=G in (1, 8, 64))
    per_group = v100.grouped_conv(SPEC, 1, 64, 8, 64, 3, G)
    together = v100.grouped_conv(SPEC, 1, 64, 8, 64, 3, G, per_group=False)
    conv_rows.append((G, prof.total_cycles, per_group.cycles, together.cycles))
    phases = prof.cycles_by_phase()
    split = f"{phases['compute']:,} + {phases['exchange']:,} + {phases['sync']}"
    print(f"{G:>6}{2 * 64 * 64 * 9 * 64 / G / 1e6:>7.2f}{prof.total_cycles:>12,}   {split:<27}"
          f"{per_group.cycles:>30,}{together.cycles:>20,}")

# %%
fig = viz.IPUFigure(figsize=(9, 3.8), layout="constrained")
ax = fig.subplots()
ax.plot(GROUPS, [r[1] for r in conv_rows], "o-", color=SERIES[0], label="IPU, ops.conv2d (emulator)")
ax.plot(GROUPS, [r[2] for r in conv_rows], "s-", color=SERIES[1], label="lock-step, one kernel per group (model)")
ax.plot(GROUPS, [r[3] for r in conv_rows], "s--", color=SERIES[4],
        label="lock-step, all groups in one kernel (model)")
ax.set_xscale("log", base=2)
ax.set_xticks(GROUPS, [str(G) for G in GROUPS])
ax.set_ylim(bottom=0)
ax.set_xlabel("groups (64 = depthwise)")
ax.set_ylabel("cycles")
ax.legend(fontsize=8)
ax.set_title("3 x 3 convolution, 64 -> 64 channels, 8 x 8 pixels, batch 1, on 16 tiles")
fig

# %% [markdown]
# **What to notice.**
# - On the IPU the cycles fall with the FLOPs, by 1.6 to 1.9 × per doubling of the groups up to
#   16 groups, then level off where the two syncs and the exchange of image patches dominate. All
#   groups run in the same supersteps, however many there are.
# - The lock-step model, one lane per output pixel, gets the same FLOP saving while its groups are
#   big. A library that runs **one kernel per group** then pays a launch per group: 64 launches for
#   the depthwise case, and a group of 64 outputs fills two warps of 32, two thirds of the 96 lanes.
#   (Warps change nothing else here: every output of a convolution costs the same.) From 16
#   groups on the IPU is faster, 3.4 × at 64 groups.
# - A library that runs **all groups in one kernel** keeps every lane busy and pays one launch: in
#   this model it matches or beats the IPU everywhere. At 64 groups it is memory-bound: a depthwise
#   convolution does only 2 × 9 FLOP per input value.
#
# And batch size? With one kernel per group, a bigger batch gives each group more outputs, so more
# lanes fill and the launches are shared over more work. On the IPU the work grows with the batch:

# %%
print(f"{'batch':>5}{'IPU cycles':>12}{'lock-step: a kernel per group':>31}{'lanes busy':>12}")
for batch in (1, 4, 16):
    prof = run_conv(32, batch=batch)
    per_group = v100.grouped_conv(SPEC, batch, 64, 8, 64, 3, 32)
    print(f"{batch:>5}{prof.total_cycles:>12,}{per_group.cycles:>31,}{per_group.utilisation:>12.0%}")

# %% [markdown]
# **What to notice.** At batch size 1 the IPU is 1.8 × faster than the machine that launches a kernel
# per group; at batch size 16 that machine is ahead, its lanes 97 % busy and its 32 launches
# shared over 16 times the work. Small batches favour the IPU and large ones the lock-step machine:
# the same pattern as the published results below.

# %% [markdown]
# **The published claims.** Jia et al. (2019), measuring a GC2 against GPUs with microbenchmarks,
# report speed-ups of up to about 700 × for ResNeXt-style grouped convolutions at small batch.
# Their reason is the one this section models: a GPU needs batches of 512 or more to work
# efficiently, while the IPU's independent tiles handle small independent groups. Graphcore's own
# benchmark pages credit the IPU's "fine-grained architecture" for its results on EfficientNet and
# ResNeXt, for the Mk1 (GC2), and claim gains of orders of magnitude for such models on the Mk2
# (GC200) against the DGX A100 (Graphcore's Mk1 and Mk2 benchmark pages).
#
# **What the emulator shows, and what it cannot.** It shows the IPU side: grouped convolutions cost
# the IPU in proportion to their FLOPs until fixed costs take over, with every group in the same
# supersteps, at batch size 1. The lock-step side is a model with one lane per output and a launch
# that costs as much as the IPU's sync. That is an assumption; real launch costs, caches, tensor
# cores and the many kernels a library chooses from are not modelled. In this model the gap comes
# from launching a kernel per group at small batch, and it closes when all groups share one kernel.
# The 700 × of the paper is a measurement of real libraries on real hardware; the emulator neither
# confirms nor refutes it.

# %% [markdown]
# ## 6 · Where the IPU does not win
#
# **Large dense matrix products.** Dense work is regular: every lane has the same job, so a SIMD
# machine pays no padding, and its speed is set by its peak. In section 2, the lock-step machine
# of equal peak did the dense 256 × 256 × 64 product in fewer cycles than the emulated IPU
# (34,002 against 44,244), which also exchanges operands before each compute phase. Real chips do not have equal peaks:

# %%
print(f"{'device':24}{'float32 TFLOPS':>15}{'float16 TFLOPS':>16}")
for name in ("V100", "A100", "GC2", "GC200"):
    peak = HARDWARE[name]["peak_flops"]
    print(f"{HARDWARE[name]['label']:24}{peak['float32'] / 1e12:>15.1f}{peak['float16'] / 1e12:>16.1f}")

# %% [markdown]
# A GC2 has twice a V100's float32 peak, and Jia et al. (2019) found it faster on float32 matrix
# products. In mixed precision (float16 products, float32 sums) the V100's tensor cores reach about
# the IPU's peak, and they found no clear winner. The A100 has more float16 peak than the GC200. For
# large dense products at high arithmetic intensity, the IPU's MIMD design brings nothing; the peak
# does.
#
# **Data that does not fit in SRAM.** The IPU keeps everything on chip: 304 MiB on a GC2, 897 MiB
# on a GC200, against 40 GB of HBM2 beside the A100 of the table above. What does not fit must be
# split over more IPUs (notebook 07) or streamed in. On our 16-tile machine (4 MiB in all), a
# 1024 × 1024 × 1024 product simply does not fit:

# %%
g = ipukit.Graph(SPEC)
try:
    a_big, b_big = ops.create_matmul_inputs(g, 1024, 1024, 1024)
    Engine(g, ops.matmul(g, a_big, b_big)[1])
except TileMemoryError as e:
    print("TileMemoryError:", e)
print()
print(models.fit(models.bert_large(), ipukit.GC200, training=True, precision="mixed").describe().splitlines()[-1])


# %% [markdown]
# **Communication known only at run time.** The IPU's exchange is planned when the program is
# compiled: every tile's sends and receives are fixed in advance. A sparse matrix with a fixed
# pattern fits that well: the blocks of B each tile needs were known when we built the graph. A
# breadth-first search does not. Its *frontier*, the nodes to visit next, changes every step,
# so the data each tile needs is known only at run time. The program must then plan for everything
# that *might* be needed. Burchard et al. ran BFS on a GC2 ("iPUG") and point to exactly this: the
# exchange suits repeated patterns like a sparse matrix–vector product, not changing frontiers.
#
# Here each of the 16 tiles needs 64 values of a 16,384-long vector. When the 64 positions are known
# at compile time, the exchange brings just those. When they arrive at run time, in a tensor, the
# tile must receive all of the vector and pick the values out itself:

# %%
@ipukit.codelet(inputs={"x": "float32[n]", "idx": "int32[m]"}, outputs={"out": "float32[1]"},
                cycles=lambda m: 10 + 2 * m)
def gather_sum(x, idx, out):
    # Sum x at positions known only when the vertex runs.
    out[0] = 0
    for i in range(idx.size):
        out[0] += x[idx[i]]

V, NEED = 16_384, 64
wanted = [np.sort(rng.choice(V, NEED, replace=False)) for _ in range(16)]
x_values = rng.standard_normal(V).astype(np.float32)

def gather(known_at_compile_time):
    g = ipukit.Graph(SPEC)
    x = g.add_variable(V, name="x")
    idx = g.add_variable((16, NEED), "int32", name="positions")
    sums = g.add_variable(16, name="sums")
    for t in (x, idx, sums):
        g.map_linearly(t)
    cs = g.add_compute_set("gather")
    for t in range(16):
        if known_at_compile_time:                 # the exchange brings just the 64 values
            g.add_vertex(cs, codelets.reduce_sum, tile=t, a=x[wanted[t]], out=sums[t:t + 1])
        else:                                     # the positions are data: bring all of x
            g.add_vertex(cs, gather_sum, tile=t, x=x, idx=idx[t], out=sums[t:t + 1])
    eng = Engine(g, Execute(cs), backend="reference")     # plain Python: 16 small vertices, no compile
    eng.write(x, x_values)
    eng.write(idx, np.array(wanted, np.int32))
    eng.run()
    assert np.allclose(eng.read(sums), [x_values[w].sum() for w in wanted], rtol=1e-5, atol=1e-5)
    return eng.profile

for known in (True, False):
    q = gather(known)
    print(f"positions known {'at compile time' if known else 'only at run time'}: {q.exchange_bytes:>9,} B "
          f"exchanged, {q.exchange_cycles:>6,} exchange cycles, {q.total_cycles:>6,} in all")

# %% [markdown]
# **What to notice.** The same 64 values per tile cost 256 times more exchange when their positions
# are data. A GPU would just load the 64 values from memory wherever they are. On the IPU,
# irregular *work* is cheap, but irregular *communication* is expensive.

# %% [markdown]
# ## Recap
#
# - A lock-step (SIMD) machine runs a group of lanes for as long as its longest item, and runs the
#   code paths of a group one after another. Each IPU worker runs its own list, so uneven work costs
#   only the imbalance at the end of the superstep, and different code costs nothing.
# - Against fair GPU kernels (warps of 32, merge-path) the picture changes: a load-balanced kernel
#   removes most of the padding, beats the IPU's round-robin placement of the ragged rows, and only a
#   balanced IPU placement is faster. Both machines need the work dealt evenly; neither does it alone.
# - A block-sparse product on the emulator multiplies only the non-zero blocks: its cycles follow
#   the number of blocks, and it beats the dense `ops.matmul` below about 80 % density here.
# - MIMD lets the placement even out clustered work, but does not do it by itself: placing whole
#   rows of blocks on tiles is as slow as the dense product when a quarter of the blocks cluster;
#   equal runs of blocks per tile, with a second superstep for partial sums, are 2.5 × faster. A
#   merge-path GPU kernel does the same on lock-step lanes and, in this model, is faster still from
#   3 blocks in 16 upward: its memory traffic overlaps its compute, the IPU's exchange does not.
# - Grouped convolutions run with all groups side by side in the same supersteps. Against a machine
#   that launches a kernel per group at small batch, the IPU wins; against one kernel for all
#   groups, this model finds no advantage. The published speed-ups (up to about 700 ×, Jia et al.
#   2019) are measurements the emulator cannot reproduce.
# - The IPU does not win on large dense products (the peak decides), on data that does not fit in
#   SRAM, on communication known only at run time, or, in this model, on block-sparse products
#   against a load-balanced GPU kernel.
#
# Next: **09 · Capstone**, where you put the whole course to work on one model.
