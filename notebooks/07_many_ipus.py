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
# # 07 · Many IPUs
#
# An IPU keeps everything a program needs in the SRAM of its tiles, right next to the arithmetic:
# that is why it is fast, and also its hard limit. One GC200 holds 897 MiB. Training BERT-Large
# with the Adam optimiser in mixed precision, with every byte kept on chip, needs more than five
# times that; Graphcore trains it on four IPUs by keeping much of it elsewhere or not at all. So
# large models are spread over several IPUs, and even models that fit are often copied onto several IPUs to train
# on more data at once. Either way the chips must talk to each other, over **IPU-Links**, which
# carry far less than the exchange inside a chip. This notebook shows the two ways to use many
# IPUs, **pipelining** and **data parallelism**, and what each costs on the links.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. explain from a memory breakdown why a model needs several IPUs, and compare an IPU-Link's
#    bandwidth with the exchange inside a chip;
# 2. predict whether a copy between chips is limited by the sending tiles or by the link, and
#    find link bytes and global syncs in a profile;
# 3. run a pipeline on emulated IPUs, point at the fill-and-drain bubble in its trace, and compute
#    the bubble (S-1)/(M+S-1) and the throughput for S stages and M micro-batches;
# 4. cut a full-size BERT-Large into balanced stages that each fit one IPU, and read each stage's
#    memory and FLOPs;
# 5. name the training levers Graphcore uses (recomputation, optimiser state in Streaming Memory and
#    sharded over replicas, FP16 momentum and partials, the matmul's share of memory), say what bytes
#    each frees, and find a set-up that fits BERT-Large on four IPUs;
# 6. train a layer on data-parallel replicas, check the result against NumPy, and predict what
#    the gradient all-reduce sends over the links: 2(R-1)·N·4 bytes.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# Everything below runs on the emulator in a few seconds. The machines are small (2 to 32 tiles per
# IPU, a few IPUs) so that each experiment runs at once; the full-size BERT-Large is analysed
# layer by layer on the host, without running it on the emulator.

# %%
import numpy as np
import ipywidgets as W

import ipukit
from ipukit import Copy, Engine, models, parallel, viz, widgets
from ipukit.collectives import all_reduce
from ipukit.exercise import load
from ipukit.models import plot as model_plot
from ipukit.palette import PHASE_COLORS, SERIES

ex = load("ex07_many_ipus")        # your exercise module: exercises/ex07_many_ipus.py

# %% [markdown]
# ## 1 · When one IPU is not enough
#
# Count what training has to keep in SRAM. Every parameter needs its weight (FP16, 2 bytes), a
# gradient (2 bytes), an FP32 master copy of the weight (4 bytes) and Adam's two FP32 state values
# (8 bytes): 16 bytes per parameter (Rajbhandari et al., 2020, "ZeRO", §3.1). On top of that come
# the activations the backward pass needs. `ipukit.models` counts all of it, layer by layer, for
# real networks at their published sizes (BERT-Large has 335,141,888 parameters as HuggingFace
# counts them; Devlin et al. (2019) round it to 340M).

# %%
bert = models.bert_large()
print(models.fit(bert, ipukit.GC200, training=True, precision="mixed").describe())

# %% [markdown]
# A quarter of the SRAM is held back for code, exchange buffers and stacks (an assumption of
# `ipukit.models`, set with `reserve=`). Even so the verdict is clear: 5,224 MiB against 673 MiB.
# Here are three models side by side, against the SRAM of one GC2 (dashed) and one GC200 (solid):

# %%
ax = model_plot.plot_memory([models.resnet50(), models.bert_base(), bert], training=True, precision="mixed")

# %% [markdown]
# **What to notice.**
# - Optimiser state and master weights, not the weights themselves, take most of the space.
# - ResNet-50 fits on one GC200 with room to spare, so we can train it faster by running
#   *copies* of it on several IPUs, each on its own share of the data: **data parallelism**
#   (section 5).
# - BERT-Base and BERT-Large do not fit, so each IPU must hold only *some of the layers*, and the
#   activations flow from chip to chip: **pipelining** (sections 3 and 4).
#
# Both ways send data between chips. So first: what does it cost to move a byte from one IPU to
# another?

# %% [markdown]
# ## 2 · IPU-Links: the wires between chips
#
# Inside a chip every tile has its own port on the exchange, 4 bytes per cycle in each direction,
# so 1216 tiles together move about 7.8 TB/s. Between chips there are IPU-Links. Two figures are
# published, and they answer different questions:
#
# - **the chip's total**: a GC2 has 80 IPU-Links, 2.5 Tbit/s = **320 GB/s** chip to chip in all
#   (the interview behind this course); a GC200 has 10 IPU-Links, also **320 GB/s** in all (its
#   product listing). That is what a chip can send when it talks to all its neighbours at once;
# - **one pair of neighbours**: what flows between two particular IPUs, the figure ipukit's cost
#   model uses, because its copies go from one IPU to another:
#
# - **GC2**: the two IPUs of a C2 card are joined by three IPU-Links of 64 GB/s each (both
#   directions together), 192 GB/s, so **96 GB/s each way** (the C2 card's README in Graphcore's
#   `legacy_drivers_and_tools`; Jia et al., 2019).
# - **GC200**: PopLibs' IPU model uses 4 links between the two IPUs of a pair, each 128 Gibit/s at
#   85 % efficiency: **58.4 GB/s each way** (graphcore/poplibs, `Util.cpp`). An IPU-M2000's four
#   IPUs form a *ladder*: two pairs, each pair joined by its 4 links, with 2 "rung" links and
#   links up and down the ladder to the next M2000.
# - **Sync across chips** takes longer than on one chip. PopLibs' IPU model adds 15 ns per hop, with
#   1 + (N/2)/2 hops for N IPUs, twice for the round trip. ipukit adds that to its on-chip sync of
#   150 cycles (an assumption: no figure is published).
#
# The spec holds all of these numbers; `spec.replace(num_ipus=...)` makes a machine of several chips
# whose tile ids run on from one IPU to the next.

