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
# # 09 · Capstone: map and tune a transformer layer
#
# Everything in this course comes together here. You will take a model you know, one encoder layer
# of BERT, build it on the emulated IPU from `ipukit.ops`, check it against NumPy, and make it faster
# one measured change at a time: find what dominates the profile, change one thing, measure again.
# That loop, with PopVision open, is how Poplar engineers work. Then you will scale the same layer up
# to BERT-Large on whole chips and put the emulator's predictions next to the figures published for
# the real IPU. They will not all agree. The most important skill of this notebook is to say *why*:
# which parts of the machine the emulator leaves out, which of its numbers are assumptions, and what
# a published benchmark measures that a model of one chip cannot see.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. build a transformer encoder layer from `ipukit.ops`, check it against NumPy, and read its
#    profile: the dominant phase, the busiest tile, the achieved FLOP/s and the fraction of peak;
# 2. tune the layer one measured change at a time (the matmul plan, fusing steps, the layout of an
#    input, float16, the batch) and explain each result with the cost model, in a before/after table
#    of cycles, supersteps, exchange bytes and peak tile memory;
# 3. choose a matmul split from its priced plans under a memory cap, and map a step by hand so that
#    every tile holds whole rows and all six of its workers are busy, within a cycle budget;
# 4. get the whole layer under a cycle budget by any means you choose, graded in tiers (bronze,
#    silver, gold) against a reference solution;
# 5. scale the analysis up to BERT-Large on GC2 and GC200 chips with the matmul planner and
#    `ipukit.models`, and estimate its throughput;
# 6. compare the emulator's estimates with published figures (peak FLOPS, Jia et al.'s
#    microbenchmarks, Graphcore's tutorial profiles, MLPerf) and explain the differences honestly.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The layer is small (32 tokens on 16 tiles), so every run below takes a fraction of a second. The
# true-size BERT-Large layer is priced with the matmul planner and `ipukit.models`; set `BIG = True`
# in the next cell to also build and run it on a full emulated GC200 (under a minute, and about 2 GB
# of memory).

# %%
import math

import numpy as np
import ipywidgets as W

import ipukit
from ipukit import Copy, Engine, Sequence, cost, models, ops, viz, widgets
from ipukit.errors import TileMemoryError
from ipukit.exercise import load
from ipukit.ops import codelets as K          # the ops' vertices, and their cycle assumptions
from ipukit.palette import PHASE_COLORS

BIG = False                                    # True: also run the true-size layer on a full GC200
ex = load("ex09_capstone")                     # your exercise module: exercises/ex09_capstone.py

# %% [markdown]
# ## 1 · The model: one encoder layer of BERT
#
# BERT (Devlin et al., 2019) is a stack of identical encoder layers: 12 in BERT-Base, 24 in
# BERT-Large. A layer takes S token vectors of width D and returns S new ones, in four parts:
#
# 1. **attention**: Q = x W<sub>q</sub>, K = x W<sub>k</sub>, V = x W<sub>v</sub>, each cut into
#    heads; per head softmax(Q K<sup>T</sup> / √d) V; the heads joined again and multiplied by
#    W<sub>o</sub>;
# 2. **add & norm**: n1 = LayerNorm(x + attention);
# 3. **feed-forward**: GELU(n1 W<sub>1</sub> + b<sub>1</sub>) W<sub>2</sub> + b<sub>2</sub>, four
#    times wider inside (F = 4D);
# 4. **add & norm**: out = LayerNorm(n1 + feed-forward).
#
# BERT-Large has D = 1024, 16 heads and F = 4096. We scale it down to run in a blink, keeping its
# shape: **32 tokens, D = 64, 4 heads of 16, F = 256**, on a 16-tile GC2. The attention projections
# have no biases here (`ops.attention` has none); the feed-forward keeps BERT's two. First the
# reference: the same layer in NumPy, in float64, which every emulator run below is checked against.

# %%
SMALL = dict(tokens=32, width=64, heads=4, ffn=256)          # our layer
LARGE = dict(tokens=128, width=1024, heads=16, ffn=4096)     # BERT-Large, 128-token sequences
SPEC = ipukit.GC2.replace(tiles=16)                          # a 16-tile GC2
GELU_C = math.sqrt(2 / math.pi)


def random_params(size, batch=1, seed=0):
    # The layer's input x (batch, tokens, width) and its parameters, as float32 arrays.
    S, D, F = size["tokens"], size["width"], size["ffn"]
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((batch, S, D))}
    for name in ("wq", "wk", "wv", "wo"):
        p[name] = rng.standard_normal((D, D)) / math.sqrt(D)
    p["w1"], p["b1"] = rng.standard_normal((D, F)) / math.sqrt(D), 0.1 * rng.standard_normal(F)
    p["w2"], p["b2"] = rng.standard_normal((F, D)) / math.sqrt(F), 0.1 * rng.standard_normal(D)
    for i in "12":
        p["gamma" + i], p["beta" + i] = 1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)
    return {name: value.astype(np.float32) for name, value in p.items()}


def layer_numpy(p, heads):
    # The encoder layer in NumPy (float64): the reference.
    w = {name: value.astype(np.float64) for name, value in p.items()}
    x = w["x"]
    B, S, D = x.shape
    dh = D // heads

    def norm(z, gamma, beta):
        return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5) * gamma + beta

    def split(t):                                              # (B, S, D) -> (B, heads, S, dh)
        return t.reshape(B, S, heads, dh).transpose(0, 2, 1, 3)

    q, k, v = (split(x @ w[name]) for name in ("wq", "wk", "wv"))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    attention = (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, D) @ w["wo"]
    n1 = norm(x + attention, w["gamma1"], w["beta1"])
    h = n1 @ w["w1"] + w["b1"]
    gelu = 0.5 * h * (1 + np.tanh(GELU_C * (h + 0.044715 * h ** 3)))
    return norm(n1 + gelu @ w["w2"] + w["b2"], w["gamma2"], w["beta2"])


# %% [markdown]
# Count the work before running anything. Almost all the arithmetic is in the matmuls, and a
# matmul of (M × K) by (K × N) does M·K·N multiply-adds, 2·M·K·N FLOP. Per token: the Q, K and V
# projections (3·D·D), the output projection (D·D) and the feed-forward (2·D·F); per sequence, the
# attention scores and the weighted sum of values, S·S·D each over all heads together.
# `ipukit.models` counts the same layer independently, layer record by layer record, including the
# elementwise work (biases, softmax, norms, GELU):

# %%
def layer_flops(size, batch=1):
    # FLOP of the layer's matmuls: what the AMP units do.
    S, D, F = size["tokens"], size["width"], size["ffn"]
    per_token = 2 * (3 * D * D + D * D + 2 * D * F)
    per_sequence = 2 * 2 * S * S * D
    return batch * (S * per_token + per_sequence)


flops = layer_flops(SMALL)
counted = models.bert(layers=1, hidden=64, heads=4, seq=32, intermediate=256)
encoder = sum(layer.flops for layer in counted.layers if layer.name.startswith("encoder.0."))
print(f"our layer's matmuls:            {flops:>10,} FLOP per sequence")
print(f"ipukit.models, the whole layer: {encoder:>10,} FLOP per sequence "
      f"(matmuls are {flops / encoder:.0%} of it)")

# %% [markdown]
# Now the emulator version. Here is a **first draft**, written the way the earlier notebooks would
# suggest: every tensor mapped linearly over the tiles; every matmul with weights split the obvious
# way, each tile taking a share of the tokens (rows) and multiplying them by the whole weight
# matrix; each operation its own step. The choices live in a dictionary so that we can change them
# one at a time later. Read `encoder_layer`: every line is one `ipukit.ops` call, each returning its
# output and a program, exactly as PopLibs functions add steps to a `poplar::program::Sequence`.

