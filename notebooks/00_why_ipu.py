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
# # 00 · Why a new processor
#
# A neural network is a graph of millions to billions of numbers, and training it is mostly
# *moving* those numbers: every layer reads its weights and activations, does a little
# arithmetic on them and writes results that the next layer reads again. For twenty years the
# arithmetic units of processors have become faster much more quickly than the memories that
# feed them, so on many workloads today's chips spend more time waiting for data than computing.
# The Graphcore IPU is one answer to that problem: instead of a few big processors in front of a
# large external memory, it has 1216 small independent cores (*tiles*; 1472 on the newer GC200),
# each next to its own SRAM, and no external memory at all. This notebook explains the problem
# with published numbers, gives you a tool to reason about it (the roofline), and runs a first
# program on the emulated IPU you will use for the rest of the course.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. describe the three ways of building a processor for this work (a few fat CPU cores with
#    caches and DRAM, thousands of GPU lanes in lock-step fed by HBM, 1216 independent IPU tiles
#    each with its own SRAM) and what each is good at;
# 2. explain the *memory wall* with the published growth rates of compute and memory bandwidth;
# 3. compute the *arithmetic intensity* (FLOP per byte) of an elementwise add, a dot product and a
#    matrix multiply, and use the *roofline* to say whether a kernel is limited by memory or by
#    arithmetic on a given chip, and choose the batch a layer needs to reach a share of the peak;
# 4. explain why the IPU's ridge point sits near 1 FLOP/byte, and decide where a kernel's data
#    should live when a model does not fit in its SRAM;
# 5. run a small program on the emulated IPU and read its result and profile.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# Everything runs in a few seconds on a laptop.
#
# Every number below comes either from the emulator (`ipukit`) or from a published figure,
# cited where it is used. The hardware figures live in one table, `ipukit.viz.HARDWARE`, with
# their sources in `ipukit/viz/roofline.py`; the IPU's own in `ipukit.GC2` and `ipukit.GC200`
# (`ipukit/core/spec.py`).

# %%
import numpy as np

import ipukit
from ipukit import codelets, models, viz, widgets
from ipukit.exercise import load
from ipukit.viz import HARDWARE          # published figures of CPUs, GPUs and IPUs, with sources

# %% [markdown]
# ## 1 · Three ways to build a processor
#
# Machine-learning graphs are **big** (BERT-Large has 335 million parameters), **irregular**
# (many different operations, many of them small: a layer norm, a softmax, a 3×3 convolution on
# 32 channels) and **memory-hungry** (every operation reads tensors that an earlier one wrote). A
# processor can only do arithmetic on numbers that sit next to its arithmetic units, and bringing
# them there often takes longer than the arithmetic itself. Three designs answer this differently:
#
# | | CPU | GPU | IPU |
# |---|---|---|---|
# | style | a few fat cores, scalar + SIMD | thousands of SIMD lanes in lock-step | many independent cores (MIMD) |
# | example | Intel Xeon Platinum 8180: 28 cores, each with two 16-lane float32 FMA units (Intel ARK) | NVIDIA V100: 5,120 float32 lanes in 80 multiprocessors, scheduled in *warps* of 32 threads that run the same instruction (NVIDIA V100 datasheet and Volta whitepaper; CUDA Programming Guide) | Graphcore GC2: 1216 tiles, each a core with 6 hardware worker threads running its own code (Jia et al., 2019) |
# | memory | large caches, then DDR4 DRAM: 128 GB/s | small caches, then HBM2: 900 GB/s, 16 or 32 GB | 256 KiB of SRAM per tile, 304 MiB in all, and **no DRAM** (Jia et al., 2019) |
# | built for | branchy, serial code; low latency | big, regular arrays: one instruction for many numbers | fine-grained, irregular parallel work on data that stays on chip |
#
# A GPU gets its speed by making 32 threads execute *the same* instruction: when they take
# different branches, the branches run one after the other. An IPU tile runs its own program on
# its own memory, so 1216 tiles can do 1216 different things at once; in exchange, a tile can
# only compute on data in its own 256 KiB, and anything else must be *sent* to it first.
#
# The table of published figures the rest of this notebook uses:

# %%
print(f"{'chip':<26}{'year':>5}  {'memory':<11}{'peak float32':>14}{'memory bandwidth':>18}{'on chip':>11}")
for name, hw in HARDWARE.items():
    published = f"   (published: {hw['marketed_bandwidth'] / 1e12:g} TB/s)" if "marketed_bandwidth" in hw else ""
    print(f"{hw['label']:<26}{hw['year']:>5}  {hw['memory']:<11}"
          f"{hw['peak_flops']['float32'] / 1e12:>9.1f} TFLOP/s{hw['bandwidth'] / 1e12:>12.2f} TB/s"
          f"{hw['on_chip_bytes'] / 2**20:>7,.0f} MiB{published}")
print()
for spec in (ipukit.GC2, ipukit.GC200):
    print(f"{spec.describe()}\n    {spec.total_tiles * spec.workers_per_tile:,} worker threads, "
          f"{spec.total_sram_bytes / 2**20:,.0f} MiB of SRAM in all, no DRAM")
gc2 = ipukit.GC2
print(f"GC2 power: {gc2.peak_flops('float16') / 1e12:.1f} TFLOP/s float16 at {gc2.power_watts:.0f} W per chip = "
      f"{gc2.peak_flops('float16') / gc2.power_watts / 1e12:.2f} TFLOP/s per watt")

# %% [markdown]
# **What to notice.** The IPU's memory is about 35 times faster than a V100's HBM2 (31.1 TB/s
# against 0.9 TB/s) but about 50 times smaller (304 MiB against 16 GB). That is the trade the whole
# course is about: bandwidth and independence in exchange for capacity.
#
# - The GC2's 31.1 TB/s is *derived* from the width of a tile's loads (Jia et al., 2019): 16 bytes
#   per cycle per tile, × 1216 tiles × 1.6 GHz. Graphcore **publishes 45 TB/s** for the GC2 and
#   47.5 TB/s for the GC200; our sources do not say how that figure is counted. ipukit's tiles read
#   16 bytes per cycle, so every roof in this notebook uses the derived figure (the published one
#   would move the IPU's roofs up by half).
# - A GPU has on-chip memory too: a V100 has 6 MiB of L2 cache and 128 KiB of L1 / shared memory
#   in each of its 80 multiprocessors, 16 MiB in all; an A100 has 60 MiB (NVIDIA's architecture
#   whitepapers). But it is a cache and scratchpad in front of the HBM, where the GPU's data lives.
#   The IPU's 304 MiB is 19 times a V100's on-chip memory, and it is *all* the memory there is.
# - The interview behind this course quotes 125 TFLOPS of mixed precision at 120 W for a GC2: about
#   one TFLOP/s per watt at peak.

# %% [markdown]
# ## 2 · The memory wall
#
# Over the last twenty years, the peak arithmetic of server hardware grew 3.0× every two years,
# while DRAM bandwidth grew 1.6× and interconnect bandwidth 1.4× every two years (Gholami et al.,
# *AI and Memory Wall*, IEEE Micro, 2024). Compounded, those small differences become enormous:

# %%
years = 20
for what, rate in viz.MEMORY_WALL_GROWTH.items():
    print(f"{what:<24} x{rate} every 2 years  ->  x{rate ** (years / 2):>9,.0f} in {years} years")
compute, dram = viz.MEMORY_WALL_GROWTH["peak compute (FLOP/s)"], viz.MEMORY_WALL_GROWTH["DRAM bandwidth"]
print(f"\nFLOPs a chip can do per byte its DRAM delivers: x{compute / dram:.2f} every 2 years, "
      f"x{(compute / dram) ** (years / 2):,.0f} in {years} years")