# %%
print(f"{'':8}{'exchange in a chip':>22}{'IPU-Link, each way':>22}{'ratio':>8}{'chip total':>12}   global sync for 2 / 4 / 16 IPUs")
for chip in (ipukit.GC2, ipukit.GC200):
    on_chip = chip.tiles * chip.exchange_bytes_per_cycle            # bytes per cycle, all tiles
    link = chip.ipu_link_bytes_per_cycle                            # one pair of neighbours, each way
    syncs = " / ".join(str(chip.replace(num_ipus=n).global_sync_cycles) for n in (2, 4, 16))
    print(f"{chip.name:8}{on_chip:>14,} B/cycle{link:>14.1f} B/cycle{on_chip / link:>7.0f}x"
          f"{chip.ipu_link_chip_bytes_per_second / 1e9:>7.0f} GB/s   {syncs} cycles (one chip: {chip.sync_cycles})")
for chip in (ipukit.GC2, ipukit.GC200):
    print(f"{chip.name}: {chip.ipu_links} IPU-Links; {chip.ipu_link_topology}")

# %% [markdown]
# A whole chip's exchange is 81 (GC2) to 134 (GC200) times wider than its links. How does ipukit charge
# for that? Open `ipukit/core/cost.py` and read `exchange_phase`: every byte whose sending tile and
# receiving tile sit on different IPUs is added to the sender IPU's outgoing total and the
# receiver IPU's incoming total. The link time is the largest of these totals divided by
# `spec.ipu_link_bytes_per_cycle`, and the exchange phase lasts as long as its busiest *tile* or its
# busiest *link*, whichever is longer. The sync before a phase costs `spec.global_sync_cycles`
# when the phase involves tiles of more than one IPU, and `spec.sync_cycles` otherwise.
#
# To be honest about the model: it gives each IPU **one combined link per direction**, at the
# bandwidth of one pair of neighbours (not the chip's 320 GB/s total), and **no topology**. Sending to the next IPU or to one at the far end of the system costs the same, and
# data never hops through other chips. Real systems are wired in pairs and ladders (IPU-M2000), and
# Jia et al. (2019) measured that IPU-Link latency rises 4 to 7.7 times under full load, against
# 24 % for the exchange inside a chip. ipukit models neither.
#
# Let's measure. One tile copies 4 KiB to a tile of its own IPU, then to a tile of the other IPU:

# %%
spec2 = ipukit.GC2.replace(tiles=16, num_ipus=2)      # tiles 0-15 on IPU 0, tiles 16-31 on IPU 1

def copy_4kib(to_tile):
    g = ipukit.Graph(spec2)
    a = g.add_variable(1024, name="a")                 # 1024 float32 = 4 KiB
    b = g.add_variable(1024, name="b")
    g.set_tile_mapping(a, 0)
    g.set_tile_mapping(b, to_tile)
    eng = Engine(g, Copy(a, b))
    eng.write(a, np.arange(1024, dtype=np.float32))
    profile = eng.run()
    assert (eng.read(b) == np.arange(1024)).all()
    return profile

for to_tile, where in ((1, "same IPU"), (16, "other IPU")):
    p = copy_4kib(to_tile)
    phases = ", ".join(f"{ph.kind} {ph.cycles:,}" for ph in p.steps[0].phases)
    print(f"tile 0 -> tile {to_tile:2} ({where}): {phases} cycles; {p.link_bytes:,} B over IPU-Links")


# %% [markdown]
# Both copies take 1,024 exchange cycles: a single tile sends 4 bytes per cycle, and a GC2 link
# carries 60, so one tile cannot fill a link. The only extra cost of crossing chips is the
# global sync (198 instead of 150 cycles). The link starts to matter when **many tiles** cross
# at once. Below, k tiles each send 4 KiB, either to a neighbour on their own chip or to a tile of
# the other chip, for a GC2 pair and a GC200 pair; each point is one run of the emulator.

# %%
def exchange_cycles(chip, senders, across):
    spec = chip.replace(tiles=32, num_ipus=2)
    g = ipukit.Graph(spec)
    a = g.add_variable((senders, 1024), name="a")
    b = g.add_variable((senders, 1024), name="b")
    g.map_linearly(a, tiles=range(senders))                                   # tiles 0 .. k-1
    g.map_linearly(b, tiles=range(32, 32 + senders) if across else range(1, senders + 1))
    return Engine(g, Copy(a, b)).run().exchange_cycles

ks = [1, 2, 4, 8, 12, 16, 20, 24, 28, 31]
fig = viz.IPUFigure(figsize=(8, 3.6), layout="constrained")
ax = fig.subplots()
ax.plot(ks, [exchange_cycles(ipukit.GC2, k, False) for k in ks], "o-", color=SERIES[0],
        label="on one chip (any number of tiles)")
for chip, color in ((ipukit.GC2, SERIES[1]), (ipukit.GC200, SERIES[2])):
    ax.plot(ks, [exchange_cycles(chip, k, True) for k in ks], "s-", color=color,
            label=f"to the other {chip.name} ({chip.ipu_link_bytes_per_cycle:.1f} B/cycle link)")
ax.set_xlabel("tiles sending 4 KiB each at once")
ax.set_ylabel("exchange cycles")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8)
ax.set_title("Crossing chips: the tiles' ports limit a few senders, the link limits many")
fig

# %% [markdown]
# **What to notice.**
# - On one chip, more senders cost nothing extra: each tile has its own port.
# - Across chips, the time stays at 1,024 cycles until the senders together outrun the link: 15
#   tiles on a GC2 (60 / 4), 11 on a GC200 (43.9 / 4). After that it grows with every tile.
# - A full GC2 has 1216 tiles: if all of them sent across, the link would take 81 times longer than
#   the tiles need. Whatever crosses chips should be **small** compared to what stays on a chip:
#   that is the design rule behind both ways of using many IPUs.

# %% [markdown]
# ## 3 · Pipelining: a production line of IPUs
#
# Cut the model into **stages** of consecutive layers, one stage per IPU. Cut the batch into
# **M micro-batches**. In step t, stage s works on micro-batch t - s and, in the same superstep,
# sends its output activations over the IPU-Links to the next stage. Only activations cross the
# links, once per micro-batch and cut, which is small compared to the weights each stage keeps.
#
# The catch is the start and the end. The last stage waits S - 1 steps for the first micro-batch
# to arrive (the *fill*), and the first stage has nothing to do for the last S - 1 steps (the
# *drain*). The whole batch takes M + S - 1 steps, of which each stage works M. The idle share,
# the **bubble**, is (S-1)/(M+S-1) (Huang et al., 2019, "GPipe").
#
# `parallel.pipeline` builds this on emulated IPUs: dense layers, one per IPU, each layer's columns
# spread over the IPU's tiles. It runs the forward pass only. Here are 4 stages of 96 → 96 layers
# (ReLU between them) on 4 IPUs of 2 tiles each, 8 micro-batches of 12 samples:

# %%
TILES = 2                                   # tiles per IPU: enough to see the schedule

def run_pipeline(stages, micro_batches, width=96, micro_batch_size=12):
    # A forward pass of `stages` dense layers, one per IPU, run on the emulator.
    g = ipukit.Graph(ipukit.GC2.replace(tiles=TILES, num_ipus=stages))
    pl = parallel.pipeline(g, (width,) * (stages + 1), micro_batches, micro_batch_size)
    eng = Engine(g, pl.program)
    rng = np.random.default_rng(stages * 1000 + micro_batches)
    x = rng.standard_normal((micro_batches * micro_batch_size, width)).astype(np.float32)
    weights = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32) for _ in range(stages)]
    pl.write(eng, x, weights)
    eng.run()
    return pl, eng, x, weights

pl, eng, x, weights = run_pipeline(stages=4, micro_batches=8)

h = x.astype(np.float64)                    # the same layers in NumPy
for s, w in enumerate(weights):
    h = h @ w
    h = np.maximum(h, 0) if s < len(weights) - 1 else h
print("outputs match NumPy:", np.allclose(pl.read_outputs(eng), h, rtol=1e-4, atol=1e-4))

print("\nstep   micro-batch on stage 0  1  2  3")
for t, row in enumerate(pl.schedule):
    print(f"{t:4}   {'':19}" + "  ".join("-" if mb is None else str(mb) for mb in row))

# %% [markdown]
# Each row is a superstep; a dash is a stage with nothing to do. Now the profile. `parallel.bubble_fraction`
# counts, over the compute phases, the IPU-steps in which an IPU did no work at all:

# %%
p = eng.profile
S, M, m = pl.stages, pl.micro_batches, pl.micro_batch_size
print(f"supersteps: {p.num_supersteps} (M + S - 1 = {M + S - 1})")
print(f"bubble measured: {parallel.bubble_fraction(p):.4f}   formula (S-1)/(M+S-1) = {(S - 1) / (M + S - 1):.4f}")
print(f"over IPU-Links: {p.link_bytes:,} B = M x m x 96 x 4 B x (S-1) cuts = {M * m * 96 * 4 * (S - 1):,} B")
print(f"cycles: {p.total_cycles:,} in all; {p.cycles_by_phase()}")


# %% [markdown]
# The trace makes the bubble visible. To keep it readable it shows one row per IPU: the first tile
# of each (tile 0 is on IPU 0, tile 2 on IPU 1, and so on; the other tile of an IPU does the same
# work at the same time).

# %%
def pipeline_figure(stages=4, micro_batches=8):
    pl, eng, _, _ = run_pipeline(stages, micro_batches)
    p = eng.profile
    bubble = parallel.bubble_fraction(p)
    return viz.plot_trace(p, tiles=[s * TILES for s in range(stages)], title=(
        f"{stages} stages x {micro_batches} micro-batches: one row per IPU (its first tile); "
        f"{p.total_cycles:,} cycles\nbubble measured {bubble:.1%}, "
        f"formula (S-1)/(M+S-1) = {(stages - 1) / (micro_batches + stages - 1):.1%}"))

pipeline_figure(4, 8)

# %% [markdown]
# **What to notice.**
# - The staircase: IPU 1 starts one step after IPU 0, IPU 3 three steps after. At the end they
#   stop in the same order. The pale area in the lower left and upper right is the bubble.
# - Each busy step has two exchanges (orange). Before the compute, the tiles of an IPU share their
#   input columns, because every tile needs whole rows of its input. After it, each tile writes its
#   output columns straight onto the next IPU: that hand-off is the only traffic over the links, and
#   it rides in the same superstep.
# - The syncs (grey) are drawn on every row: all IPUs run one sequence of supersteps, so an idle IPU
#   waits through them too. A sync costs the global price when its phase involves more than one IPU
#   (246 cycles for 4 IPUs), and 150 cycles in step 0, where only IPU 0 works.
#
# Try it: with more micro-batches the bubble shrinks; with more stages it grows. (Slide to 1 stage:
# no bubble, and no links.)

# %%
widgets.interactive_figure(
    pipeline_figure,
    stages=W.IntSlider(value=4, min=1, max=6, description="stages (IPUs)", continuous_update=False),
    micro_batches=W.SelectionSlider(options=[1, 2, 4, 8, 12, 16], value=8, description="micro-batches",
                                    continuous_update=False))

# %% [markdown]
# ### Exercise 07.1 · Bubble and throughput of a pipeline
#
# In `exercises/ex07_many_ipus.py`, write `pipeline_timing(stage_seconds, micro_batches,
# micro_batch_size=1)`. `stage_seconds[s]` is how long stage s needs for one micro-batch. Every
# step lasts as long as the **slowest** stage (the others wait at the sync). Return `(bubble,
# batch_seconds, samples_per_second)`, and raise `ValueError` when there is no stage or no
# micro-batch. The grader also checks your bubble against pipelines run on the emulator.

# %%
ex = load("ex07_many_ipus")                 # reload: picks up your latest edits
try:
    bubble, seconds, rate = ex.pipeline_timing([1e-4, 1e-4, 1e-4, 1e-4], micro_batches=8, micro_batch_size=12)
    print(f"yours: bubble {bubble:.4f}, batch {seconds * 1e6:,.0f} us, {rate:,.0f} samples/s")
    print(f"the emulated pipeline above: bubble {parallel.bubble_fraction(eng.profile):.4f}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex07_1")

# %% [markdown]
# ## 4 · BERT-Large over many IPUs
#
# Now the real thing. `models.pipeline` cuts a full-size model into stages of consecutive layers,
# one per IPU, so that
#
# - every stage fits in one IPU's usable SRAM, and
# - the slowest stage, which sets the pace of every step, is as fast as possible.
#
# Training adds a twist the forward-only pipeline above did not have. Each stage keeps the
# activations of every micro-batch that has gone forward but not yet come back. With the usual
# one-forward-one-backward schedule, stage s of S holds S - s of them (Narayanan et al., 2021), so
# the first stages need the most memory. A stage's time per micro-batch is its FLOPs (forward and
# backward) at the IPU's AMP peak, plus sending its activations and gradients over a link.

