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
# # 11 · IPU Puzzles
#
# Fourteen short puzzles, each one small function you complete on an emulated IPU of four
# tiles. They follow the idea of Sasha Rush's [GPU-Puzzles](https://github.com/srush/GPU-Puzzles),
# where each puzzle is a CUDA kernel of a few lines: a NumPy statement of what the result must
# be, a stub to fill in, a picture of what your code does, a check of the result, and a count of
# what it cost. Here the check grades the cost too, against a budget. And the unit is not a
# thread but a tile: each tile has its own memory and six workers, and tiles share data only in
# an exchange between two syncs.
#
# **When to do them.** Any time after notebook 03 (exchange and collectives). Puzzles 1 to 9 need
# only notebooks 01 to 03. Puzzles 10, 11 and 13 need notebook 04: codelets of your own, compute
# sets run in sequence, an `InOut` field. Puzzles 12 and 14 need notebook 05: a matmul split into
# blocks over tiles (puzzle 14 is the block-sparse product of notebook 08 in miniature, its
# vertices given). Puzzles 1, 3, 10 and 11 ask for the body of a small codelet: its decorator is
# written for you.
#
# ## Learning goals
#
# After these puzzles you can:
#
# 1. place vertices where their data lives, so that nothing crosses the exchange that does not have to;
# 2. fetch what a tile needs from its neighbours (a halo) or from everyone (a broadcast, an
#    all-reduce) in as few supersteps and bytes as the problem allows;
# 3. move data with a single `Copy` of a view (a rotation, a transpose) instead of vertices;
# 4. split a reduction or a scan into a local step and a step across tiles;
# 5. do data-dependent work on a machine whose exchange is fixed when the graph is compiled;
# 6. keep six workers, and then several tiles, evenly busy when the work comes in uneven pieces;
# 7. read a puzzle's picture (tiles, what each holds, supersteps, exchange arrows, workers) and
#    its cost table, and tell which cost is over budget and why.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells).** The whole notebook takes under a
# minute. Your code lives in `exercises/ex11_puzzles.py`: one function per puzzle, each with a
# docstring that says what to do, about how many lines it takes, which ipukit names help, and
# its budget. Save the file and run the puzzle's cells again: your module is reloaded each time.
#
# ## How a puzzle works
#
# Every puzzle gives your function a graph `g` on a **4-tile GC2** (`ipukit.GC2.replace(tiles=4)`)
# whose input and output tensors are already created and mapped onto the tiles. Your function
# adds whatever it needs (compute sets, vertices, variables of its own) and returns the program
# that fills the output. Then three cells:
#
# - **the spec**: what the output must equal, in NumPy;
# - **`show(N, spec)`**: the picture of the *target* (drawn from a run of the model solution)
#   next to the picture of *yours*, whether your output matches the spec, and a table of costs:
#   the target's, the budget (and where it comes from), yours;
# - **`ipukit.check("ex11_N")`**: the grader, which runs your function on the case shown and on
#   three random ones (other tile counts, sizes and data) and checks the output and the budget.
#
# **The budgets.** Every budget is what a good solution costs on that case, worked out from
# ipukit's cost model (notebooks 02 and 03): *supersteps* and *exchange bytes* with nothing to
# spare (where a puzzle allows more, it says so), *cycles* with 10 % to spare, and *peak tile
# SRAM* (the bytes on the fullest tile) with 256 B to spare,
# room for the state of a few more vertices but not for another copy of your data. Puzzles 13
# and 14 budget the *compute cycles* instead, by a bound a simple balancing rule meets. A right
# answer over budget does not pass: the check says which cost is over and by how much.
#
# The puzzles run on the `reference` backend, which runs codelets as plain Python: a `print`
# inside your codelet works, and nothing waits for numba to compile.

# %%
import numpy as np

import ipukit
from ipukit import puzzles
from ipukit.puzzles import show

print(puzzles.SPEC.describe())
print("the puzzles:", ", ".join(f"{n} {p.title}" for n, p in puzzles.PUZZLES.items()))


# %% [markdown]
# ### Reading a picture
#
# Here is a program that gets puzzle 1's tensors wrong on purpose: it doubles `a` into `out` (the
# built-in `codelets.scale`) but puts every vertex on tile 0, whatever tile its data is on.

# %%
def scale_on_tile_0(g, a, out):
    cs = g.add_compute_set("scale on tile 0")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            g.add_vertex(cs, ipukit.codelets.scale, tile=0, a=a[lo:hi], out=out[lo:hi], factor=2.0)
    return ipukit.Execute(cs)


