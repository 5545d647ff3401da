"""Grading tests of notebook 06 (real models): ex06_1, ex06_2 and ex06_3.

Expected values come from hand counts, from published parameter totals (torchvision's
ResNet-50 and ResNeXt-50 tables), from NumPy, from the step counts of ``ops.matmul``
on its own, and from ``ipukit.models`` (whose counts and memory rules are tested against
published figures in tests/test_models.py), never from the code under test.  Graphs run
on the reference backend: the ops' codelets are built in, so nothing is compiled.
"""
import numpy as np
import pytest

import ipukit
from ipukit import models, ops
from ipukit.models import layers as L
from ipukit.models.costs import SegmentCosts


@pytest.fixture(scope="module")
def ex06(load):
    return load("ex06_models")


def _num(x):
    return f"{x:,}" if isinstance(x, (int, np.integer)) else repr(x)


# --- ex06_1: parameters and FLOPs of a convolution ----------------------------------------
def _check_cost(ex06, expected, **layer):
    answer = ex06.conv_cost(**layer)
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected a (params, flops) tuple, got {answer!r}"
    params, flops = answer
    args = ", ".join(f"{k}={v}" for k, v in layer.items())
    assert (params, flops) == expected, (
        f"conv_cost({args}): expected {expected[0]:,} parameters and {expected[1]:,} FLOP, "
        f"got {_num(params)} and {_num(flops)}")


@pytest.mark.ex06_1
@pytest.mark.parametrize("layer, expected", [
    # ResNet-50's first layer: 64 filters of 3 x 7 x 7; a 112 x 112 output, 147 multiply-adds each
    (dict(in_channels=3, out_channels=64, kernel=7, size=224, stride=2, padding=3),
     (64 * 3 * 49, 2 * 64 * 112 * 112 * 147)),
    # a depthwise 3 x 3 layer: one 3 x 3 filter per channel
    (dict(in_channels=32, out_channels=32, kernel=3, size=16, padding=1, groups=32),
     (32 * 9, 2 * 32 * 16 * 16 * 9)),
    # ResNeXt's grouped 3 x 3: 128 channels in 32 groups of 4
    (dict(in_channels=128, out_channels=128, kernel=3, size=56, padding=1, groups=32),
     (128 * 4 * 9, 2 * 128 * 56 * 56 * 36)),
    # BERT-Base's first feed-forward layer for one token: a fully connected layer with a bias
    (dict(in_channels=768, out_channels=3072, kernel=1, size=1, bias=True),
     (768 * 3072 + 3072, 2 * 768 * 3072 + 3072)),
    # no padding, stride 3: (10 - 4) // 3 + 1 = 3 outputs a side
    (dict(in_channels=6, out_channels=4, kernel=4, size=10, stride=3, groups=2, bias=True),
     (4 * 3 * 16 + 4, 2 * 4 * 9 * 48 + 4 * 9)),
])
def test_conv_cost_by_hand(ex06, layer, expected):
    _check_cost(ex06, expected, **layer)


@pytest.mark.ex06_1
@pytest.mark.parametrize("seed", range(8))
def test_conv_cost_matches_layer_records(ex06, seed):
    rng = np.random.default_rng(600 + seed)
    groups = int(rng.choice([1, 1, 2, 3, 4, 8]))
    c_in, c_out = groups * int(rng.integers(1, 33)), groups * int(rng.integers(1, 33))
    kernel = int(rng.choice([1, 3, 5, 7]))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, kernel // 2 + 1))
    size = int(rng.integers(kernel, 65))
    bias = bool(rng.integers(2))
    record = L.conv2d("conv", c_in, c_out, kernel, size, stride=stride, padding=padding, groups=groups,
                      bias=bias)
    _check_cost(ex06, (record.params, record.flops), in_channels=c_in, out_channels=c_out, kernel=kernel,
                size=size, stride=stride, padding=padding, groups=groups, bias=bias)