# %%
viz.plot_memory_wall()

# %%
# Where each chip keeps its data, and what it has on chip (HARDWARE, with the sources in ipukit/core/devices.py)
for name, hw in HARDWARE.items():
    print(f"{hw['label']:<26} data in {hw['memory']:<10} at {hw['bandwidth'] / 1e12:6.2f} TB/s; "
          f"on chip: {hw['on_chip_bytes'] / 2**20:5,.0f} MiB of {hw['on_chip']}")

# %% [markdown]
# **What to notice.**
#
# - *Left:* at these rates, compute grows about 59,000× in twenty years while DRAM bandwidth grows
#   about 110×. A chip that was balanced twenty years ago would, built today at the same rates,
#   do about 540 times more arithmetic per byte its memory delivers.
# - *Right:* the result today, as *machine balance*: how many FLOPs a program must do on each byte it
#   fetches from the memory its data lives in (HBM for a GPU, tile SRAM for an IPU) to keep the
#   chip busy. A GPU's on-chip memory (16 MiB on a V100, 60 MiB on an A100, printed above) is faster
#   than its HBM, but it holds only what is being worked on now: a working set larger than that
#   comes from HBM at the HBM roof. The CPU needs 35, the GPUs 12–17 (in float32; with
#   float16 tensor cores, 139 and 201), while an IPU computing on its own SRAM needs about 1 (GC2)
#   or 2 (GC200).
# - A program that does less work per byte than its chip's balance runs at the speed of memory,
#   whatever the chip's peak. The next section makes this precise.

# %% [markdown]
# ## 3 · Arithmetic intensity and the roofline
#
# The **arithmetic intensity** of a kernel is the number of floating-point operations it does per
# byte it moves to or from memory:
#
# $$I = \frac{\text{FLOPs}}{\text{bytes moved}}$$
#
# The **roofline model** (Williams, Waterman & Patterson, CACM, 2009) says that a chip with peak
# $P$ FLOP/s and memory bandwidth $B$ bytes/s runs a kernel of intensity $I$ at most at
#
# $$\text{attainable} = \min(P,\; I \times B).$$
#
# The two roofs meet at the **ridge point** $P / B$: a kernel to the left of it is
# **memory-bound** (it waits for data), a kernel to the right is **compute-bound**.
#
# Three kernels, in float32 (4 bytes per number), counting each input read once and each output
# written once:
#
# - **vector add** `c = a + b` over $n$ numbers: $n$ additions; $3 \times 4n$ bytes. $I = 1/12$, whatever $n$.
# - **dot product** `s = a · b`: $n$ multiplies and $n$ adds; $2 \times 4n$ bytes (plus 4 for $s$). $I \approx 1/4$.
# - **matrix multiply** of two $n \times n$ matrices: each of the $n^2$ outputs takes $n$ multiplies and
#   $n$ adds, so $2n^3$ FLOPs; three matrices of $4n^2$ bytes. $I = 2n^3 / 12n^2 = n/6$: it
#   *grows* with $n$, because every number read is used $n$ times.

# %%
n = 1_000_000                                       # vector length; the intensity does not depend on it
intensity = {
    "vector add": n / (3 * 4 * n),                  # n FLOPs over a, b and c
    "dot product": 2 * n / (2 * 4 * n + 4),         # 2n FLOPs over a, b and the scalar s
}
for size in (16, 64, 256):
    intensity[f"matmul {size}"] = 2 * size**3 / (3 * 4 * size**2)   # = size / 6
for name, value in intensity.items():
    print(f"{name:<12} {value:8.3f} FLOP/byte")

# %%
viz.plot_roofline(devices=("Xeon 8180", "V100", "A100", "GC2"), workloads=intensity)