# %%
plan = models.pipeline(bert, ipukit.GC200, training=True, precision="mixed", micro_batches=16)
print(plan.describe())

# %%
fig = viz.IPUFigure(figsize=(16, 4.8), layout="constrained")
model_plot.plot_stages(plan, ax=fig.subplots())
fig

# %% [markdown]
# **What to notice.**
# - Nine GC200s, not eight, *with every byte on chip*: section 4b shows how Graphcore gets to four. The lower bound is 5,224 MiB / 673 MiB = 7.8, but stages are made of
#   whole layers, and the first stages also hold more micro-batches in flight.
# - About three encoder layers per IPU. IPU 0 holds the 31.8 M-parameter embedding table, which
#   costs memory but almost no FLOPs: its stage takes 18 µs against about 127 µs for the others.
#   Memory, not time, decides where its stage ends.
# - Most arrows carry 256 KiB per micro-batch (128 tokens x 1024 values x 2 bytes): tiny next to the
#   ~600 MiB each IPU keeps. That is the design rule from section 2 at work.
# - With 16 micro-batches a third of the time is bubble: (9-1)/(16+9-1) = 33 %.
#
# The plan's bubble and throughput come from the same schedule as your exercise 07.1. Feed it
# the stage times:

# %%
stage_seconds = [s.seconds for s in plan.stages]
print(f"plan:  bubble {plan.bubble:.4f}, batch {plan.batch_seconds * 1e3:.3f} ms, {plan.throughput:,.0f} samples/s")
try:
    bubble, seconds, rate = ex.pipeline_timing(stage_seconds, plan.micro_batches, plan.setup.micro_batch)
    print(f"yours: bubble {bubble:.4f}, batch {seconds * 1e3:.3f} ms, {rate:,.0f} samples/s")
except NotImplementedError as e:
    print("Not done yet:", e)

# %% [markdown]
# Those samples per second assume every IPU computes at its AMP peak: an upper bound, not a
# prediction. The figure below draws the plan's schedule at true scale: one row per IPU, one
# block per micro-batch (blue: compute, orange: sending over the link), pale where an IPU waits.
# The plan prices a micro-batch's forward and backward pass as one block; a real
# one-forward-one-backward schedule interleaves them, with the same bubble. On the right, each
# IPU's memory as a share of its usable SRAM, coloured as in the figure above.

# %%
from matplotlib.patches import Patch

MEMORY_KINDS = ("weights", "gradients", "master", "optimizer", "activations")

def bert_schedule_figure(stages=9, micro_batches=16):
    plan = models.pipeline(bert, ipukit.GC200, ipus=stages, micro_batches=micro_batches,
                           training=True, precision="mixed")
    fig = viz.IPUFigure(figsize=(11, 1.7 + 0.2 * stages), layout="constrained")
    if not plan.feasible:
        fig.text(0.02, 0.5, f"BERT-Large training on {stages} GC200s does not fit:\n{plan.reason}",
                 wrap=True, va="center")
        return fig
    ax, mem = fig.subplots(1, 2, width_ratios=[4, 1], sharey=True)
    step = plan.step_seconds * 1e6                                     # microseconds
    for s, st in enumerate(plan.stages):                               # stage s does micro-batch k in step s + k
        starts = [(s + k) * step for k in range(micro_batches)]
        ax.broken_barh([(t, st.compute_seconds * 1e6) for t in starts], (s - 0.4, 0.8),
                       facecolor=PHASE_COLORS["compute"])
        ax.broken_barh([(t + st.compute_seconds * 1e6, st.link_seconds * 1e6) for t in starts], (s - 0.4, 0.8),
                       facecolor=PHASE_COLORS["exchange"])
    ax.set_facecolor(PHASE_COLORS["idle"])
    ax.set_xlim(0, (micro_batches + stages - 1) * step)
    ax.set_ylim(stages - 0.5, -0.5)
    ax.set_yticks(range(stages), [f"IPU {s}" for s in range(stages)], fontsize=7)
    ax.set_xlabel("microseconds (at the AMP peak)")
    ax.legend(handles=[Patch(color=PHASE_COLORS["compute"], label="compute (forward and backward)"),
                       Patch(color=PHASE_COLORS["exchange"], label="sending over the link"),
                       Patch(facecolor=PHASE_COLORS["idle"], edgecolor="0.6", label="waiting")],
              fontsize=7, loc="lower left", framealpha=0.9)
    left = np.zeros(stages)
    for kind in MEMORY_KINDS:
        share = np.array([getattr(st.memory, kind) for st in plan.stages]) / plan.usable_bytes
        mem.barh(range(stages), share, left=left, color=model_plot.MEMORY_COLORS[kind], height=0.8)
        left += share
    mem.axvline(1.0, color="black", linewidth=1)
    mem.set_xlim(0, 1.05)
    mem.set_xlabel("share of usable SRAM")
    fig.suptitle(f"BERT-Large training on {stages} GC200s, {micro_batches} micro-batches: bubble {plan.bubble:.0%}, "
                 f"step {step:.0f} us, {plan.throughput:,.0f} samples/s (upper bound)", fontsize=10)
    return fig

bert_schedule_figure(9, 16)

# %% [markdown]
# **What to notice.** IPU 1 is the slowest stage, so every step lasts 129 µs and the others wait
# for it. IPU 0 works only 18 µs of each step. The staircase at the start and the end is the bubble,
# a third of the batch here.
#
# Move the sliders. With 8 IPUs no split fits. With more IPUs each holds less and the step gets
# shorter, but in jumps. The slowest stage holds whole attention and feed-forward blocks: two
# encoder layers for 13 to 16 IPUs (an 88 µs step), one and a half for 17 to 23 (74 µs). The extra
# IPUs in between get one tiny layer each and mostly wait. Meanwhile every extra stage adds to the
# bubble, so with 16 micro-batches the throughput peaks at 17 IPUs and then falls. More
# micro-batches shrink the bubble again.

# %%
widgets.interactive_figure(
    bert_schedule_figure,
    stages=W.IntSlider(value=9, min=8, max=24, description="stages (GC200s)", continuous_update=False),
    micro_batches=W.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64, 128], value=16, description="micro-batches",
                                    continuous_update=False))