@pytest.mark.ex06_1
@pytest.mark.parametrize("seed", range(4))
def test_fully_connected_is_a_one_by_one_conv(ex06, seed):
    rng = np.random.default_rng(700 + seed)
    n_in, n_out, bias = int(rng.integers(1, 5000)), int(rng.integers(1, 5000)), bool(rng.integers(2))
    record = L.linear("fc", n_in, n_out, bias=bias)
    _check_cost(ex06, (record.params, record.flops), in_channels=n_in, out_channels=n_out, kernel=1, size=1,
                bias=bias)


@pytest.mark.ex06_1
@pytest.mark.parametrize("build, published", [
    (models.resnet50, 25_557_032),            # torchvision ResNet50_Weights.IMAGENET1K_V1
    (models.resnext50_32x4d, 25_028_904),     # torchvision ResNeXt50_32X4D_Weights.IMAGENET1K_V1
])
def test_conv_cost_adds_up_to_published_totals(ex06, build, published):
    """Every convolution of the network by your formula, plus its batch norms (2 per
    channel) and the final 2048 -> 1000 classifier, is the published parameter count."""
    model = build()
    params = flops = 0
    for layer in model.layers:
        if layer.kind == "conv":
            c_out, c_per_group, kernel, _ = layer.shape("weight")
            c_in, size, _ = layer.shape("input")
            out = layer.shape("output")[1]
            p, f = ex06.conv_cost(c_in, c_out, kernel, size, stride=size // out, padding=kernel // 2,
                                  groups=c_in // c_per_group)
            params, flops = params + p, flops + f
        elif layer.kind == "batchnorm":
            params += 2 * layer.shape("weight")[0]
    params += ex06.conv_cost(2048, 1000, 1, 1, bias=True)[0]
    conv_flops = model.by_kind()["conv"]["flops"]
    assert params == published, f"{model.name}: expected {published:,} parameters in all, got {_num(params)}"
    assert flops == conv_flops, (f"{model.name}: expected {conv_flops:,} FLOP in its convolutions, "
                                 f"got {_num(flops)}")


# --- ex06_2: a two-layer network in few supersteps -------------------------------------------
def _matmul_supersteps(tiles, m, k, n):
    """Supersteps ops.matmul needs for (m x k) @ (k x n), on inputs mapped linearly."""
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    a, b = g.add_variable((m, k), name="a"), g.add_variable((k, n), name="b")
    g.map_linearly(a)
    g.map_linearly(b)
    _, prog = ops.matmul(g, a, b)
    return ipukit.Engine(g, prog, backend="reference").run().num_supersteps


def _check_mlp(ex06, budget, tiles, batch, n_in, hidden, n_out, seed, mapping="linear"):
    budget.case(f"a batch of {batch}, {n_in} -> {hidden} -> {n_out} on {tiles} tiles"
                + (f" ({mapping} mapping)" if mapping != "linear" else ""))
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles))
    shapes = {"x": (batch, n_in), "w1": (n_in, hidden), "b1": (hidden,), "w2": (hidden, n_out), "b2": (n_out,)}
    t = {name: g.add_variable(shape, name=name) for name, shape in shapes.items()}
    for k, tensor in enumerate(t.values()):
        if mapping == "linear":
            g.map_linearly(tensor)
        else:                                        # each tensor whole on one tile
            g.set_tile_mapping(tensor, k % tiles)
    answer = ex06.mlp_forward(g, t["x"], t["w1"], t["b1"], t["w2"], t["b2"])
    assert isinstance(answer, tuple) and len(answer) == 2, f"expected a (logits, program) tuple, got {answer!r}"
    logits, program = answer
    assert isinstance(logits, ipukit.Tensor), f"expected the logits as an ipukit.Tensor, got {type(logits).__name__}"
    assert logits.shape == (batch, n_out), f"expected logits of shape {(batch, n_out)}, got {logits.shape}"
    rng = np.random.default_rng(seed)
    values = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    eng = ipukit.Engine(g, program, backend="reference")
    for name, tensor in t.items():
        eng.write(tensor, values[name])
    profile = eng.run()
    v = {name: a.astype(np.float64) for name, a in values.items()}
    want = np.maximum(v["x"] @ v["w1"] + v["b1"], 0) @ v["w2"] + v["b2"]
    got = eng.read(logits)
    bad = np.argwhere(~np.isclose(got, want, rtol=1e-4, atol=1e-4))
    assert not bad.size, (f"expected relu(x @ w1 + b1) @ w2 + b2, but {len(bad)} of {got.size} logits differ; "
                          f"first at {tuple(bad[0])}: expected {want[tuple(bad[0])]:.6g}, got {got[tuple(bad[0])]:.6g}")
    limit = _matmul_supersteps(tiles, batch, n_in + 1, hidden) + 1 + _matmul_supersteps(tiles, batch, hidden + 1,
                                                                                      n_out)
    budget.check("supersteps", profile.num_supersteps, limit)
    budget.record("cycles", profile.total_cycles, "cycles")