# %% [markdown]
# **What to notice.** Both axes are logarithmic; each chip's roof rises with slope 1 (memory-bound)
# until its ridge point (the dot), then stays flat at its peak.
#
# - The vector add and the dot product sit left of *every* ridge: they are memory-bound on every
#   chip, so only bandwidth matters. At $I = 1/12$ a V100 reaches 0.9 TB/s ÷ 12 = 75 GFLOP/s, half a
#   percent of its 15.7 TFLOP/s; the GC2's SRAM roof at the same point is 31.1 TB/s ÷ 12 = 2.6 TFLOP/s
#   (3.75 TFLOP/s with Graphcore's published 45 TB/s).
# - The 64 × 64 matrix multiply ($I$ = 10.7) is left of the V100's ridge (17.4) but far right of the
#   GC2's (1): the same kernel waits for memory on one chip and for arithmetic on the other.
# - Big matrix multiplies are compute-bound everywhere. That is why GPUs shine on them, and why the
#   IPU's case rests on everything else in a model, and on keeping the data on chip.

# %% [markdown]
# The same kernels on a GPU (its HBM2) and on an IPU (its SRAM), each at min(peak, intensity ×
# bandwidth), and which roof binds:

# %%
chips = ("V100", "GC2")
rows = [f"{'kernel':<12}{'FLOP/B':>8}" + "".join(f"{HARDWARE[c]['label']:>38}" for c in chips)]
for name, value in intensity.items():
    row = f"{name:<12}{value:8.3f}"
    for chip in chips:
        roof = viz.device_roof(chip)                 # a Roof: label, peak, bandwidth, memory
        flops = min(roof.peak, value * roof.bandwidth)
        bound = "memory" if value * roof.bandwidth < roof.peak else "compute"
        row += f"{flops / 1e12:>12.2f} TFLOP/s, {bound:<7} ({flops / roof.peak:6.1%})"
    rows.append(row)
print("\n".join(rows))

# %% [markdown]
# **What to notice.** The percentage is the share of the chip's peak a kernel can reach at best.
# On the V100 even a 64 × 64 matrix multiply is capped at about 60 % of peak by HBM; on the GC2,
# once the data is in the tiles' SRAM, only the vector add and the dot product are memory-bound.

# %% [markdown]
# ### Exercise 00.1 · The smallest batch that reaches a share of the peak
#
# Real layers are not square: a layer with a batch of $m$ rows, $k$ inputs and $n$ outputs multiplies
# an $(m, k)$ matrix by a $(k, n)$ one. The weights are read once whatever $m$ is, so a bigger batch
# reuses each of them more: the intensity grows with $m$, and so does the roof. How big a batch does
# a chip need before its arithmetic, not its memory, is the limit? That is a decision every
# deployment makes (a bigger batch costs memory and latency).
#
# In `exercises/ex00_why_ipu.py`, write **`smallest_batch(peak_flops, bandwidth, k, n, fraction,
# dtype="float32")`**: the smallest batch $m$ at which the roofline lets a $(k, n)$ layer reach
# `fraction` of the peak, counting the two inputs read once and the output written once; raise
# `ValueError` when no batch reaches it (the intensity has a limit as $m$ grows: work it out).
# **Predict first**: for half the peak of a 1024 × 1024 float32 layer, how many rows does a V100 fed
# from HBM2 need, and a GC2 fed from its SRAM? Write your guesses down, then run the cells below.

# %%
ex = load("ex00_why_ipu")       # loads the file again, with your latest edits
try:
    for chip, dtype in (("V100", "float32"), ("GC2", "float32"), ("V100", "float16"), ("GC2", "float16")):
        roof = viz.device_roof(chip, dtype)
        m = ex.smallest_batch(roof.peak, roof.bandwidth, 1024, 1024, 0.5, dtype)
        print(f"{roof.label:<40} half the {dtype} peak from a batch of {m:>4} rows")
except NotImplementedError as e:
    print(f"Not done yet: {e}")

# %%
ipukit.check("ex00_1")