# %% [markdown]
# ### Exercise 07.2 · Balanced stages under a memory cap
#
# Write `split_stages(costs, memory, stages, cap)`: cut a list of layers, in order, into exactly
# `stages` runs of consecutive layers, each with total memory at most `cap`, so that the
# **slowest** run (the largest total cost) is as fast as possible. Return the cut points
# `[0, b1, ..., n]`, and raise `ValueError` if no split fits. This is the search at the heart of
# `models.pipeline`. The grader compares your slowest stage with a brute-force search over every
# possible cut, on random layer lists.
#
# Below, your function cuts BERT-Large for **inference** in FP16 on GC2s. The costs are each
# layer's FLOPs and the memory is its weights (2 bytes per parameter). `models.pipeline` also
# counts the activations (about 2 MiB here) and the link time, so its cut may differ by a layer.

# %%
gc2_plan = models.pipeline(bert, ipukit.GC2, training=False, precision="fp16")
costs = [layer.flops for layer in bert.layers]
weight_bytes = [2 * layer.params for layer in bert.layers]
print(f"models.pipeline: {gc2_plan.ipus} GC2s, cuts before layers {[s.start for s in gc2_plan.stages][1:]}, "
      f"slowest stage {max(s.flops for s in gc2_plan.stages) / 1e9:.2f} GFLOP")
ex = load("ex07_many_ipus")
try:
    bounds = ex.split_stages(costs, weight_bytes, gc2_plan.ipus, gc2_plan.usable_bytes)
    print(f"yours:           {len(bounds) - 1} GC2s, cuts before layers {bounds[1:-1]}, "
          f"slowest stage {max(sum(costs[a:b]) for a, b in zip(bounds, bounds[1:])) / 1e9:.2f} GFLOP")
    for a, b in zip(bounds, bounds[1:]):
        print(f"  {bert.layers[a].name} .. {bert.layers[b - 1].name}: {sum(weight_bytes[a:b]) / 2**20:,.1f} MiB "
              f"of weights, {sum(costs[a:b]) / 1e9:.1f} GFLOP")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex07_2")

# %% [markdown]
# Here is the planner's cut for inference on GC2s. Almost all of each box is weights: inference
# keeps no gradients or optimiser state, and only one micro-batch's live activations (the thin
# green line). Compare it with the training plan above.

# %%
ax = model_plot.plot_stages(gc2_plan)

# %% [markdown]
# ## 4b · How Graphcore fits BERT-Large on four IPUs
#
# Nine GC200s is what BERT-Large needs when every byte of training stays in SRAM. Graphcore trains
# it on **four**. Its published configuration (Optimum Graphcore's `ipu_config.json` for
# `Graphcore/bert-large-uncased`) puts the embedding and 3 encoder layers on IPU 0 and 7 layers on
# each of the others, `layers_per_ipu: [3, 7, 7, 7]`, and switches on five levers. Each is an option
# of `models.pipeline` (and of `models.fit`), and each is a line of the memory breakdown:
#
# | lever (Graphcore's name) | ipukit option | what it does to the bytes |
# |---|---|---|
# | recompute_checkpoint_every_layer | `recompute="layer"` | keep only each layer's input for the micro-batches in flight; recompute the layer's activations during backward, one layer at a time |
# | replicated_tensor_sharding | `replicas=16, sharded=True` | the 16 data-parallel replicas each keep 1/16 of the optimiser state and FP32 master weights |
# | optimizer_state_offchip | `offload_optimizer=True` | optimiser state and master weights live in **Streaming Memory**, the DRAM of the IPU-M2000, and cross to the chip only for the weight update |
# | enable_half_first_order_momentum | `half_momentum=True` | Adam's first moment in FP16: 2 bytes instead of 4 per parameter |
# | enable_half_partials | `half_partials=True` | matmuls accumulate in FP16, not FP32 |
# | matmul_proportion | `matmul_proportion=[0.1, 0.15, 0.15, 0.15]` | the share of each IPU's SRAM the matmul planner may use for temporaries (IPU 0 gives up the most) |
#
# The model is the one Graphcore trains: BERT-Large with its pre-training heads, the masked-LM head
# predicting the 20 masked positions of each 128-token sequence, run on IPU 0 beside the embedding
# its decoder shares weights with (`head="first"`). The micro-batch is 24 sequences, which the
# config does not give: see the note after the walk. `models.GRAPHCORE_BERT_LARGE` holds the whole
# set-up. Now switch the levers on one at a time:

# %%
bert_pt = models.bert_large(pretraining_heads=True, predictions=20)
steps = [
    ("everything on chip", dict(training=True, precision="mixed", optimizer="adam", micro_batch=24,
                                half_partials=False)),
    ("+ recompute, a checkpoint every layer", dict(recompute="layer")),
    ("+ state sharded over 16 replicas", dict(replicas=16, sharded=True)),
    ("+ state in Streaming Memory", dict(offload_optimizer=True)),
    ("+ FP16 first moment", dict(half_momentum=True)),
    ("+ FP16 partials", dict(half_partials=True)),
    ("+ matmul_proportion [0.1, 0.15, 0.15, 0.15]", dict(matmul_proportion=(0.1, 0.15, 0.15, 0.15))),
]
print(f"{'':44}{'on chip':>10}{'freed':>9}{'Streaming':>11}{'IPU 0 has':>11}   GC200s [layers per IPU]")
options, before = {}, None
for label, lever in steps:
    options.update(lever)
    report = models.fit(bert_pt, ipukit.GC200, **options)       # the whole model, one micro-batch in flight
    whole = report.memory
    plan = models.pipeline(bert_pt, ipukit.GC200, head="first", **options)
    freed = "" if before is None else f"{(before - whole.total) / 2**20:,.0f}"
    ipus = f"{plan.ipus} {plan.layers_per_ipu}" if plan.feasible else "no split fits"
    print(f"{label:<44}{whole.total / 2**20:>10,.0f}{freed:>9}{whole.streamed / 2**20:>11,.0f}"
          f"{report.usable_bytes / 2**20:>11,.0f}   {ipus}")
    before = whole.total
print("(MiB; on chip and Streaming Memory: the whole model with one micro-batch of 24 in flight; "
      "'IPU 0 has': its usable SRAM)")

