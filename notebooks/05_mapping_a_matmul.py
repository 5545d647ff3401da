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
# # 05 · Mapping a matmul
#
# Almost all the arithmetic of a neural network is matrix multiplication: more than 99 % of the
# FLOPs of BERT-Base, as the first cell below counts. A GPU runs a matmul on one big pool of
# memory. An IPU has no such pool. Its 1216 tiles each hold a small piece of A, of B and of
# C = A·B in their own SRAM, and each computes only on what it holds. Running a matmul on an IPU
# therefore means **cutting it into blocks**, one per tile. The cut decides three things: how
# much data the exchange has to move, how much memory each tile needs, and whether the tiles'
# matrix units get anywhere near their peak. This notebook prices the possible cuts by hand,
# measures them on the emulator, and then uses ipukit's matmul planner, which does what
# Poplar's `poplin` planner does: it tries every cut and keeps the fastest one that fits.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. explain where the IPU's matmul speed comes from: each tile's AMP unit does 16 float32
#    (64 float16) FLOP per cycle on a GC2, and a tile needs six vertices, one per worker, to
#    reach that rate;
# 2. cut C = A·B over tiles along M, N and K, and work out for any cut its compute, its operand
#    exchange (a broadcast is sent once), its reduction, its syncs and its memory per tile;
# 3. read a plan from `ops.plan_matmul`, run it with `ops.matmul` on inputs from
#    `ops.create_matmul_inputs`, and check its estimate against the engine's profile;
# 4. say how a memory budget (`available_memory_proportion`) changes the chosen plan, and choose
#    a cut under a memory cap yourself;
# 5. build a K split whose reduction is shared by all its tiles, within budgets on supersteps
#    and exchange.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The whole notebook runs in under a minute.
#
# Every number below is measured on the emulator or is a published figure, cited where it is used.
# The experiments run on a 16-tile GC2 so that they are quick. The rules are the same on all 1216
# tiles.

# %%
import ipywidgets as W
import numpy as np
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

import ipukit
from ipukit import Execute, Sequence, codelets, cost, models, ops, viz, widgets
from ipukit.errors import TileMemoryError
from ipukit.exercise import load
from ipukit.palette import OKABE_ITO, PHASE_COLORS, SERIES

SPEC = ipukit.GC2.replace(tiles=16)      # a teaching-size GC2: 16 tiles of 256 KiB
PHASES = ("sync", "exchange", "compute")