# %% [markdown]
# Once it passes, compare the rows: fed from HBM2, a GPU needs several times the batch an IPU fed
# from its SRAM needs for the same share of its peak, and float16 (a higher peak, the same
# bandwidth) pushes the GPU's batch up again. An IPU's on-chip memory lets it run small batches
# efficiently, if the data is already in the tiles.

# %% [markdown]
# ## 4 · A first program on the emulated IPU
#
# Time to run something. `ipukit` emulates an IPU at the level Graphcore's Poplar SDK exposes: you
# build a **graph** of tensors, place (*map*) each tensor's elements on tiles, put **vertices** (small
# programs, *codelets*) on tiles in a **compute set**, and an **engine** runs it. The emulator computes
# the real numbers and tells you what the IPU would have spent in cycles, bytes and memory.
#
# We use a *teaching-size* GC2 of 16 tiles and add two vectors of 24,576 floats: 1,536 per tile,
# split into 6 vertices of 256, one for each of the tile's 6 hardware worker threads.

# %%
spec = ipukit.GC2.replace(tiles=16)                  # a GC2 with 16 of its 1216 tiles
g = ipukit.Graph(spec)
N = spec.tiles * 6 * 256                              # 16 tiles x 6 workers x 256 floats
a, b, c = (g.add_variable(N, name=name) for name in "abc")
for t in (a, b, c):
    g.map_linearly(t)                                 # elements 0..1535 on tile 0, the next 1536 on tile 1, ...

cs = g.add_compute_set("add")
for tile in range(spec.tiles):
    for worker in range(6):                           # 6 vertices per tile, 256 elements each
        lo = (tile * 6 + worker) * 256
        part = slice(lo, lo + 256)
        g.add_vertex(cs, codelets.add, tile=tile, a=a[part], b=b[part], out=c[part])

eng = ipukit.Engine(g, ipukit.Execute(cs))
rng = np.random.default_rng(0)
x, y = rng.standard_normal(N, dtype=np.float32), rng.standard_normal(N, dtype=np.float32)
eng.write(a, x)
eng.write(b, y)
profile = eng.run()
print("c == x + y:", np.array_equal(eng.read(c), x + y))
print(eng.profile.summary())

# %% [markdown]
# **What to notice.**
#
# - Each vertex adds its 256 floats in an estimated 10 + 2 × 128 = 266 worker cycles (a start-up cost
#   plus 2 cycles per pair of floats: assumptions of the cost model, written in `ipukit/core/cost.py`).
# - A tile's 6 hardware workers take turns on one pipeline, each issuing one instruction every 6
#   cycles, so the six vertices together keep the tile busy for 6 × 266 = 1,596 cycles, and a tile
#   given fewer than six vertices leaves part of itself idle. Notebook 01 starts there.
# - Every tile added its own part of the vectors from its own SRAM: nothing moved between tiles
#   (0 B exchanged). The only other cost is the 150-cycle **sync** every step begins with (an
#   assumption of the model; notebook 02 is about it).
# - The memory report shows the price of that locality: each tile holds its three slices (18 KiB of
#   its 256 KiB), and nothing else can hold them for it.
#
# Where does this run land on the roofline? It did $N$ additions at intensity 1/12:

# %%
achieved = N / profile.seconds                       # FLOP/s: N additions in the run's time
roof = viz.device_roof(spec)                         # the 16-tile machine's own roofline
print(f"achieved {achieved / 1e9:.1f} GFLOP/s; the SRAM roof of {spec.tiles} tiles at I = 1/12 is "
      f"{float(roof.attainable(1 / 12)) / 1e9:.1f} GFLOP/s; peak {roof.peak / 1e9:.0f} GFLOP/s")
print(f"all {ipukit.GC2.tiles} tiles of a GC2 doing the same: {achieved * ipukit.GC2.tiles / spec.tiles / 1e12:.2f} "
      f"TFLOP/s, against {HARDWARE['V100']['bandwidth'] / 12 / 1e9:.0f} GFLOP/s for a V100 reading HBM2")
