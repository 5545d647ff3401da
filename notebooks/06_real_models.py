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
# # 06 · Real models
#
# So far the programs on the emulator were single kernels: a vector add, a sum, one matrix
# product. A real network strings many of them together: fully connected layers, convolutions,
# recurrent cells, attention, with cheap elementwise work in between. This notebook runs one of
# each on the emulated IPU, checks every result against NumPy, and reads the profiles to find what
# takes the time. The answer is often not where the FLOPs are. Then it scales up to true size.
# BERT, ResNet-50 and GPT-2 have tens of millions to billions of parameters, and the first
# question becomes whether they fit in an IPU's SRAM at all.
#
# ## Learning goals
#
# After this notebook you can:
#
# 1. run a trained network's inference on the emulator, built from `ipukit.ops`, and show that it
#    makes exactly the same predictions as the same network in NumPy;
# 2. read a model's profile and say what dominates it (matrix products on the AMP unit, elementwise
#    work on the vector units, exchange, sync, or the host link) and how that changes with the batch
#    size and the sequence length;
# 3. count a layer's parameters and FLOPs, and explain why grouped and depthwise convolutions cut
#    the FLOPs much more than the time;
# 4. break a true-size model's memory into weights, gradients, optimiser state and activations, and
#    decide whether it fits one GC2 or one GC200 for inference or for training.

# %% [markdown]
# **Run all cells from the top first (Run ▸ Run All Cells): the widgets need a live kernel.**
# The experiments run on a 16-tile GC2 in a few seconds each; the true-size models of section 4
# are analysed layer by layer on the host, without running them on the emulator.
#
# Three exercises are waiting in `exercises/ex06_models.py`: counting a convolution's parameters and
# FLOPs (06.1), a two-layer network in three supersteps (06.2), and the largest micro-batch that
# fits one IPU (06.3). Each appears where its idea is taught; edit the file, save it, and run the
# `ipukit.check(...)` cell below the exercise.

# %%
import ipywidgets as W
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

import ipukit
from ipukit import Copy, Engine, Sequence, models, ops, viz, widgets
from ipukit.exercise import load
from ipukit.models import layers as L
from ipukit.models import plot as model_plot
from ipukit.palette import OKABE_ITO, PHASE_COLORS, SERIES

SPEC = ipukit.GC2.replace(tiles=16)     # a teaching-size GC2: 16 tiles of 256 KiB
PEAK = SPEC.fp32_flops_per_cycle        # AMP peak per tile and cycle in float32 (16 on a GC2)
ex = load("ex06_models")                # your exercise module: exercises/ex06_models.py

# %% [markdown]
# ## 1 · A network on real data, end to end
#
# The data are scikit-learn's bundled handwritten digits: 1,797 images of 8 × 8 pixels, each with
# its label 0 to 9 (the UCI "optical recognition of handwritten digits" set; no download needed).
# A quarter of them are kept aside as a test set.
#
# The network is a **multilayer perceptron**: 64 pixels in, a fully connected layer to 32 hidden
# units, a ReLU, and a fully connected layer to 10 outputs, one score (*logit*) per digit. The
# largest logit is the prediction. We train it on the host in NumPy, with plain stochastic gradient
# descent on the softmax cross-entropy loss. Training is not the point of this notebook; it takes
# a fraction of a second.

# %%
digits = load_digits()
images = (digits.data / 16.0).astype(np.float32)            # pixel values 0..16 -> 0..1
x_train, x_test, y_train, y_test = train_test_split(images, digits.target, test_size=0.25,
                                                    random_state=0, stratify=digits.target)
print(f"{len(x_train)} training images, {len(x_test)} test images, {images.shape[1]} pixels each")

# Train 64 -> 32 -> 10 with a ReLU on the host: mini-batch SGD on the softmax cross-entropy.
rng = np.random.default_rng(0)
W1 = (rng.standard_normal((64, 32)) * np.sqrt(2 / 64)).astype(np.float32)
B1 = np.zeros(32, np.float32)
W2 = (rng.standard_normal((32, 10)) * np.sqrt(2 / 32)).astype(np.float32)
B2 = np.zeros(10, np.float32)
one_hot = np.eye(10, dtype=np.float32)[y_train]
for epoch in range(30):
    for batch in np.array_split(rng.permutation(len(x_train)), len(x_train) // 32):
        x, target = x_train[batch], one_hot[batch]
        h = np.maximum(x @ W1 + B1, 0)
        z = h @ W2 + B2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)                   # softmax
        dz = (p - target) / len(batch)                      # gradient of the mean cross-entropy
        dh = (dz @ W2.T) * (h > 0)
        W2 -= 0.1 * h.T @ dz
        B2 -= 0.1 * dz.sum(axis=0)
        W1 -= 0.1 * x.T @ dh
        B1 -= 0.1 * dh.sum(axis=0)


def numpy_logits(x):
    return np.maximum(x @ W1 + B1, 0) @ W2 + B2


print(f"test accuracy in NumPy: {(numpy_logits(x_test).argmax(axis=1) == y_test).mean():.2%}")


# %% [markdown]
# Now the same forward pass on the IPU. Each function of `ipukit.ops` works like a PopLibs call
# (`poplin::matMul`, `popops::add`, `popnn::nonLinearity`): it adds variables, compute sets and
# vertices to the graph, places the work where the data lives, and returns the result tensor with
# the program that computes it. The forward pass is five ops:

# %%
def mlp_ops(g, x, w1, b1, w2, b2):
    # relu(x @ w1 + b1) @ w2 + b2, one op at a time; returns (logits, program).
    h, layer1 = ops.matmul(g, x, w1, name="layer1")
    h, bias1 = ops.add(g, h, b1, name="bias1")               # b1 (32,) broadcasts over the rows
    h, relu1 = ops.relu(g, h, name="relu1")
    z, layer2 = ops.matmul(g, h, w2, name="layer2")
    logits, bias2 = ops.add(g, z, b2, name="bias2")
    return logits, Sequence(layer1, bias1, relu1, layer2, bias2)