def pieces(size, count):
    # Cut range(size) into min(count, size) pieces of nearly equal length: [(lo, hi), ...].
    count = min(count, size)
    return [(i * size // count, (i + 1) * size // count) for i in range(count)]


def cost_table(profiles):
    # One line per run: supersteps, bytes over the exchange, cycles by phase, busiest tile's memory.
    print(f"{'':<26}{'supersteps':>10}{'exchanged':>12}{'compute':>9}{'exchange':>9}{'sync':>6}"
          f"{'total':>9}{'busiest tile':>14}")
    for name, eng in profiles.items():
        if eng is None:
            print(f"{name:<26}{'does not fit in tile memory':>40}")
            continue
        p, c = eng.profile, eng.profile.cycles_by_phase()
        print(f"{name:<26}{p.num_supersteps:>10}{p.exchange_bytes / 1024:>8,.0f} KiB{c['compute']:>9,}"
              f"{c['exchange']:>9,}{c['sync']:>6,}{p.total_cycles:>9,}{eng.memory.peak_bytes / 1024:>10,.0f} KiB")


# %% [markdown]
# ## 1 · The AMP unit: 16 FLOP per cycle per tile
#
# First, how much of a real model is matrix multiplication? `ipukit.models` describes BERT-Base
# layer by layer (Devlin et al., 2019). Here are its FLOPs for one 128-token sequence, by kind of
# layer:

# %%
bert = models.bert_base()
by_kind = {}
for layer in bert.layers:
    by_kind[layer.kind] = by_kind.get(layer.kind, 0) + layer.flops
total = sum(by_kind.values())
for kind, flops in sorted(by_kind.items(), key=lambda kv: -kv[1]):
    print(f"{kind:<10}{flops / 1e9:8.2f} GFLOP {100 * flops / total:6.1f} %")

# %% [markdown]
# The `linear` layers are matrix products: activations (128 × 768) times a weight matrix. Most
# of the `attention` FLOPs are two more matrix products, Q·Kᵀ and the scores times V. So more
# than 99 % of the work is matmul, and a machine for neural networks has to be good at exactly
# this.
#
# Each IPU tile has a matrix unit for it, the **AMP** (accumulating matrix product) unit. It does
# for the IPU what tensor cores do for a GPU (Jia et al., 2019). Its rate follows from the
# published peaks: the GC2 reaches 31.1 TFLOPS in float32 and 124.5 TFLOPS in float16 (Jia et al.,
# 2019), and the GC200 62.5 and 250 TFLOPS (Graphcore's GC200 launch figures). Divide by the number of
# tiles and the clock to get the FLOP per cycle of one tile. ipukit keeps these rates in its
# `IPUSpec`:

# %%
published = {"GC2": (31.1e12, 124.5e12), "GC200": (62.5e12, 250e12)}
print(f"{'':7}{'tiles':>6}{'clock':>10}{'FLOP/cycle/tile':>17}{'peak (emulator)':>26}{'published':>22}")
print(f"{'':7}{'':>6}{'':>10}{'fp32':>8}{'fp16':>9}{'fp32':>13}{'fp16':>13}{'fp32':>11}{'fp16':>11}")
for spec in (ipukit.GC2, ipukit.GC200):
    fp32, fp16 = spec.peak_flops("float32") / 1e12, spec.peak_flops("float16") / 1e12
    p32, p16 = (x / 1e12 for x in published[spec.name])
    print(f"{spec.name:<7}{spec.tiles:>6}{spec.clock_hz / 1e9:>6.2f} GHz{spec.fp32_flops_per_cycle:>8}"
          f"{spec.fp16_flops_per_cycle:>9}{fp32:>8.1f} TF/s{fp16:>8.1f} TF/s{p32:>6.1f} TF/s{p16:>6.1f} TF/s")


# %% [markdown]
# A GC2 tile does 16 float32 FLOP per cycle (8 multiply-adds), or 64 in float16. The GC200
# doubles both. (The GC200's small gaps, 62.6 against 62.5 and 250.6 against 250, come from
# rounding its clock to 1.33 GHz.)
#
# In ipukit a block product runs as a vertex of the built-in codelet `codelets.matmul_partial`
# (`out = a @ b`). Its cost, from `cost.amp_cycles`, is
#
# $$\text{worker cycles} = 10 + \left\lceil \frac{2\,m\,k\,n}{16} \right\rceil$$
#
# for an (m × k) by (k × n) block: a fixed start, then the tile's full AMP rate **per instruction**.
# But a worker issues only one instruction every 6 cycles, because the tile's six workers take
# turns on one pipeline (notebook 01). So one vertex alone runs at a sixth of the peak, and it
# takes six vertices, one per worker, to keep the AMP unit busy. Let's measure that on a single
# tile: a (96 × 64) by (64 × 64) product, with the 96 rows of A cut into 1 to 12 vertices.

# %%
def one_tile_matmul(m, k, n, vertices, dtype="float32"):
    # C = A @ B on one tile, the rows of A cut into `vertices` matmul vertices; returns the engine.
    g = ipukit.Graph(SPEC.replace(tiles=1))
    a, b = g.add_variable((m, k), dtype, name="A"), g.add_variable((k, n), dtype, name="B")
    c = g.add_variable((m, n), name="C")                  # the AMP accumulates in float32
    for t in (a, b, c):
        g.set_tile_mapping(t, 0)
    cs = g.add_compute_set("matmul")
    codelet = codelets.matmul_partial if dtype == "float32" else codelets.matmul_partial_half
    for lo, hi in pieces(m, vertices):
        g.add_vertex(cs, codelet, tile=0, a=a[lo:hi], b=b, out=c[lo:hi])
    eng = ipukit.Engine(g, Execute(cs))
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    eng.write(a, x)
    eng.write(b, y)
    eng.run()
    assert np.allclose(eng.read(c), x.astype(np.float32) @ y.astype(np.float32), rtol=1e-3, atol=1e-3)
    return eng


counts = list(range(1, 13))
rate = []                                  # FLOP per cycle of the tile
for v in counts:
    eng = one_tile_matmul(96, 64, 64, v)
    rate.append(2 * 96 * 64 * 64 / eng.profile.compute_cycles)
sizes = [6, 12, 24, 48, 96]                # n x n by n x n blocks, six vertices
small = [2 * n ** 3 / one_tile_matmul(n, n, n, 6).profile.compute_cycles for n in sizes]
half = 2 * 96 * 64 * 64 / one_tile_matmul(96, 64, 64, 6, "float16").profile.compute_cycles

fig = viz.IPUFigure(figsize=(11, 3.6), layout="constrained")
left, right = fig.subplots(1, 2)
left.bar(counts, rate, color=[PHASE_COLORS["compute"] if v % 6 == 0 else SERIES[4] for v in counts])
left.axhline(16, color="black", lw=0.8, ls="--")
left.text(0.5, 16.3, "AMP peak: 16 FLOP/cycle (float32, GC2)", fontsize=9)
left.set(xlabel="vertices on the tile", ylabel="FLOP per cycle", xticks=counts, ylim=(0, 18.5),
         title="(96 x 64) @ (64 x 64) on one tile")
right.plot(sizes, small, "o-", color=PHASE_COLORS["compute"])
right.axhline(16, color="black", lw=0.8, ls="--")
right.set(xlabel="n: an (n x n) @ (n x n) block, 6 vertices", ylabel="FLOP per cycle", ylim=(0, 18.5),
          xscale="log", xticks=sizes, xticklabels=sizes, title="Small blocks pay the vertex start")
fig.suptitle("The AMP unit reaches its peak only with six vertices per tile, on blocks big enough")
for v in (1, 2, 6, 7, 12):
    print(f"{v:>2} vertices: {rate[v - 1]:5.2f} FLOP/cycle = {100 * rate[v - 1] / 16:5.1f} % of the peak")
for n, r in zip(sizes, small):
    print(f"({n} x {n}) @ ({n} x {n}) with 6 vertices: {r:5.2f} FLOP/cycle = {100 * r / 16:5.1f} % of the peak")
print(f"float16 inputs, 6 vertices: {half:.1f} FLOP/cycle (peak 64)")
fig


# %% [markdown]
# **What to notice.**
#
# - *Left:* one vertex gets 2.67 FLOP per cycle, exactly a sixth of 16. Each extra vertex adds a
#   worker, until six reach 15.98 FLOP per cycle, 99.9 % of the peak. A seventh vertex goes back
#   to worker 0, which then has two of the seven pieces while the others have one, so the rate
#   drops to 9.5. Twelve vertices, two per worker, are balanced again.
# - *Right:* the 10-cycle start of a vertex is paid whatever the block size. A 6 × 6 × 6 block (one
#   row per vertex, 72 FLOP each) reaches only 4.8 FLOP per cycle, 30 % of the peak. A 24 × 24 × 24
#   block reaches 97 % and a 48 × 48 × 48 block 99.6 %. A good cut therefore leaves each tile a
#   block that is big enough and splits into six.
# - float16 inputs run four times as fast, 63.7 FLOP per cycle of a peak of 64, still accumulated
#   in float32.
#
# ipukit models the AMP unit only by its rate. The real unit has a fixed internal shape:
# PopLibs' cycle estimators count its "conv units" and describe a 16 × 8 AMP vertex (PopLibs,
# `PerformanceEstimation.hpp`), so blocks that do not fill that shape waste some of it. Here any
# block shape runs at the full rate once it is big enough.

# %% [markdown]
# ## 2 · Cutting C = A·B over tiles
#
# C = A·B with A of shape M × K and B of shape K × N takes 2·M·K·N FLOP. To spread them over
# P tiles, cut one or more of the three dimensions:
#
# - **M** (the rows of A and C): each tile computes some rows of C. It needs its rows of A, and
#   **all of B**.
# - **N** (the columns of B and C): each tile computes some columns of C. It needs its columns of B,
#   and **all of A**.
# - **K** (the inner dimension): each tile multiplies a slice of the columns of A by the same slice
#   of the rows of B. Nothing is shared, but each tile's result is a **partial sum** of the whole of
#   C, and the P partial sums must then be added up.
#
# A cut can combine all three: `splits = (m_parts, n_parts, k_parts)` uses
# m_parts × n_parts × k_parts tiles. Here is each pure cut on 4 tiles, with every block coloured by
# the tile that uses it:

# %%
def draw_splits(parts=4):
    # A, B and C for a cut of M, of N and of K into `parts`, coloured by the tile that uses each block.
    fig = viz.IPUFigure(figsize=(10, 6.2), layout="constrained")
    axes = fig.subplots(3, 3)
    shared = "#DDDDDD"
    for row, axis in enumerate("MNK"):
        for col, (name, cut) in enumerate((("A (M x K)", {"M": 0, "K": 1}), ("B (K x N)", {"K": 0, "N": 1}),
                                           ("C (M x N)", {"M": 0, "N": 1}))):
            ax = axes[row, col]
            ax.set(xlim=(0, 1), ylim=(1, 0), xticks=[], yticks=[])
            if axis not in cut:      # not cut along this axis: every tile needs all of it
                whole = "every tile needs all of it" if name[0] != "C" else ""
                if axis == "K":      # C under a K cut: every tile holds a partial sum of all of it
                    for t in range(parts):
                        ax.add_patch(Rectangle((0.05 * t, 0.05 * t), 0.8, 0.8, facecolor=SERIES[t],
                                               edgecolor="white", alpha=0.9))
                    whole = f"{parts} partial sums, added up"
                else:
                    ax.add_patch(Rectangle((0, 0), 1, 1, facecolor=shared, edgecolor="white"))
                ax.text(0.5, 0.5, whole, ha="center", va="center", fontsize=9,
                        bbox=dict(facecolor="white", alpha=0.8, linewidth=0))
            else:
                for t in range(parts):
                    if cut[axis] == 0:       # cut across rows
                        xy, w, h = (0, t / parts), 1, 1 / parts
                    else:                    # cut across columns
                        xy, w, h = (t / parts, 0), 1 / parts, 1
                    ax.add_patch(Rectangle(xy, w, h, facecolor=SERIES[t], edgecolor="white", lw=2))
                    ax.text(xy[0] + w / 2, xy[1] + h / 2, f"tile {t}", ha="center", va="center", fontsize=8,
                            color="white")
            if row == 0:
                ax.set_title(name)
            if col == 0:
                ax.set_ylabel(f"cut {axis}", fontsize=11)
    fig.suptitle(f"Three ways to cut C = A @ B over {parts} tiles")
    return fig


draw_splits()


# %% [markdown]
# Every cut has a bill with five items, and the rules of notebooks 01 to 03 price each of them:
#
# | item | what it costs | which cut pays |
# |---|---|---|
# | **compute** | 2·M·K·N / (tiles × 16) cycles at best, if every tile has six busy workers | all; more when blocks are too thin for six vertices |
# | **operand exchange** | a tile receives the blocks of A and B it does not hold: (bytes) / 4 cycles. A block sent to many tiles is a broadcast, sent once | M cuts broadcast B, N cuts broadcast A |
# | **reduction** | the partial sums of C cross the exchange and are added | K cuts only |
# | **syncs** | 150 cycles before each exchange and each compute phase | one more superstep for a K cut |
# | **memory per tile** | its block of A, of B and of C, and the partial sums and receive buffers | M cuts hold all of B on every tile, N cuts all of A |
#
# To see the bill, here is a hand-made version of the cut. Each block of A, B and C is stored in
# one piece, so a vertex reads it in place. Tile (i, j, d) = (i · n_parts + j) · k_parts + d
# multiplies A block (i, d) by B block (d, j). A block (i, d) lives on tile (i, 0, d) and B block
# (d, j) on tile (0, j, d); every other tile that needs them receives them. Each tile cuts its
# block of C by rows into six `matmul_partial` vertices. For a K cut, the k_parts partial sums of
# each block of C are added by `reduce_rows` vertices on the first of its tiles, (i, j, 0). That is
# the simplest choice, and section 3 shows what it costs.

# %%
def blocked_matmul(m, k, n, splits, spec=SPEC):
    # C = A @ B cut (m_parts, n_parts, k_parts) ways; returns (graph, A, B, C, program).
    # A is stored as blocks A[i, d], B as B[d, j], C as C[i, j]: each block in one piece.
    sm, sn, sk = splits
    mb, kb, nb = m // sm, k // sk, n // sn
    assert (mb * sm, kb * sk, nb * sn) == (m, k, n), "the parts must divide M, K and N"
    g = ipukit.Graph(spec)
    A = g.add_variable((sm, sk, mb, kb), name="A")
    B = g.add_variable((sk, sn, kb, nb), name="B")
    P = g.add_variable((sm, sn, sk, mb, nb), name="partials" if sk > 1 else "C")

    def tile(i, j, d):
        return (i * sn + j) * sk + d

    for i in range(sm):
        for d in range(sk):
            g.set_tile_mapping(A[i, d], tile(i, 0, d))
    for d in range(sk):
        for j in range(sn):
            g.set_tile_mapping(B[d, j], tile(0, j, d))
    products = g.add_compute_set("partial products")
    for i in range(sm):
        for j in range(sn):
            for d in range(sk):
                g.set_tile_mapping(P[i, j, d], tile(i, j, d))
                for lo, hi in pieces(mb, 6):           # the block's rows, one piece per worker
                    g.add_vertex(products, codelets.matmul_partial, tile=tile(i, j, d),
                                 a=A[i, d, lo:hi], b=B[d, j], out=P[i, j, d, lo:hi])
    if sk == 1:
        return g, A, B, P[:, :, 0], Execute(products)
    # the K cut: tile (i, j, 0) adds up the sk partial sums of block (i, j)
    C = g.add_variable((sm, sn, mb, nb), name="C")
    flat = P.reshape(sm, sn, sk, mb * nb)
    reduction = g.add_compute_set("reduction")
    for i in range(sm):
        for j in range(sn):
            g.set_tile_mapping(C[i, j], tile(i, j, 0))
            for lo, hi in pieces(mb * nb, 6):
                g.add_vertex(reduction, codelets.reduce_rows, tile=tile(i, j, 0),
                             a=flat[i, j, :, lo:hi], out=C[i, j].flatten()[lo:hi])
    return g, A, B, C, Sequence(Execute(products), Execute(reduction))


def run_blocked(m, k, n, splits, spec=SPEC):
    # Build, run on random matrices, check against NumPy; the engine, or None if it does not fit.
    sm, sn, sk = splits
    g, A, B, C, program = blocked_matmul(m, k, n, splits, spec)
    try:
        eng = ipukit.Engine(g, program)
    except TileMemoryError:
        return None
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    eng.write(A, x.reshape(sm, m // sm, sk, k // sk).transpose(0, 2, 1, 3))     # NumPy matrix -> blocks
    eng.write(B, y.reshape(sk, k // sk, sn, n // sn).transpose(0, 2, 1, 3))
    eng.run()
    c = eng.read(C).transpose(0, 2, 1, 3).reshape(m, n)                          # blocks -> NumPy matrix
    assert np.allclose(c, x @ y, rtol=1e-4, atol=1e-3)
    return eng


# %% [markdown]
# Try four cuts on 16 tiles with two shapes: a square product, 192 × 192 by 192 × 192, and one
# with a tall, thin A, 768 × 64 by 64 × 64. The square one is 14.2 MFLOP, so at 16 FLOP per cycle
# on each of 16 tiles it needs at least 55,296 cycles of compute. The tall one is 6.3 MFLOP.

# %%
SHAPES = {"square (192 x 192) @ (192 x 192)": (192, 192, 192), "tall A (768 x 64) @ (64 x 64)": (768, 64, 64)}
CUTS = [(16, 1, 1), (1, 16, 1), (4, 4, 1), (8, 2, 1)]
mn_runs = {}
for label, shape in SHAPES.items():
    print(label)
    runs = {f"cut {cut}": run_blocked(*shape, cut) for cut in CUTS}
    cost_table(runs)
    mn_runs[label] = runs
    print()


# %%
def bill_figure(runs_by_shape, title):
    # For each shape: cycles by phase of each cut (bars) and the busiest tile's memory (text).
    fig = viz.IPUFigure(figsize=(11, 1.0 + 0.45 * max(len(r) for r in runs_by_shape.values()) * 1.1),
                        layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(runs_by_shape)))
    for ax, (label, runs) in zip(axes, runs_by_shape.items()):
        names = list(runs)
        longest = max(e.profile.total_cycles for e in runs.values() if e is not None)
        for row, name in enumerate(names):
            eng = runs[name]
            if eng is None:
                ax.text(0, row, "  does not fit in tile memory", va="center", fontsize=9)
                continue
            left = 0
            for kind in PHASES:
                width = eng.profile.cycles_by_phase()[kind]
                ax.barh(row, width, left=left, color=PHASE_COLORS[kind], height=0.6)
                left += width
            ax.text(left, row, f"  {left:,} cycles, {eng.memory.peak_bytes / 1024:,.0f} KiB/tile",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(names)), names)
        ax.set(ylim=(len(names) - 0.5, -0.5), xlim=(0, 1.75 * longest), xlabel="cycles", title=label)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_locator(MaxNLocator(4))
    axes[-1].legend(handles=[Patch(color=PHASE_COLORS[k], label=k) for k in PHASES], fontsize=8,
                    loc="lower right")
    fig.suptitle(title)
    return fig


bill_figure(mn_runs, "Four cuts of each product: the compute is the same, the exchange and the memory are not")

# %% [markdown]
# **What to notice.**
#
# - *Square:* cutting only M or only N broadcasts a whole operand (147 KiB) to every tile:
#   36,864 exchange cycles, and every tile holds it, 162 KiB per tile in all. The 4 × 4 grid sends
#   each tile one quarter of A and one quarter of B: half the exchange, half the memory. Compute is
#   the same 55,356 cycles for every cut, only 60 cycles above the 55,296 minimum (the vertices'
#   10-cycle starts), because every block has at least six rows.
# - *Tall A:* now the shape decides. Cutting M broadcasts only B (16 KiB): 4,096 exchange cycles.
#   Cutting N broadcasts all of A (192 KiB), which takes twelve times as long and puts 205 KiB on
#   every tile. A good cut sends the **smaller** operand.
# - The (8, 2) cut of the tall product also cuts N in two. Half the tiles must then receive their
#   block of A (96 rows, 24 KiB) on top of their half of B (8 KiB): twice the exchange of cutting
#   M alone.
# - For each shape the compute is the same whatever the cut; the exchange (from 14 % to 66 % of
#   the time here) and the memory are what differ. On more tiles the exchange matters more: each
#   tile's compute shrinks as 1 / P, but the blocks a tile of a grid cut must receive shrink only
#   as 1 / √P.
#
# ### Exercise 05.1 · Price a split by the rules
#
# Open `exercises/ex05_matmul.py` and write `product_step_costs(spec, m, k, n, splits)`. For the
# layout of `blocked_matmul` above, return the compute cycles, the exchange cycles and the memory
# in bytes of the busiest tile in the partial-products step, using the rules: six workers and
# `cost.amp_cycles` for the compute, 4 bytes per cycle for the exchange (a tile that holds neither
# of its blocks receives both), and the blocks plus the vertex state for the memory. The docstring has the
# details. The cell below compares your numbers with the engine's for the square product, cut 4 × 4.

# %%
ex = load("ex05_matmul")        # your module, exercises/ex05_matmul.py (reloaded on every run)

eng = mn_runs["square (192 x 192) @ (192 x 192)"]["cut (4, 4, 1)"]
print("the engine:  ", {"compute": eng.profile.compute_cycles, "exchange": eng.profile.exchange_cycles,
                        "memory": eng.memory.peak_bytes})
try:
    print("your rules:  ", ex.product_step_costs(SPEC, 192, 192, 192, (4, 4, 1)))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex05_1")

# %% [markdown]
# ## 3 · Cutting K: partial sums and a reduction
#
# When K is much larger than M and N, the M and N cuts have little to cut, and every tile has to
# receive long strips of A and B. The K cut moves no operand at all: tile d already holds slice d
# of both A and B. What it moves instead is its result. Each tile holds a partial sum of the whole
# output, and adding them up is a **reduction**, as in notebook 03.
#
# Take 48 × 1024 by 1024 × 48 (C is only 48 × 48, 9 KiB) and compare a 4 × 4 grid with two cuts
# that use K:

# %%
K_SHAPE = (48, 1024, 48)
k_runs = {f"cut {cut}": run_blocked(*K_SHAPE, cut) for cut in [(4, 4, 1), (2, 2, 4), (1, 1, 16)]}
cost_table(k_runs)

# %%
viz.plot_trace(k_runs["cut (1, 1, 16)"].profile,
               title="K cut over 16 tiles, reduced on tile 0: the products need no exchange, the reduction is a fan-in")

# %% [markdown]
# **What to notice.**
#
# - The products of the K cut need **no exchange at all**: the first superstep is a sync and
#   18,492 cycles of compute, the same compute as the grid.
# - Then the reduction. Here all 16 partial sums of C go to tile 0, which receives 15 × 9 KiB =
#   135 KiB and adds them up alone while 15 tiles wait (pale grey in the trace). That is the fan-in
#   of notebook 03: 34,560 exchange cycles, plus 19,644 cycles of adding on a single tile, more
#   than the products took. Tile 0 also needs a receive buffer for all 15 partial sums, so it
#   holds 186 KiB while the others hold 33 KiB.
# - The (2, 2, 4) cut mixes both: smaller broadcasts, and only 4 partial sums per block to add. It
#   is the fastest of the three, at 34,608 cycles.
#
# The fix is the first half of notebook 03's direct all-reduce, the reduce-scatter
# (`collectives.reduce_scatter`): share the reduction. If each of the 16
# tiles adds up **one sixteenth** of C over all 16 partial sums, each tile receives 15 × 576 B
# (2,160 exchange cycles instead of 34,560) and the adding is spread over all 96 workers. You will
# build that in exercise 05.3. The planner in the next section already does it.
#
# So a K cut trades the operand broadcast for partial sums: extra memory (a float32 copy of a
# block of C on every tile, plus receive buffers) and an extra superstep. It pays off when C is
# small compared with A and B.

# %% [markdown]
# ## 4 · The planner
#
# Which cut is best depends on M, K and N, on the number of tiles, and on how much memory is
# left. Poplar's `poplin` library does not ask you. Its planner tries the possible cuts, estimates
# the cycles of each from the target's parameters (workers per tile, exchange bytes per cycle,
# AMP units, bytes per tile), and keeps the fastest one whose temporary memory fits in a share of
# each tile, the option `availableMemoryProportion` (PopLibs, `lib/poplin/ConvPlan.cpp`).
#
# `ops.plan_matmul(spec, M, K, N)` does the same on ipukit's cost model. For every cut it also
# chooses how to split each tile's block into six vertices (rows × columns), and on which tiles the
# blocks of A and B live, spread so that few tiles must send or receive two blocks. It shares the
# reduction of a K cut over the tiles of each block. For each candidate it builds the byte runs
# and vertex lists that the engine will build, and prices them with the engine's own functions.
# Planning takes milliseconds:

# %%
plan = ops.plan_matmul(SPEC, *K_SHAPE)
print(plan.describe())

# %%
ops.plot_matmul_plan(plan)


# %% [markdown]
# For this shape the planner cuts K into 16, as expected. Each tile multiplies a 48 × 64 block by a
# 64 × 48 block with six vertices, and its reduction receives 15 slices of 144 floats. That is
# 22,386 cycles, three times faster than the hand-made K cut and twice as fast as the 4 × 4 grid.
#
# To run a plan, create the inputs **where the plan wants them** with `ops.create_matmul_inputs`
# (Poplar's `createMatMulInputLHS` and `createMatMulInputRHS`), then build the program with
# `ops.matmul`, which returns `(result, program)` like every ipukit op. Then the engine measures
# it:

# %%
def run_planned(m, k, n, plan, inputs="planned", spec=SPEC):
    # ops.matmul on inputs made for the plan ("planned") or spread linearly; checked against NumPy.
    g = ipukit.Graph(spec)
    if inputs == "planned":
        a, b = ops.create_matmul_inputs(g, m, k, n, plan=plan)
    else:
        a, b = g.add_variable((m, k), name="A"), g.add_variable((k, n), name="B")
        g.map_linearly(a)
        g.map_linearly(b)
    c, program = ops.matmul(g, a, b, plan=plan)
    eng = ipukit.Engine(g, program)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    eng.write(a, x)
    eng.write(b, y)
    eng.run()
    assert np.allclose(eng.read(c), x @ y, rtol=1e-4, atol=1e-3)
    return eng


planned = run_planned(*K_SHAPE, plan)
linear = run_planned(*K_SHAPE, plan, inputs="linear")
estimate, measured, other = plan.cycles_by_phase(), planned.profile.cycles_by_phase(), linear.profile.cycles_by_phase()
print(f"{'':<10}{'estimate':>10}{'measured':>10}{'inputs spread linearly':>24}")
for kind in PHASES:
    print(f"{kind:<10}{estimate[kind]:>10,}{measured[kind]:>10,}{other[kind]:>24,}")
print(f"{'total':<10}{plan.cycles:>10,}{planned.profile.total_cycles:>10,}{linear.profile.total_cycles:>24,}")
print(f"{'memory':<10}{plan.peak_tile_bytes:>10,}{planned.memory.peak_bytes:>10,}{linear.memory.peak_bytes:>24,}"
      "   (busiest tile, bytes)")

# %% [markdown]
# **What to notice.** With the planned inputs the estimate is the measurement, phase by phase and
# byte by byte, because the planner prices exactly the program that `ops.matmul` builds. With
# inputs spread linearly over the tiles, `ops.matmul` still computes the right product, but the
# operand blocks are no longer on the tiles that multiply them. The products now need an exchange
# of their own (and its sync), and the exchange grows from 2,160 to 5,040 cycles. Where a tensor is
# created decides what the next op costs: in Poplar, too, you create a matmul's inputs with the
# matmul's own functions when you can.
#
# The planned matmul's memory map and execution trace:

# %%
viz.plot_memory(planned.memory)

# %%
viz.plot_trace(planned.profile, title="The planned K cut: products with no exchange, then a shared reduction")

# %% [markdown]
# Every tile is equally busy. The memory map shows the same 43 KiB on every tile: its slices of A
# and B, its partial sum and slice of C (data), the six vertices' state, and the receive buffers of
# the reduction. The trace has two supersteps. The first is products only (blue), the second is a
# short exchange followed by a short addition, on all 16 tiles at once.
#
# ### The memory budget
#
# The planner may use at most `available_memory_proportion` of each tile's SRAM for the matmul's
# *temporaries*: received blocks, partial sums and exchange buffers (ipukit's default is 0.6).
# The rest is kept for everything else that lives on the tiles: weights, activations, other ops.
# With a tighter budget the planner can only choose among fewer cuts, so the chosen plan can only
# get slower. The sweep below plans three shapes for budgets from 1 % to 100 % of a tile.

# %%
budgets = np.round(np.arange(0.01, 1.001, 0.01), 2)
SWEEP = [(128, 128, 128), (32, 512, 64), (64, 1024, 128)]


def best_plan(shape, budget):
    # The planner's choice under a budget, or None when no cut fits.
    try:
        return ops.plan_matmul(SPEC, *shape, available_memory_proportion=float(budget))
    except TileMemoryError:
        return None


fig = viz.IPUFigure(figsize=(11, 3.4), layout="constrained")
for ax, color, shape in zip(fig.subplots(1, 3), SERIES, SWEEP):
    plans = [best_plan(shape, f) for f in budgets]
    fits = [(f, p.cycles) for f, p in zip(budgets, plans) if p is not None]
    ax.step(*zip(*fits), where="post", color=color)
    ax.axvspan(0, fits[0][0], color=PHASE_COLORS["idle"], zorder=0)       # budgets where nothing fits
    print(f"({shape[0]} x {shape[1]}) @ ({shape[1]} x {shape[2]}):")
    last, shown = "start", 0
    for f, p in zip(budgets, plans):
        key = p.splits if p is not None else None
        if key != last:
            if p is None:
                print(f"   from {f:.2f}: no cut fits")
            else:
                print(f"   from {f:.2f}: splits {p.splits}, {p.cycles:,} cycles, temporaries {p.temporary_bytes:,} B")
                ax.annotate(f"{p.splits}", (f, p.cycles), textcoords="offset points", fontsize=8,
                            xytext=(3, (5, -12, 16)[shown % 3]))
                shown += 1
        last = key
    top = max(c for _, c in fits)
    ax.set(xlabel="available_memory_proportion", xscale="log", xlim=(0.01, 1), ylim=(0, 1.2 * top),
           title=f"({shape[0]} x {shape[1]}) @ ({shape[1]} x {shape[2]})")
    ax.set_xticks([0.01, 0.03, 0.1, 0.3, 1], ["1%", "3%", "10%", "30%", "100%"])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
fig.axes[0].set_ylabel("estimated cycles of the plan")
fig.suptitle("The planner's choice as the memory budget grows (grey: no cut fits)")
fig

# %% [markdown]
# **What to notice.**
#
# - For 128³, any budget from 13 % lets the planner cut (2, 2, 4) over all 16 tiles. Below that, the
#   only plan whose temporaries fit is **no cut at all**: one tile holds A, B and C, receives
#   nothing and has no partial sums, so it has no temporaries. It takes ten times as long.
# - For (32 × 512) @ (512 × 64) the budget walks the planner through three plans: one tile below
#   5 %, then (1, 2, 8), then from 7 % the K cut in 16, each using more temporary memory for fewer
#   cycles.
# - (64 × 1024) @ (1024 × 128) does not fit at all below 19 %: one tile cannot hold its 800 KiB,
#   and every cut over several tiles needs temporaries. From 19 % the planner cuts (1, 2, 8), and
#   from 25 % the K cut in 16 fits and wins.
# - Above some budget nothing changes any more: the fastest cut already fits.
#
# So memory is part of the price of a cut, and the budget is how a program shares the tiles
# between its ops. With the whole model on the chip (notebook 06), the weights and activations
# take much of the SRAM, and the matmuls must plan in what is left.
#
# Now try it yourself. The widget plans any product on the 16 tiles and shows the cut, the
# estimated cycles of each step by phase, and the busiest tile's memory against its SRAM and the
# budget. Planning is cheap, so this is instant. For products up to 256³ it also runs the plan on
# the engine and prints the measured cycles in the title. Here is one plan drawn by a plain call:

# %%
MEMORY_COLORS = {"A and B blocks": SERIES[0], "operand copies": SERIES[4], "partials": SERIES[2],
                 "output": SERIES[3], "exchange buffers": PHASE_COLORS["exchange"], "vertex state": SERIES[6]}


def plan_figure(M=256, K=256, N=256, budget=0.6):
    # The planner's choice for (M x K) @ (K x N) on SPEC: the cut, cycles by step and phase, memory.
    fig = viz.IPUFigure(figsize=(12, 3.4), layout="constrained")
    cut_ax, cycle_ax, mem_ax = fig.subplots(1, 3, width_ratios=[0.8, 1.3, 1.3])
    try:
        plan = ops.plan_matmul(SPEC, M, K, N, available_memory_proportion=budget)
    except TileMemoryError as e:
        for ax in (cut_ax, cycle_ax, mem_ax):
            ax.axis("off")
        fig.suptitle(f"({M} x {K}) @ ({K} x {N}) with a budget of {budget:.0%}: no cut fits on {SPEC.tiles} tiles\n"
                     + str(e)[:110] + "...", fontsize=10)
        return fig
    sm, sn, sk = plan.splits
    # the cut: C (M x N) in blocks, each summed over sk tiles
    for x in plan.n_bounds[1:-1]:
        cut_ax.axvline(x, color="white", lw=2)
    for y in plan.m_bounds[1:-1]:
        cut_ax.axhline(y, color="white", lw=2)
    cut_ax.set_facecolor(SERIES[0])
    mb, kb, nb = plan.block_shape()
    cut_ax.text(N / 2, M / 2, f"blocks of {mb} x {nb}" + (f"\neach summed\nover {sk} tiles" if sk > 1 else ""),
                ha="center", va="center", fontsize=8, bbox=dict(facecolor="white", alpha=0.8, linewidth=0))
    cut_ax.set(xlim=(0, N), ylim=(M, 0), xlabel="N", ylabel="M",
               title=f"C cut {sm} x {sn}" + (f", K cut in {sk}" if sk > 1 else ""))
    # cycles by step and phase
    names = [name for name, _ in plan.steps]
    left = np.zeros(len(names))
    for kind in PHASES:
        values = np.array([phases[kind] for _, phases in plan.steps], float)
        cycle_ax.barh(names, values, left=left, color=PHASE_COLORS[kind], label=kind)
        left += values
    cycle_ax.invert_yaxis()
    cycle_ax.set(xlabel="estimated cycles", title=f"{plan.cycles:,} cycles in {len(names)} step(s)")
    cycle_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    cycle_ax.xaxis.set_major_locator(MaxNLocator(4))
    cycle_ax.legend(fontsize=8, loc="lower right")
    # the busiest tile's memory by category against the SRAM; the temporaries against the budget
    cap = SPEC.sram_bytes_per_tile / 1024
    start = 0
    for category, nbytes in plan.tile_bytes.items():
        if nbytes:
            mem_ax.barh(0, nbytes / 1024, left=start, color=MEMORY_COLORS.get(category, "grey"),
                        label=category, height=0.5)
            start += nbytes / 1024
    mem_ax.barh(1, plan.temporary_bytes / 1024, color=OKABE_ITO["sky blue"], height=0.5)
    mem_ax.plot([cap, cap], [-0.35, 0.35], color="black", lw=1.5)
    mem_ax.plot([budget * cap] * 2, [0.65, 1.35], color="black", lw=1.5, ls="--")
    mem_ax.text(cap, -0.4, "SRAM", fontsize=8, ha="center", va="bottom")
    mem_ax.text(budget * cap, 0.6, f"budget {budget:.0%}", fontsize=8, ha="center", va="bottom")
    mem_ax.set_yticks([0, 1], ["busiest tile", "temporaries\n(most on a tile)"])
    mem_ax.set(xlim=(0, 1.08 * cap), ylim=(2.7, -0.7), xlabel="KiB",
               title=f"memory: {plan.peak_tile_bytes / 1024:,.0f} KiB on tile {plan.busiest_tile}")
    mem_ax.legend(fontsize=7, loc="lower center", ncols=3)
    peak = SPEC.peak_flops() * plan.seconds
    title = (f"({M} x {K}) @ ({K} x {N}) float32 on {SPEC.tiles} tiles, budget {budget:.0%}: "
             f"{plan.cycles:,} cycles = {plan.seconds * 1e6:,.1f} us, {100 * plan.flops / peak:.0f}% of the AMP peak")
    if M * K * N <= 256 ** 3:           # small enough to run on the engine within the redraw
        title += f"; measured: {run_planned(M, K, N, plan).profile.total_cycles:,} cycles"
    fig.suptitle(title, fontsize=10)
    return fig


plan_figure(256, 256, 256, 0.6)

# %%
DIMS = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
widgets.interactive_figure(
    plan_figure,
    M=W.SelectionSlider(options=DIMS, value=256, description="M (rows of A)", continuous_update=False),
    K=W.SelectionSlider(options=DIMS, value=256, description="K (inner)", continuous_update=False),
    N=W.SelectionSlider(options=DIMS, value=256, description="N (columns of B)", continuous_update=False),
    budget=W.FloatSlider(value=0.6, min=0.05, max=1.0, step=0.05, description="memory budget",
                         continuous_update=False, readout_format=".0%"))

# %% [markdown]
# Things to try: make K large and M, N small, then the other way round, and watch the cut follow
# the shape. Lower the budget for 128³ until the plan collapses onto one tile. Make the product
# big (512³), and nothing fits on 16 tiles: 3 MiB of matrices against 4 MiB of SRAM, with buffers
# on top. ipukit's planner then says so. Poplin would instead split the product into serial
# passes.
#
# ### Exercise 05.2 · Choose a split under a memory cap
#
# Write `choose_split(spec, m, k, n, cap_bytes)`. It returns the cut `(m_parts, n_parts, k_parts)`
# that the planner's estimate says is fastest among those whose busiest tile stays within
# `cap_bytes`, because the rest of each tile holds other tensors. Price one cut with
# `ops.plan_matmul(..., splits=(m_parts, n_parts, k_parts), check_memory=False,
# available_memory_proportion=1.0)`. The grader blocks the planner's own search, since that is
# what you are writing. Your cut must fit and be within 5 % of the fastest cut that fits.

# %%
try:
    for shape, cap in [((256, 256, 256), 256 * 1024), ((256, 256, 256), 160_000)]:
        cut = ex.choose_split(SPEC, *shape, cap)
        priced = ops.plan_matmul(SPEC, *shape, splits=cut, check_memory=False, available_memory_proportion=1.0)
        print(f"{shape} within {cap:,} B: cut {cut}, {priced.cycles:,} cycles, busiest tile {priced.peak_tile_bytes:,} B")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex05_2")

# %% [markdown]
# ## 5 · Your own K cut, with a shared reduction
#
# Section 3 added the partial sums of a K cut on a single tile, and that tile's fan-in cost more
# than the products. Now build the K cut the way the planner does.
#
# ### Exercise 05.3 · A K split with a shared reduction
#
# Write `k_split_matmul(g, a, b)`. `a` has shape (P, M, kb) and `b` shape (P, kb, N): slice d of
# A and slice d of B live on tile d. Return `(c, program)` where `c` is a new (M, N) variable that
# ends up holding the sum of `a[d] @ b[d]` over d, computed in two supersteps:
#
# 1. **partial products**: each tile multiplies its own slices into a partial sum, with six
#    `matmul_partial` vertices that cut the rows. Row panels are contiguous, so each vertex reads
#    and writes in place. Nothing moves.
# 2. **reduction**: `c` is spread over the P tiles, and each tile adds up, over all P partial sums,
#    the slice of `c` that it holds, with six `reduce_rows` vertices.
#
# The grader checks `c` against NumPy and sets three budgets: at most 2 supersteps, at most
# (P − 1) × ⌈M·N / P⌉ exchange cycles (the shared reduction's bytes, 4 per cycle), and compute
# within 15 % of both steps running on six workers. It blocks `ops.matmul`. The cell below runs
# yours on the shape of section 3 and compares it with the hand-made K cut and with the planner.

# %%
P, (M, K, N) = 16, K_SHAPE
try:
    g = ipukit.Graph(SPEC)
    a, b = g.add_variable((P, M, K // P), name="a"), g.add_variable((P, K // P, N), name="b")
    for d in range(P):
        g.set_tile_mapping(a[d], d)
        g.set_tile_mapping(b[d], d)
    c, program = ex.k_split_matmul(g, a, b)
    mine = ipukit.Engine(g, program)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)
    mine.write(a, x.reshape(M, P, K // P).transpose(1, 0, 2))     # a[d] = A[:, slice d]
    mine.write(b, y.reshape(P, K // P, N))                          # b[d] = B[slice d, :]
    mine.run()
    print("c == A @ B:", np.allclose(mine.read(c), x @ y, rtol=1e-4, atol=1e-3))
    cost_table({"hand-made K cut (section 3)": k_runs["cut (1, 1, 16)"], "the planner's K cut": planned,
                "your K cut": mine})
    display(viz.plot_trace(mine.profile, title="Your K cut: products in place, then a reduction shared by 16 tiles"))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex05_3")

# %% [markdown]
# ## What ipukit leaves out
#
# ipukit's planner is a small version of poplin's. Poplin also splits a product that does not fit
# at once into **serial passes**, and it plans convolutions with the same machinery (PopLibs,
# `ConvPlan.cpp`). It also counts more hardware detail: the AMP
# unit's fixed shape (a block that does not fill it wastes cycles), pairs of tiles that share an
# exchange bus (PopLibs, `ExchangeEstimator.hpp`), and code size and stack in tile memory. As in the
# rest of ipukit, the exchange is charged as the bytes of the busiest tile at 4 bytes per cycle,
# and the sync as an assumed 150 cycles. Change those numbers and the crossovers between cuts move.
# The reasons behind them stay: compute per tile, bytes through the busiest tile, partial sums
# to add, and memory to hold it all.

# %% [markdown]
# ## Recap
#
# - Matrix products are more than 99 % of BERT-Base's FLOPs. Each IPU tile multiplies with its AMP
#   unit at 16 float32 (64 float16) FLOP per cycle on a GC2 (32 and 128 on a GC200), derived from
#   the published peaks. **Six vertices per tile**, on blocks of a few dozen rows or more, reach it.
# - C = A·B is cut over tiles along **M, N and K**. Cutting M broadcasts B and cutting N broadcasts A:
#   send the smaller operand, or cut both to send a quarter of each. Cutting K moves no operand
#   but leaves **partial sums** to add up. Every cut also has a memory bill per tile.
# - A reduction onto one tile is a fan-in that can cost more than the products. **Sharing it**, each
#   tile adding one slice of C, cuts its exchange P-fold.
# - `ops.plan_matmul` does what poplin's planner does: it prices every cut with the cost model and
#   keeps the fastest whose temporaries fit in `available_memory_proportion` of a tile.
#   `ops.create_matmul_inputs` puts A and B where the plan wants them, and then the estimate equals
#   the engine's profile. A tighter budget leaves fewer cuts, and the plan can only get slower.
# - Next, **notebook 06 (real models)** maps whole networks, whose matmuls have to share the tiles
#   with their weights and activations.