viz.plot_roofline(devices=(spec,), workloads=[("vector add", 1 / 12, achieved)],
                  title="The vector add on 16 emulated GC2 tiles: memory-bound, but on SRAM")

# %% [markdown]
# **What to notice.** The star sits below the SRAM roof, at about two thirds of it: the add is
# memory-bound, as the roofline predicts, but the cost model's add loop moves 12 bytes per tile-cycle
# where the roof assumes 16 can be read, and the 150-cycle sync takes the rest. Scaled to a whole
# GC2 it would be more than 20 times what a V100 can do with vectors it has to read from HBM2. (A
# GPU also keeps small data in on-chip caches and registers; the IPU's difference is that all
# 304 MiB of its memory are on chip, next to the cores.)

# %% [markdown]
# ## 5 · Why the IPU's ridge sits so far left
#
# The ridge point is peak ÷ bandwidth, per tile as for the whole chip. A GC2 tile does at most 16
# float32 FLOPs per cycle (31.1 TFLOP/s ÷ 1216 tiles ÷ 1.6 GHz) and reads 16 bytes per cycle from its
# SRAM (Jia et al., 2019): a ridge of **1 FLOP/byte** (Graphcore's published 45 TB/s for the whole
# chip would put it at 0.7). Its memory keeps up with its arithmetic,
# because it sits on the chip next to the core instead of in separate memory chips.
#
# There is a second roof. Data that lives on *another* tile has to come over the on-chip
# **exchange**, which delivers 4 bytes per cycle to each tile (the figure Poplar's own IPU model
# uses, `getExchangeBytesPerCycle`): 7.8 TB/s in all, and a ridge of 4 FLOP/byte. Both are drawn
# below for the GC2 (dashed: over the exchange), with the CPU and the GPUs of section 3 for
# comparison. (A GC200's SRAM roof is the same line as the GC2's, with a peak twice as high.)

# %%
for dtype in ("float32", "float16"):
    print(f"ridge points in {dtype}: " + ", ".join(f"{HARDWARE[k]['label']} {viz.ridge_point(k, dtype):.3g}"
                                                   for k in ("V100", "A100", "GC2", "GC200")))
viz.plot_roofline(devices=("Xeon 8180", "V100", "A100", "GC2"), exchange=True,
                  workloads={k: v for k, v in intensity.items() if k in ("vector add", "matmul 64")})

# %% [markdown]
# **What to notice.** Even data fetched from another tile (dashed line) comes more than 8 times
# faster than from HBM2 on a V100; data in the tile's own SRAM 35 times faster. What a program must
# get right on an IPU is therefore *where* each tensor lives: on the tile that uses it (SRAM roof),
# or on another tile (exchange roof). The rest of the course is about that choice.
#
# ### Try it: the roofline of a real run
#
# `widgets.roofline_experiment` builds a workload on 16 emulated GC2 tiles, runs it on the engine,
# and puts a star at the FLOP/s it achieved, between the roofs of a whole GC2, the 16 emulated tiles
# and a chip you choose. First a plain call, a 64 × 64 matrix multiply:

# %%
widgets.roofline_experiment(n=64, workload="matrix multiply", compare="V100")

# %% [markdown]
# The same with controls: pick the workload, its size and the chip to compare with. Every change
# runs the real emulator.

# %%
widgets.roofline_explorer()