case = puzzles.make_case(1)
result = puzzles.run(case, scale_on_tile_0)
print("a[:6]   =", case.values["a"][:6])
print("out[:6] =", result.outputs["out"][:6])
puzzles.picture(case, result, "Every vertex on tile 0")


# %% [markdown]
# **How to read it.**
#
# - The **top row** lists what each tile holds of the puzzle's tensors: tile 1 holds `a[32:64]` and
#   `out[32:64]`.
# - Each **superstep** is a row under a grey line, the sync that starts it, in the order they ran.
#   This program has one: an `Execute`.
# - **Orange arrows** are the exchange: one arrow per pair of tiles that moved data in that
#   superstep, wider for more bytes, labelled with the bytes. Arrows that bend higher go to the
#   right; lower ones go to the left. Here tiles 1 to 3 send their blocks of `a` to tile 0 before
#   the compute phase, and tile 0 sends the results back to where `out` lives after it.
# - In each **tile box**, six bars are its six workers, as tall as the cycles each one was busy
#   (blue: compute). Under the box: the tile's vertices and its compute cycles, and the views its
#   vertices read. Tile 0 ran all four vertices, one per worker, reading `a[0:32]` to `a[96:128]`,
#   while the others did nothing.
# - The line at the bottom lists the costs; a cost in red is over the budget of the puzzle.
#
# The output is right, yet the run moves 768 bytes that never had to move and takes an extra sync
# for the write-back. The puzzles' budgets are there to catch exactly that.

# %% [markdown]
# ## Puzzle 1 · Map
#
# Add 10 to every element of `a`. Write the body of the codelet `add_ten` (its decorator is given)
# and `map_add_ten(g, a, out)`: one `add_ten` vertex on each tile, on the block of `a` and `out`
# that the tile holds, in one compute set. **Budget:** 1 superstep, 0 bytes exchanged, the cycles
# of one vertex a tile + 10 %.

# %%
def map_spec(a):
    return a + 10


show(1, map_spec)

# %%
ipukit.check("ex11_1")


# %% [markdown]
# ## Puzzle 2 · Zip
#
# `out = a + b`, all three in blocks, one on each tile, with the built-in `codelets.add`. The
# catch is the workers: a tile runs its vertices on six workers that take turns issuing
# instructions, so a tile with one vertex runs at a sixth of its speed (notebook 01). Cut each
# block into six pieces. **Budget:** 1 superstep, 0 bytes, the cycles of six `add` vertices a
# tile + 10 %.

# %%
def zip_spec(a, b):
    return a + b


show(2, zip_spec)

# %%
ipukit.check("ex11_2")


# %% [markdown]
# ## Puzzle 3 · Broadcast
#
# `out[i, j] = a[i] + b[j]`. The rows of `a` and `out` are in blocks, one on each tile, but `b`
# lives on tile 0 only, and every tile needs all of it. Connect `b` to a field of each tile's
# vertex: the exchange brings it before the compute phase, and tile 0 puts it on the exchange
# *once*, however many tiles receive it (notebook 03). Write the body of `outer_add` and
# `broadcast_add`. **Budget:** 1 superstep, `b` received once by each other tile, the cycles of
# one vertex a tile + 10 %.

# %%
def broadcast_spec(a, b):
    return a[:, None] + b[None, :]


show(3, broadcast_spec)

# %%
ipukit.check("ex11_3")


# %% [markdown]
# ## Puzzle 4 · Halo
#
# A 3-point stencil around a ring: `out[i] = a[i-1] + a[i] + a[i+1]`, where `a[-1]` comes before
# `a[0]` and `a[0]` after the last element. Each tile's block needs one element from each
# neighbouring tile, its **halo**. The codelet `sum3(left, mid, right, out)` is given; connect
# `left` and `right` to one-element views of the neighbours. **Budget:** 1 superstep, 8 bytes
# received by each tile, the cycles of one vertex a tile + 10 %, and the SRAM of a good solution
# + 256 B. A single field joining the halo and the block would also be right, but the exchange
# gathers a field that is not all in place into a new buffer, local elements included: a copy of
# the whole block, over the SRAM budget.

# %%
def halo_spec(a):
    return np.roll(a, 1) + a + np.roll(a, -1)


show(4, halo_spec)

# %%
ipukit.check("ex11_4")


# %% [markdown]
# ## Puzzle 5 · Rotate
#
# `out = np.roll(a, k)`: `out[i] = a[i - k]`, for any `k`, negative or larger than the length.
# No vertex is needed. A `Copy` moves any view of tensors into any tensor in one superstep, and
# only the elements that change tile cross the exchange (the others are copied on their tile).
# **Budget:** 1 superstep, 4 bytes per element that changes tile, the cycles of one `Copy` + 10 %.

# %%
def rotate_spec(a, k):
    return np.roll(a, k)