# %% [markdown]
# **What to notice.**
# - With every byte on chip, no split fits at all: at 24 sequences per micro-batch, the first stages
#   hold the activations of several micro-batches each.
# - Recomputation frees 2.3 GiB of activations. What is left is mostly optimiser state and master
#   weights: 12 of the 16 bytes per parameter.
# - Sharding them over 16 replicas frees another 3.5 GiB: now 5 GC200s hold the model. Offloading the
#   remaining 1/16 to Streaming Memory takes 4. From here the chip holds FP16 weights and gradients
#   (4 bytes per parameter) and the checkpoints; everything else waits in DRAM, a few hundred MiB per
#   replica.
# - FP16 momentum frees nothing on chip once the state is off chip: it shrinks what Streaming Memory
#   holds (and must move at every weight update). FP16 partials free the partial sums of the largest
#   matmul, here the masked-LM decoder's 20 × 30,522 logits of 24 sequences.
# - The last lever frees no bytes of the model: it gives IPU 0, which holds the embedding and the
#   head, 5 % more of its SRAM (45 MiB), and the split becomes Graphcore's **[3, 7, 7, 7]**.
#
# Here is the plan with all of them:

# %%
graphcore = models.pipeline(bert_pt, ipukit.GC200, **models.GRAPHCORE_BERT_LARGE)
print(graphcore.describe())
fig = viz.IPUFigure(figsize=(10, 4.4), layout="constrained")
model_plot.plot_stages(graphcore, ax=fig.subplots())
fig

# %% [markdown]
# **What ipukit assumes here, and what the 4 means.** Two numbers of this estimate are not
# published. How much of each IPU's SRAM Poplar's code, vertex state, exchange buffers and stacks
# take (`models.ALWAYS_LIVE_FRACTION`, 10 %: with the matmul's default share of 15 % it makes the
# quarter reserved everywhere else in the course), and the micro-batch. Graphcore's config gives
# neither. 24 sequences is a micro-batch at which ipukit's model needs the four IPUs Graphcore
# uses; 22 to 28 give the same count. So the 4 and the [3, 7, 7, 7] check that the memory model has
# the right shape (which levers matter, and why IPU 0 holds fewer layers), not that ipukit predicts
# Graphcore's choice. Streaming Memory's bandwidth is an assumption too (`GC200.streaming_memory_bytes_per_second`,
# the PCIe Gen4 rate; no per-IPU figure is published): programs copy to and from it with
# `g.add_remote_buffer(...)` and `Copy(buffer, tensor)`, and the profile prices those copies as a
# phase of their own, `remote`.
#
# ### Exercise 07.4 · Fit BERT-Large on four IPUs
#
# Write `four_ipu_setup()`: return a dict of options with which `models.pipeline` fits BERT-Large
# (with its pre-training heads) on at most 4 GC200s. Keep Graphcore's training run: `training=True,
# precision="mixed", optimizer="adam", micro_batch=24`, at most 16 replicas, and no matmul share
# below 0.1. Which levers does it need, and which only help? The grader builds the plan and checks
# every stage against its IPU's SRAM itself.

# %%
ex = load("ex07_many_ipus")
try:
    options = ex.four_ipu_setup()
    yours = models.pipeline(bert_pt, ipukit.GC200, **options)
    print(yours.describe() if yours.feasible else f"does not fit: {yours.reason}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex07_4")

# %% [markdown]
# ## 5 · Data parallelism: replicas and the all-reduce
#
# When a model fits on one IPU, put a **replica** of it on each of R IPUs and give each a different
# shard of the batch. Each replica computes the gradient of its own shard. The replicas then
# **all-reduce** the gradients: every replica ends with the sum. Finally each applies the same
# update, so the weights stay identical everywhere. R replicas process R times as many samples
# per step. The price is the all-reduce, which is the only part that crosses the links.
#
# Between chips the all-reduce is a **ring**. In notebook 03 the direct method (one reduce-scatter
# step, one all-gather step) won on one chip, because there every tile reaches every other tile in
# one exchange. IPU-Links are not like that: each link joins a chip to a fixed neighbour (the
# IPU-M2000's ladder, section 2). The direct method has every IPU send a different chunk to every
# other IPU at once, which needs a link from each chip to each other chip, or chunks that hop
# through the chips in between. The ring only ever talks to the next IPU, so it fits a ring of
# links, and that is the algorithm Graphcore's communication library uses between chips.
#
# The ring all-reduce (`collectives.all_reduce(..., method="ring")`) cuts each gradient of N values
# into R chunks and passes running sums around the ring of IPUs: R - 1 steps to *reduce-scatter*
# (each IPU ends with one complete chunk), then R - 1 steps to *all-gather* (the complete chunks go
# round once more). In each of the 2(R-1) steps every IPU sends one chunk of N/R values, so all
# IPUs together send **2(R-1)·N·4 bytes** of FP32 over the links. Its two halves are also there on
# their own: `collectives.reduce_scatter(g, parts, method="ring")` and
# `collectives.all_gather(g, pieces, method="ring")`. `collectives.all_reduce` picks the ring by
# itself when the parts sit on more than one IPU, and the direct method when they share one.
#
# `parallel.replicate` builds one SGD step of a linear layer `y = x @ W` with a mean-squared-error
# loss this way. Here are 4 replicas on 4 IPUs of 16 tiles, a 64 × 16 weight matrix and a batch of 32:

# %%
R, d_in, d_out, batch, lr = 4, 64, 16, 32, 0.1
g = ipukit.Graph(ipukit.GC2.replace(tiles=16, num_ipus=R))
rep = parallel.replicate(g, d_in, d_out, batch, learning_rate=lr)
eng = Engine(g, rep.program)
rng = np.random.default_rng(0)
x = rng.standard_normal((batch, d_in)).astype(np.float32)
target = rng.standard_normal((batch, d_out)).astype(np.float32)
w = rng.standard_normal((d_in, d_out)).astype(np.float32)
rep.write(eng, x, target, w)
p = eng.run()

# the same step in NumPy on the whole batch: W -= lr * x.T @ (x @ W - target) / batch
x64, w64 = x.astype(np.float64), w.astype(np.float64)
expected = w64 - lr * x64.T @ (x64 @ w64 - target) / batch
new = rep.read_weights(eng)
print("every replica has the same weights:", all((new[r] == new[0]).all() for r in range(R)))
print("and they match the full-batch step in NumPy:", np.allclose(new[0], expected, rtol=1e-5, atol=1e-5))

N = d_in * d_out
print(f"\nover IPU-Links: {p.link_bytes:,} B;  2(R-1) x N x 4 = 2 x {R - 1} x {N:,} x 4 = {2 * (R - 1) * N * 4:,} B")
print("link bytes per executed step:", parallel.link_bytes_per_step(p).tolist())

