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
# # 03 · Exchange and collectives
#
# A tile computes only on its own SRAM. As soon as an answer needs data that another tile holds
# (the sum of a tensor spread over 1216 tiles, weights that every tile uses, the gradients that a
# data-parallel training step averages), that data has to travel. On the IPU there is only one
# way to move it: an **exchange** phase between two syncs. How long an exchange takes, and how
# many supersteps a communication pattern needs, often decide whether an IPU program is fast.
# This notebook measures the exchange on the emulator. Then it builds the standard
# **collectives** (broadcast, all-to-all, reduce, all-reduce) out of the same supersteps you
# program yourself.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. say what the IPU's exchange is (all-to-all, scheduled by the compiler, 4 bytes per cycle per
#    tile in each direction at once, a broadcast sent only once) and predict how many cycles an
#    exchange phase takes from the bytes each tile sends and receives;
# 2. tell the *implicit* exchange of vertex fields from an explicit `Copy`, and find both in a
#    profile and in an exchange matrix;
# 3. build broadcast, all-to-all, reduce and all-reduce from supersteps, and count their
#    supersteps, bytes and cycles;
# 4. choose an all-reduce for a number of parts P and a part size N: few syncs when the parts are
#    small, few bytes per tile when they are large, and enough tile memory either way;
# 5. write a transpose that moves a matrix in one exchange, and an all-reduce that needs at most
#    ⌈log₂ P⌉ + 1 supersteps.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The whole notebook runs in under a minute.
#
# Every number below is either measured on the emulator or a published figure, cited where it
# is used. The experiments use a 16-tile GC2 so that they run quickly. The rules are the same on
# all 1216 tiles.

# %%
from functools import lru_cache

import ipywidgets as W
import numpy as np
from matplotlib.patches import Patch
from tqdm.auto import tqdm

import ipukit
from ipukit import Copy, Execute, Repeat, Sequence, codelets, collectives, viz, widgets
from ipukit.errors import TileMemoryError
from ipukit.exercise import load
from ipukit.palette import PHASE_COLORS, SERIES

SPEC = ipukit.GC2.replace(tiles=16)      # a teaching-size GC2: 16 tiles of 256 KiB


def run(g, program, writes=()):
    # Build an engine, write (tensor, values) pairs, run once; return the engine.
    eng = ipukit.Engine(g, program)
    for tensor, values in writes:
        eng.write(tensor, values)
    eng.run()
    return eng


def cost_table(profiles):
    # One line per run: supersteps, bytes received over the exchange, cycles by phase.
    print(f"{'':<30}{'supersteps':>10}{'exchanged':>12}{'compute':>9}{'exchange':>9}{'sync':>7}{'total':>8}")
    for name, p in profiles.items():
        if p is None:
            print(f"{name:<30}{'does not fit in tile memory':>40}")
            continue
        c = p.cycles_by_phase()
        print(f"{name:<30}{p.num_supersteps:>10}{p.exchange_bytes / 1024:>8,.1f} KiB{c['compute']:>9,}"
              f"{c['exchange']:>9,}{c['sync']:>7,}{p.total_cycles:>8,}")


# %% [markdown]
# ## 1 · The exchange: how tiles talk
#
# No tile can load a byte from another tile's SRAM. Data moves between tiles only in an
# **exchange phase**, and every phase starts with a **sync** of all the tiles (notebook 02). You
# will use four properties of the exchange all the time:
#
# - **All-to-all.** Any tile can send to any other tile directly. Each tile moves 4 bytes per
#   cycle, which is `getExchangeBytesPerCycle()` in Poplar's IPU model (Graphcore's Poplar
#   tutorials). So the 1216 tiles of a GC2 move up to 1216 × 4 B × 1.6 GHz ≈ 7.8 TB/s together,
#   and Graphcore quotes "8 TB/s all-to-all" for the GC200.
# - **Send and receive at once.** A tile's outgoing and incoming paths work at the same time. A
#   tile that sends 1 KiB and receives 1 KiB is busy for 256 cycles, not 512.
# - **Broadcast for free.** A tile puts a value on the exchange once, and any number of tiles can
#   pick it up in the same phase (Graphcore, *IPU Programmer's Guide*; Jia et al., 2019). Sending
#   to 15 tiles costs the sender no more than sending to one.
# - **Scheduled by the compiler.** Messages carry no address. When the program is compiled, every
#   tile gets a schedule saying which bytes to send, or to listen for, at which cycle after the
#   sync (Graphcore patent GB2569269, Knowles & Alexander, 2017). The exchange is therefore
#   deterministic, but every communication pattern must be known when the graph is compiled.
#
# From these properties, ipukit charges an exchange phase as follows. Each tile is busy for
#
# $$\text{tile cycles} = \left\lceil \frac{\max(\text{bytes sent},\ \text{bytes received})}{4} \right\rceil$$
#
# where a broadcast value counts once in "bytes sent", and **the phase lasts as long as its
# busiest tile**. The sync before it costs 150 cycles. That number is an assumption of ipukit:
# no figure for it has been published.
#
# Start with the simplest exchange there is: one `Copy` of 1 KiB from tile 0 to tile 1.

# %%
g = ipukit.Graph(SPEC)
a = g.add_variable(256, name="a")              # 256 float32 = 1 KiB
b = g.add_variable(256, name="b")
g.set_tile_mapping(a, 0)
g.set_tile_mapping(b, 1)
eng = run(g, Copy(a, b), [(a, np.arange(256, dtype=np.float32))])