# %%
SHAPES = {"x": ("batch", "tokens", "width"), "wq": ("width", "width"), "wk": ("width", "width"),
          "wv": ("width", "width"), "wo": ("width", "width"), "w1": ("width", "ffn"), "b1": ("ffn",),
          "w2": ("ffn", "width"), "b2": ("width",), "gamma1": ("width",), "beta1": ("width",),
          "gamma2": ("width",), "beta2": ("width",)}


def make_inputs(g, c):
    # The input x and the parameters as variables of graph g, laid out as the choices c say.
    size, B = c["size"], c["batch"]
    dims = {**size, "batch": B}
    t = {}
    if c["x_layout"] == "qkv plan":        # x and [Wq Wk Wv] where the QKV matmul's plan wants them
        D = size["width"]
        x, wqkv = ops.create_matmul_inputs(g, B * size["tokens"], D, 3 * D, dtype=c["dtype"], name="qkv")
        t["x"] = x.reshape(B, size["tokens"], D)
        t["wq"], t["wk"], t["wv"] = wqkv[:, :D], wqkv[:, D:2 * D], wqkv[:, 2 * D:]
    for name, axes in SHAPES.items():
        if name not in t:
            t[name] = g.add_variable(tuple(dims[a] for a in axes), c["dtype"], name=name)
            g.map_linearly(t[name])          # spread evenly over the tiles
    return t


def encoder_layer(g, t, c):
    # BERT's encoder layer on graph g from the tensors t, built as the choices c say: (out, program).
    B, S, H = c["batch"], c["size"]["tokens"], c["size"]["heads"]
    x, steps = t["x"], []
    D = x.shape[-1]

    def op(result):                        # keep an op's program, pass its output on
        out, program = result
        steps.append(program)
        return out

    def project(a, w, name):               # a (B, S, k) @ w (k, n): the matmuls with weights
        if c["plan"] == "planner":
            return op(ops.matmul(g, a, w, name=name))
        plan = ops.plan_matmul(g.spec, B * S, w.shape[0], w.shape[1], w.dtype,
                               splits=(g.num_tiles, 1, 1))   # each tile: some tokens, all of w
        return op(ops.matmul(g, a, w, name=name, plan=plan))

    # 1. attention
    if c["fuse"]:                          # Q, K and V in one matmul with [Wq Wk Wv]
        attention = op(ops.attention(g, x, t["wq"], t["wk"], t["wv"], t["wo"], heads=H))
    else:                                  # three projections; the heads are one batched matmul
        dh = D // H

        def heads(v, order):               # (B, S, D) -> (B * H, ...): views, no data moves
            v = v.reshape(B, S, H, dh).transpose(*order)
            return v.reshape(B * H, *v.shape[2:])

        q, k, v = (project(x, t[w], f"attention/{w[1]}") for w in ("wq", "wk", "wv"))
        scores = op(ops.matmul(g, heads(q, (0, 2, 1, 3)), heads(k, (0, 2, 3, 1)), name="attention/scores"))
        probs = op(ops.softmax(g, scores, scale=1 / math.sqrt(dh), name="attention/softmax"))
        context = op(ops.matmul(g, probs, heads(v, (0, 2, 1, 3)), name="attention/context"))
        context = context.reshape(B, H, S, dh).transpose(0, 2, 1, 3).reshape(B, S, D)
        attention = project(context, t["wo"], "attention/out")
    # 2. add & norm
    r1 = op(ops.add(g, x, attention, name="residual1"))
    n1 = op(ops.layer_norm(g, r1, t["gamma1"], t["beta1"], name="norm1"))
    # 3. feed-forward (the fused codelets are written in section 4.2)
    h = project(n1, t["w1"], "ffn/in")
    if c["fuse"]:
        act = op(ops.map_elementwise(g, bias_gelu, {"a": h, "bias": t["b1"]}, name="ffn/bias+gelu"))["out"]
    else:
        act = op(ops.gelu(g, op(ops.add(g, h, t["b1"], name="ffn/bias1")), name="ffn/gelu"))
    f = project(act, t["w2"], "ffn/out")
    if c["fuse"]:
        r2 = op(ops.map_elementwise(g, bias_residual, {"a": f, "bias": t["b2"], "res": n1}, like=n1,
                                    name="ffn/bias+residual"))["out"]
    else:
        r2 = op(ops.add(g, n1, op(ops.add(g, f, t["b2"], name="ffn/bias2")), name="residual2"))
    # 4. add & norm
    out = op(ops.layer_norm(g, r2, t["gamma2"], t["beta2"], name="norm2"))
    return out, Sequence(*steps)


# %% [markdown]
# One function builds, compiles and runs the layer and checks it against NumPy; another keeps every
# run in a table, so that we can compare them at the end.

# %%
def run_layer(c, spec=SPEC, seed=0):
    # Build, compile and run the layer; returns (engine, largest error against NumPy).
    g = ipukit.Graph(spec)
    t = make_inputs(g, c)
    out, program = encoder_layer(g, t, c)
    eng = Engine(g, program)
    values = random_params(c["size"], c["batch"], seed)
    for name, tensor in t.items():
        eng.write(tensor, values[name].astype(c["dtype"]))
    eng.run()
    error = np.abs(eng.read(out).astype(np.float64) - layer_numpy(values, c["size"]["heads"])).max()
    return eng, float(error)


TABLE = []


def measure(label, c, kept=True):
    # Run the layer with choices c and add a row to the before/after table.
    eng, error = run_layer(c)
    p, B = eng.profile, c["batch"]
    rate = layer_flops(c["size"], B) / p.seconds
    TABLE.append(dict(step=label, kept=kept, batch=B, cycles=p.total_cycles, supersteps=p.num_supersteps,
                      exchange=p.exchange_bytes, peak=eng.memory.peak_bytes, rate=rate,
                      of_peak=rate / SPEC.peak_flops(c["dtype"]), dtype=c["dtype"], error=error,
                      phases=p.cycles_by_phase()))
    return eng


def show_table():
    print(f"{'step':<38}{'seqs':>5}{'cycles':>9}{'per seq':>9}{'supersteps':>11}{'exchange B':>12}"
          f"{'peak tile B':>12}{'GFLOP/s':>9}{'of peak':>8}{'error':>9}")
    for r in TABLE:
        print(f"{r['step']:<38}{r['batch']:>5}{r['cycles']:>9,}{r['cycles'] / r['batch']:>9,.0f}{r['supersteps']:>11}"
              f"{r['exchange']:>12,}{r['peak']:>12,}{r['rate'] / 1e9:>9.0f}{r['of_peak']:>8.1%}{r['error']:>9.1e}"
              + ("" if r["kept"] else "   tried, not kept"))


DRAFT = dict(size=SMALL, batch=1, dtype="float32", plan="rows", fuse=False, x_layout="linear")
draft = measure("first draft", DRAFT)
print(f"largest difference from NumPy: {TABLE[-1]['error']:.1e}")
print(draft.profile)

# %% [markdown]
# The emulator computes the same layer as NumPy, to float32 rounding. Now: how fast is it, and why?

# %% [markdown]
# ## 2 · Reading the profile
#
# Start where a Poplar engineer starts, with the summary (`engine.printProfileSummary` in Poplar):
# where the cycles go by phase, the memory, and the costliest steps.

# %%
print(draft.profile.summary(top=10))

# %% [markdown]
# The same numbers as pictures: each step's cycles split by phase, then the execution trace (one row
# per tile, time to the right, as in PopVision's execution trace), then the memory of every tile.

# %%
viz.profile_bars(draft.profile, title="First draft: cycles by phase per step")

# %%
viz.plot_trace(draft.profile)

# %%
viz.plot_memory(draft.memory)