@pytest.mark.ex06_2
def test_mlp_digits_shape(ex06, budget):
    # the notebook's network: 8 images of 8 x 8 pixels, 32 hidden units, 10 classes
    _check_mlp(ex06, budget, tiles=16, batch=8, n_in=64, hidden=32, n_out=10, seed=0)


@pytest.mark.ex06_2
def test_mlp_one_sample(ex06, budget):
    _check_mlp(ex06, budget, tiles=4, batch=1, n_in=5, hidden=3, n_out=2, seed=1)


@pytest.mark.ex06_2
def test_mlp_inputs_on_single_tiles(ex06, budget):
    _check_mlp(ex06, budget, tiles=8, batch=12, n_in=20, hidden=24, n_out=6, seed=2, mapping="tile")


@pytest.mark.ex06_2
@pytest.mark.parametrize("seed", range(5))
def test_mlp_random_shapes(ex06, budget, seed):
    rng = np.random.default_rng(800 + seed)
    _check_mlp(ex06, budget, tiles=int(rng.choice([2, 4, 8, 16])), batch=int(rng.integers(1, 48)),
               n_in=int(rng.integers(1, 120)), hidden=int(rng.integers(1, 64)), n_out=int(rng.integers(1, 16)),
               seed=seed)


# --- ex06_3: the largest micro-batch that fits ---------------------------------------------
def _blocked(*args, **kwargs):
    raise RuntimeError("max_micro_batch must work out the bytes from the memory rules itself; "
                       "models.fit is what the grader checks your answer with")


def _check_micro_batch(ex06, model, ipu, training, precision, optimizer, reserve=0.25):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SegmentCosts, "_categories", _blocked)
        answer = ex06.max_micro_batch(model, ipu, training=training, precision=precision, optimizer=optimizer,
                                      reserve=reserve)
    setup = dict(training=training, precision=precision, optimizer=optimizer)
    where = (f"{model.name} on one {ipu.name} ({ipu.tiles} tiles), "
             f"{models.Setup(**setup).describe().rsplit(',', 1)[0]}, reserve {reserve:.0%}")
    assert isinstance(answer, (int, np.integer)) and not isinstance(answer, bool), \
        f"{where}: expected a whole number of samples, got {answer!r}"
    answer = int(answer)
    assert answer >= 0, f"{where}: expected 0 or more samples, got {answer}"

    def report(m):
        return models.fit(model, ipu, reserve=reserve, micro_batch=m, **setup)

    if answer == 0:
        one = report(1)
        assert not one.fits, (f"{where}: expected at least 1: with one sample it needs {one.memory.total:,} B "
                              f"of the {one.usable_bytes:,} B usable; got 0")
        return
    mine, more = report(answer), report(answer + 1)
    assert mine.fits, (f"{where}: a micro-batch of {answer:,} needs {mine.memory.total:,} B, more than the "
                       f"{mine.usable_bytes:,} B usable; expected a smaller answer")
    assert not more.fits, (f"{where}: a micro-batch of {answer + 1:,} still fits ({more.memory.total:,} B of "
                           f"{more.usable_bytes:,} B usable); expected a larger answer than {answer:,}")


