"""True-size models: parameter totals and FLOPs against published figures; memory fit and
pipeline splits against hand computations and brute force."""
import itertools
import json

import numpy as np
import pytest

import ipukit
from ipukit import models as M
from ipukit.models import layers as L

# ---------------------------------------------------------------------------------------
# Parameter totals vs published figures
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("build, published", [
    # torchvision model tables (ResNet50_Weights.IMAGENET1K_V1, ResNeXt50_32X4D_Weights)
    (M.resnet50, 25_557_032),
    (M.resnext50_32x4d, 25_028_904),
    # HuggingFace BertModel.from_pretrained("bert-base-uncased" / "bert-large-uncased")
    # .num_parameters(): embeddings (word, position, token type, LayerNorm), encoder, pooler
    (M.bert_base, 109_482_240),
    (M.bert_large, 335_141_888),
    # HuggingFace GPT2LMHeadModel "gpt2" / "gpt2-xl" (output head tied to the embedding)
    (M.gpt2_small, 124_439_808),
    (M.gpt2_xl, 1_557_611_200),
])
def test_parameter_totals_match_published_counts(build, published):
    assert build().params == published


@pytest.mark.parametrize("build, rounded, rel", [
    (M.bert_base, 110e6, 0.01),        # Devlin et al. 2019 §3: "110M"
    (M.bert_large, 340e6, 0.02),       # "340M" (the exact count is 335.1M)
    (M.gpt2_xl, 1542e6, 0.015),        # Radford et al. 2019 Table 2: "1542M"
    (M.lstm_medium, 20e6, 0.02),       # Merity et al. 2018 Table 1: Zaremba medium "20M"
    (M.lstm_large, 66e6, 0.01),        # Merity et al. 2018 Table 1: Zaremba large "66M"
    (M.resnext50_32x4d, 25.0e6, 0.01),  # Xie et al. 2017 Table 1: "25.0 x 10^6"
])
def test_parameter_totals_match_rounded_paper_figures(build, rounded, rel):
    assert build().params == pytest.approx(rounded, rel=rel)


def test_bert_pretraining_heads_add_the_mlm_and_nsp_heads_by_hand():
    h, vocab = 1024, 30522
    heads = (h * h + h) + 2 * h + vocab + (2 * h + 2)  # transform, LayerNorm, decoder bias, NSP
    model = M.bert_large(pretraining_heads=True)
    assert model.params == 335_141_888 + heads
    decoder = model.layer("mlm.decoder")
    assert decoder.tied_to == "embeddings" and decoder.tied_params == vocab * h


def test_lstm_parameters_by_hand():
    # Zaremba et al. medium: embedding, 2 LSTM layers (one bias per gate), decoder with bias
    v, h = 10_000, 650
    assert M.lstm_medium().params == v * h + 2 * (4 * h * (2 * h) + 4 * h) + (h * v + v)
    # PyTorch nn.LSTM keeps two bias vectors per layer
    assert M.lstm_lm(biases=2).params == M.lstm_medium().params + 2 * 4 * h


def test_variants_are_one_call_away():
    small = M.bert(layers=2, hidden=128, heads=2, seq=64)
    per_layer = 12 * 128 * 128 + 13 * 128        # 4 H^2+H projections, 2 FFN, 2 LayerNorms
    embeddings = (30522 + 512 + 2) * 128 + 2 * 128
    assert small.params == embeddings + 2 * per_layer + (128 * 128 + 128)
    assert M.resnet((2, 2, 2, 2), image=64).params < M.resnet50().params
    assert M.gpt2(layers=1, hidden=64, heads=4, seq=16).layer("h.0.attn.core").shape(
        "scores") == (4, 16, 16)


# ---------------------------------------------------------------------------------------
# FLOPs and activations vs hand formulas and published figures
# ---------------------------------------------------------------------------------------


def test_linear_layer_flops_by_hand():
    layer = L.linear("fc", 768, 3072, tokens=128)
    assert layer.macs == 128 * 768 * 3072
    assert layer.flops == 2 * 768 * 3072 * 128 + 3072 * 128      # 2 per MAC, plus the bias
    assert layer.params == 768 * 3072 + 3072
    assert L.linear("fc", 768, 3072, tokens=128, bias=False).flops == 2 * 768 * 3072 * 128