# %% [markdown]
# **What to notice.**
# - The exchange (orange) is the biggest phase, and most of it is in the matmuls with weights:
#   `ffn/in`, `ffn/out` and the projections. With the draft's split every tile computes a few tokens
#   against the *whole* weight matrix, so every tile must receive all of it: W<sub>1</sub> alone is
#   64 KiB, received by each of the 16 tiles.
# - The compute is nearly even over the tiles (a tile balance of 0.95 under the trace; the white gaps
#   are steps in which some tiles have nothing to do): the draft's problem is not balance but data
#   movement.
# - The syncs (grey) take 4,350 cycles, 150 at a time: a twentieth of the run, for now.
# - In memory (orange again) two thirds of every tile's bytes are exchange buffers: the copies of the
#   weight matrices each tile received. Memory does not limit this small layer yet; at true size it
#   will (section 4.4).
#
# The profile answers the first questions directly: which phase dominates, which tile computes the
# longest, and how far from an even share that tile is.

# %%
by_phase = draft.profile.cycles_by_phase()
busy = draft.profile.tile_cycles("compute")                  # each tile's compute cycles over the run
print(f"dominant phase: {max(by_phase, key=by_phase.get)} ({by_phase})")
print(f"busiest tile: {int(np.argmax(busy))}, with {busy.max() / busy.sum():.1%} of all compute cycles "
      f"(even would be {1 / SPEC.tiles:.1%})")

# %% [markdown]
# ## 3 · How far from the peak?
#
# The profile says where time goes; FLOP/s say how well the machine is used. The peak of our 16 GC2
# tiles is 16 tiles × 16 FLOP per cycle × 1.6 GHz = 409.6 GFLOP/s in float32, and four times that in
# float16: a 1216-tile GC2 reaches the published 31.1 and 124.5 TFLOPS (Jia et al., 2019). No program
# reaches the peak. The question is how far below it we are, and what takes the rest: the syncs and
# the exchange, which do no arithmetic, or the compute phases themselves (vertex overheads, idle
# workers, a slow tile).
#
# The achieved rate is the layer's FLOPs over the run's seconds, every phase included; the same FLOPs
# over the compute phases' cycles alone say how well the arithmetic itself uses the AMP units.

# %%
rate = layer_flops(SMALL) / draft.profile.seconds
compute_only = layer_flops(SMALL) / (draft.profile.compute_cycles / SPEC.clock_hz)
peak = SPEC.peak_flops("float32")
print(f"first draft: {rate / 1e9:.0f} GFLOP/s = {rate / peak:.1%} of the peak; "
      f"{compute_only / peak:.1%} counting only the compute phases")

# %% [markdown]
# About a sixth of the peak over the whole run, but about half of it during the compute phases
# alone: the arithmetic itself is not the main problem. The time spent moving data and waiting at
# barriers is. That tells us where to tune first.

# %% [markdown]
# ## 4 · Tuning, one measured change at a time
#
# The rules of the game: change **one** thing, run the layer, check it still matches NumPy, and keep
# the change only if the profile got better. Every row of the table at the end of this section is a
# full run of the emulator.
#
# ### 4.1 The matmul plan
#
# The draft's split makes every tile hold the whole weight matrix. A matmul can also be cut along N
# (each tile takes some columns of W and of the output) and along K (each tile takes a slice of the
# inner dimension, and the partial sums are added afterwards). `ops.plan_matmul` does what poplin's
# planner does: it tries every split of M, N and K over the tiles, prices each one with the cost
# model, and keeps the fastest that fits in memory. Here is the feed-forward's first matmul,
# (32 × 64) @ (64 × 256), both ways:

# %%
by_rows = ops.plan_matmul(SPEC, 32, 64, 256, splits=(16, 1, 1))
planned = ops.plan_matmul(SPEC, 32, 64, 256)
for title, plan in (("the draft: 16 blocks of tokens", by_rows), ("the planner's choice", planned)):
    print(f"--- {title}\n{plan.describe()}\n")

# %%
ops.plot_matmul_plan(planned)

# %% [markdown]
# **What to notice.** The planner does not split the tokens at all here: each tile takes 16 columns
# of W<sub>1</sub> (4 KiB, a sixteenth of it) and all 32 tokens. The input (8 KiB) is broadcast to
# every tile, and a broadcast is sent once, however many tiles receive it. Each tile receives 8 KiB
# instead of 64 KiB, and the estimate drops from 20,872 to 6,632 cycles. The planner's estimate is
# exact for inputs laid out as it wants them (it builds the same byte runs and vertex lists the
# engine will run); ours are mapped linearly, so the layer pays a little more. Now the whole layer
# with the planner:

# %%
PLANNED = {**DRAFT, "plan": "planner"}
planner = measure("matmuls planned", PLANNED)
show_table()


# %% [markdown]
# The exchange fell to a quarter and the run is 40 % shorter. There are *more* supersteps than in the
# draft: some of the planner's matmuls also split K, and their partial sums need a reduction step.
# A superstep more is cheap next to 64 KiB less to receive on every tile.

# %% [markdown]
# ### 4.2 Fusing steps
#
# Every op is at least one superstep: a sync, often an exchange, then a compute phase. And every op
# writes a tensor to memory that the next op reads back. **Fusing** ops into one does the work in
# fewer supersteps, with no tensor in between. Three fusions here:
#
# - **Q, K and V in one matmul**: x times [W<sub>q</sub> W<sub>k</sub> W<sub>v</sub>] side by side,
#   one matmul of width 3D instead of three of width D. `ops.attention` does this.
# - **bias + GELU** in one vertex, and **bias + residual** in another. PopLibs fuses chains of
#   elementwise ops the same way (popops' `map` with an expression). We write the two codelets
#   ourselves; `ops.map_elementwise` runs them over whole tensors, where the data lives, six vertices
#   per tile.