@pytest.mark.ex06_3
def test_micro_batch_by_hand(ex06):
    """One 1000 -> 1000 layer with a bias, trained in FP32 with plain SGD on 64 GC2 tiles:
    weights and gradients take 2 x 4 B x 1,001,000; each sample keeps its 1,000 inputs for
    backward and has 2,000 values live (input and output): 3,000 x 4 B.  Usable:
    0.75 x 64 x 256 KiB = 12,582,912 B, so (12,582,912 - 8,008,000) // 12,000 = 381."""
    model = models.Model("one layer", [L.linear("fc", 1000, 1000)], sample="one vector")
    ipu = ipukit.GC2.replace(tiles=64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SegmentCosts, "_categories", _blocked)
        answer = ex06.max_micro_batch(model, ipu, training=True, precision="fp32", optimizer="sgd")
    assert answer == 381, f"expected 381 samples, got {answer!r}"
    _check_micro_batch(ex06, model, ipu, True, "fp32", "sgd")


@pytest.mark.ex06_3
def test_micro_batch_counts_buffers(ex06):
    """A 100 -> 4096 layer and a batch norm, at inference in FP32 on 8 GC2 tiles, no reserve.
    Weights: 409,600 + 2 x 4,096 parameters and 2 x 4,096 running statistics (buffers), 4 B
    each = 1,703,936 B.  The batch norm has 2 x 4,096 values live (its input and output):
    32,768 B a sample.  (2,097,152 - 1,703,936) // 32,768 = 12; forgetting the buffers gives 13."""
    model = models.Model("fc + batch norm", [L.linear("fc", 100, 4096, bias=False), L.batchnorm("bn", 4096, 1)],
                         sample="one vector")
    ipu = ipukit.GC2.replace(tiles=8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SegmentCosts, "_categories", _blocked)
        answer = ex06.max_micro_batch(model, ipu, training=False, precision="fp32", reserve=0.0)
    assert answer == 12, f"expected 12 samples, got {answer!r}"
    _check_micro_batch(ex06, model, ipu, False, "fp32", "adam", reserve=0.0)


@pytest.mark.ex06_3
@pytest.mark.parametrize("build, chip, training, precision, optimizer", [
    (models.resnet50, ipukit.GC200, True, "mixed", "adam"),
    (models.resnet50, ipukit.GC2, True, "fp16", "momentum"),
    (models.bert_base, ipukit.GC2, False, "fp16", "adam"),
    (models.bert_large, ipukit.GC200, False, "fp16", "adam"),
    (models.bert_large, ipukit.GC200, True, "mixed", "adam"),      # 16 B a parameter: not one sample fits
    (models.lstm_medium, ipukit.GC200, True, "fp32", "sgd"),
    (models.gpt2_small, ipukit.GC200, False, "fp32", "adam"),
])
def test_micro_batch_true_size(ex06, build, chip, training, precision, optimizer):
    _check_micro_batch(ex06, build(), chip, training, precision, optimizer)


def _random_model(rng):
    kind = rng.integers(4)
    if kind == 0:
        heads = int(rng.choice([2, 4, 8]))
        return models.bert(layers=int(rng.integers(1, 7)), hidden=heads * int(rng.choice([16, 32, 64])),
                           heads=heads, seq=int(rng.choice([32, 64, 128, 256])))
    if kind == 1:
        return models.resnet(tuple(int(b) for b in rng.integers(1, 4, 4)), image=int(rng.choice([32, 64, 128])),
                             classes=int(rng.integers(10, 1001)))
    if kind == 2:
        return models.lstm_lm(vocab=int(rng.integers(100, 20000)), hidden=int(rng.integers(16, 700)),
                              layers=int(rng.integers(1, 4)), steps=int(rng.integers(5, 50)))
    heads = int(rng.choice([2, 4]))
    return models.gpt2(layers=int(rng.integers(1, 5)), hidden=heads * 32, heads=heads,
                       seq=int(rng.choice([64, 128, 256])))


@pytest.mark.ex06_3
@pytest.mark.parametrize("seed", range(8))
def test_micro_batch_random(ex06, seed):
    rng = np.random.default_rng(900 + seed)
    chip = ipukit.GC2 if rng.integers(2) else ipukit.GC200
    chip = chip.replace(tiles=int(rng.choice([chip.tiles, 64, 256, 608])))
    _check_micro_batch(ex06, _random_model(rng), chip, training=bool(rng.integers(2)),
                       precision=str(rng.choice(list(models.PRECISIONS))),
                       optimizer=str(rng.choice(list(models.OPTIMIZERS))),
                       reserve=float(rng.choice([0.0, 0.1, 0.25, 0.4])))