# %% [markdown]
# **What to notice.**
#
# - The matrix multiply of the plain call reaches 113 GFLOP/s, a little over a quarter of the 16
#   tiles' 410 GFLOP/s peak, although its intensity (10.7) is far right of the ridge. The title says
#   why: more than half of the cycles are *exchange*. This mapping first copies all of B to every
#   tile, so most of its bytes come over the exchange (the dashed roof), and 16 copies of B are many
#   more bytes than the intensity counts. Notebook 05 maps a matrix multiply so that far less moves.
# - Make `n` small (8 or 16): every workload collapses, because each step starts with a 150-cycle sync
#   whatever the work. A superstep must carry enough work to pay for its sync.
# - The dot product needs two steps: every tile sums its part, then one tile sums the partial sums
#   (a second sync, and an exchange). Reductions over tiles are part of notebook 03.

# %% [markdown]
# ## 6 · What 304 MiB of on-chip SRAM changes, and when the model does not fit
#
# 304 MiB is small next to a GPU's 16 GB of HBM2, but it is *fast*: the whole memory can be read
# in about 10 microseconds. Reading a V100's 16 GB once takes 18 milliseconds.

# %%
sram, sram_bw = ipukit.GC2.total_sram_bytes, HARDWARE["GC2"]["bandwidth"]
hbm, hbm_bw = 16e9, HARDWARE["V100"]["bandwidth"]        # V100 SXM2, 16 GB of HBM2 (NVIDIA datasheet)
print(f"GC2 : {sram / 1e9:5.2f} GB of SRAM ({sram / 2**20:.0f} MiB), read once in {sram / sram_bw * 1e3:7.3f} ms")
print(f"V100: {hbm / 1e9:5.2f} GB of HBM2,            read once in {hbm / hbm_bw * 1e3:7.3f} ms")
print(f"float16 numbers that fit in a GC2: {sram // 2 / 1e6:,.0f} million, before code, activations and buffers")

# %% [markdown]
# So a model whose weights and activations fit in the SRAM runs with its data always next to the
# cores. Which real models fit? `ipukit.models` builds them at their published sizes and adds up
# their memory (weights, activations, and for training gradients and optimiser state), keeping a
# quarter of each IPU's SRAM for code and buffers (an assumption, see `ipukit/models/setup.py`).
# Here is inference in float16, one sample at a time:

# %%
print(models.compare(training=False, precision="fp16").describe())

# %% [markdown]
# **What to notice.** ResNet-50, ResNeXt-50, the LSTM and BERT-Base fit on one GC2. BERT-Large and
# GPT-2 small do not (the *pipelined* column: they need 3 and 4 GC2s), but fit on one GC200 (897 MiB).
# GPT-2 XL fits on neither; it needs 6 GC200s. Training needs several times more memory per
# parameter (gradients, and Adam's two values per weight): run the same call with
# `training=True, precision="mixed"` and no model in the list fits on one GC2.
#
# When a model does not fit, there are two ways out, and each has its own, much lower, roof:

# %%
gc2 = ipukit.GC2
sources = {
    "its own SRAM": HARDWARE["GC2"]["bandwidth"],
    "another tile, over the exchange": viz.exchange_roof("GC2").bandwidth,
    "the other IPU of its card, 3 IPU-Links": gc2.ipu_link_bytes_per_second,
    "other IPUs, all 80 IPU-Links at once": gc2.ipu_link_chip_bytes_per_second,
    "the host, over PCIe": gc2.host_bytes_per_second,
}
peak = gc2.peak_flops("float32")
print(f"A GC2 ({peak / 1e12:.1f} TFLOP/s float32) computing on data that comes from")
for where, bandwidth in sources.items():
    print(f"  {where:<40}{bandwidth / 1e9:>9,.1f} GB/s  ->  ridge {peak / bandwidth:>7,.0f} FLOP/byte")