show(5, rotate_spec)

# %%
ipukit.check("ex11_5")


# %% [markdown]
# ## Puzzle 6 · Sum on a tile
#
# `out[0] = a.sum()`, with `a` (600 floats) and `out` on the same tile. One `codelets.reduce_sum`
# vertex would leave five workers idle. Sum six pieces at once into six partial sums, a variable
# of your own on that tile, then add those six up in a second compute set: a vertex may not read
# what another one writes in the same compute set (notebook 02). **Budget:** 2 supersteps, 0 bytes,
# the cycles of six `reduce_sum` vertices and then one + 10 %.

# %%
def tile_sum_spec(a):
    return a.sum(keepdims=True)


show(6, tile_sum_spec)

# %%
ipukit.check("ex11_6")


# %% [markdown]
# ## Puzzle 7 · Sum across tiles
#
# `out[0] = a.sum()`, now with `a` in blocks over the four tiles and `out` on tile 0. Gathering all
# of `a` on tile 0 would push three quarters of it through tile 0's 4 bytes per cycle. Sum each
# block where it is, then move only the partial sums. **Budget:** 2 supersteps, at most six partial
# sums from each other tile, the cycles of one `reduce_sum` vertex a tile and then one on tile 0
# + 10 % (six workers in the first step are faster still, and allowed).

# %%
def tiles_sum_spec(a):
    return a.sum(keepdims=True)


show(7, tiles_sum_spec)

# %%
ipukit.check("ex11_7")


# %% [markdown]
# ## Puzzle 8 · All-reduce
#
# Every tile must end with the total: `out[i] = a.sum()` for every i, `out[i]` on tile i.
# Reducing to tile 0 and broadcasting back takes three supersteps. With one partial sum a tile,
# two are enough: a value on the exchange can be received by every tile at once, so each tile
# can add all the partial sums itself (the *gather* all-reduce of notebook 03, right for small
# parts). **Budget:** 2 supersteps, at most six partial sums from each tile to each other tile, the
# cycles of one `reduce_sum` vertex a tile, twice, + 10 %.

# %%
def all_reduce_spec(a, tiles):
    return np.full(tiles, a.sum(), np.float32)


show(8, all_reduce_spec)

# %%
ipukit.check("ex11_8")


# %% [markdown]
# ## Puzzle 9 · Transpose
#
# `out = x.T` for an 8 × 8 matrix cut into a 2 × 2 grid of blocks: block (i, j) of `x` and of `out`
# on tile 2i + j. Block (i, j) of `out` is block (j, i) of `x` transposed, so the two blocks off
# the diagonal swap tiles, and the diagonal ones are transposed where they are. **Budget:** 1
# superstep, each off-diagonal block crossing once, the cycles of one `Copy` + 10 %.

# %%
def transpose_spec(x):
    return x.T


show(9, transpose_spec)

# %%
ipukit.check("ex11_9")


# %% [markdown]
# ## Puzzle 10 · Prefix sum
#
# `out = np.cumsum(a)`, `a` in blocks over the tiles. Element i of the result depends on every
# element before it, on any tile. In two supersteps: first every tile scans its own block and
# keeps its block's total (write the body of `local_scan`); then tile i adds the totals of the i
# blocks before it (the given `add_offset`, whose `out` is an `InOut` field: read, then written).
# The totals need a tensor of their own, one element on each tile. **Budget:** 2 supersteps, tile
# i receives i totals (4 bytes each), the cycles of one `local_scan` and one `add_offset` vertex a
# tile + 10 %.

# %%
def prefix_sum_spec(a):
    return np.cumsum(a, dtype=np.float32)


show(10, prefix_sum_spec)

# %%
ipukit.check("ex11_10")


# %% [markdown]
# ## Puzzle 11 · Gather by index
#
# `out = table[idx]`, where the indices `idx` are data, written when the program runs. The IPU's
# exchange is planned when the graph is compiled (every tile gets a schedule of what to send and
# receive, Graphcore patent GB2569269), so no tile can ask for just the entries its indices will
# name. What a tile can do is look anything up *in its own memory*, each worker following its
# own indices: that is MIMD. So bring the table to every tile (a broadcast, sent once), and look
# up locally. Write the body of `lookup` and `gather_by_index`. **Budget:** 1 superstep, each tile
# receives the parts of the table it lacks, once; the cycles of one vertex a tile + 10 %; one copy
# of the table a tile.

# %%
def gather_spec(table, idx):
    return table[idx]


show(11, gather_spec)

# %%
ipukit.check("ex11_11")