# %% [markdown]
# Only the 2(R-1) = 6 steps of the all-reduce cross the links; the forward pass, the gradient and
# the update stay on each replica's chip. Where does the time go? (In the chart, the three
# `Execute` steps of the all-reduce are its reduce-scatter, which adds, and the three `Copy` steps
# its all-gather.)

# %%
viz.profile_bars(p, title=f"One data-parallel SGD step on {R} replicas: {p.total_cycles:,} cycles")


# %% [markdown]
# **What to notice.**
# - At this teaching size, **sync** takes most of the time. All replicas run in the same supersteps,
#   so every barrier spans 4 IPUs and costs the global sync (246 cycles instead of 150).
# - The all-reduce is 6 of the 11 supersteps. Its link traffic is tiny here (1 KiB out of each IPU
#   per step), but it grows with the model: N is every parameter of the network.
#
# There is more than one way to all-reduce. Here are the four methods of `ipukit.collectives`
# on the same 4 IPUs, for a small gradient (1,024 values) and a larger one (65,536 values), each
# spread over 16 tiles per IPU, and, last, what `all_reduce` does when no method is given:

# %%
def measure_all_reduce(method, ipus=4, n=16_384, tiles=16):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles, num_ipus=ipus))
    parts = []
    for r in range(ipus):
        part = g.add_variable(n, name=f"grad{r}")
        g.map_linearly(part, tiles=range(r * tiles, (r + 1) * tiles))
        parts.append(part)
    totals, prog = all_reduce(g, parts, method=method)
    eng = Engine(g, prog)
    data = np.random.default_rng(1).standard_normal((ipus, n)).astype(np.float32)
    for part, row in zip(parts, data):
        eng.write(part, row)
    profile = eng.run()
    assert np.allclose(eng.read(totals), data.sum(axis=0), rtol=1e-4, atol=1e-4)
    return profile

print(f"{'N':>7}  {'method':8}{'supersteps':>11}{'link bytes':>12}{'exchange':>10}{'sync':>7}{'compute':>9}"
      f"{'total cycles':>14}")
for n in (1_024, 65_536):
    for method in ("direct", "ring", "tree", "gather", None):
        q = measure_all_reduce(method, n=n)
        print(f"{n:>7,}  {str(method):8}{q.num_supersteps:>11}{q.link_bytes:>12,}{q.exchange_cycles:>10,}"
              f"{q.sync_cycles:>7,}{q.compute_cycles:>9,}{q.total_cycles:>14,}")

# %% [markdown]
# **What to notice.**
# - `None` gives the ring's numbers exactly: across IPUs `all_reduce` chooses the ring.
# - `link_bytes` counts bytes as they leave an IPU, and a value sent to several IPUs at once leaves
#   only once. By that count the ring sends the *most*.
# - But time follows the busiest link. In the ring, each IPU sends and receives only N/R values per
#   step. In the gather, each IPU *receives* the other three gradients (3N values) through its link
#   in one step, and each tree step pushes a whole gradient through a link. So the ring's exchange
#   takes half as long as theirs.
# - The ring pays for that with the most supersteps, so the most syncs. For the small gradient the
#   syncs dominate and the one-step gather wins. For the large one, link time and the additions
#   dominate and the ring beats the tree and the gather. Real gradients hold millions of values
#   (ResNet-50: 25.6 M), far into the ring's territory.
# - And the direct method? Here it beats the ring at both sizes, and is the fastest of all for the
#   large gradient (the gather edges it out for the small one): its exchange takes as long as the
#   ring's, in 2 supersteps instead of 6. That is the model, not the chip. ipukit gives each IPU
#   one combined link to *all* the others (section 2: no topology), which is exactly the
#   all-to-all wiring the direct method needs. On a ring of links, the chunk an IPU sends to the IPU
#   d places away crosses d links, so one link carries 1 + 2 + ... + (R-1) = R(R-1)/2 chunks
#   instead of the ring's R - 1: R/2 times as many. The cell below prices both on a one-way ring
#   of links, with the same link as the emulator:

# %%
R4 = ipukit.GC2.replace(tiles=16, num_ipus=4)
for n in (1_024, 65_536):
    chunk_bytes = n // 4 * 4                                   # N/R float32 values
    ring_link = (4 - 1) * chunk_bytes / R4.ipu_link_bytes_per_cycle
    direct_link = 4 * (4 - 1) // 2 * chunk_bytes / R4.ipu_link_bytes_per_cycle
    print(f"N = {n:>6,}, reduce-scatter on a one-way ring of links: ring {ring_link:,.0f} link cycles, "
          f"direct {direct_link:,.0f} link cycles ({direct_link / ring_link:.0f}x)")

# %% [markdown]
# Twice the link time for 4 IPUs, and R/2 = 8 times for 16. On a ring of links the direct
# reduce-scatter's link time grows with the number of IPUs, while the ring's stays at one chunk per
# link per step; and the ring needs no routing through other chips at all. That is why the ring is
# the all-reduce between chips, and why `collectives.all_reduce` and `parallel.replicate` use it there.
#
# ### The all-reduce you wrote in exercise 03.3, on the replicas
#
# In notebook 03 you built an all-reduce yourself: `all_reduce_doubling` in
# `exercises/ex03_exchange.py` (exercise 03.3). It was written for tiles, but it works on any
# parts, so it can sum the replicas' gradients too. The next cell runs your exercise's check
# quietly: if it passes, this section uses **your** all-reduce; if not, it says so and uses the
# library's `all_reduce` instead (the ring, across IPUs).

# %%
from ipukit.collectives import add_elementwise
from ipukit.course.reuse import learner_or_library

summing = learner_or_library("ex03_3", "ex03_exchange", "all_reduce_doubling", all_reduce)

# %% [markdown]
# Now the data-parallel SGD step of the start of this section again, with the gradients summed by
# that all-reduce. `parallel.replicate` builds the step; we keep its forward pass, its gradient and
# its update rule, and put the chosen all-reduce where its ring was:

# %%
def sgd_step_with(all_reduce_fn):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=16, num_ipus=R))
    rep = parallel.replicate(g, d_in, d_out, batch, learning_rate=lr)
    grads = ipukit.concat([grad.reshape((1, N)) for grad in rep.grads])    # row r lives on IPU r
    totals, summed_by = all_reduce_fn(g, grads)
    update = g.add_compute_set("SGD update with the chosen all-reduce")
    for r in range(R):
        add_elementwise(g, update, parallel.sgd_update, rep.weights[r], grad=totals[r].reshape((d_in, d_out)),
                        weights=rep.weights[r], rate=lr / batch)
    step = ipukit.Sequence(rep.programs["forward"], rep.programs["gradient"], summed_by, ipukit.Execute(update))
    eng = Engine(g, step)
    rep.write(eng, x, target, w)
    profile = eng.run()
    return rep.read_weights(eng), profile