# %%
def _vectors(n, spec, dtype):                        # 64-bit vectors: 2 float32 or 4 float16
    return -(-n // cost.vector_elements(spec, dtype))


@ipukit.codelet(inputs={"a": "T[n]", "bias": "T[n]"}, outputs={"out": "T[n]"},
                cycles=lambda out, spec, dtype: cost.VERTEX_OVERHEAD
                + (cost.BINARY_CYCLES_PER_VECTOR + K.GELU_CYCLES_PER_VECTOR) * _vectors(out, spec, dtype))
def bias_gelu(a, bias, out):
    # out = GELU(a + bias): an add and a GELU per element, in one vertex
    for i in range(out.size):
        x = np.float64(a[i]) + np.float64(bias[i])
        out[i] = 0.5 * x * (1.0 + math.tanh(GELU_C * (x + 0.044715 * x * x * x)))


@ipukit.codelet(inputs={"a": "T[n]", "bias": "T[n]", "res": "T[n]"}, outputs={"out": "T[n]"},
                cycles=lambda out, spec, dtype: cost.VERTEX_OVERHEAD
                + 2 * cost.BINARY_CYCLES_PER_VECTOR * _vectors(out, spec, dtype))
def bias_residual(a, bias, res, out):
    # out = a + bias + res: two adds per element, in one vertex
    for i in range(out.size):
        out[i] = np.float64(a[i]) + np.float64(bias[i]) + np.float64(res[i])


FUSED = {**PLANNED, "fuse": True}
fused = measure("Q, K, V and elementwise ops fused", FUSED)
show_table()

# %% [markdown]
# The cycle estimates of the two codelets are ours: the cost of an add per 64-bit vector
# (`cost.BINARY_CYCLES_PER_VECTOR`) plus the GELU's estimate in `ipukit.ops`, both marked as
# assumptions in the library. Every codelet you write carries such an estimate, as every Poplar
# vertex carries `setPerfEstimate` on the IPU Model: the profile is only as good as those numbers.
#
# Seven supersteps fewer, 8 % fewer cycles, and a smaller peak on the busiest tile (no tensor between
# the fused steps). One detail matters: `bias_residual` lays its output out like `n1`, the layer
# norm's output (`like=n1`), not like the matmul's output (the default). The next layer norm then
# finds each row whole where it computes it; with the default the layer takes about 2,000 cycles
# more. Where a tensor lives decides where the next op computes, which is the next experiment.
#
# ### 4.3 An input layout that backfires
#
# `ops.create_matmul_inputs` makes tensors laid out exactly as a matmul plan wants them, so that the
# matmul needs no operand exchange. It is tempting to make x and [W<sub>q</sub> W<sub>k</sub>
# W<sub>v</sub>] that way for the QKV matmul:

# %%
tried = measure("x laid out for the QKV matmul", {**FUSED, "x_layout": "qkv plan"}, kept=False)
show_table()

print("\nthe steps that changed most: cycles (vertices), before -> after")
def by_name(profile):                     # step name without its vertex count -> (cycles, vertices)
    return {r.name.split(" (")[0]: (r.cycles(), r.vertices) for r in profile.steps}


before, after = by_name(fused.profile), by_name(tried.profile)
names = sorted(set(before) | set(after))
for name in sorted(names, key=lambda n: -abs(after.get(n, (0, 0))[0] - before.get(n, (0, 0))[0]))[:5]:
    (b, bv), (a, av) = before.get(name, (0, 0)), after.get(name, (0, 0))
    print(f"  {name[:44]:<46}{b:>7,} ({bv:>2})  ->{a:>7,} ({av:>2})")

# %% [markdown]
# **What to notice.** It is much slower. The QKV matmul's plan does not split the 32 tokens (its
# splits are 1 × 16 × 1), so it keeps all of x on a single tile. But x has other readers. The
# residual add computes where x lives, so one tile does the whole add, with 6 vertices instead of 96;
# the layer norm's rows are then all at home on that tile, so it too runs on one tile; and so does
# everything laid out like its output, down to the second layer norm. A layout serves *every* op that
# reads a tensor, and here it propagated down the whole residual stream. We keep x mapped linearly.
#
# ### 4.4 The memory budget
#
# `available_memory_proportion` (the option of the same name in poplin) caps the temporary memory of
# a matmul (operand copies, partial sums, exchange buffers) as a share of each tile's SRAM. At our
# size it changes nothing: every plan is tiny next to 256 KiB.

# %%
for budget in (0.05, 0.2, 0.6, 1.0):
    plan = ops.plan_matmul(SPEC, 32, 64, 256, available_memory_proportion=budget)
    print(f"budget {budget:4}: splits {plan.splits}, {plan.cycles:,} cycles, "
          f"{plan.temporary_bytes:,} B of temporaries on the busiest tile")


# %% [markdown]
# At true size it decides whether a plan exists at all. Below is the feed-forward's first matmul of
# BERT-Large, (128·m × 1024) @ (1024 × 4096) in float16 for m sequences of 128 tokens, planned on a
# whole GC2 (1216 tiles) or GC200 (1472 tiles). The planner runs on the host in a fraction of a
# second; nothing is built. Try a GC2 with 8 sequences, then raise the budget, or switch to a GC200.

# %%
def budget_figure(chip="GC2", sequences=4, budget=0.6):
    spec = {"GC2": ipukit.GC2, "GC200": ipukit.GC200}[chip]
    try:
        plan = ops.plan_matmul(spec, 128 * sequences, 1024, 4096, "float16", available_memory_proportion=budget)
    except TileMemoryError as e:
        fig = viz.IPUFigure(figsize=(11, 2.2), layout="constrained")
        fig.text(0.01, 0.5, f"No plan fits on a {chip} with a budget of {budget:.0%}:\n{e}", wrap=True,
                 va="center", fontsize=9)
        return fig
    fig = ops.plot_matmul_plan(plan)
    widgets.close_figure(fig)                    # shown once, as the value of the call
    rate = plan.flops / plan.seconds
    fig.suptitle(f"{chip}, {sequences} x 128 tokens, budget {budget:.0%}: {plan.cycles:,} cycles, "
                 f"{rate / 1e12:.1f} TFLOP/s = {rate / spec.peak_flops('float16'):.0%} of the float16 peak; "
                 f"{plan.temporary_bytes / 1024:.0f} KiB of temporaries on the busiest tile")
    return fig


budget_figure("GC2", 4, 0.6)

# %%
widgets.interactive_figure(
    budget_figure,
    chip=W.ToggleButtons(options=["GC2", "GC200"], value="GC2", description="chip"),
    sequences=W.SelectionSlider(options=[1, 2, 4, 8], value=4, description="sequences",
                                continuous_update=False),
    budget=W.SelectionSlider(options=[0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0], value=0.6, description="budget",
                             continuous_update=False))

# %% [markdown]
# **What to notice.** A plan either fits or it does not; the fastest plans that fit use little
# temporary memory, so a larger budget rarely changes the cycles. On a GC2, four sequences need a
# budget of at least 0.45 and eight at least 0.8; on a GC200, with 624 KiB per tile instead of 256,
# eight fit from 0.3. When nothing fits, Poplar would run the matmul in several serial passes;
# ipukit's planner does not, and says so. This is why the batch a layer processes at once, the
# **micro-batch**, is chosen with memory in mind.
#
# ### Exercise 09.1 · Pick a split under a memory cap
#
# The planner's choice is one decision among many: the fastest split is not always one that fits.
# Write `pick_split(spec, m, k, n, candidates, dtype, available_memory_proportion)`: price each
# candidate split `(m_parts, n_parts, k_parts)` of `(m × k) @ (k × n)` with the planner, and return the
# fastest whose temporaries fit under the cap (the first of equal ones); raise `ValueError` naming
# the sizes when none fits. The cell below prints the candidates' prices for a matmul of our layer's
# size on 256 tokens, so that you can predict the answer before you run yours. The grader checks caps
# that rule out the fastest split, ties, a case where nothing fits, and random shapes.

# %%
CANDIDATES = [(2, 8, 1), (8, 1, 2), (1, 8, 2)]
for cap in (1.0, 0.13):
    print(f"(256 x 64) @ (64 x 128) on 16 tiles, memory proportion {cap} "
          f"({cap * SPEC.sram_bytes_per_tile:,.0f} B):")
    for split in CANDIDATES:
        plan = ops.plan_matmul(SPEC, 256, 64, 128, splits=split, check_memory=False, available_memory_proportion=cap)
        print(f"  {split}: {plan.cycles:>7,} cycles, {plan.temporary_bytes:>7,} B of temporaries"
              f"{'' if plan.fits else '  (does not fit)'}")
    try:
        print(f"  your pick: {ex.pick_split(SPEC, 256, 64, 128, CANDIDATES, 'float32', cap)}")
    except NotImplementedError as e:
        print("  Not done yet:", e)

# %%
ipukit.check("ex09_1")

# %% [markdown]
# ### 4.5 float16
#
# The AMP units multiply four times as fast in float16 (64 FLOP per cycle per GC2 tile instead of
# 16), every tensor takes half the bytes (half the memory, half the exchange), and a 64-bit vector
# holds four values instead of two. The price is precision: about three decimal digits.

# %%
HALF = {**FUSED, "dtype": "float16"}
half = measure("float16", HALF)
show_table()

# %% [markdown]
# The run is almost twice as fast and the exchange halved, but the fraction of the (four times
# higher) float16 peak went down: the matmuls now finish so quickly that the syncs, the exchanges and
# the elementwise steps, which float16 speeds up far less, take a larger share. There are also four
# more supersteps: a float16 matmul sums in float32 and rounds in a final step. The error is now of
# the order of float16's precision, 10<sup>-3</sup>: check it against your tolerance before you keep
# such a change. (Mixed-precision training keeps float32 master weights and float32 sums, as
# ipukit's float16 matmul does.)
#
# ### 4.6 More sequences per run
#
# A sync costs 150 cycles whether a superstep does little work or a lot, and each vertex pays its
# start-up cycles however long it runs. Processing several sequences in each run spreads these fixed
# costs over more work:

# %%
BATCH = {**HALF, "batch": 4}
batched = measure("4 sequences per run", BATCH)
show_table()


# %% [markdown]
# Four sequences take 2.3 times as long as one, not four: the same supersteps and vertices now carry
# four times the work, and the fraction of peak climbs back.

# %% [markdown]
# ### 4.7 Before and after

# %%
def tuning_figure(rows):
    fig = viz.IPUFigure(figsize=(10, 0.55 * len(rows) + 1.4), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(len(rows))
    for kind in ("compute", "exchange", "sync"):
        width = np.array([r["phases"][kind] / r["batch"] for r in rows])
        ax.barh(range(len(rows)), width, left=left, color=PHASE_COLORS[kind], label=kind, height=0.65)
        left += width
    for y, r in enumerate(rows):
        ax.text(left[y], y, f"  {r['of_peak']:.0%} of the {r['dtype']} peak", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["step"] + ("" if r["kept"] else " (not kept)") for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(0, left.max() * 1.25)
    ax.set_xlabel("cycles per sequence")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("The encoder layer on 16 GC2 tiles, one measured change at a time")
    return fig


tuning_figure(TABLE)

# %% [markdown]
# **What to notice.**
# - The biggest single win was the matmul plan: the exchange it removed was most of the draft's time.
# - Fusion removed supersteps (and their syncs) and the tensors between the fused steps.
# - float16 and more sequences per run shrink the compute and share the fixed costs. Per sequence the
#   layer ends six times faster than the draft, yet uses only about a quarter of the float16 peak: at
#   32 tokens on 16 tiles, every step is small next to the fixed costs of a superstep.
# - One idea made things much worse. Measuring is what caught it.
#
# ### 4.8 Six workers and whole rows: a step by hand
#
# The ops did two things for us that we have not looked at: they gave every tile **six vertices**, one
# per worker (a lone worker runs at a sixth of the tile's speed), and they kept each row a vertex
# needs **on its own tile**, so no vertex waits for a piece of a row from elsewhere. Here is the
# feed-forward's activation, GELU(x + b) row by row, written by hand as a first draft would:
# `naive_bias_gelu` in your exercise module maps every tensor linearly and adds one vertex per tile.
# We run it for 376 rows of width 48:

# %%
ROWS, WIDTH = 376, 48


def check_activation(build, rows=ROWS, width=WIDTH, seed=0):
    # Build the activation step with build(graph, rows, width), run it, check it against NumPy.
    g = ipukit.Graph(SPEC)
    x, bias, out, program = build(g, rows, width)
    eng = Engine(g, program)
    rng = np.random.default_rng(seed)
    xv, bv = rng.standard_normal((rows, width)).astype(np.float32), rng.standard_normal(width).astype(np.float32)
    eng.write(x, xv)
    eng.write(bias, bv)
    eng.run()
    z = xv.astype(np.float64) + bv
    error = np.abs(eng.read(out) - 0.5 * z * (1 + np.tanh(GELU_C * (z + 0.044715 * z ** 3)))).max()
    return eng, error


naive, error = check_activation(ex.naive_bias_gelu)
p = naive.profile
print(f"naive: {p.total_cycles:,} cycles (compute {p.compute_cycles:,}, exchange {p.exchange_cycles:,}, "
      f"sync {p.sync_cycles:,}); largest error {error:.1e}")
viz.plot_worker_slots(naive, "bias_gelu", tile=0)

# %% [markdown]
# One worker of six is busy on tile 0. And a linear mapping puts 1,128 of the 18,048 elements on each
# tile, 23.5 rows, so every other row straddles two tiles: the vertex that computes it first gathers
# the other half (the hatched on-tile copies, after an exchange). The function below builds the same
# step with a choice of **vertices per tile** and **grain** (1 element, or a whole row of 48). Move
# the sliders and watch the cycles; the worker picture is tile 0's.

# %%
bias_gelu_rows = ex.bias_gelu_rows          # the codelet of the exercise module (compiled once)


def activation_by_hand(vertices=1, grain="1 element"):
    def build(g, rows, width):
        x, out = g.add_variable((rows, width), name="x"), g.add_variable((rows, width), name="out")
        bias = g.add_variable(width, name="bias")
        for t in (x, out):
            g.map_linearly(t, grain_size=width if grain == "a whole row" else 1)
        g.set_tile_mapping(bias, 0)
        cs = g.add_compute_set("bias_gelu")
        first = g.element_tiles(x)[:, 0]                     # the tile of each row's first element
        for tile in np.unique(first).tolist():
            mine = np.flatnonzero(first == tile)
            lo, hi = int(mine[0]), int(mine[-1]) + 1
            parts = min(vertices, hi - lo)
            cuts = [lo + i * (hi - lo) // parts for i in range(parts + 1)]
            for a, b in zip(cuts[:-1], cuts[1:]):            # a few whole rows per vertex
                g.add_vertex(cs, bias_gelu_rows, tile=tile, a=x[a:b], bias=bias, out=out[a:b])
        return x, bias, out, ipukit.Execute(cs)

    eng, _ = check_activation(build)
    p = eng.profile
    return viz.plot_worker_slots(eng, "bias_gelu", tile=0, title=(
        f"{vertices} vertices per tile, grain {grain}: {p.total_cycles:,} cycles in all "
        f"(compute {p.compute_cycles:,}, exchange {p.exchange_cycles:,}, sync {p.sync_cycles:,})"))


activation_by_hand(6, "a whole row")

# %%
widgets.interactive_figure(
    activation_by_hand,
    vertices=W.IntSlider(value=1, min=1, max=12, description="vertices per tile", continuous_update=False,
                         style={"description_width": "initial"}),
    grain=W.ToggleButtons(options=["1 element", "a whole row"], value="1 element", description="grain"))

# %% [markdown]
# **What to notice.**
# - From 1 to 6 vertices per tile the run gets almost six times shorter. A seventh vertex goes back to
#   worker 0, which then has two pieces to do: the run gets *longer*, until 12 vertices even it out.
# - A grain of a whole row saves a few percent more: no row pieces to exchange and copy. With 24
#   whole rows per tile, only the 192-byte bias crosses the exchange, received once by each tile.
# - The two fixes are independent, and the budget of the next exercise needs both.
#
# ### Exercise 09.3 · Tune the mapping of a layer to a cycle budget
#
# Write `tuned_bias_gelu(graph, rows, width)`: build GELU(x + bias) row by row with
# `bias_gelu_rows` vertices, like `naive_bias_gelu`, but mapped and split so that it meets the
# budget. Create float32 tensors `x` (rows, width), `bias` (width,) and `out` (rows, width), and return
# `(x, bias, out, program)`. The budget is what the best layout of whole rows costs by the cost
# model's rules: every tile holding at most ⌈rows / tiles⌉ whole rows, dealt to its six workers, and
# the bias received once by each tile. The grader checks the result against NumPy and the cycles
# against that budget, on random sizes and tile counts.

# %%
ex = load("ex09_capstone")
try:
    tuned, error = check_activation(ex.tuned_bias_gelu)
    print(f"naive: {naive.profile.total_cycles:,} cycles; yours: {tuned.profile.total_cycles:,} cycles "
          f"({naive.profile.total_cycles / tuned.profile.total_cycles:.1f}x faster); largest error {error:.1e}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex09_3")


# %% [markdown]
# ### Exercises 09.2, 09.4, 09.5 · The open capstone: the whole layer under a cycle budget
#
# Now the whole encoder layer, and no recipe. Write `fast_encoder_layer(graph, size, batch)`: build
# the layer of section 1 on `graph` **by any means** (float32 or float16, any layout, any plan, your
# own codelets) and return `(tensors, out, program)`, `tensors` holding every name of `SHAPES`. The
# module gives you `first_draft_layer` (this notebook's draft) to start from, and the two fused
# codelets of section 4.2. The grader runs one sequence on our 16 tiles, checks the output against
# NumPy (to 10<sup>-3</sup> in float32, 5·10<sup>-2</sup> in float16), and grades the cycles in tiers
# set from the reference solution's 22,097 cycles: **bronze** (09.2, 3 points) within 3 × that,
# 66,291 cycles; **silver** (09.4, 1 point) within 1.5 ×, 33,145; **gold** (09.5, 1 point) at or under
# 22,097. The first draft, 78,008 cycles, reaches no tier. Before each run, predict which tier a
# change should reach, then measure.

# %%
ex = load("ex09_capstone")
TIER_LIMITS = {"bronze": 66_291, "silver": 33_145, "gold": 22_097}
try:
    g = ipukit.Graph(SPEC)
    tensors, out, program = ex.fast_encoder_layer(g, SMALL, 1)
    eng = Engine(g, program)
    values = random_params(SMALL, 1, seed=0)
    for name, tensor in tensors.items():
        eng.write(tensor, values[name].astype(tensor.dtype))
    eng.run()
    error = np.abs(eng.read(out).astype(np.float64) - layer_numpy(values, SMALL["heads"])).max()
    cycles = eng.profile.total_cycles
    tiers = [name for name, limit in TIER_LIMITS.items() if cycles <= limit]
    print(f"your layer: {cycles:,} cycles, {eng.profile.num_supersteps} supersteps, largest error {error:.1e}; "
          f"tier: {tiers[-1] if tiers else 'none yet'}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex09_2")

# %%
ipukit.check("ex09_4")

# %%
ipukit.check("ex09_5")


# %% [markdown]
# ## 5 · Scaling up: BERT-Large on whole chips
#
# Our layer is BERT-Large's, scaled down sixteen times in width and four times in length. At true size
# (128 tokens, D = 1024, 16 heads, F = 4096) the matmuls dominate even more. The matmul planner prices
# them exactly as the emulator would run them, with the same cost model, on the host and in a moment,
# so we can price the layer's six matmuls on whole chips without building anything:

# %%
def large_matmuls(spec, sequences, dtype="float16"):
    # The plan of each matmul of one BERT-Large layer for `sequences` sequences of 128 tokens.
    S, D, H, F = LARGE["tokens"], LARGE["width"], LARGE["heads"], LARGE["ffn"]
    T = S * sequences
    shapes = {"QKV": (T, D, 3 * D, 1), "scores": (S, D // H, S, sequences * H),
              "context": (S, S, D // H, sequences * H), "out": (T, D, D, 1), "FFN in": (T, D, F, 1),
              "FFN out": (T, F, D, 1)}
    return {name: ops.plan_matmul(spec, m, k, n, dtype, batch=b) for name, (m, k, n, b) in shapes.items()}


LARGE_PLANS = {}
for chip in (ipukit.GC2, ipukit.GC200):
    plans = LARGE_PLANS[chip.name] = large_matmuls(chip, sequences=4)
    print(f"{chip.name} ({chip.tiles} tiles), 4 sequences, float16:")
    print(f"  {'matmul':<9}{'(M x K) @ (K x N)':>26}{'batch':>6}{'tiles':>6}{'cycles':>9}{'of peak':>9}")
    for name, plan in plans.items():
        shape = f"({plan.m} x {plan.k}) @ ({plan.k} x {plan.n})"
        print(f"  {name:<9}{shape:>26}{plan.batch:>6}{plan.tiles_used:>6}{plan.cycles:>9,}"
              f"{plan.flops / plan.seconds / chip.peak_flops('float16'):>9.0%}")
    cycles = sum(p.cycles for p in plans.values())
    rate = sum(p.flops for p in plans.values()) / (cycles / chip.clock_hz)
    print(f"  all six: {cycles:,} cycles = {cycles / chip.clock_hz * 1e6:.0f} us per layer, {rate / 1e12:.0f} "
          f"TFLOP/s = {rate / chip.peak_flops('float16'):.0%} of the float16 peak\n")

# %% [markdown]
# **What to notice.**
# - On a GC2 the projections and the feed-forward reach 50 to 63 % of the float16 peak: they are big
#   enough for compute to outweigh exchange and sync. The attention's scores and context, 64 small
#   matmuls (one per head and sequence), reach about a third.
# - A GC200 is faster, but reaches a smaller fraction of *its* peak. Each of its tiles multiplies
#   twice as fast as a GC2's (128 FLOP per cycle instead of 64) but exchanges at the same 4 bytes per
#   cycle, so the same matmul is more exchange-bound.
# - These are the matmuls only. The softmax, the layer norms, GELU and the residual adds are not in
#   the estimate; in our small layer they were a sizable share of the cycles. And at true size a
#   row-wise op over one sequence has 128 rows for 1472 tiles.
#
# With `BIG = True` the next cell builds the whole true-size layer on a full GC200 and runs it, for
# one sequence, with every op included. If you run it, set its step table beside the planner's
# estimates, and look at how many vertices the layer norms get.

# %%
if BIG:
    LARGE_ONE = {**FUSED, "size": LARGE, "dtype": "float16", "batch": 1}
    big, big_error = run_layer(LARGE_ONE, spec=ipukit.GC200)
    print(f"largest difference from NumPy: {big_error:.1e}\n")
    print(big.profile.summary(top=12))
else:
    print("BIG = False: set BIG = True in the set-up cell and run again to build the true-size layer "
          "(under a minute, and about 2 GB of memory).")

# %% [markdown]
# A layer is one of 24. `ipukit.models` describes BERT-Large layer by layer, finds the fewest GC200s
# whose SRAM holds it for training (weights, gradients, Adam state and activations, in mixed
# precision), and cuts it into balanced pipeline stages (notebook 07). Its throughput assumes each
# stage runs at the AMP peak times an `efficiency`. Give it the efficiency the planner just
# predicted for the big matmuls instead of 100%:

# %%
bert = models.bert_large()
gc200_plans = LARGE_PLANS["GC200"]
big_matmuls = [gc200_plans[n] for n in ("QKV", "out", "FFN in", "FFN out")]
efficiency = sum(p.flops for p in big_matmuls) / sum(p.cycles for p in big_matmuls) / (
    ipukit.GC200.flops_per_cycle("float16") * ipukit.GC200.tiles)
for eff in (1.0, round(efficiency, 2)):
    plan = models.pipeline(bert, ipukit.GC200, training=True, precision="mixed", efficiency=eff)
    print(plan.describe().splitlines()[-1].strip(), f"on {plan.ipus} GC200s, bubble {plan.bubble:.0%}")

# %% [markdown]
# ## 6 · The emulator against the published figures
#
# Now the honest part. For each published figure we compute the comparable quantity with ipukit,
# then say what explains the difference.
#
# ### 6.1 Peak FLOPS

# %%
published = {("GC2", "float32"): 31.1e12, ("GC2", "float16"): 124.5e12,
             ("GC200", "float32"): 62.5e12, ("GC200", "float16"): 250e12}
print(f"{'chip':<7}{'dtype':<9}{'published':>12}{'ipukit':>10}")
for (name, dtype), value in published.items():
    chip = getattr(ipukit, name)
    print(f"{name:<7}{dtype:<9}{value / 1e12:>10.1f} T{chip.peak_flops(dtype) / 1e12:>8.1f} T")

# %% [markdown]
# They agree, and it would be wrong to call that a validation: ipukit's per-tile rates (16 and 64
# FLOP per cycle on a GC2, 32 and 128 on a GC200) were *derived* from these very figures, divided by
# the tiles and the clock (Jia et al., 2019; Graphcore's Mk2 launch). The GC200's 62.6 vs 62.5 is the
# rounding of the 1.33 GHz clock. A consistency check, nothing more.
#
# ### 6.2 A large matmul
#
# How much of the peak does a large matmul reach? Jia et al. (2019) measured GEMMs on a C2 card (two
# GC2s) and report that in float32 the IPU beats the GPUs they compared, with no clear winner against
# a V100's tensor cores in mixed precision. Their tables are not in our sources, so we cannot compare
# numbers; we can compare the *direction*: one GC2's estimate against the V100's datasheet peaks.

# %%
v100 = viz.HARDWARE["V100"]["peak_flops"]
for dtype, m in (("float32", 512), ("float16", 1024)):
    plan = ops.plan_matmul(ipukit.GC2, m, 1024, 4096, dtype, available_memory_proportion=1.0)
    rate = plan.flops / plan.seconds
    print(f"GC2, ({m} x 1024) @ (1024 x 4096) in {dtype}: {rate / 1e12:5.1f} TFLOP/s estimated "
          f"({rate / ipukit.GC2.peak_flops(dtype):.0%} of its peak); V100 datasheet peak "
          f"{v100[dtype] / 1e12:5.1f} TFLOP/s")

# %% [markdown]
# The direction agrees: the estimate for float32 is above anything a V100 can reach, and in float16
# it is below the V100's tensor-core peak. The estimate is still **optimistic**, for reasons we can
# name:
#
# - a `matmul_partial` vertex runs at exactly the AMP peak after a 10-cycle start (an assumption):
#   real poplin vertices also pay loop overheads, loads that do not always pair with the
#   arithmetic, and edge effects when a block is not a multiple of the AMP unit's shape;
# - ipukit does not model **instruction-level timing**, code size, or memory bank conflicts;
# - the exchange of operands is priced at 4 bytes per cycle per tile with no congestion;
# - the largest matmul that fits is limited by ipukit's planner, which has no serial passes.
#
# ### 6.3 The exchange under load
#
# Jia et al. (2019) measured that the latency of on-chip exchange rises by about **24 %** when every
# tile sends at once, while IPU-Link latency rises 4 to 7.7 times. ipukit charges a fixed 4 bytes per
# cycle per tile, whatever the load. If every exchange phase of our tuned layer took 24 % longer
# (a what-if, since latency is not bandwidth):

# %%
final = TABLE[-1]
ph = final["phases"]
longer = ph["exchange"] * 0.24
print(f"tuned layer: {final['cycles']:,} cycles, of which exchange {ph['exchange']:,}; "
      f"24 % more exchange adds {longer:,.0f} cycles, {longer / final['cycles']:.1%} of the run")


# %% [markdown]
# ### 6.4 Host transfers: Graphcore's own tutorial
#
# Graphcore's Poplar tutorial 6 profiles a small program on the IPU Model of a Mk2 IPU: **99.7 %**
# of its cycles are host exchange, getting data on and off the chip. The same tutorial runs the
# program on real IPU hardware too, and there host exchange is **10.4 %**: the total is about 3.8
# times the Model's, because the vertex (plain C++) computes several times slower than the Model's
# estimate, and most of the rest is the host preparing its transfers. The 99.7 % is a property of
# the simulator, not of the chip. (The same tutorial's printouts,
# 6,681,766 cycles = 5,023.9 µs and 25,444,984 cycles = 19,131.6 µs, are where ipukit's GC200 clock
# of 1.33 GHz comes from.) ipukit models the host link as its theoretical bandwidth (an assumption:
# 31.5 GB/s each way for a GC2's PCIe Gen4 × 16) and nothing of the host runtime: like the IPU
# Model, it prices the bytes, not the host. Here is our fused float32 layer fed
# by host streams, first with only its input and output crossing the link, then also loading all its
# weights on every run:

# %%
def host_run(stream_weights):
    c = {**FUSED}
    g = ipukit.Graph(SPEC)
    t = make_inputs(g, c)
    out, program = encoder_layer(g, t, c)
    names = list(t) if stream_weights else ["x"]
    streams = {n: g.add_host_stream(n, t[n].shape, c["dtype"]) for n in names}
    result = g.add_host_stream("result", out.shape, c["dtype"], direction="from_device")
    eng = Engine(g, Sequence(*(Copy(streams[n], t[n]) for n in names), program, Copy(out, result)))
    values = random_params(SMALL)
    for n in names:
        eng.connect_stream(n, np.ascontiguousarray(values[n]))
    eng.connect_stream("result", np.zeros(out.shape, np.float32))
    return eng.run()


for label, stream_weights in (("input and output", False), ("and every weight", True)):
    p = host_run(stream_weights)
    print(f"streaming {label:<17}: {p.total_cycles:>7,} cycles, host {p.host_cycles:>6,} "
          f"({p.host_cycles / p.total_cycles:.0%}); {p.host_bytes:,} B over the host link")

# %% [markdown]
# **What to notice.** Keep the weights on the chip. Loaded on every run, they make the host link a
# fifth of the run; the activations alone are 2 %. The tutorial's 99.7 % on the IPU Model is the
# extreme of the same effect: a small program that moves data and computes little, priced by a model
# that, like ipukit, counts the bytes and estimates the compute. On hardware the same tutorial
# measures 10.4 %. And host transfers, in which the
# runtime, the driver and the host's memory all take part, are what a model of the chip predicts
# worst: ipukit counts only bytes over a link at its nominal rate.
#
# ### 6.5 MLPerf: time to train
#
# Graphcore's MLPerf Training v1.1 results (December 2021) include ResNet-50 on an IPU-POD16 in 28.3
# minutes (against 29.1 for an NVIDIA DGX A100) and BERT-Large on an IPU-POD128 in 5.78 minutes
# (open division). What does ipukit say? It can give an **upper bound** on samples per second: each
# IPU at its float16 peak, ResNet-50 as 16 data-parallel replicas, BERT-Large as replicas of
# Graphcore's 4-IPU pipeline (notebook 07, with its optimiser state in Streaming Memory):

# %%
resnet_plan = models.pipeline(models.resnet50(), ipukit.GC200, training=True, precision="mixed")
# BERT-Large as Graphcore trains it: 4 GC200s per replica, optimiser state in Streaming Memory (notebook 07)
bert_plan = models.pipeline(models.bert_large(pretraining_heads=True, predictions=20), ipukit.GC200,
                            **models.GRAPHCORE_BERT_LARGE)
claims = (("ResNet-50", resnet_plan, 16, 28.3, "images"), ("BERT-Large", bert_plan, 128, 5.78, "sequences"))
for name, plan, ipus, minutes, unit in claims:
    replicas = ipus // plan.ipus
    per_second = replicas * plan.throughput
    chips = f"{plan.ipus} GC200" + ("s" if plan.ipus > 1 else "")
    print(f"{name}: {replicas} replicas of {chips} -> at most {per_second:,.0f} {unit}/s; "
          f"in {minutes} min at most {per_second * minutes * 60 / 1e6:,.0f} million {unit}")

# %% [markdown]
# These numbers cannot be set against the published times directly, and it matters why:
#
# - **Time to train** runs until the model reaches a target accuracy. How many samples that takes
#   depends on the data set, the batch size and the optimiser, none of which a chip model knows (and
#   none of which is in our sources).
# - The published runs include everything ipukit leaves out: loading and augmenting data on the
#   host, the host runtime, evaluation passes, the all-reduce of gradients across chassis, and the
#   start-up.
# - **Software matters.** The same Graphcore post reports that its POD16 ResNet-50 result improved by
#   24 % (and the POD64 one by 41 %) since its first MLPerf round, and credits software improvements.
#   An emulator of the chip sees none of that.
# - The upper bound assumes the AMP peak for every FLOP; section 5 suggests a half to two thirds for
#   large matmuls, and less for everything else.
#
# What *can* be said: a POD16 has 16 × 250 = 4,000 TFLOPS of float16 peak. A DGX A100 holds eight
# A100 GPUs (NVIDIA's DGX A100 datasheet) of 312 TFLOPS each (A100 datasheet, dense), 2,496 in all.
# The two finished within 3 % of each other, so in that benchmark the GPUs turned a larger fraction of
# their peak into training progress.
#
# ### 6.6 Which numbers are assumptions?
#
# Every estimate rests on constants. Some are published (tiles, clock, SRAM, AMP rates, 4 bytes per
# cycle of exchange, the IPU-Link model); some are **assumptions**, marked as such in
# `ipukit/core/spec.py`, `ipukit/core/cost.py` and `ipukit/ops/codelets.py`:
#
# - the on-chip **sync**: 150 cycles (no published figure);
# - the **vertex start-up**: 10 cycles, and the cycles per 64-bit vector of each elementwise op;
# - transcendental functions (exp, tanh): 4 cycles per vector; GELU: 10;
# - the host link at its theoretical rate; the SRAM reserve of `ipukit.models` (a quarter), and the
#   micro-batch with which Graphcore's BERT-Large set-up needs its 4 IPUs; the bandwidth of
#   Streaming Memory (none is published).
#
# An honest estimate says how much its answer moves when an assumption moves. The sync is easy to
# vary: it is a field of the spec. Here is the tuned layer (4 sequences, float16) rerun on the
# emulator with half and twice the sync, and, as arithmetic on its profile, with every exchange phase
# 24 % slower to stand in for congestion:

# %%
base = TABLE[-1]["cycles"]
for sync in (75, 300):
    eng, _ = run_layer(BATCH, spec=SPEC.replace(sync_cycles=sync))
    cycles = eng.profile.total_cycles
    print(f"sync {sync:>3} cycles instead of 150: {cycles:>7,} cycles ({cycles / base - 1:+.1%})")
slower = TABLE[-1]["phases"]["exchange"] * 0.24
print(f"exchange 24 % slower:           {base + slower:>7,.0f} cycles ({slower / base:+.1%})")


# %% [markdown]
# Both together, and any other values, in a picture:

# %%
def sensitivity_figure(sync_cycles=150, exchange_slowdown=0.0):
    eng, _ = run_layer(BATCH, spec=SPEC.replace(sync_cycles=int(sync_cycles)))
    p = eng.profile
    ph = p.cycles_by_phase()
    ph["exchange"] = ph["exchange"] * (1 + exchange_slowdown)
    base = TABLE[-1]
    fig = viz.IPUFigure(figsize=(10, 2.6), layout="constrained")
    ax = fig.subplots()
    for y, (label, phases) in enumerate((("as published + ipukit's assumptions", base["phases"]),
                                         ("with these assumptions", ph))):
        left = 0
        for kind in ("compute", "exchange", "sync"):
            ax.barh(y, phases[kind], left=left, color=PHASE_COLORS[kind], height=0.6,
                    label=kind if y == 0 else None)
            left += phases[kind]
        ax.text(left, y, f"  {left:,.0f} cycles", va="center", fontsize=9)
    ax.set_yticks([0, 1], ["ipukit's defaults", f"sync {sync_cycles}, exchange +{exchange_slowdown:.0%}"])
    ax.set_ylim(1.5, -0.5)
    ax.set_xlim(0, max(sum(base["phases"].values()), sum(ph.values())) * 1.25)
    ax.set_xlabel("cycles of the tuned layer (4 sequences, float16)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    change = sum(ph.values()) / sum(base["phases"].values()) - 1
    ax.set_title(f"The estimate moves by {change:+.0%}")
    return fig


sensitivity_figure(300, 0.24)

# %%
widgets.interactive_figure(
    sensitivity_figure,
    sync_cycles=W.SelectionSlider(options=[50, 100, 150, 200, 300, 500], value=150, description="sync cycles",
                                  continuous_update=False),
    exchange_slowdown=W.SelectionSlider(options=[0.0, 0.1, 0.24, 0.5], value=0.0, description="exchange slower by",
                                        continuous_update=False))

# %% [markdown]
# **What to notice.** Neither assumption changes the story of this notebook (the draft's exchange,
# the planner's win), but each moves the final estimate by several percent, and together by about
# 15 %. The share that rides on an assumption is the share of the run it prices: syncs weigh most in
# programs of many short supersteps, like our small layer after tuning; the true-size matmuls of
# section 5, with far more work per superstep, depend on them much less. Quote an estimate with the
# assumptions it rests on.
#
# ### What ipukit does not model, in one place
#
# Beyond the assumptions above, ipukit leaves out, on purpose (see the README):
#
# - **instruction-level timing** inside a vertex: your `cycles` estimate stands in for it, as
#   `setPerfEstimate` does on Poplar's IPU Model;
# - **code size** and the **stack** in tile memory, and the supervisor thread (ipukit's SRAM holds
#   only data, vertex state and exchange buffers; `ipukit.models` reserves a quarter for the rest);
# - **exchange congestion** and tile-to-tile latency differences (+24 % measured on chip under load),
#   and the paired **super tiles** that share an exchange bus;
# - **variable liveness** beyond exchange buffers: Poplar reuses the memory of dead tensors, so real
#   peaks can be lower;
# - **stochastic rounding**, FP16 saturation and the hardware random-number generator;
# - the **host runtime**; and **Streaming Memory** (the DRAM beside an IPU-M2000) only as
#   remote-buffer copies at an assumed bandwidth (`g.add_remote_buffer`) and as the place
#   `ipukit.models` keeps offloaded optimiser state.
#
# Numbers from the emulator are estimates to reason with, not measurements. Reasoning with them is
# what this course was about: you can now say, for a layer you built, where every cycle goes, what
# would make it faster, and how far to trust the answer.

# %% [markdown]
# ## Recap
#
# - A layer built from `ipukit.ops` is checked against NumPy, then read from its profile: the phase
#   that dominates, the busiest tile, the achieved FLOP/s and the fraction of peak. A sixth of the
#   peak over the run but half of it in the compute phases says: look at exchange and sync first.
# - Tuning is one measured change at a time. The matmul plan removed most of the exchange; fusion
#   removed supersteps and tensors; float16 and more sequences per run paid off where compute
#   dominated; an input laid out for one op backfired on another.
# - By hand, a step is fast when each tile holds whole rows (the grain) and deals them to all six
#   workers; the ops in `ipukit.ops` do this for you.
# - A decision is a priced choice under a constraint: the fastest matmul split is worth nothing if
#   its temporaries do not fit, and the open capstone is the same loop with every choice yours.
# - At true size, the planner prices BERT-Large's matmuls on whole chips, memory decides which
#   micro-batches fit, and `ipukit.models` turns the layer's efficiency into a pipelined throughput.
# - Against published figures, the peak rates agree by construction, large-matmul estimates point
#   the same way as Jia et al.'s measurements but are optimistic, host transfers and time-to-train
#   include what a chip model cannot see, and the sync and vertex costs are assumptions whose weight
#   you can measure.
#
# This is the last notebook of the course. From here, open `ipukit/core/cost.py` and
# `ipukit/ops/planner.py` to see every rule you used, and try a model of your own.