# %% [markdown]
# - **Split the model over several IPUs** (pipelining, or model parallelism): each IPU keeps its part
#   in SRAM, and only the activations at the cut cross the IPU-Links. A GC2 has 80 of them, 320 GB/s
#   in all (the interview behind this course); the two IPUs of a C2 card are joined by 3 links of
#   64 GB/s, 96 GB/s each way (graphcore/legacy_drivers_and_tools), the figure ipukit's cost model
#   uses between neighbouring IPUs. Notebooks 06 (real
#   models) and 07 (many IPUs) show how; `ipukit.models.pipeline` plans such a split.
# - **Stream from the host** (or, on the GC200's IPU-M2000, from its *Streaming Memory* DRAM): then
#   the weights arrive at the host link's speed (the GC2's link is PCIe Gen4 ×16; ipukit assumes its
#   line rate, 31.5 GB/s each way, real transfers reach less) and the ridge point jumps from 1 to
#   about 1,000 FLOP/byte: only kernels with very high reuse can afford it.
#
# The same chip is a 1-FLOP-per-byte machine for data in its tiles and a 1,000-FLOP-per-byte
# machine for data from outside. Keeping the working set on chip is the IPU's bet.
#
# ### Exercise 00.2 · Where should the data live?
#
# A decision under a memory cap. In `exercises/ex00_why_ipu.py`, write **`best_source(flops, nbytes,
# peak_flops, sources)`**: `sources` maps a name to `(bandwidth, capacity)`; a kernel of `flops` FLOPs
# on `nbytes` bytes fed from a source takes the slower of its arithmetic and its memory,
# max(flops / peak, nbytes / bandwidth) seconds, but only a source that holds all `nbytes` can feed
# it. Return `(name, seconds)` of the fastest source that holds the data (the first listed of equal
# ones), and raise `ValueError` when none does. **Predict first** where BERT-Base's and BERT-Large's
# float16 weights should live on one GC2, then run the cell.

# %%
ex = load("ex00_why_ipu")
where = {"its own SRAM": (HARDWARE["GC2"]["bandwidth"], gc2.total_sram_bytes),
         "the other IPU of its card": (gc2.ipu_link_bytes_per_second, gc2.total_sram_bytes),
         "the host, over PCIe": (gc2.host_bytes_per_second, 2 ** 40)}
try:
    for model, params in (("BERT-Base", 110e6), ("BERT-Large", 340e6)):
        nbytes = int(2 * params)                     # float16 weights, read once per 128-token sequence
        name, seconds = ex.best_source(2 * params * 128, nbytes, gc2.peak_flops("float16"), where)
        print(f"{model:<11} {nbytes / 1e6:,.0f} MB of weights: from {name}, {seconds * 1e3:.3f} ms per sequence")
except NotImplementedError as e:
    print(f"Not done yet: {e}")

# %%
ipukit.check("ex00_2")

# %% [markdown]
# ## Recap
#
# - Compute has grown much faster than memory bandwidth (3.0× against 1.6× every two years;
#   Gholami et al., 2024), so most kernels are limited by moving data, not by arithmetic.
# - Arithmetic intensity = FLOPs ÷ bytes moved. The roofline says a kernel runs at most at
#   min(peak, intensity × bandwidth); left of the ridge point (peak ÷ bandwidth) it is memory-bound.
#   In float32 a vector add sits at 1/12, a dot product at 1/4, an $n^3$ matrix multiply at $n/6$.
# - CPUs and GPUs feed their cores from DRAM or HBM and need 12–35 FLOPs per byte (float32) to reach
#   peak. An IPU's 1216 independent tiles each compute on their own SRAM, at 16 B/cycle: a ridge of
#   1 FLOP/byte, or 4 for data fetched from another tile over the exchange.
# - The price is capacity: 304 MiB on a GC2 (897 MiB on a GC200) and no DRAM. Models that do not fit
#   are split over IPUs or streamed from the host, at a much lower roof.
# - On the emulator, a program is a graph of tensors mapped to tiles and vertices in compute sets;
#   `eng.profile.summary()` says what each phase cost. Six vertices per tile keep its six workers busy.
#
# **Next: notebook 01 · Tiles and SRAM**, where you look inside one tile: its six workers, its
# 256 KiB, and what happens when a tensor does not fit.