def test_convolution_macs_by_hand():
    conv1 = M.resnet50().layer("conv1")          # 7x7/2, 3 -> 64 channels, 224 -> 112
    assert conv1.shape("output") == (64, 112, 112)
    assert conv1.macs == 64 * 112 * 112 * 3 * 7 * 7
    grouped = M.resnext50_32x4d().layer("layer1.0.conv2")     # 3x3, 128 channels, 32 groups
    assert grouped.params == 128 * (128 // 32) * 3 * 3
    assert grouped.macs == 128 * 56 * 56 * (128 // 32) * 9


@pytest.mark.parametrize("build, gmacs", [
    # torchvision model tables: 4.09 and 4.23 "GFLOPS", where one multiply-add counts once,
    # i.e. 4.09 G multiply-adds = about 8.2 GFLOP for ResNet-50
    (M.resnet50, 4.09),
    (M.resnext50_32x4d, 4.23),
])
def test_cnn_multiply_adds_match_torchvision(build, gmacs):
    model = build()
    assert model.macs / 1e9 == pytest.approx(gmacs, abs=0.005)
    assert model.flops >= 2 * model.macs
    assert model.flops / (2 * model.macs) == pytest.approx(1.0, abs=0.03)   # convs dominate


def test_resnext_flops_match_the_paper():
    # Xie et al. 2017 Table 1: ResNeXt-50 (32x4d) 4.2 x 10^9 FLOPs (multiply-adds)
    assert M.resnext50_32x4d().macs == pytest.approx(4.2e9, rel=0.01)


def test_bert_multiply_adds_by_hand():
    L_, h, s = 24, 1024, 128          # layers, hidden size, sequence (16 heads do not change the count)
    per_layer = s * 12 * h * h + 2 * s * s * h     # QKV, out, 2 FFN; QK^T and PV
    assert M.bert_large().macs == L_ * per_layer + h * h      # + pooler on the [CLS] token
    assert M.bert_large().layer("encoder.0.attention.core").macs == 2 * s * s * h


def test_gpt2_multiply_adds_by_hand():
    L_, d, s, v = 12, 768, 1024, 50257
    assert M.gpt2_small().macs == L_ * (s * 12 * d * d + 2 * s * s * d) + s * d * v


def test_transformer_stored_activations_match_korthikanti():
    # Korthikanti et al. 2022 §4.1: sbh(34 + 5as/h) bytes per layer in 16-bit with dropout.
    # Without dropout (no masks; the softmax output is also the PV input) that is
    # 16 sbh + a s^2 b elements; we also keep each LayerNorm's mean and 1/std (2 per token).
    for model, h, a, s, prefix in ((M.bert_large(), 1024, 16, 128, "encoder.3."),
                                   (M.gpt2_small(seq=256), 768, 12, 256, "h.3.")):
        block = [x for x in model.layers if x.name.startswith(prefix)]
        assert sum(x.stored for x in block) == 16 * s * h + a * s * s + 2 * 2 * s


def test_every_model_has_consistent_records():
    for model in M.catalogue():
        assert len({x.name for x in model.layers}) == len(model.layers)
        assert model.flops >= 2 * model.macs
        for x in model.layers:
            assert x.live >= x.output and x.inputs <= x.live


# ---------------------------------------------------------------------------------------
# Memory fit on one IPU
# ---------------------------------------------------------------------------------------


def _toy(*specs, name="toy"):
    """A hand-made model: each spec is (params, stored, live, inputs, flops)."""
    return M.Model(name, [M.Layer(f"l{i}", "linear", params=p, stored=st, live=lv, inputs=inp,
                                  flops=fl, output=0)
                          for i, (p, st, lv, inp, fl) in enumerate(specs)], sample="one toy")


def test_fit_counts_bytes_by_hand():
    toy = _toy((1000, 300, 200, 10, 5), (3000, 100, 500, 20, 7))
    P = 4000
    inf = M.fit(toy, precision="fp32", micro_batch=2, reserve=0)
    assert inf.memory.to_dict() == dict(weights=4 * P, gradients=0, master=0, optimizer=0,
                                        activations=4 * 2 * 500, partials=0, streamed=0,
                                        total=4 * P + 4000)
    adam = M.fit(toy, training=True, precision="fp32", optimizer="adam", micro_batch=2).memory
    assert (adam.weights, adam.gradients, adam.optimizer, adam.master) == (4 * P, 4 * P, 8 * P, 0)
    assert adam.activations == 4 * 2 * (300 + 100 + 500)    # stored + the largest working set
    mixed = M.fit(toy, training=True, precision="mixed", optimizer="adam").memory
    assert mixed.total - mixed.activations == 16 * P         # ZeRO §3.1: 16 bytes/parameter
    assert M.fit(toy, training=True, precision="fp16", optimizer="momentum").memory.optimizer \
        == 2 * P
    assert M.fit(toy, training=True, precision="fp32", optimizer="sgd").memory.optimizer == 0


def test_fit_against_a_tiny_ipu():
    one_tile = ipukit.GC2.replace(tiles=1)                    # 256 KiB of SRAM
    fits = M.fit(_toy((40_000, 0, 10, 1, 1)), one_tile, precision="fp32", reserve=0.25)
    # 160,000 + 40 B <= 0.75 x 262,144 = 196,608 B
    assert fits.fits and fits.usable_bytes == 196_608 and fits.headroom_bytes == 196_608 - 160_040
    too_big = M.fit(_toy((50_000, 0, 10, 1, 1)), one_tile, precision="fp32", reserve=0.25)
    assert not too_big.fits and too_big.ipus_lower_bound == 2      # 200,040 B
    assert M.fit(_toy((50_000, 0, 10, 1, 1)), one_tile, precision="fp32", reserve=0).fits


def test_bert_large_fp16_inference_fits_one_gc200():
    report = M.fit(M.bert_large(), ipukit.GC200, precision="fp16")
    weights = 335_141_888 * 2
    # the attention core at seq 128 is the largest live set: Q|K|V, scores and softmax
    # (16 heads x 128 x 128 each), its output, and the block input kept for the residual
    live = 3 * 128 * 1024 + 2 * 16 * 128 * 128 + 128 * 1024 + 128 * 1024
    assert report.memory.weights == weights and report.memory.activations == 2 * live
    usable = int(1472 * 624 * 1024 * (1 - M.RESERVED_FRACTION))     # 705,429,504 B
    assert report.usable_bytes == usable
    assert weights + 2 * live == 672_643_072 < usable
    assert report.fits
    # ...but only just: keep back 30% instead of 25% and it no longer fits
    assert not M.fit(M.bert_large(), ipukit.GC200, precision="fp16", reserve=0.3).fits


def test_bert_large_fp32_adam_training_does_not_fit_one_gc2():
    report = M.fit(M.bert_large(), ipukit.GC2, training=True, precision="fp32", optimizer="adam")
    P = 335_141_888
    assert report.memory.weights == 4 * P and report.memory.gradients == 4 * P
    assert report.memory.optimizer == 8 * P                   # Adam: two FP32 moments
    assert report.sram_bytes == 304 * 2**20                   # GC2: 1216 x 256 KiB
    assert 16 * P == 5_362_270_208 > 16 * report.sram_bytes   # > 16x the whole SRAM
    assert not report.fits and report.ipus_lower_bound >= 23


def test_fit_report_text_and_dict():
    report = M.fit(M.resnet50(), ipukit.GC2, training=True, precision="mixed")
    text = report.describe()
    assert "ResNet-50" in text and "GC2" in text and "optimiser state" in text
    d = json.loads(json.dumps(report.to_dict()))
    assert d["memory"]["total"] == report.memory.total and d["fits"] == report.fits
    assert d["setup"]["precision"] == "mixed"


# ---------------------------------------------------------------------------------------
# Pipelining: brute force on small models
# ---------------------------------------------------------------------------------------

BYTES = {"fp32": (4, 4, 4, 0, 4), "fp16": (2, 2, 2, 0, 2), "mixed": (2, 2, 2, 4, 4)}
STATES = {"sgd": 0, "momentum": 1, "adam": 2}


def _stage_bytes(layers, lo, hi, s, n_stages, training, precision, optimizer, micro_batch,
                 recompute):
    """The memory rule, written out: weights (+ a copy of weights tied to another stage),
    training extras, and activations for the N - s micro-batches stage s holds (1F1B)."""
    wb, ab, gb, mw, sb = BYTES[precision]
    mb = micro_batch
    names = [x.name for x in layers[lo:hi]]
    P = sum(x.params for x in layers[lo:hi])
    T = sum(x.tied_params for x in layers[lo:hi] if x.tied_to and x.tied_to not in names)
    live = max(x.live for x in layers[lo:hi])
    if not training:
        return wb * (P + T) + ab * mb * live
    stored = sum(x.stored for x in layers[lo:hi])
    held = n_stages - s
    act = held * layers[lo].inputs + stored + live if recompute else held * stored + live
    return wb * (P + T) + gb * (P + T) + mw * P + sb * STATES[optimizer] * P + ab * mb * act


def _stage_time(layers, lo, hi, training, precision, mb, recompute, peak, link):
    ab = BYTES[precision][1]
    passes = 1 if not training else (4 if recompute else 3)
    compute = mb * passes * sum(x.flops for x in layers[lo:hi]) / peak
    sent = layers[hi].inputs if hi < len(layers) else 0
    if training and lo > 0:
        sent += layers[lo].inputs
    return compute + mb * ab * sent / link


def _brute_force(model, usable, peak, link, training, precision, optimizer, micro_batch,
                 recompute):
    mb = micro_batch
    layers = model.layers
    n = len(layers)
    for stages in range(1, n + 1):
        best = None
        for cuts in itertools.combinations(range(1, n), stages - 1):
            bounds = (0, *cuts, n)
            spans = list(zip(bounds[:-1], bounds[1:]))
            if all(_stage_bytes(layers, lo, hi, s, stages, training, precision, optimizer,
                                mb, recompute) <= usable for s, (lo, hi) in enumerate(spans)):
                slowest = max(_stage_time(layers, lo, hi, training, precision, mb, recompute,
                                          peak, link) for lo, hi in spans)
                best = slowest if best is None else min(best, slowest)
        if best is not None:
            return stages, best
    return None, None


def _random_model(rng, n):
    layers = []
    for i in range(n):
        tied = i == n - 1 and rng.random() < 0.5        # sometimes a tied output head
        layers.append(M.Layer(f"l{i}", "linear", params=int(rng.integers(0, 3000)),
                              stored=int(rng.integers(0, 800)), live=int(rng.integers(1, 600)),
                              inputs=int(rng.integers(1, 300)), flops=int(rng.integers(1, 10**6)),
                              tied_to="l0" if tied else None,
                              tied_params=int(rng.integers(1, 2000)) if tied else 0))
    return M.Model("random", layers, sample="one toy")


@pytest.mark.parametrize("seed", range(40))
def test_pipeline_split_is_optimal_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    model = _random_model(rng, int(rng.integers(2, 8)))
    training = bool(seed % 3)
    setup = dict(training=training, precision=["fp32", "fp16", "mixed"][seed % 3],
                 optimizer=["sgd", "momentum", "adam"][seed % 5 % 3],
                 micro_batch=int(rng.integers(1, 4)), recompute=training and seed % 2 == 0)
    ipu = ipukit.GC2.replace(tiles=1, sram_bytes_per_tile=int(rng.integers(6, 64)) * 1024,
                             ipu_link_bytes_per_second=1e6)
    peak = ipu.peak_flops("float32" if setup["precision"] == "fp32" else "float16")
    usable = int(ipu.sram_bytes_per_tile * 0.9)
    stages, slowest = _brute_force(model, usable, peak, 1e6, **setup)
    plan = M.pipeline(model, ipu, reserve=0.1, **setup)
    if stages is None:
        assert not plan.feasible and plan.reason
        return
    assert plan.feasible and plan.ipus == stages
    assert plan.step_seconds == pytest.approx(slowest, rel=1e-12)
    for s in plan.stages:     # every stage reports the memory the rule gives
        assert s.memory.total == _stage_bytes(model.layers, s.start, s.end, s.index, plan.ipus,
                                              **setup)
        assert s.memory.total <= plan.usable_bytes


def test_pipeline_on_more_ipus_balances_by_brute_force():
    model = _toy((100, 10, 10, 1, 9), (100, 10, 10, 1, 1), (100, 10, 10, 1, 1),
                 (100, 10, 10, 1, 5), (100, 10, 10, 1, 4))
    ipu = ipukit.GC2.replace(tiles=1, ipu_link_bytes_per_second=1e30)
    plan = M.pipeline(model, ipu, ipus=3, precision="fp32")
    # best 3-way split of FLOPs [9, 1, 1, 5, 4]: {9} {1,1,5} {4} -> slowest 9
    assert [(s.start, s.end) for s in plan.stages] == [(0, 1), (1, 4), (4, 5)]
    assert [s.flops for s in plan.stages] == [9, 7, 4]
    assert plan.ipus == 3 and M.pipeline(model, ipu, precision="fp32").ipus == 1


def test_first_stages_hold_more_micro_batches_in_training():
    # two identical layers; each stage's activations are multiplied by N - s (1F1B)
    model = _toy((0, 1000, 1, 1, 1), (0, 1000, 1, 1, 1))
    ipu = ipukit.GC2.replace(tiles=1)
    plan = M.pipeline(model, ipu, ipus=2, training=True, precision="fp32", optimizer="sgd")
    assert [s.memory.activations for s in plan.stages] == [4 * (2 * 1000 + 1), 4 * (1000 + 1)]


def test_bubble_formula():
    assert M.bubble(1, 8) == 0
    assert M.bubble(4, 12) == pytest.approx(3 / 15)           # (N-1)/(M+N-1), GPipe §2.3
    assert M.bubble(8, 1) == pytest.approx(7 / 8)
    with pytest.raises(ValueError, match="micro_batches"):
        M.bubble(4, 0)
    plan = M.pipeline(M.bert_large(), ipukit.GC200, training=True, precision="mixed",
                      micro_batches=32)
    assert plan.bubble == pytest.approx((plan.ipus - 1) / (32 + plan.ipus - 1))
    assert plan.batch_seconds == pytest.approx((32 + plan.ipus - 1) * plan.step_seconds)


def test_single_ipu_throughput_is_peak_over_flops():
    plan = M.pipeline(M.bert_base(), ipukit.GC200, precision="fp16", micro_batches=8)
    assert plan.ipus == 1 and plan.bubble == 0
    peak = 128 * 1472 * 1.33e9                                 # GC200 FP16 AMP peak
    assert plan.throughput == pytest.approx(peak / M.bert_base().flops, rel=1e-12)
    half = M.pipeline(M.bert_base(), ipukit.GC200, precision="fp16", efficiency=0.5)
    assert half.throughput == pytest.approx(plan.throughput / 2)
    train = M.pipeline(M.bert_base(), ipukit.GC200, ipus=3, training=True, precision="mixed")
    assert train.throughput < plan.throughput / 3 * 3          # backward costs 2 forwards


def test_large_models_need_several_ipus():
    plan = M.pipeline(M.bert_large(), ipukit.GC200, training=True, precision="mixed")
    # 16 bytes per parameter: 5.36 GB over 705 MB usable per IPU needs at least 8 IPUs
    assert plan.feasible and 8 <= plan.ipus <= 12
    assert all(s.memory.total <= plan.usable_bytes for s in plan.stages)
    assert sum(s.flops for s in plan.stages) == M.bert_large().flops
    assert [s.start for s in plan.stages][0] == 0 and plan.stages[-1].end == 195
    recomputed = M.pipeline(M.gpt2_small(), training=True, precision="mixed", recompute=True)
    plain = M.pipeline(M.gpt2_small(), training=True, precision="mixed")
    assert recomputed.ipus <= plain.ipus


def test_infeasible_pipelines_say_why():
    xl = M.pipeline(M.gpt2_xl(), ipukit.GC200, training=True, precision="mixed")
    # the 82M-parameter embedding alone needs 16 B x 82M = 1.3 GB: more than one GC200
    assert not xl.feasible and "'embeddings'" in xl.reason and "split" in xl.reason
    assert "no pipeline fits" in xl.describe()
    few = M.pipeline(M.bert_large(), ipukit.GC200, ipus=2, training=True, precision="mixed")
    assert not few.feasible and "2 stages" in few.reason


def test_pipeline_text_and_dict():
    plan = M.pipeline(M.gpt2_xl(), ipukit.GC200, precision="fp16")
    text = plan.describe()
    assert f"{plan.ipus} IPUs" in text and "bubble" in text and "samples/s" in text
    d = json.loads(json.dumps(plan.to_dict()))
    assert d["ipus"] == plan.ipus == len(d["stages"])
    assert d["stages"][0]["memory"]["total"] == plan.stages[0].memory.total


def test_compare_lists_each_model_on_each_ipu():
    table = M.compare([M.bert_large(), M.resnet50()], precision="fp16")
    (name, params, fits, plans), (_, _, cnn_fits, cnn_plans) = table.rows
    assert name == "BERT-Large" and params == 335_141_888 and table.ipus == ("GC2", "GC200")
    # 641 MiB of FP16 weights and activations: over a GC2's 228 MiB usable, under a GC200's 673
    assert [r.fits for r in fits] == [False, True]
    assert plans[0].ipus >= 3 and plans[1].ipus == 1            # 641 / 228 > 2
    assert [r.fits for r in cnn_fits] == [True, True] and cnn_plans[0].ipus == 1
    text = table.describe()
    assert "BERT-Large" in text and "one GC200" in text and "fits" in text
    assert json.loads(json.dumps(table.to_dict()))["rows"][0]["fits"]["GC200"]["fits"] is True
    assert "stage 0: conv1 .. fc" in cnn_plans[0].stages[0].describe()


# ---------------------------------------------------------------------------------------
# Errors a student can hit
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: M.fit(M.resnet50(), precision="bf16"), "unknown precision 'bf16'.*'fp32'"),
    (lambda: M.fit(M.resnet50(), training=True, optimizer="lamb"), "unknown optimizer 'lamb'"),
    (lambda: M.fit(M.resnet50(), micro_batch=0), "micro_batch"),
    (lambda: M.fit(M.resnet50(), reserve=1.0), r"reserve.*\[0, 1\)"),
    (lambda: M.fit(M.resnet50(), recompute=True), "only applies to training"),
    (lambda: M.pipeline(M.lstm_medium(), ipus=9), "only 5 layers"),
    (lambda: M.pipeline(M.lstm_medium(), efficiency=0), "efficiency"),
    (lambda: M.pipeline(M.lstm_medium(), micro_batches=0), "micro_batches"),
    (lambda: M.bert(seq=1024), "only 512 position"),
    (lambda: M.bert(hidden=100, heads=12), "not a multiple of 12 heads"),
    (lambda: M.resnet(image=16), "too small"),
    (lambda: L.conv2d("c", 6, 8, 3, 8, groups=4), "4 groups must divide"),
])
def test_bad_input_is_refused_with_a_clear_message(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors_name_what_is_expected():
    with pytest.raises(TypeError, match="Model"):
        M.fit("bert")
    with pytest.raises(TypeError, match="IPUSpec"):
        M.fit(M.resnet50(), "GC2")
    with pytest.raises(ValueError, match="two layers are named 'a'"):
        M.Model("m", [M.Layer("a", "x"), M.Layer("a", "x")], sample="s")
    with pytest.raises(ValueError, match="tied to 'nowhere'"):
        M.Model("m", [M.Layer("a", "x", tied_to="nowhere", tied_params=3)], sample="s")
    with pytest.raises(KeyError, match="no layer 'encoder.99"):
        M.bert_base().layer("encoder.99.ffn.in")


# ---------------------------------------------------------------------------------------
# Figures (drawn off-screen)
# ---------------------------------------------------------------------------------------


def _axes():
    from matplotlib.figure import Figure
    return Figure().subplots()


def test_plot_memory_draws_stacked_bars_and_capacity_lines():
    from ipukit.models import plot
    models = [M.resnet50(), M.gpt2_xl()]
    ax = plot.plot_memory(models, training=True, precision="mixed", ax=_axes())
    # 5 kinds (weights, gradients, master, optimiser, activations) x 2 models
    assert len(ax.patches) == 10
    lines = sorted(line.get_ydata()[0] for line in ax.get_lines())
    assert lines[1] == pytest.approx(304) and lines[3] == pytest.approx(1472 * 624 / 1024)
    totals = [M.fit(m, training=True, precision="mixed").memory.total / 2**20 for m in models]
    tops = {}
    for bar in ax.patches:
        tops[bar.get_x()] = max(tops.get(bar.get_x(), 0), bar.get_y() + bar.get_height())
    assert sorted(tops.values()) == pytest.approx(sorted(totals))
    assert ax.get_yscale() == "log"                            # 0.4 GiB vs 28 GiB
    assert plot.plot_memory(M.resnet50(), ax=_axes(), log=False).get_yscale() == "linear"


def test_plot_stages_draws_one_box_per_ipu():
    from ipukit.models import plot
    plan = M.pipeline(M.bert_large(), ipukit.GC200, training=True, precision="mixed")
    ax = plot.plot_stages(plan, ax=_axes())
    outlines = [p for p in ax.patches if not p.get_fill()]
    assert len(outlines) == plan.ipus
    assert any(f"IPU {plan.ipus - 1}" == t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="no stages to draw"):
        plot.plot_stages(M.pipeline(M.gpt2_xl(), training=True, precision="mixed"), ax=_axes())