# %% [markdown]
# The test images come from the host through a **host stream**, as on a real IPU: `Copy(stream, x)`
# moves one batch from the host's buffer onto the tiles (Poplar's `addHostToDeviceFIFO`). The
# trained weights are written once, the way a trained model is loaded before serving it. Each tile
# holds whole images (`grain_size=64`).

# %%
def build_mlp(batch, forward=mlp_ops):
    # The network on a 16-tile GC2, fed `batch` images per run by the stream "images".
    g = ipukit.Graph(SPEC)
    stream = g.add_host_stream("images", (batch, 64))
    x = g.add_variable((batch, 64), name="x")
    g.map_linearly(x, grain_size=64)
    w1, b1 = g.add_variable((64, 32), name="w1"), g.add_variable(32, name="b1")
    w2, b2 = g.add_variable((32, 10), name="w2"), g.add_variable(10, name="b2")
    for t in (w1, b1, w2, b2):
        g.map_linearly(t)
    logits, forward_pass = forward(g, x, w1, b1, w2, b2)
    eng = Engine(g, Sequence(Copy(stream, x), forward_pass))
    for t, value in ((w1, W1), (b1, B1), (w2, W2), (b2, B2)):
        eng.write(t, value)
    return eng, logits


eng, logits = build_mlp(len(x_test))
eng.connect_stream("images", x_test)
eng.run()

ipu = eng.read(logits)
ipu_pred, numpy_pred = ipu.argmax(axis=1), numpy_logits(x_test).argmax(axis=1)
print(f"largest difference between a logit of the IPU and of NumPy: {np.abs(ipu - numpy_logits(x_test)).max():.2g}")
print(f"the same prediction for all {len(x_test)} test images: {bool((ipu_pred == numpy_pred).all())}")
print(f"accuracy: IPU {(ipu_pred == y_test).mean():.2%}, NumPy {(numpy_pred == y_test).mean():.2%}")


# %% [markdown]
# The IPU's matrix-product vertices compute in float32, as NumPy does. Here the logits are even
# identical to the last bit (the largest difference printed is 0), so every prediction and the
# accuracy are the same. Here are the test images the network gets wrong, then some it gets right,
# as the IPU labelled them:

# %%
def show_digits(x, labels, predicted, count=24):
    wrong = np.flatnonzero(predicted != labels)
    right = np.flatnonzero(predicted == labels)[:max(count - len(wrong), 0)]
    fig = viz.IPUFigure(figsize=(11, 2.5), layout="constrained")
    for ax, i in zip(fig.subplots(2, count // 2).flat, np.concatenate([wrong, right])[:count]):
        ax.imshow(x[i].reshape(8, 8), cmap="gray_r")
        miss = predicted[i] != labels[i]
        ax.set_title(f"{predicted[i]}" + (f" (is {labels[i]})" if miss else ""), fontsize=8,
                     color=OKABE_ITO["vermillion"] if miss else "black")
        ax.axis("off")
    fig.suptitle(f"The IPU's predictions: {len(wrong)} of {len(labels)} test images wrong (red)", fontsize=10)
    return fig


show_digits(x_test, y_test, ipu_pred)

# %% [markdown]
# ### Where the time goes
#
# The profile summary of that run, as Poplar's `printProfileSummary` would print it:

# %%
print(eng.profile.summary())


# %% [markdown]
# **What to notice.**
# - The second biggest step is not arithmetic: it is the **stream copy** of the test images,
#   450 × 64 × 4 B = 115,200 B over the host link, a quarter of the run. The GC2's link is PCIe
#   Gen4 × 16, modelled at its line rate of 31.5 GB/s each way (an assumption in
#   `ipukit/core/spec.py`: real transfers reach less), so the copy takes about 3.7 µs, half as long
#   as all the computation. Graphcore's Poplar tutorial 6 shows how far this can go, and how much it
#   depends on what is modelled: on the *IPU Model* (a simulator, like ipukit) its small program
#   spends 99.7 % of its cycles on host exchange; on real IPU hardware the same program spends
#   10.4 % there, because its compute runs several times slower than the Model estimates. A real
#   deployment keeps data on chip or overlaps the next copy with the current computation.
# - Among the compute steps, the first matrix product dominates. The bias adds and the ReLU touch
#   every hidden value once and do little arithmetic, yet each costs a superstep with its own sync.
#   So does each bias's broadcast to every tile, the two small `Copy 'concat(b1.flatten(), ...'`
#   steps at the bottom.
#
# How fast does each step compute? Divide its FLOPs by its compute cycles and by the 16 tiles, and
# compare with the AMP unit's float32 peak of 16 FLOP per cycle per tile (31.1 TFLOPS on 1216 tiles
# at 1.6 GHz; Jia et al., 2019). The FLOPs are counted by hand from the shapes (a bias add or a
# ReLU is one FLOP per value, as `ipukit.models.layers` counts them):

# %%
def flop_rates(profile, flops, tiles=SPEC.tiles):
    # For each {label: (part of the step name, FLOP)}: compute cycles, and FLOP per cycle per tile.
    print(f"{'step':<10}{'FLOP':>11}{'compute cycles':>16}{'FLOP/cycle/tile':>17}{'of AMP peak':>13}")
    for label, (part, n) in flops.items():
        cycles = sum(r.count * r.cycles("compute") for r in profile.steps if r.kind == "execute" and part in r.name)
        rate = n / cycles / tiles
        print(f"{label:<10}{n:>11,}{cycles:>16,}{rate:>17.2f}{rate / PEAK:>13.0%}")


n = len(x_test)
flop_rates(eng.profile, {"layer1": ("layer1", 2 * n * 64 * 32), "bias1": ("bias1", n * 32),
                         "relu1": ("relu1", n * 32), "layer2": ("layer2", 2 * n * 32 * 10),
                         "bias2": ("bias2", n * 10)})

# %% [markdown]
# Both matrix products compute at about 90 % of the AMP peak: even the second, with only 10
# outputs per image, has 450 rows to keep every worker of every tile busy. The elementwise steps run
# on the tiles' ordinary vector units, two float32 values per 64-bit vector, and reach 5 to 10 % of
# the AMP's rate. They are cheap only because they do little.
#
# The memory map shows each tile's SRAM. Data are the images, weights and activations; the
# exchange buffers hold the blocks of the matrix products' operands gathered from other tiles,
# which live only while their step runs:

# %%
viz.plot_memory(eng.memory)

# %% [markdown]
# **What to notice.** The busiest tile uses 13 % of its 256 KiB: this network is tiny for an IPU.
# Tile 15 is almost empty. `map_linearly` gave each tile 29 images and the last one only 15, and the
# matrix-product planner (notebook 05) cut the 450 rows into 15 blocks of 30, one per tile, so
# tile 15 holds its 15 images and computes nothing.
#
# The execution trace shows the run step by step, one row per tile, in PopVision's colours. Look
# at the stream copy on the left: each tile receives its 7 KiB of images in under 2,000 cycles
# (4 B per cycle), then waits, because all 16 tiles share one host link.

# %%
viz.plot_trace(eng.profile)

# %% [markdown]
# ### The batch decides what dominates
#
# An online service classifies one image at a time (latency); an offline job classifies thousands
# (throughput). The same network, run with batches of 1 to 450 images:

# %%
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 450]


def run_mlp(batch, forward=mlp_ops):
    eng, logits = build_mlp(batch, forward)
    eng.connect_stream("images", np.ascontiguousarray(x_test[:batch]))
    return eng.run()


batch_profiles = {b: run_mlp(b) for b in tqdm(BATCHES, desc="batch sizes")}

fig = viz.IPUFigure(figsize=(11, 3.6), layout="constrained")
left, right = fig.subplots(1, 2)
x = np.arange(len(BATCHES))
bottom = np.zeros(len(BATCHES))
for phase in ("compute", "exchange", "sync", "host"):
    share = np.array([p.cycles_by_phase()[phase] / p.total_cycles for p in batch_profiles.values()])
    left.bar(x, 100 * share, bottom=100 * bottom, color=PHASE_COLORS[phase], label=phase)
    bottom += share
left.set_xticks(x, BATCHES)
left.set_xlabel("images per batch")
left.set_ylabel("share of the cycles (%)")
left.legend(fontsize=8, loc="lower right", framealpha=0.9)
left.set_title("what the cycles are spent on", fontsize=10)
right.plot(BATCHES, [p.total_cycles / b for b, p in batch_profiles.items()], "o-", color=SERIES[0])
right.set_xscale("log")
right.set_yscale("log")
right.set_xlabel("images per batch")
right.set_ylabel("cycles per image")
right.set_title("cost of one image", fontsize=10)
fig.suptitle("The digits network on 16 GC2 tiles", fontsize=11)
fig


# %% [markdown]
# **What to notice.**
# - With one image, the run takes about 2,700 cycles and more than half of them are **syncs**.
#   Every superstep starts with a 150-cycle sync of all tiles (an assumption of `ipukit/core/spec.py`;
#   no figure is published), and a step that exchanges data has a second one before it computes.
#   The arithmetic is a sliver.
# - As the batch grows, compute and the host copy take over, and the cost per image falls from
#   about 2,700 cycles to about 50: the fixed costs (syncs, vertex start-up) are shared by more
#   images. That is why accelerators like large batches, and why small-batch latency depends on
#   the number of supersteps more than on the FLOPs. Exercise 06.2 comes back to this.
#
# Pick a batch size and see each step's cycles (the same run as above, step by step):

# %%
def mlp_steps_figure(batch=8):
    p = run_mlp(batch)
    return viz.profile_bars(p, title=f"The digits network, {batch} image(s) per batch: {p.total_cycles:,} cycles, "
                                     f"{p.total_cycles / batch:,.0f} per image")


widgets.interactive_figure(
    mlp_steps_figure,
    batch=W.SelectionSlider(options=BATCHES, value=8, description="images per batch", continuous_update=False,
                            style={"description_width": "initial"}))


# %% [markdown]
# ## 2 · Convolutions: dense, grouped and depthwise
#
# A 2-D convolution slides small filters over an image. Output channel *o* at pixel (*i*, *j*) is a
# dot product of one filter (C channels × k × k weights) with the k × k patch of the input around
# (*i*, *j*). Write each patch as one row of a matrix (*im2col*) and the filters as columns, and the
# whole convolution is one matrix product: (pixels × C·k²) @ (C·k² × O). That is how
# `ipukit.ops.conv2d` builds it, like PopLibs' `poplin` convolutions. On ipukit the patch matrix is
# only a view of the input. Each input value appears in up to k² patches, and the matrix product's
# exchange gathers the patches onto the tiles that need them.
#
# **Grouped convolution** cuts the C input channels into g groups; each output channel only sees the
# C/g channels of its group. The layer becomes g independent matrix products, each g times smaller
# in depth: g times fewer parameters and FLOPs. ResNeXt uses 32 groups (Xie et al., 2017).
# **Depthwise convolution** is the extreme g = C: one k × k filter per channel, as in MobileNet
# (Howard et al., 2017) and EfficientNet (Tan & Le, 2019).
#
# First a check: dense, grouped and depthwise convolutions on the emulator against a direct NumPy
# loop over the kernel's offsets.

# %%
def conv_numpy(x, w, padding, groups):
    # y[n, o] = sum over the channels of o's group and the k x k window; stride 1.
    n, c, h, wd = x.shape
    o, per_group, k, _ = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - k + 1, wd + 2 * padding - k + 1
    y = np.zeros((n, o, ho, wo))
    for oc in range(o):
        first = (oc // (o // groups)) * per_group          # the group's first input channel
        for i in range(k):
            for j in range(k):
                window = xp[:, first:first + per_group, i:i + ho, j:j + wo]
                y[:, oc] += np.einsum("nchw,c->nhw", window, w[oc, :, i, j])
    return y


def map_for_groups(g, x, groups):
    # Where the input lives. With at most one group per tile, map_linearly puts each group's
    # channels on the tiles that compute it. With more groups than tiles, the matmul planner deals
    # the groups round-robin (group k on tile k % tiles), so the channels are laid out the same way.
    channels, size = x.shape[1], x.shape[2]
    if groups <= g.num_tiles:
        g.map_linearly(x, grain_size=size * size)
    else:
        for c in range(channels):
            g.set_tile_mapping(x[:, c], (c // (channels // groups)) % g.num_tiles)


def run_conv(channels, size, groups, kernel=3, check=False, linear_layout=False):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((1, channels, size, size), name="x")
    w = g.add_variable((channels, channels // groups, kernel, kernel), name="w")
    if linear_layout:
        g.map_linearly(x, grain_size=size * size)
    else:
        map_for_groups(g, x, groups)
    g.map_linearly(w)
    y, prog = ops.conv2d(g, x, w, padding=kernel // 2, groups=groups)
    eng = Engine(g, prog)
    rng = np.random.default_rng(groups)
    xv = rng.standard_normal(x.shape).astype(np.float32)
    wv = rng.standard_normal(w.shape).astype(np.float32)
    eng.write(x, xv)
    eng.write(w, wv)
    profile = eng.run()
    if check:
        assert np.allclose(eng.read(y), conv_numpy(xv, wv, kernel // 2, groups), rtol=1e-4, atol=1e-4)
    return profile, eng.memory


for groups in (1, 4, 32):       # dense, grouped, depthwise; run_conv asserts the result equals NumPy's
    profile, memory = run_conv(channels=32, size=16, groups=groups, check=True)
    print(f"3x3 convolution, 32 -> 32 channels in {groups:>2} group(s), 16x16 image: equal to NumPy; "
          f"{profile.num_supersteps} superstep(s), {profile.total_cycles:,} cycles")

# %% [markdown]
# ### Exercise 06.1 · Parameters and FLOPs of a convolution
#
# In `exercises/ex06_models.py`, write `conv_cost(in_channels, out_channels, kernel, size, stride=1,
# padding=0, groups=1, bias=False)`. It returns `(params, flops)` for one image: the weights (plus a
# bias per output channel if `bias`), and 2 FLOP per multiply-add plus 1 per output value for the
# bias. The output is `out × out` with `out = (size + 2·padding − kernel) // stride + 1`. A fully
# connected layer is the special case `kernel=1, size=1`.
#
# The grader compares your counts with the layer records of `ipukit.models` on random shapes, and
# adds them up over every convolution of ResNet-50 and ResNeXt-50: with the batch norms and the
# classifier, they must give the published totals, 25,557,032 and 25,028,904 parameters
# (torchvision's model tables).

# %%
ex = load("ex06_models")
try:
    for label, layer in [("ResNet-50's first layer", dict(in_channels=3, out_channels=64, kernel=7, size=224,
                                                           stride=2, padding=3)),
                         ("the 64 -> 32 layer of section 1", dict(in_channels=64, out_channels=32, kernel=1,
                                                                  size=1, bias=True))]:
        params, flops = ex.conv_cost(**layer)
        print(f"{label}: {params:,} parameters, {flops:,} FLOP per image")
    print("\n3x3, 32 -> 32 channels, 16x16 image, padding 1:")
    for groups in (1, 4, 32):
        params, flops = ex.conv_cost(32, 32, 3, 16, padding=1, groups=groups)
        print(f"  {groups:>2} group(s): {params:>6,} parameters, {flops:>10,} FLOP")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex06_1")

# %% [markdown]
# Now the experiment: the same 3 × 3 layer, 32 → 32 channels on a 16 × 16 image, with 1 (dense) up to
# 32 groups (depthwise). The FLOPs come from `ipukit.models.layers.conv2d`, the same formula as your
# exercise; the cycles and bytes from the emulator.

# %%
BIG = False          # True: 64 channels on a 24 x 24 image (a second more)


def conv_groups_figure(channels=64 if BIG else 32, size=24 if BIG else 16):
    groups = [gr for gr in (1, 2, 4, 8, 16, 32, 64) if gr <= channels]
    runs = {gr: run_conv(channels, size, gr) for gr in groups}
    flops = {gr: L.conv2d("conv", channels, channels, 3, size, padding=1, groups=gr).flops for gr in groups}
    fig = viz.IPUFigure(figsize=(11, 3.8), layout="constrained")
    rel, phases, mem = fig.subplots(1, 3)
    dense = runs[1][0]
    rel.plot(groups, [flops[gr] / flops[1] for gr in groups], "o-", color=SERIES[0], label="FLOPs")
    rel.plot(groups, [runs[gr][0].total_cycles / dense.total_cycles for gr in groups], "s-", color=SERIES[1],
             label="cycles")
    rel.set_xscale("log", base=2)
    rel.set_yscale("log", base=2)
    rel.set_xticks(groups, groups)
    rel.set_xlabel("groups")
    rel.set_ylabel("relative to the dense layer")
    rel.legend(fontsize=8)
    rel.set_title("FLOPs fall with the groups, cycles far less", fontsize=10)
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    for phase in ("compute", "exchange", "sync"):
        cycles = np.array([runs[gr][0].cycles_by_phase()[phase] for gr in groups])
        phases.bar(x, cycles, bottom=bottom, color=PHASE_COLORS[phase], label=phase)
        bottom += cycles
    phases.set_xticks(x, groups)
    phases.set_xlabel("groups")
    phases.set_ylabel("cycles")
    phases.legend(fontsize=8)
    phases.set_title("where the cycles go", fontsize=10)
    mem.bar(x, [runs[gr][1].peak_bytes / 1024 for gr in groups], color=SERIES[4])
    mem.set_xticks(x, groups)
    mem.set_xlabel("groups")
    mem.set_ylabel("KiB")
    mem.set_title("SRAM used on the busiest tile", fontsize=10)
    fig.suptitle(f"3x3 convolution, {channels} -> {channels} channels, {size}x{size} image, on {SPEC.tiles} tiles",
                 fontsize=11)
    return fig


conv_groups_figure()

# %% [markdown]
# **What to notice.**
# - Going from dense to depthwise divides the FLOPs by 32 but the cycles by only about 8.
# - Every configuration gathers the same patch matrix: one row per pixel, C·k² columns. With g
#   groups it is cut into g slices of C·k²/g columns, one per group, each multiplied by its own
#   O/g filters. The groups decide how the patches are *multiplied*, not how many have to be
#   *gathered*. Gathering costs the same, so the arithmetic intensity (FLOP per byte gathered)
#   falls g-fold, and the time follows the bytes, not the FLOPs. In the depthwise layer each gathered value feeds one
#   multiply-add, and the AMP unit has almost nothing to do (notebook 00's roofline, in small).
# - Where the patches are gathered moves with the groups. The dense layer splits the depth C·k²
#   over tiles: it gathers patches from other tiles (exchange) and needs a second superstep to add
#   up partial sums. With 16 groups each tile holds exactly one group's channels and gathers its
#   patches from its own SRAM, copied at 8 B per cycle in the compute phase: almost no exchange.
# - Memory falls too: smaller filters, and no partial sums to keep.
#
# **Layout matters.** With 32 groups on 16 tiles the planner deals the groups round-robin, group c
# on tile c mod 16, so `map_for_groups` put the input's channels there too. Here is the depthwise
# layer again with the plain linear layout, where channels 2t and 2t + 1 sit on tile t:

# %%
for label, linear in (("channels dealt like the groups", False), ("map_linearly", True)):
    p, _ = run_conv(32, 16, groups=32, linear_layout=linear)
    print(f"depthwise, {label:<31}: {p.total_cycles:>6,} cycles, {p.exchange_bytes:>8,} B exchanged")

# %% [markdown]
# Half of the channels start on the wrong tile, and their patches (each value up to 9 times) cross
# the exchange: the same layer takes about twice as long. Poplar avoids this with functions that
# create a tensor already laid out for the op that will read it (`poplin::createInput`; here,
# `ops.create_matmul_inputs` does it for matrix products).
#
# This small example also shows why grouped and depthwise convolutions, which save so many FLOPs on
# paper, are often disappointing on hardware built for big dense matrix products: the GPU needs
# large batches to keep its units busy. The IPU's tiles each take independent small pieces of work,
# and Jia et al. (2019) reported grouped convolutions of ResNeXt shape running up to about 700 times
# faster on the IPU than on a GPU baseline at small batch sizes. Notebook 08 takes up that thread:
# what independent tiles (MIMD) do with small, irregular and sparse work.
#
# Change the size of the layer:

# %%
widgets.interactive_figure(
    conv_groups_figure,
    channels=W.SelectionSlider(options=[32, 64], value=32, description="channels", continuous_update=False),
    size=W.SelectionSlider(options=[8, 16, 24], value=16, description="image size", continuous_update=False))


# %% [markdown]
# ## 3 · A recurrent step and an attention layer
#
# ### One step of an LSTM
#
# A recurrent network reads a sequence one step at a time and carries a state from step to step.
# An LSTM cell (Hochreiter & Schmidhuber, 1997) has two state vectors, h and c. At each step, one
# matrix product computes four *gates* from the input and the previous h, then elementwise
# functions mix them into the new state:
#
#     [i f g o] = [x h] @ W + b
#     c' = sigmoid(f) · c + sigmoid(i) · tanh(g)
#     h' = sigmoid(o) · tanh(c')
#
# `ops.lstm_cell` builds one step: a matrix product for the gates, a bias add, and one vertex per
# chunk of the state for the elementwise part. Here is a batch of 8 sequences, 32 inputs and 64
# hidden units, checked against NumPy:

# %%
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


batch, n_in, hidden = 8, 32, 64
g = ipukit.Graph(SPEC)
t = {"x": g.add_variable((batch, n_in), name="x"), "h": g.add_variable((batch, hidden), name="h"),
     "c": g.add_variable((batch, hidden), name="c"), "w": g.add_variable((n_in + hidden, 4 * hidden), name="w"),
     "b": g.add_variable(4 * hidden, name="b")}
for tensor in t.values():
    g.map_linearly(tensor)
(h_new, c_new), prog = ops.lstm_cell(g, t["x"], t["h"], t["c"], t["w"], t["b"])
eng = Engine(g, prog)
rng = np.random.default_rng(1)
v = {k: (0.5 * rng.standard_normal(tensor.shape)).astype(np.float32) for k, tensor in t.items()}
for k, tensor in t.items():
    eng.write(tensor, v[k])
lstm_profile = eng.run()

gates = np.concatenate([v["x"], v["h"]], axis=1).astype(np.float64) @ v["w"] + v["b"]
i, f, gg, o = np.split(gates, 4, axis=1)
c_ref = sigmoid(f) * v["c"] + sigmoid(i) * np.tanh(gg)
h_ref = sigmoid(o) * np.tanh(c_ref)
print("h' and c' equal to NumPy:", np.allclose(eng.read(h_new), h_ref, atol=1e-5)
      and np.allclose(eng.read(c_new), c_ref, atol=1e-5))
flop_rates(lstm_profile, {"gates": ("gates", 2 * batch * (n_in + hidden) * 4 * hidden),
                          "bias": ("bias", batch * 4 * hidden),
                          "state": ("state", L.LSTM_CELL_FLOPS * batch * hidden)})
viz.profile_bars(lstm_profile, title=f"One LSTM step, batch {batch}: {lstm_profile.total_cycles:,} cycles")

# %% [markdown]
# **What to notice.**
# - The gates' matrix product does almost all the FLOPs, and computes at 82 % of the AMP peak. But
#   its **exchange** takes longer than its compute: the weights (96 × 256) are big next to the 8
#   rows that use them, so the step spends more time moving blocks of them and of the inputs to
#   the tiles that multiply them than multiplying.
# - The elementwise state update costs 9 FLOP per hidden unit (three sigmoids, two tanh, five
#   multiply-adds, as `ipukit.models.layers` counts them). Transcendental functions are slow on the
#   vector units (4 cycles per vector is an assumption of `ipukit/ops/codelets.py`), and this step
#   alone takes several hundred cycles for 4,608 FLOP.
# - A language model runs this step once per token, in sequence: syncs and exchange are paid again
#   at every step, which is why recurrent networks are latency-bound.
#
# ### A BERT attention layer
#
# Self-attention (Vaswani et al., 2017), as in BERT, lets every token of a sequence look at every
# other. For S tokens of width D and H heads of width D/H:
#
#     Q, K, V = x @ Wq, x @ Wk, x @ Wv          one matrix product with [Wq Wk Wv] side by side
#     per head:  P = softmax(Q Kᵀ / sqrt(D/H))   the scores: S × S per head
#                O = P V
#     out = [O_1 … O_H] @ Wo
#
# `ops.attention` builds it from matrix products and a softmax over rows; the heads are the batch
# of one batched matrix product, side by side on different tiles. BERT-Base has S = 128, D = 768
# and 12 heads; here a small layer with 32 tokens, D = 64 and 4 heads, checked against NumPy:

# %%
ATTENTION_OPS = {"qkv": "/qkv/", "scores": "/scores/", "softmax": "/softmax", "context": "/context/",
                 "out": "/out/"}


def run_attention(seq, dim=64, heads=4, seed=0):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((seq, dim), name="x")
    g.map_linearly(x)
    ws = [g.add_variable((dim, dim), name=n) for n in ("wq", "wk", "wv", "wo")]
    for w in ws:
        g.map_linearly(w)
    out, prog = ops.attention(g, x, *ws, heads=heads)
    eng = Engine(g, prog)
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal((seq, dim)).astype(np.float32)]
    values += [(rng.standard_normal((dim, dim)) / np.sqrt(dim)).astype(np.float32) for _ in ws]
    for tensor, value in zip([x, *ws], values):
        eng.write(tensor, value)
    return eng.run(), eng.read(out), values


def attention_numpy(x, wq, wk, wv, wo, heads):
    x, wq, wk, wv, wo = (a.astype(np.float64) for a in (x, wq, wk, wv, wo))
    q, k, v = x @ wq, x @ wk, x @ wv
    d = x.shape[1] // heads
    out = []
    for h in range(heads):
        part = slice(h * d, (h + 1) * d)
        scores = q[:, part] @ k[:, part].T / np.sqrt(d)
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        out.append(p / p.sum(axis=1, keepdims=True) @ v[:, part])
    return np.concatenate(out, axis=1) @ wo


def attention_flops(seq, dim=64, heads=4):
    # FLOPs per op; softmax and scaling counted as ipukit.models.layers does (5 + 1 per score)
    return {"qkv": 2 * seq * dim * 3 * dim, "scores": 2 * seq * seq * dim,
            "softmax": (L.SOFTMAX_FLOPS + 1) * heads * seq * seq, "context": 2 * seq * seq * dim,
            "out": 2 * seq * dim * dim}


attention_profile, out, values = run_attention(32)
print("equal to NumPy:", np.allclose(out, attention_numpy(*values, heads=4), atol=1e-5))
flop_rates(attention_profile, {op: (ATTENTION_OPS[op], n) for op, n in attention_flops(32).items()})


# %% [markdown]
# The softmax does 6 FLOP per score (the running maximum, a subtraction, an exponential, a sum, a
# division, and the scaling by 1/sqrt(D/H)), a few percent of the layer's FLOPs, but it is the
# slowest op per FLOP by far. The widget below runs the whole layer for sequence lengths from 16 to
# 256 tokens and shows the cycles of each op:

# %%
def attention_figure(seq=32):
    profile, _, _ = run_attention(seq)
    fig = viz.IPUFigure(figsize=(10, 3.4), layout="constrained")
    ax = fig.subplots()
    names = list(ATTENTION_OPS)
    left = np.zeros(len(names))
    for phase in ("compute", "exchange", "sync"):
        cycles = np.array([sum(r.count * r.cycles(phase) for r in profile.steps if ATTENTION_OPS[op] in r.name)
                           for op in names])
        ax.barh(names, cycles, left=left, color=PHASE_COLORS[phase], label=phase)
        left += cycles
    flops = attention_flops(seq)
    for y, op in enumerate(names):
        ax.annotate(f" {flops[op] / sum(flops.values()):.0%} of the FLOPs", (left[y], y), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, left.max() * 1.3)
    ax.set_xlabel("cycles")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Attention, {seq} tokens, D = 64, 4 heads, on {SPEC.tiles} tiles: {profile.total_cycles:,} cycles; "
                 f"softmax {left[2] / left.sum():.0%} of them", fontsize=10)
    return fig


widgets.interactive_figure(
    attention_figure,
    seq=W.SelectionSlider(options=[16, 32, 64, 128, 256], value=32, description="tokens",
                          continuous_update=False))

# %% [markdown]
# **What to notice.**
# - With 16 or 32 tokens the projections (`qkv`, `out`) take most of the time: they grow with S·D²,
#   the scores and the softmax with S²·D and S².
# - From 64 tokens on, the **softmax** is the most expensive op, with a few percent of the FLOPs. Its
#   exponentials and row sums run on the vector units, while the matrix products around it run on
#   the AMP unit. Production kernels fuse the scaling, the softmax and the two matrix products into
#   one pass for that reason.
# - At 256 tokens the widget reports an out-of-memory error instead of a picture: the 4 × 256 × 256
#   scores and their softmax (1 MiB each, in float32), with the operands gathered for the matrix
#   products, no longer fit in 16 tiles of 256 KiB. The IPU has no DRAM to spill to, and
#   attention's memory grows with the square of the sequence.
#
# ### Exercise 06.2 · A two-layer network in three supersteps
#
# Back to the digits network. With a few images per batch it spent most of its time in syncs.
# With 8 images, `mlp_ops` runs **seven** supersteps after the stream copy, and four of them belong
# to the two bias adds: each is a broadcast copy of the bias to every tile, then the add (set the
# widget of section 1 to 8 images to see them).
#
# Write `mlp_forward(graph, x, w1, b1, w2, b2)` with the same arguments as `mlp_ops` and the same
# result, `relu(x @ w1 + b1) @ w2 + b2`, returned as `(logits, program)`. The grader allows as many
# supersteps as the two matrix products need on their own, plus one for the ReLU: **three** for the
# digits network. It checks the logits against NumPy on random shapes and random tile mappings.
# Can the matrix products add the biases for you?

# %%
ex = load("ex06_models")
try:
    ours, yours = run_mlp(8), run_mlp(8, forward=ex.mlp_forward)
    print(f"8 images: mlp_ops {ours.num_supersteps - 1} supersteps, {ours.total_cycles:,} cycles; "
          f"yours {yours.num_supersteps - 1} supersteps, {yours.total_cycles:,} cycles (after the stream copy)")
    eng, logits = build_mlp(len(x_test), forward=ex.mlp_forward)
    eng.connect_stream("images", x_test)
    eng.run()
    print("yours predicts like NumPy on all test images:",
          bool((eng.read(logits).argmax(axis=1) == numpy_pred).all()))
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex06_2")

# %% [markdown]
# ## 4 · True size
#
# The emulator runs teaching-size machines, but a real model can still be analysed exactly: its
# layers are known, so its parameters, FLOPs and activations can be counted layer by layer from the
# shapes. `ipukit.models` does that for networks in their published configurations. First, a sanity
# check of its counts against the published parameter totals:

# %%
PUBLISHED = {    # parameter counts as published, with their sources
    "ResNet-50": (25_557_032, "torchvision model table"),
    "ResNeXt-50 32x4d": (25_028_904, "torchvision model table"),
    "BERT-Base": (109_482_240, "HuggingFace bert-base-uncased (110M in Devlin et al., 2019)"),
    "BERT-Large": (335_141_888, "HuggingFace bert-large-uncased (340M in Devlin et al., 2019)"),
    "GPT-2 small": (124_439_808, "HuggingFace gpt2"),
    "GPT-2 XL": (1_557_611_200, "HuggingFace gpt2-xl (1542M in Radford et al., 2019)"),
    "LSTM medium (2 x 650)": (20_000_000, "20M, Zaremba et al. 2014 (Merity et al., 2018, Table 1)"),
}
print(f"{'model':<24}{'ipukit.models':>15}{'published':>15}   {'FLOP per sample':>15}   source")
for model in models.catalogue():
    count, source = PUBLISHED[model.name]
    print(f"{model.name:<24}{model.params:>15,}{count:>15,}   {model.flops / 1e9:>11,.1f} G   {source}")

# %% [markdown]
# Every exact count matches; the papers round theirs. A "sample" is one 224 × 224 image for the
# ResNets, a 128-token sequence for BERT, 1024 tokens for GPT-2 and 35 tokens for the LSTM
# (`model.sample` says which). What kind of layer holds the FLOPs?

# %%
MATRIX_KINDS = {"linear", "conv", "attention", "lstm"}        # layers built on matrix products
for model in (models.resnet50(), models.bert_large(), models.gpt2_small()):
    kinds = model.by_kind()
    matrix = sum(row["flops"] for kind, row in kinds.items() if kind in MATRIX_KINDS)
    rest = ", ".join(f"{kind} {row['flops'] / model.flops:.2%}" for kind, row in kinds.items()
                     if kind not in MATRIX_KINDS and row["flops"])
    print(f"{model.name:<12} matrix products {matrix / model.flops:6.1%};  the rest: {rest}")

# %% [markdown]
# Almost all the FLOPs of a real network are in matrix products, as in the emulator's runs. But the
# runs above also showed the other side: the elementwise ops that hold 1 % of the FLOPs run at a
# few percent of the AMP's rate, and each adds supersteps: they take a share of the time far above
# their share of the FLOPs.
#
# ### Does it fit?
#
# An IPU has no DRAM: everything lives in the tiles' SRAM, 304 MiB on a GC2 (1216 tiles × 256 KiB)
# and 897 MiB on a GC200 (1472 × 624 KiB). What a model needs depends on what you do with it
# (`ipukit.models.PRECISIONS` and `OPTIMIZERS`):
#
# - **inference**: the weights (2 bytes each in FP16, 4 in FP32) and the activations live at one
#   time, for each sample in flight;
# - **training** adds a gradient per parameter; the optimiser's state (none for plain SGD, one value
#   for momentum, two for Adam; Kingma & Ba, 2015); in mixed precision an FP32 master copy of the
#   weights (Micikevicius et al., 2018); and every activation the backward pass needs, kept from the
#   forward pass. Mixed precision with Adam costs 2 + 2 + 4 + 4 + 4 = 16 bytes per parameter before
#   any activation (Rajbhandari et al., 2020, "ZeRO", §3.1).
#
# A quarter of the SRAM is assumed to be taken by code, exchange buffers and stacks (an assumption
# of `ipukit.models`; `reserve=` changes it). Here is BERT-Base, for inference and for training:

# %%
bert_base = models.bert_base()
print(models.fit(bert_base, ipukit.GC2, training=False, precision="fp16").describe())
print()
print(models.fit(bert_base, ipukit.GC200, training=True, precision="mixed", optimizer="adam").describe())

# %% [markdown]
# And the whole catalogue on both IPUs, for inference in FP16 and for training in mixed precision
# with Adam. "pipelined" is the number of IPUs the model needs when it is cut into stages of whole
# layers, one stage per IPU (notebook 07):

# %%
print(models.compare(training=False, precision="fp16").describe())
print()
print(models.compare(training=True, precision="mixed", optimizer="adam").describe())

# %% [markdown]
# The same as a picture: each bar is one model's memory, stacked by kind, against one GC2's SRAM
# (dashed) and one GC200's (solid); the thin lines are what is left after the reserve. The vertical
# axis is logarithmic, so compare totals, not the heights of the segments.

# %%
FOUR = [models.resnet50(), bert_base, models.bert_large(), models.gpt2_small()]


def memory_figure(training=True, precision="mixed", optimizer="adam", micro_batch=1):
    fig = viz.IPUFigure(figsize=(10, 4.6), layout="constrained")
    model_plot.plot_memory(FOUR, ax=fig.subplots(), training=training, precision=precision,
                           optimizer=optimizer, micro_batch=micro_batch, log=True)
    return fig


memory_figure(training=True, precision="mixed")

# %% [markdown]
# **What to notice.**
# - For inference in FP16 (the first table), ResNet-50 and BERT-Base fit one GC2; BERT-Large and
#   GPT-2 small need a GC200, or several GC2s.
# - Training multiplies the memory: with Adam in mixed precision the optimiser state and the master
#   weights together take six times as many bytes as the FP16 weights, and the stored activations grow with
#   the micro-batch. Only ResNet-50, ResNeXt-50 and the LSTM train on one GC200; no model of BERT's
#   size does.
#
# Change the set-up:

# %%
widgets.interactive_figure(
    memory_figure,
    training=W.Checkbox(value=True, description="training"),
    precision=W.Dropdown(options=list(models.PRECISIONS), value="mixed", description="precision"),
    optimizer=W.Dropdown(options=list(models.OPTIMIZERS), value="adam", description="optimiser"),
    micro_batch=W.SelectionSlider(options=[1, 2, 4, 8, 16, 32], value=1, description="micro-batch",
                                  continuous_update=False))

# %% [markdown]
# ### Exercise 06.3 · The largest micro-batch that fits
#
# Training on one IPU, you want as many samples per micro-batch as the SRAM allows: more samples
# share the same weights and optimiser state. Write `max_micro_batch(model, ipu, training=True,
# precision="mixed", optimizer="adam", reserve=0.25)`: the largest micro-batch with which `model`
# fits in the usable SRAM of one `ipu`, or 0 if not even one sample fits. The docstring lists the
# rules; `models.fit` follows the same rules, and the grader uses it to check your answer (and
# blocks it inside your function, so work the bytes out yourself).

# %%
ex = load("ex06_models")
try:
    for training, precision in ((True, "mixed"), (False, "fp16")):
        rows = [(model.name, [ex.max_micro_batch(model, chip, training=training, precision=precision)
                              for chip in (ipukit.GC2, ipukit.GC200)]) for model in models.catalogue()]
        print(("training, mixed precision, Adam" if training else "inference, FP16") + ": samples per micro-batch")
        for name, (gc2, gc200) in rows:
            print(f"  {name:<24} GC2 {gc2:>8,}   GC200 {gc200:>8,}")
except NotImplementedError as e:
    print("Not done yet:", e)

# %%
ipukit.check("ex06_3")

# %% [markdown]
# ResNet-50 trains with up to 6 images per micro-batch on one GC200, and not at all on one GC2. A
# zero means the model does not fit one IPU whatever the batch: its weights, gradients and
# optimiser state alone are too big. Such models are cut into pipeline stages over several IPUs,
# or copied onto several IPUs with their gradients summed: **notebook 07 · Many IPUs** does both.

# %% [markdown]
# ## Recap
#
# - A network is a sequence of ops (matrix products, bias adds, activations), each a few
#   supersteps on the IPU. Built from `ipukit.ops`, the digits network made exactly the predictions
#   of its NumPy twin, and the profile, memory map and trace showed where every cycle went.
# - What dominates depends on the size: syncs for small batches, the matrix products on the AMP
#   unit and the host link for large ones. Elementwise work (bias, ReLU, sigmoid, softmax) is a
#   sliver of the FLOPs but runs on the vector units at a few percent of the AMP's rate; in
#   attention, the softmax overtakes the matrix products from 64 tokens on.
# - Grouped and depthwise convolutions cut parameters and FLOPs by the number of groups, but every
#   output still reads a k × k patch: the bytes to gather stay, so the time falls far less, and the
#   input's layout decides whether they cross the exchange.
# - Supersteps cost time of their own: at small batches a program with fewer of them is faster for
#   the same FLOPs. The digits network needs only three (exercise 06.2) where op-by-op it took seven.
# - A true-size model's memory is weights plus, for training, gradients, optimiser state, master
#   weights and stored activations: 16 bytes per parameter for Adam in mixed precision, before any
#   activation. BERT-Base trains on no single IPU; ResNet-50 trains on one GC200.
#
# Next: **07 · Many IPUs**, for the models that need more than one.