# %% [markdown]
# ## Puzzle 12 · A matmul block
#
# `out = a @ b` for 8 × 8 matrices, each cut into a 2 × 2 grid of blocks, block (i, j) on tile
# 2i + j. Each tile computes the block of `out` it holds: it needs block row i of `a` and block
# column j of `b`, half of which are on other tiles. One built-in `codelets.matmul_partial` vertex
# a tile, one compute set (notebook 05 splits bigger matmuls the same way). **Budget:** 1
# superstep, each tile receiving the one block of `a` and the one block of `b` it lacks, the
# cycles of one `matmul_partial` vertex a tile + 10 %.

# %%
def matmul_spec(a, b):
    return a @ b


show(12, matmul_spec)

# %%
ipukit.check("ex11_12")


# %% [markdown]
# ## Puzzle 13 · Six workers, uneven rows
#
# The sum of each row of a ragged matrix, all on one tile: `values` holds the 24 rows one after
# another and `bounds` where each starts. Six rows are long and the rest short. The given codelet
# `segment_sums` sums a run of consecutive rows; it costs 10 cycles to start, one cycle an element
# and 4 a row. A tile is done when its busiest worker is, so cut the rows into at most six runs of
# about *equal work*, not equal numbers of rows. **Budget:** 1 superstep, 0 bytes, compute cycles
# at most 6 × (10 + a sixth of all the work + the longest row's work): what the simple rule "close
# a run once it has its sixth" guarantees. Six runs of four rows each do not make it. The target
# does better still: it finds the best cut with a binary search on the work of the busiest run.

# %%
def rows_spec(values, bounds):
    return np.array([values[s:e].sum() for s, e in zip(bounds[:-1], bounds[1:])], np.float32)


show(13, rows_spec)

# %%
ipukit.check("ex11_13")


# %% [markdown]
# ## Puzzle 14 · Block-sparse rows over tiles
#
# `y = A @ x` for six vectors, where A (16 × 6 blocks of 8 × 8) is block-sparse: only 41 blocks
# are stored, and its rows of blocks hold from 1 to 6 of them. Choose a tile for every row of
# blocks and call the given `add_block_row` for it: it maps the row's blocks and its part of `y`
# to that tile and adds six vertices, one per vector (one per worker). A tile's work is then the
# sum of its rows' work. Taking the rows in turns (row i on tile i % 4) or in runs (four rows a
# tile) piles the dense rows onto one tile here. Give each row to the tile with the least work so
# far, the rows with the most blocks first. **Budget:** 1 superstep, x read at most once a vector
# for each block (A never moves), compute cycles at most 6 × (a tile's share of all the work +
# the biggest row) + 10 %.

# %%
def block_rows_spec(a, x, mask):
    rows, cols = mask.shape
    bs = a.shape[1]
    dense = np.zeros((rows * bs, cols * bs), np.float32)
    for q, (i, k) in enumerate(zip(*np.nonzero(mask))):
        dense[i * bs:(i + 1) * bs, k * bs:(k + 1) * bs] = a[q]
    return x @ dense.T


show(14, block_rows_spec)

# %%
ipukit.check("ex11_14")

# %% [markdown]
# ## What the pictures leave out
#
# The costs are ipukit's estimates (README, *The cost model*): the 150-cycle sync is an
# assumption, vertex cycles are the estimates written in each codelet's decorator, and the
# exchange is the busiest tile's bytes at 4 bytes per cycle. The budgets follow the same model,
# so a solution that is good here is good for the model's reasons: few supersteps, few bytes
# through the busiest tile, and even work. On real hardware the same reasons hold; the exact
# cycle counts would differ.

# %% [markdown]
# ## Recap
#
# - **Work where the data is.** A vertex on the tile that holds its data needs no exchange
#   (puzzles 1 and 2); six vertices a tile keep all six workers busy.
# - **Fetch only what is missing.** A halo is two elements a tile (4); a broadcast is sent once
#   for all receivers (3, 11); a field that mixes local and remote data costs a copy of the local
#   part.
# - **A `Copy` of a view is a whole data movement.** Rotations and transposes need no vertex and
#   one exchange (5, 9).
# - **Local first, then across tiles.** Sums, all-reduces and scans do the bulk of the work on
#   each tile and move one number a tile (6, 7, 8, 10); a value that one vertex writes is read by
#   others only in a later superstep.
# - **The exchange is fixed when the graph is compiled.** Data-dependent access happens inside a
#   tile, where every worker follows its own data (11).
# - **Balance the work, not the count.** Uneven pieces go to workers by their work (13) and rows of
#   a sparse matrix to tiles by their blocks (14): the busiest worker or tile sets the time.
# - Back to the course: notebook 04 builds whole programs with control flow, and notebooks 05
#   and 08 take the matmul and block-sparse puzzles to real sizes.