new_weights, q = sgd_step_with(summing)
print("every replica has the same weights:", all((new_weights[r] == new_weights[0]).all() for r in range(R)))
print("and they match the full-batch step in NumPy:", np.allclose(new_weights[0], expected, rtol=1e-5, atol=1e-5))
print(f"step with {summing.__name__}: {q.num_supersteps} supersteps, {q.link_bytes:,} B over IPU-Links, "
      f"{q.total_cycles:,} cycles")
print(f"step with the ring:        {p.num_supersteps} supersteps, {p.link_bytes:,} B over IPU-Links, "
      f"{p.total_cycles:,} cycles")

# %% [markdown]
# If the library's ring was used (the first line says which), the two steps are the same. With
# recursive doubling the replicas swap whole gradients: log2 4 = 2 steps, each sending all N values
# out of every IPU, 2·R·N·4 = 32,768 bytes in all, against the ring's 6 steps of N/R values (24,576
# bytes). At this size the four fewer global syncs matter more than the extra bytes, so doubling
# finishes the step sooner (4,052 against 5,240 cycles with the solution's doubling). For large
# gradients the links decide: each IPU's link carries 2N values with doubling, 2(R-1)/R·N = 1.5N
# with the ring, and doubling's partners 2 apart are not neighbours on a ring of links.
#
# ### Exercise 07.3 · Predict a ring all-reduce
#
# Write `ring_all_reduce_cost(spec, n, tiles)`. R = `spec.num_ipus` replicas each hold `n` float32
# values spread evenly over `tiles` tiles of their IPU. Return `(link_bytes, exchange_cycles)` of a
# ring all-reduce: the bytes over IPU-Links, and the exchange cycles summed over its steps. Use
# what you saw in section 2: each step's exchange lasts as long as its busiest tile or its busiest
# link. The grader runs real all-reduces on the emulator, on GC2s and GC200s, and compares.

# %%
ex = load("ex07_many_ipus")
ring = measure_all_reduce("ring", n=16_384)
spec4 = ipukit.GC2.replace(tiles=16, num_ipus=4)
try:
    print("yours:   ", ex.ring_all_reduce_cost(spec4, 16_384, 16))
except NotImplementedError as e:
    print("Not done yet:", e)
print("emulator:", (ring.link_bytes, ring.exchange_cycles))

# %%
ipukit.check("ex07_3")

# %% [markdown]
# Once the check passes, your formula can price what the emulator cannot hold: ResNet-50 (which
# fits on one GC200, section 1) trained on 16 GC200 replicas, with its 25.6 M gradients summed in
# FP32 over all 1472 tiles of each IPU:

# %%
resnet = models.resnet50()
R16 = ipukit.GC200.replace(num_ipus=16)
n = -(-resnet.params // (16 * 1472)) * 16 * 1472          # rounded up to a multiple of R x tiles
try:
    link_bytes, cycles = ex.ring_all_reduce_cost(R16, n, 1472)
    tile_only = 2 * 15 * -(-(n // 16 * 4 // 1472) // 4)   # the cycles if the links were as wide as the tiles
    print(f"{resnet.params:,} gradients, 16 replicas: {link_bytes / 2**20:,.0f} MiB over the links, "
          f"{cycles:,} exchange cycles = {cycles / R16.clock_hz * 1e3:.2f} ms per training step")
    print(f"the tiles alone would need {tile_only:,} cycles: the links are {cycles / tile_only:.0f} x slower")
except NotImplementedError as e:
    print("Not done yet:", e)

# %% [markdown]
# Milliseconds per step, just to share gradients. That is why it pays to overlap the all-reduce
# with the backward pass, to send the gradients in FP16 (half the bytes), and to combine both ways
# of using many IPUs: a model pipelined over a few IPUs, and replicas of that pipeline.

# %% [markdown]
# ## Recap
#
# - A model whose weights, gradients, optimiser state and activations exceed one IPU's SRAM must
#   be spread over several IPUs. BERT-Large training in mixed precision with every byte on chip
#   needs 5,224 MiB: nine GC200s once it is cut into stages of whole layers.
# - Graphcore trains it on four, `[3, 7, 7, 7]`: recomputation keeps one input per layer, the
#   optimiser state and master weights are sharded over the replicas and kept in Streaming Memory,
#   momentum and matmul partials are FP16, and IPU 0 gives its matmuls a smaller share. Most of the
#   bytes leave the chip; what stays is FP16 weights, gradients and checkpoints.
# - IPU-Links are 81 to 134 times narrower than a chip's exchange between a pair of neighbours
#   (96 GB/s each way on a GC2, 58.4 GB/s modelled on a GC200; a chip's links together carry
#   320 GB/s), and every step that spans chips pays a longer global sync.
#   ipukit charges one combined link per IPU and direction, without topology. A few tiles cannot
#   fill a link, but many tiles queue behind it.
# - **Pipelining** puts consecutive layers on consecutive IPUs and sends only activations between
#   them. The fill and drain leave a bubble of (S-1)/(M+S-1), which you measured in the emulator's
#   trace. More micro-batches shrink it, and the slowest stage sets the pace.
# - A good cut balances the stages' time under each IPU's memory cap: a small dynamic programme,
#   the same search `models.pipeline` runs on real models.
# - **Data parallelism** copies a model that fits onto R IPUs and all-reduces the gradients. A
#   ring sends 2(R-1)·N·4 bytes over the links in 2(R-1) supersteps, and its time follows from the
#   busiest tile or link of each step.
# - The ring is the all-reduce *between* chips because it only talks to the next IPU, which fits
#   links wired to neighbours. The direct method of notebook 03 wins on one chip, and in ipukit's
#   link model (one link to all other IPUs), but on a ring of links its reduce-scatter puts R/2 times
#   as much on each link. Your recursive doubling from exercise 03.3 can sum the replicas' gradients
#   too: fewer steps, whole gradients per step.
#
# Next: **08 · Sparsity and MIMD**, where the tiles stop doing the same thing at the same time.