print("b[:6] =", eng.read(b)[:6])
for phase in eng.profile.steps[0].phases:
    print(f"{phase.kind:<9}{phase.cycles:>5} cycles")
print("bytes sent     by tiles 0-3:", eng.profile.tile_bytes("sent")[:4])
print("bytes received by tiles 0-3:", eng.profile.tile_bytes("received")[:4])

# %% [markdown]
# **What to notice.** The copy is one superstep: a 150-cycle sync, then 1024 B ÷ 4 B per cycle =
# 256 cycles of exchange. Tile 0 only sends and tile 1 only receives, and both are busy for the
# same 256 cycles. Tiles 2 to 15 take part in the sync, then sit idle.
#
# ### Cycles against bytes
#
# How does the cost grow with the size of the message? The cell below copies messages from 4 B
# to 64 KiB and measures each one.

# %%
sizes = 4 * 2 ** np.arange(15)                 # 4 B ... 64 KiB
cycles = []
for nbytes in sizes:
    g = ipukit.Graph(SPEC)
    a, b = g.add_variable(nbytes // 4, name="a"), g.add_variable(nbytes // 4, name="b")
    g.set_tile_mapping(a, 0)
    g.set_tile_mapping(b, 1)
    cycles.append(run(g, Copy(a, b)).profile.total_cycles)
cycles = np.array(cycles)

fig = viz.IPUFigure(figsize=(11, 3.8), layout="constrained")
left, right = fig.subplots(1, 2)
left.plot(sizes, cycles, "o", color=PHASE_COLORS["exchange"], label="measured: a Copy from tile 0 to tile 1")
left.plot(sizes, 150 + sizes / 4, color="black", lw=0.8, label="150 + bytes / 4")
left.set(yscale="log", xlabel="bytes moved", ylabel="cycles (sync + exchange)")
left.set_xscale("log", base=2)
left.legend()
right.plot(sizes, sizes / cycles, "o-", color=PHASE_COLORS["exchange"])
right.axhline(4, color="black", lw=0.8, ls="--")
right.text(sizes[0], 3.85, "peak: 4 B per cycle", va="top")
right.set(xlabel="bytes moved", ylabel="bytes per cycle achieved", ylim=(0, 4.3))
right.set_xscale("log", base=2)
fig.suptitle("One exchange: a fixed cost (the sync), then 4 bytes per cycle")
for nbytes in (64, 512, 1024, 16384):
    i = list(sizes).index(nbytes)
    print(f"{nbytes:>6,} B: {cycles[i]:>5,} cycles, {nbytes / cycles[i]:.2f} B per cycle")
fig


# %% [markdown]
# **What to notice.**
#
# - *Left:* the measured points lie on the line 150 + bytes ÷ 4. The cost is a fixed part (the sync)
#   plus a part for each byte (the bandwidth). Every collective below follows the same shape: a
#   latency for each superstep, plus the bytes divided by the bandwidth.
# - *Right:* a small message wastes the exchange. 64 bytes get 0.39 B per cycle, a tenth of the
#   peak. A message reaches half the peak at 600 bytes, where the exchange takes as long as the
#   sync, and it takes about 16 KiB to come close to the full 4 B per cycle. So a program should
#   use a few large exchanges rather than many small ones. All the transfers of one superstep
#   share its exchange phase, in Poplar and in ipukit, so it pays to move data in the same step.
#
# ### Broadcast out, gather in
#
# The two sides of the rule matter as soon as one tile talks to many. In a *fan-out*, tile 0
# sends the same 4 KiB to k tiles. In a *fan-in* (a gather), k tiles each send 4 KiB to tile 0.

# %%
def fan(k, out, nbytes=4096):
    # One Copy: tile 0 sends nbytes to tiles 1..k (out=True), or tiles 1..k each send nbytes to tile 0.
    g, n = ipukit.Graph(SPEC), nbytes // 4
    if out:
        src = g.add_variable(n, name="value")
        g.set_tile_mapping(src, 0)
        dst = g.add_variable((k, n), name="copies")
        g.map_linearly(dst, tiles=range(1, k + 1))      # row i on tile i + 1
        return run(g, Copy(ipukit.concat([src.reshape(1, n)] * k), dst)).profile
    src = g.add_variable((k, n), name="values")
    g.map_linearly(src, tiles=range(1, k + 1))
    dst = g.add_variable((k, n), name="gathered")
    g.set_tile_mapping(dst, 0)
    return run(g, Copy(src, dst)).profile


print(f"{'k tiles':>8}{'fan-out cycles':>16}{'tile 0 sends':>14}{'fan-in cycles':>15}{'tile 0 receives':>17}")
for k in (1, 3, 7, 15):
    fan_out, fan_in = fan(k, out=True), fan(k, out=False)
    print(f"{k:>8}{fan_out.exchange_cycles:>16,}{fan_out.tile_bytes('sent')[0]:>12,} B"
          f"{fan_in.exchange_cycles:>15,}{fan_in.tile_bytes('received')[0]:>15,} B")

# %% [markdown]
# **What to notice.** The fan-out stays at 1024 cycles whatever k is, because the sender puts
# its 4 KiB on the exchange only once. The fan-in grows with k. Tile 0 can receive only 4 bytes
# per cycle, so 15 × 4 KiB take 15,360 cycles. Meanwhile each of the 15 senders is busy for 1024
# cycles and then waits. **The busiest tile sets the length of the phase**, so one overloaded
# receiver slows down every tile. This matters a lot for the reductions in section 4.
#
# ### Exercise 03.1 · Predict an exchange by the rule
#
# Open `exercises/ex03_exchange.py` and write `exchange_cycles(messages, num_tiles)`. Each message
# is a tuple `(src, dsts, nbytes)`: tile `src` sends one value of `nbytes` bytes to every tile in
# the list `dsts`. Return each tile's exchange cycles (a NumPy array) and the cycles of the whole
# phase, using the rule above. A value sent to its own tile does not cross the exchange.
#
# The cell below prints your prediction next to what the emulator charges when the same messages
# are sent as one real `Copy`.

# %%
ex = load("ex03_exchange")        # your module, exercises/ex03_exchange.py (reloaded on every run)


def charged(messages, num_tiles):
    # The emulator's charge for the messages sent as one Copy: (tile cycles, phase cycles).
    g = ipukit.Graph(SPEC.replace(tiles=num_tiles))
    sources, copies = [], []
    for m, (src, dsts, nbytes) in enumerate(messages):
        value = g.add_variable(nbytes // 4, name=f"value {m}")
        g.set_tile_mapping(value, src)
        for dst in dsts:                     # the same value listed once per receiver: a broadcast
            copy = g.add_variable(nbytes // 4, name=f"value {m} on tile {dst}")
            g.set_tile_mapping(copy, dst)
            sources.append(value)
            copies.append(copy)
    eng = run(g, Copy(ipukit.concat(sources), ipukit.concat(copies)))
    phase = next(p for p in eng.profile.steps[0].phases if p.kind == "exchange")
    return phase.tile_cycles, phase.cycles


messages = [(0, [1, 2, 3], 2048),            # tile 0 broadcasts 2 KiB to tiles 1, 2 and 3
            (1, [0], 1024), (2, [0], 1024),  # and each of them sends something back
            (3, [0, 3], 512)]                # (tile 3's own copy stays on tile 3)
print("the emulator charges:", *charged(messages, 4))
try:
    print("your rule predicts:  ", *ex.exchange_cycles(messages, 4))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex03_1")


# %% [markdown]
# ## 2 · Implicit exchange and explicit `Copy`
#
# You rarely write exchanges by hand. When a vertex field is connected to a tensor that lives on
# another tile, Poplar's compiler adds the exchange for you. The field is **gathered** into a
# buffer on the vertex's tile before the compute phase, and an output that lives elsewhere is
# **written back** after it (Graphcore's Poplar tutorials, tutorial 3). ipukit does the same.
# This means that where you put a vertex decides what has to move.
#
# Below, `out = a + b` with `a` on tile 0, `b` on tile 1 and `out` on tile 2, split into six
# vertices, one per worker. First the vertices go on tile 3, which is a bad place for them:
# all three tensors have to travel.

# %%
def add_on(vertex_tile):
    # out = a + b with a, b, out on tiles 0, 1, 2 and the six add vertices on vertex_tile.
    g = ipukit.Graph(SPEC.replace(tiles=4))
    a, b, out = (g.add_variable(256, name=name) for name in ("a", "b", "out"))
    for t, tile in ((a, 0), (b, 1), (out, 2)):
        g.set_tile_mapping(t, tile)
    cs = g.add_compute_set("add")
    for lo in range(0, 256, 43):                     # six pieces, one per worker
        hi = min(lo + 43, 256)
        g.add_vertex(cs, codelets.add, tile=vertex_tile, a=a[lo:hi], b=b[lo:hi], out=out[lo:hi])
    eng = run(g, Execute(cs), [(a, np.ones(256, np.float32)), (b, np.full(256, 2, np.float32))])
    return eng, out


far, out = add_on(3)
print("out[:4] =", far.read(out)[:4])
for phase in far.profile.steps[0].phases:
    print(f"{phase.kind:<9}{phase.cycles:>6} cycles")
print(f"total {far.profile.total_cycles:,} cycles, {far.profile.exchange_bytes:,} B over the exchange")

# %%
viz.plot_exchange(far, 0)

# %% [markdown]
# **What to notice.** One `Execute` paid for two exchanges, each after its own sync. The gather
# brings `a` and `b` (2 KiB) into tile 3 in 512 cycles, because tile 3 receives 2 KiB. The
# write-back sends `out` (1 KiB) to tile 2 in 256 cycles. In the matrix, rows are sending tiles
# and columns are receiving tiles. The arrows show the same moves on the grid of tiles.
#
# Now put the vertices on tile 2, where `out` lives:

# %%
near, _ = add_on(2)
cost_table({"vertices on tile 3": far.profile, "vertices on tile 2": near.profile})


# %% [markdown]
# The write-back and its sync are gone, and 1 KiB less crosses the exchange. A good rule of
# thumb is to put a vertex where its output lives. The collectives of section 4 do this too.
#
# ### Move once, use many times
#
# The implicit exchange happens **every time** the compute set runs. If a loop reads the same
# remote tensor on every iteration, it pays for the transfer on every iteration. An explicit
# `Copy` moves the data once, into a variable on the tile that needs it, and the loop then runs on
# local data. Here tile 1 adds `w` (4 KiB, on tile 0) into `y` ten times:

# %%
def accumulate_loop(explicit, repeats=10, n=1024):
    # y += w, `repeats` times, with w on tile 0 and y on tile 1.
    g = ipukit.Graph(SPEC.replace(tiles=4))
    w, y = g.add_variable(n, name="w"), g.add_variable(n, name="y")
    g.set_tile_mapping(w, 0)
    g.set_tile_mapping(y, 1)
    cs = g.add_compute_set("y += w")
    if explicit:                                     # copy w to tile 1 once, then read it locally
        w_here = g.add_variable(n, name="w on tile 1")
        g.set_tile_mapping(w_here, 1)
        collectives.add_elementwise(g, cs, collectives.accumulate, y, a=w_here, acc=y)
        program = Sequence(Copy(w, w_here), Repeat(repeats, Execute(cs)))
    else:                                            # the compute set reads w where it lives
        collectives.add_elementwise(g, cs, collectives.accumulate, y, a=w, acc=y)
        program = Repeat(repeats, Execute(cs))
    eng = run(g, program, [(w, np.ones(n, np.float32)), (y, np.zeros(n, np.float32))])
    assert (eng.read(y) == repeats).all()
    return eng


implicit, explicit = accumulate_loop(False), accumulate_loop(True)
cost_table({"implicit, every time": implicit.profile, "Copy once, then local": explicit.profile})
print(f"\nSRAM used: {implicit.memory.total_used:,} B (implicit), {explicit.memory.total_used:,} B (Copy once)")

# %% [markdown]
# **What to notice.** The implicit version moves `w` ten times (40 KiB). The explicit one moves it
# once, in one more superstep, and saves almost half the cycles. Both use the same amount of SRAM:
# the copy of `w` on tile 1 takes the place of the exchange buffer that the implicit version needs
# for its gathered field. The difference is that the copy stays there for the whole program,
# while an exchange buffer is needed only while its compute set runs. Poplar programmers face the
# same choice, for instance when they decide whether to copy weights to the tiles that use them.

# %% [markdown]
# ## 3 · Patterns of communication
#
# Four patterns come back again and again. Here each one moves 4 KiB per sending tile on 16 tiles:
#
# - **ring**: each tile sends to the next one;
# - **broadcast**: tile 0 sends to all the others;
# - **gather**: every tile sends to tile 0;
# - **all-to-all**: every tile sends a different piece to every tile (16 pieces of 256 B).
#
# `ipukit.widgets.exchange_graph` builds each pattern as one `Copy`:

# %%
print(f"{'pattern':<12}{'exchange cycles':>16}{'busiest sender':>16}{'busiest receiver':>18}{'received in all':>17}")
for pattern in widgets.PATTERNS:
    g, program = widgets.exchange_graph(SPEC, 4096, pattern)
    p = run(g, program).profile
    print(f"{pattern:<12}{p.exchange_cycles:>16,}{p.tile_bytes('sent').max():>14,} B"
          f"{p.tile_bytes('received').max():>16,} B{p.exchange_bytes:>15,} B")

# %% [markdown]
# **What to notice.** All four patterns deliver about the same number of bytes in total (60–64 KiB),
# but the gather takes 15 times longer than the others. In the ring, the broadcast and the
# all-to-all, no tile sends or receives more than 4 KiB. In the gather, tile 0 receives all 60 KiB
# through its single 4 B-per-cycle port. In this model the total number of bytes does not matter:
# the busiest tile does. The all-to-all is even a little faster than the ring, because
# each tile keeps its own 256 B piece and only 3,840 B of it cross the exchange.
#
# Here is the gather as an exchange matrix and as arrows between tiles. Then change the message
# size, the number of tiles and the pattern with the widget below it.

# %%
widgets.exchange_experiment(message_bytes=4096, tiles=16, pattern="gather")

# %%
widgets.exchange_explorer(message_bytes=4096, tiles=16, pattern="ring")

# %% [markdown]
# Things to try with the widget:
#
# - Pick **gather** and double the number of tiles: the exchange cycles double, since tile 0
#   receives twice as much. Pick **broadcast** and do the same: nothing changes.
# - Pick **ring** and move the message size from 16 B to 16 KiB. The exchange grows 1000-fold,
#   but the sync (150 cycles) dominates until about 600 B.
# - Pick **all-to-all** with 64 tiles. The matrix is full, and every tile is busy both ways at once.

# %% [markdown]
# ## 4 · Collectives from supersteps
#
# A **collective** is a communication pattern in which every tile of a group takes part.
# Deep-learning frameworks use a handful of them:
#
# - **broadcast**: one tile gives the same data to all the others;
# - **all-to-all**: every tile gives a different piece to every tile;
# - **reduce**: the sum of everyone's data ends up on one tile;
# - **all-reduce**: the sum ends up on every tile;
# - **reduce-scatter** and **all-gather**: the two halves of an all-reduce (each tile ends with the
#   sum of one chunk; each tile's chunk goes to every tile).
#
# On the IPU each collective is a short program of supersteps. `ipukit.collectives` builds them in
# the same way as the rest of this course builds programs. It adds variables, compute sets and
# vertices to your graph and returns `(result, program)`, and nothing moves until an `Engine`
# runs the program. Here is what each one costs for P parts of N float32 numbers, one part per
# tile (from the docstrings: `help(collectives)`):
#
# | collective | method | supersteps | busiest tile, per superstep |
# |---|---|---|---|
# | broadcast | | 1 | the sender sends 4N bytes once |
# | all-to-all | | 1 | sends and receives P − 1 blocks |
# | reduce | gather | 1 | the root receives (P − 1) × 4N bytes |
# | reduce | tree | ⌈log₂ P⌉ | receives 4N bytes |
# | all-reduce | gather | 1 | receives (P − 1) × 4N bytes |
# | all-reduce | tree | ⌈log₂ P⌉ + 1 | receives 4N bytes |
# | all-reduce | ring | 2(P − 1) | sends and receives 4N / P bytes |
# | all-reduce | direct (the default on one chip) | 2 | sends and receives (P − 1) × 4N / P bytes |
# | reduce-scatter | direct | 1 | sends and receives (P − 1) × 4N / P bytes |
# | all-gather | direct | 1 | sends its 4N / P bytes once, receives (P − 1) × 4N / P |
#
# ### 4.1 Broadcast and all-to-all: one superstep each
#
# Both are pure movement: one `Copy`, no arithmetic.

# %%
g = ipukit.Graph(SPEC)
src = g.add_variable(1024, name="weights")           # 4 KiB on tile 0
g.set_tile_mapping(src, 0)
copies, program = collectives.broadcast(g, src, tiles=range(1, 16))
values = np.random.default_rng(0).standard_normal(1024).astype(np.float32)
eng = run(g, program, [(src, values)])
assert (eng.read(copies) == values).all()            # all 15 tiles hold the weights
p = eng.profile
print(f"broadcast to 15 tiles: {p.num_supersteps} superstep, tile 0 sends {p.tile_bytes('sent')[0]:,} B, "
      f"{p.exchange_bytes:,} B received in all, {p.exchange_cycles:,} exchange cycles")

g = ipukit.Graph(SPEC.replace(tiles=8))
blocks = collectives.add_parts(g, 8, (8, 64))        # row i on tile i: 8 blocks of 64 floats, one per tile
result, program = collectives.all_to_all(g, blocks)
x = np.arange(8 * 8 * 64, dtype=np.float32).reshape(8, 8, 64)
a2a = run(g, program, [(blocks, x)])
assert (a2a.read(result) == x.transpose(1, 0, 2)).all()   # result[j, i] == blocks[i, j]
viz.plot_exchange(a2a)

# %% [markdown]
# **What to notice.** The broadcast reaches 15 tiles in 1024 exchange cycles: the sender sends
# 4 KiB once, and 60 KiB arrive in total. In the all-to-all, block (i, j) goes from tile i to
# tile j, so the matrix is full except for its diagonal: a tile's own block is copied on the tile
# and stays off the exchange. Every tile sends 7 × 256 B and receives 7 × 256 B, at the same time,
# in 448 cycles. Because the fabric is all-to-all, every tile can run this pattern at the full 4 B
# per cycle.
#
# A **transpose** of a distributed matrix is an all-to-all. Take a matrix `x` whose rows are cut
# into P blocks, one per tile, and its transpose `x.T` cut the same way. Block j of `x.T` (rows
# of `x.T` = columns of `x`) needs a piece of every block of `x`, so every tile sends one piece
# to every other tile.
#
# ### Exercise 03.2 · Transpose in one exchange
#
# Write `transpose(g, x, tiles)`. `x` has shape (R, C) and its rows are cut into P = `len(tiles)`
# equal blocks, with block i on `tiles[i]`. Return a new (C, R) variable `xt` whose rows are cut
# into P equal blocks with block j on `tiles[j]`, and a program that fills it with `x.T` **in one
# superstep**. Only the blocks that change tiles may cross the exchange. Remember
# that `x.T` is a view: it names elements of `x`, and nothing moves until a program runs.

# %%
g = ipukit.Graph(SPEC.replace(tiles=4))
x = g.add_variable((32, 48), name="x")
for i in range(4):
    g.set_tile_mapping(x[8 * i:8 * (i + 1)], i)      # 8 rows per tile
values = np.arange(32 * 48, dtype=np.float32).reshape(32, 48)
try:
    xt, program = ex.transpose(g, x, [0, 1, 2, 3])
    eng = run(g, program, [(x, values)])
    print("xt == x.T:", np.array_equal(eng.read(xt), values.T), f"in {eng.profile.num_supersteps} superstep(s)")
    display(viz.plot_exchange(eng))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex03_2")

# %% [markdown]
# ### 4.2 Reduce: gather or tree
#
# A **reduce** adds up P parts on one tile, the *root*. There are two ways to do it.
#
# - **Gather**: one superstep. The root gathers the other P − 1 parts and adds them all. That makes
#   one long exchange into one tile, (P − 1) × 4N bytes through a single 4 B-per-cycle port,
#   followed by one busy tile.
# - **Tree**: ⌈log₂ P⌉ supersteps. In step k, every 2^(k+1)-th part adds in the part 2^k places
#   away. Each receiving tile gets only 4N bytes per step, and half as many tiles receive in each
#   step as in the one before.
#
# Both run on P = 16 parts of N = 1024 floats (4 KiB each):

# %%
P, N = 16, 1024
x = np.random.default_rng(1).standard_normal((P, N)).astype(np.float32)
reduce_runs = {}
for method in collectives.REDUCE_METHODS:
    g = ipukit.Graph(SPEC)
    parts = collectives.add_parts(g, P, N)           # part i on tile i
    total, program = collectives.reduce(g, parts, method)
    eng = run(g, program, [(parts, x)])
    assert np.allclose(eng.read(total), x.sum(axis=0), atol=1e-4)
    reduce_runs[f"reduce, {method}"] = eng.profile
cost_table(reduce_runs)

# %%
viz.plot_trace(reduce_runs["reduce, gather"], title="Reduce by gather: tile 0 receives 15 parts, everyone else waits")

# %%
viz.plot_trace(reduce_runs["reduce, tree"], title="Reduce by tree: 4 supersteps, half as many receivers each time")


# %% [markdown]
# **What to notice.** In the gather, tile 0 spends 15,360 cycles receiving while the 15 other
# tiles finish sending after 1024 cycles and then wait (the pale grey *idle* in the trace). Then
# tile 0 adds 16 rows on its own. The tree moves exactly the same 60 KiB, but spreads it over 4
# supersteps of 1024 exchange cycles each. It pays 6 more syncs and finishes in less than half the
# time. The tree's weak point shows in the trace as well: in each step only the receiving tiles
# add (the tile balance is 0.47), and in the last step a single tile does.
#
# ### 4.3 All-reduce: gather, tree, ring or direct
#
# An **all-reduce** leaves the sum on every tile. It is the collective of data-parallel training:
# every replica computes gradients on its own share of the batch, and all of them must then apply
# the same summed gradient (notebook 07). There are four ways to do it.
#
# - **Gather**: one superstep. Every tile gathers all the other parts and adds them itself. Each
#   part is sent only once (a broadcast), but every tile receives (P − 1) × 4N bytes.
# - **Tree**: ⌈log₂ P⌉ + 1 supersteps. A tree reduce onto tile 0, then one broadcast of the total.
# - **Ring**: 2(P − 1) supersteps. Each part is cut into P chunks. First comes the
#   *reduce-scatter*, P − 1 supersteps in which each tile passes a running sum of one chunk to its
#   neighbour, which adds its own chunk. Afterwards each tile holds one complete chunk of the
#   total. Then comes the *all-gather*, P − 1 supersteps that pass the complete chunks round the
#   ring. In every superstep each tile sends and receives only one chunk, 4N / P bytes.
# - **Direct**: 2 supersteps, the ring's two halves each done at once. *Reduce-scatter*: tile j
#   gathers chunk j of every other part and adds them, receiving (P − 1) × 4N / P bytes and sending
#   as many. *All-gather*: tile j broadcasts its summed chunk (sent once, 4N / P bytes) and every
#   tile receives the P − 1 chunks it lacks. On a chip, every tile reaches every other tile in one
#   exchange, so nothing forces the chunks to travel round a ring.

# %%
@lru_cache(maxsize=None)                 # the sweep and the widgets below ask for some sizes again
def all_reduce_runs(P, N, spec=SPEC):
    # Run every all-reduce method on P parts of N floats; {method: profile, or None if it does not fit}.
    x = np.random.default_rng(2).standard_normal((P, N)).astype(np.float32)
    runs = {}
    for method in collectives.ALL_REDUCE_METHODS:
        g = ipukit.Graph(spec)
        parts = collectives.add_parts(g, P, N)
        totals, program = collectives.all_reduce(g, parts, method)
        try:
            eng = run(g, program, [(parts, x)])
        except TileMemoryError:
            runs[method] = None
            continue
        assert np.allclose(eng.read(totals), x.sum(axis=0), atol=1e-3)     # every tile has the sum
        runs[method] = eng.profile
    return runs


all_reduce_16 = all_reduce_runs(16, 1024)
cost_table({f"all-reduce, {m}": p for m, p in all_reduce_16.items()})

# %% [markdown]
# With P = 16 parts of 4 KiB, the direct all-reduce takes 3,038 cycles, less than a third of the
# ring (10,650) and the tree (10,838), which finish at almost the same time; the gather takes more
# than twice as long as those. The direct method moves the same 120 KiB as the ring, in 2
# supersteps instead of 30. The ring gets there in a different way from the others: 30
# supersteps, each one short. Here is its trace on 8 tiles (14 supersteps), where every superstep
# is still easy to see:

# %%
g = ipukit.Graph(SPEC.replace(tiles=8))
parts = collectives.add_parts(g, 8, 1024)
totals, program = collectives.all_reduce(g, parts, "ring")
ring = run(g, program, [(parts, np.ones((8, 1024), np.float32))])
assert (ring.read(totals) == 8).all()
viz.plot_trace(ring.profile, title="Ring all-reduce on 8 tiles: 7 reduce-scatter steps, then 7 all-gather steps")

# %% [markdown]
# **What to notice.** Every tile works in every superstep: in each of the first 7 it receives a
# chunk and adds it (compute in blue), and in each of the last 7 it passes a finished chunk on
# (exchange only). Nobody waits for a busy root, and the tile balance is 1.00. The price is the
# syncs: half of the ring's cycles go into synchronising 14 times. (Each reduce-scatter step is an
# `Execute` whose inputs come from the neighbour, so it has two syncs: one before its exchange and
# one before its compute.)
#
# ### 4.4 Which all-reduce wins?
#
# Each superstep costs at least one sync, whatever it carries. Each byte that the busiest tile
# moves costs a quarter of a cycle. So, roughly,
#
# $$\text{cycles} \approx \text{syncs} \times 150 + \frac{\text{bytes through the busiest tile}}{4} + \text{compute}$$
#
# | method | syncs | exchange cycles (float32 parts of N numbers) |
# |---|---|---|
# | gather | 2 | (P − 1) N |
# | tree | 2⌈log₂ P⌉ + 1 | (⌈log₂ P⌉ + 1) N |
# | ring | 3(P − 1) | 2(P − 1) N / P, just under 2N |
# | direct | 3 | 2(P − 1) N / P, just under 2N |
#
# For small parts the sync term dominates, so the method with the fewest supersteps wins. For
# large parts the bytes dominate, so the methods that move the fewest bytes per tile win: the ring
# and the direct method move the same, and the direct one needs 3 syncs where the ring needs
# 3(P − 1). On one chip it should win at every size. The ring earns its place where each link
# reaches only a neighbour: between chips, over IPU-Links (notebook 07).
# The sweep below measures all four methods as N grows (P = 16) and as P grows (N = 1024). Set
# `BIG = True` to go up to P = 64 on a 64-tile GC2 (a few seconds more).

# %%
BIG = False                                           # True: up to 64 parts on a 64-tile GC2 (a few seconds more)
part_sizes = [16, 64, 256, 1024, 4096, 16384]
part_counts = [2, 4, 8, 16] + ([32, 64] if BIG else [])

by_size = [all_reduce_runs(16, n) for n in tqdm(part_sizes, desc="P = 16, N growing")]
by_count = [all_reduce_runs(p, 1024, ipukit.GC2.replace(tiles=max(part_counts)))
            for p in tqdm(part_counts, desc="N = 1024, P growing")]

fig = viz.IPUFigure(figsize=(11, 4), layout="constrained")
axes = fig.subplots(1, 2)
for ax, xs, runs, label in ((axes[0], part_sizes, by_size, "N, floats per part (P = 16)"),
                            (axes[1], part_counts, by_count, "P, parts (N = 1024)")):
    for color, method in zip(SERIES, collectives.ALL_REDUCE_METHODS):
        fits = [(x, r[method].total_cycles) for x, r in zip(xs, runs) if r[method] is not None]
        too_big = [x for x, r in zip(xs, runs) if r[method] is None]
        note = f" (does not fit from {too_big[0]:,})" if too_big else ""
        if fits:
            ax.plot(*zip(*fits), "o-", color=color, label=method + note)
    ax.set(xlabel=label, ylabel="cycles", yscale="log")
    ax.set_xscale("log", base=2)
    ax.legend()
fig.suptitle("All-reduce on one chip: direct is fastest; of the rest, fewest syncs wins small, fewest bytes large")
fig


# %% [markdown]
# **What to notice.**
#
# - *Left (P = 16):* the direct all-reduce is the fastest at every size: 589 cycles at 16 floats
#   per part (gather 800, tree 1,766, ring 7,860) and 39,998 at 16 Ki floats (ring 53,850, tree
#   149,078). Among the other three, the gather wins at 16 floats per part: it needs 2 syncs where
#   the ring needs 45, and there are hardly any bytes to move. Around 256 floats the tree takes
#   over. At 1024 floats the tree and the ring are level, and beyond that the ring wins, because
#   its exchange cycles grow as 2N while the tree's grow as 5N and the gather's as 15N. The direct
#   method's grow as 2N too, with 3 syncs instead of 45.
# - The gather stops at 4096 floats. Each tile would need a receive buffer of 15 × 16 KiB =
#   240 KiB next to its data, which does not fit in 256 KiB, and the engine refuses to build.
#   Memory is a third way to lose.
# - *Right (N = 1024):* the direct method stays near 3,000 cycles as P grows: its bytes per tile
#   stay near 2N and its syncs stay 3. At P = 2 it and the ring are the same algorithm, and the
#   ring is a little cheaper (2,050 cycles against 2,306: the direct method first copies the
#   tile's own chunk within the tile). The gather grows fastest, because every tile receives
#   P − 1 parts. The ring's bytes per tile stay near 2N but its syncs grow as 3(P − 1), and the
#   tree, which grows only with log₂ P, overtakes it: with `BIG = True`, at P = 32 the tree takes
#   13,254 cycles and the ring 18,910 (the direct method 3,086), and at P = 64 the gather no longer
#   fits.
#
# So on one chip `collectives.all_reduce(g, parts)` uses the direct method (`method="direct"`, the
# default when the parts are on one IPU; across IPUs the default is the ring), and
# `collectives.reduce_scatter` and `collectives.all_gather` give its two halves on their own. The
# other methods are there to compare. Try other values below: the
# bars add up each method's cycles by phase.

# %%
def all_reduce_figure(P=16, N=1024):
    # Cycles of each all-reduce method on P parts of N floats, summed by phase.
    runs = all_reduce_runs(P, N)
    fig = viz.IPUFigure(figsize=(10, 2.8), layout="constrained")
    ax = fig.subplots()
    for row, (method, p) in enumerate(runs.items()):
        if p is None:
            ax.text(0, row, "  does not fit in tile memory", va="center")
            continue
        left = 0
        for kind in ("sync", "exchange", "compute"):
            width = p.cycles_by_phase()[kind]
            ax.barh(row, width, left=left, color=PHASE_COLORS[kind], height=0.6)
            left += width
        steps = f"{p.num_supersteps} superstep" + ("s" if p.num_supersteps > 1 else "")
        ax.text(left, row, f"  {left:,} cycles in {steps}", va="center", fontsize=9)
    ax.set_yticks(range(len(runs)), list(runs))
    ax.set_ylim(len(runs) - 0.5, -0.5)
    ax.set_xlim(0, 1.35 * max(p.total_cycles for p in runs.values() if p is not None))
    ax.set_xlabel("cycles, summed by phase")
    ax.legend(handles=[Patch(color=PHASE_COLORS[k], label=k) for k in ("sync", "exchange", "compute")],
              loc="lower right", fontsize=8)
    ax.set_title(f"All-reduce of {P} parts of {N:,} floats ({N * 4:,} B each) on {SPEC.tiles} tiles")
    return fig


all_reduce_figure(16, 256)

# %%
widgets.interactive_figure(
    all_reduce_figure,
    P=W.SelectionSlider(options=[2, 3, 4, 6, 8, 12, 16], value=16, description="parts P",
                        continuous_update=False),
    N=W.SelectionSlider(options=[16, 64, 256, 1024, 4096, 16384], value=1024, description="floats per part N",
                        continuous_update=False, style={"description_width": "initial"}))

# %% [markdown]
# ### Exercise 03.3 · All-reduce by recursive doubling
#
# There is one more all-reduce that combines the tree's few supersteps with the ring's "every tile
# works in every step". It is called **recursive doubling**, or the *butterfly*. When P is a power
# of two, in step k tile i and its partner i XOR 2^k exchange their running sums, and both add
# them up:
#
# - step 1: 0↔1, 2↔3, 4↔5, …: each tile now has the sum of 2 parts;
# - step 2: 0↔2, 1↔3, 4↔6, …: the sum of 4 parts;
# - after log₂ P steps, every tile has the sum of all P parts.
#
# That makes log₂ P supersteps, one fewer than the tree and with no broadcast at the end. In each
# one, every tile sends and receives one part and every tile adds. When P is not a power of two,
# first fold the extra parts into the first ones (one superstep), and at the end copy the total
# back to them (one more).
#
# Write `all_reduce_doubling(g, parts)` from `Execute` and `Copy` supersteps with the built-in
# `codelets.add`. `parts` has shape (P, N) with one row per tile. Return `(totals, program)`, where
# `totals` is mapped like `parts` and every row ends up holding the sum. The grader checks the
# sums against NumPy on seeded data and sets three budgets: at most ⌈log₂ P⌉ + 1 supersteps, no
# tile sending or receiving more than one part (4N bytes) in any exchange, and at most
# ⌈log₂ P⌉ × P × 4N bytes over the exchange in total. It blocks `collectives.all_reduce` and
# `collectives.reduce`, since those are what you are rebuilding. The function's docstring lists
# the ipukit names that help.

# %%
try:
    g = ipukit.Graph(SPEC)
    parts = collectives.add_parts(g, 16, 1024)
    totals, program = ex.all_reduce_doubling(g, parts)
    x = np.random.default_rng(2).standard_normal((16, 1024)).astype(np.float32)
    mine = run(g, program, [(parts, x)])
    print("every row holds the sum:", np.allclose(mine.read(totals), x.sum(axis=0), atol=1e-3))
    cost_table({**{f"all-reduce, {m}": p for m, p in all_reduce_16.items()},
                "all-reduce, doubling (yours)": mine.profile})
    display(viz.plot_trace(mine.profile, title="Your recursive doubling on 16 tiles"))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex03_3")

# %% [markdown]
# ## What ipukit leaves out
#
# The exchange model here is as simple as the one in Poplar's own IPU model, which Graphcore
# describes as simpler than the hardware (Poplar tutorials, tutorial 6): the bytes of the busiest
# tile divided by a fixed bandwidth, plus a sync. The real fabric is a little less tidy. On-chip
# latency depends on how far apart two tiles are and rises by about 24 % under full load (Jia et
# al., 2019), and pairs of tiles share an exchange bus (PopLibs' planners take this into account).
# The cost of the sync itself is an assumption of ipukit: if it were larger or smaller than 150
# cycles, the crossovers of section 4 would move. Their shape would not, because it comes from
# the published rules above: a latency for each superstep, and the bytes of the busiest tile.

# %% [markdown]
# ## Recap
#
# - Tiles share no memory. Data moves only in an **exchange phase** after a sync: all-to-all,
#   scheduled by the compiler, 4 B per cycle per tile in each direction at once. A tile takes
#   max(sent, received) ÷ 4 cycles, a broadcast value is sent once, and **the busiest tile sets
#   the phase**.
# - An exchange costs a fixed sync plus its bytes: messages below about 600 B are mostly sync, so
#   move data in few, large exchanges.
# - A vertex's remote fields are gathered before its compute phase and its remote outputs are
#   written back after it, **every time the compute set runs**. Put vertices where their outputs
#   live, and `Copy` data once when a loop reuses it.
# - Collectives are short programs of supersteps. Broadcast and all-to-all take one superstep.
#   Reduce and all-reduce trade supersteps (syncs) against bytes through the busiest tile. On one
#   chip the direct all-reduce (reduce-scatter then all-gather: 2 supersteps, about 2N floats
#   through each tile) wins at every size measured; of the others, gather for small parts, tree or
#   recursive doubling in between, ring for large parts, and never a gather that does not fit in
#   tile memory. The ring's home is the links between chips (notebook 07).
# - Next, in **notebook 04 (programming the graph)**, you build whole programs from compute sets,
#   copies and control flow, and use these costs to decide how to lay them out.
