"""The training levers Graphcore uses (issue 11): each lowers the bytes it should, by an amount
computed here by hand; Graphcore's published BERT-Large set-up needs 4 GC200s, split [3, 7, 7, 7]."""
import math

import pytest

import ipukit
from ipukit import models as M

BERT_LARGE_P = 335_141_888          # HuggingFace BertModel("bert-large-uncased").num_parameters()
GC200_SRAM = 1472 * 624 * 1024      # bytes


def _mixed_adam(**levers):
    return M.fit(M.bert_large(), ipukit.GC200, training=True, precision="mixed", optimizer="adam",
                 micro_batch=2, **levers)


def test_published_bert_large_set_up_needs_four_gc200s_split_3_7_7_7():
    # Optimum Graphcore "Graphcore/bert-large-uncased" ipu_config.json: ipus_per_replica 4,
    # layers_per_ipu [3, 7, 7, 7]
    model = M.bert_large(pretraining_heads=True, predictions=20)
    plan = M.pipeline(model, ipukit.GC200, **M.GRAPHCORE_BERT_LARGE)
    assert plan.feasible and plan.ipus == 4
    assert sum(plan.layers_per_ipu) == 24                    # the embedding is not a layer
    assert all(abs(a - b) <= 1 for a, b in zip(plan.layers_per_ipu, [3, 7, 7, 7]))
    assert plan.stages[0].first == "embeddings"
    assert all(s.memory.total <= s.usable_bytes for s in plan.stages)


def test_everything_on_chip_needs_more_than_four_ipus():
    model = M.bert_large(pretraining_heads=True, predictions=20)
    options = dict(M.GRAPHCORE_BERT_LARGE)
    for lever in ("offload_optimizer", "sharded", "half_momentum"):
        options[lever] = False
    options.update(recompute=False, half_partials=False, matmul_proportion=None)
    plan = M.pipeline(model, ipukit.GC200, **options)
    assert not plan.feasible or plan.ipus > 4
    one_sample = M.pipeline(model, ipukit.GC200, **dict(options, micro_batch=1))
    assert one_sample.feasible and one_sample.ipus > 4


def test_offloading_moves_master_weights_and_adam_state_to_streaming_memory():
    on, off = _mixed_adam().memory, _mixed_adam(offload_optimizer=True).memory
    # FP32 master copy (4 B) + Adam's m and v (2 x 4 B) per parameter
    assert on.total - off.total == 12 * BERT_LARGE_P
    assert off.streamed == 12 * BERT_LARGE_P and off.master == off.optimizer == 0
    assert on.streamed == 0


def test_sharding_over_replicas_divides_the_state():
    sharded = _mixed_adam(replicas=16, sharded=True).memory
    assert sharded.master == math.ceil(4 * BERT_LARGE_P / 16)
    assert sharded.optimizer == math.ceil(8 * BERT_LARGE_P / 16)
    both = _mixed_adam(replicas=16, sharded=True, offload_optimizer=True).memory
    assert both.streamed == math.ceil(4 * BERT_LARGE_P / 16) + math.ceil(8 * BERT_LARGE_P / 16)


def test_half_first_moment_saves_two_bytes_per_parameter():
    full, half = _mixed_adam().memory, _mixed_adam(half_momentum=True).memory
    assert full.optimizer - half.optimizer == 2 * BERT_LARGE_P
    momentum = M.fit(M.bert_large(), training=True, precision="fp32", optimizer="momentum",
                     half_momentum=True).memory
    assert momentum.optimizer == 2 * BERT_LARGE_P


def test_half_partials_halve_the_largest_matmul_partials():
    fp32, fp16 = _mixed_adam(half_partials=False).memory, _mixed_adam(half_partials=True).memory
    # BERT-Large's largest matmul output: ffn.in, 128 tokens x 4096; FP32 partials take 2 B per
    # element beyond the FP16 output, for each of the 2 samples of the micro-batch
    assert fp32.partials == 2 * 2 * 128 * 4096
    assert fp16.partials == 0
    assert fp32.total - fp16.total == 2 * 2 * 128 * 4096


def test_matmul_proportion_sets_the_reserve():
    for share in (0.1, 0.15, 0.3):
        report = _mixed_adam(matmul_proportion=share)
        assert report.usable_bytes == int(GC200_SRAM * (1 - M.ALWAYS_LIVE_FRACTION - share))
    assert M.ALWAYS_LIVE_FRACTION + M.DEFAULT_MATMUL_PROPORTION == pytest.approx(M.RESERVED_FRACTION)
    with pytest.raises(ValueError, match="one per IPU"):
        M.pipeline(M.bert_large(), training=True, matmul_proportion=(0.1, 0.2), ipus=3)


def _blocks_model():
    # two blocks "b.0", "b.1" of two layers each, then a head; elements per sample
    spec = [("stem", 10, 5, 3), ("b.0.x", 20, 7, 11), ("b.0.y", 30, 13, 17),
            ("b.1.x", 40, 19, 23), ("b.1.y", 50, 29, 31), ("head", 60, 37, 41)]
    return M.Model("blocks", [M.Layer(name, "linear", params=100, stored=st, live=lv, inputs=inp,
                                      flops=1, output=0)
                              for name, st, inp, lv in spec], sample="one toy")


def test_checkpoint_every_layer_keeps_block_inputs_and_one_block():
    model = _blocks_model()
    mb = 3
    whole = M.fit(model, training=True, precision="fp32", optimizer="sgd", micro_batch=mb,
                  recompute=False).memory
    stage = M.fit(model, training=True, precision="fp32", optimizer="sgd", micro_batch=mb,
                  recompute=True).memory
    layer = M.fit(model, training=True, precision="fp32", optimizer="sgd", micro_batch=mb,
                  recompute="layer").memory
    live = 41
    assert whole.activations == 4 * mb * (10 + 20 + 30 + 40 + 50 + 60 + live)
    assert stage.activations == 4 * mb * (5 + (10 + 20 + 30 + 40 + 50 + 60) + live)
    # checkpoints: the inputs of stem, b.0, b.1, head; recompute one block at a time: b.1 (90)
    assert layer.activations == 4 * mb * ((5 + 7 + 19 + 37) + 90 + live)
    plan = M.pipeline(model, ipukit.GC2.replace(tiles=1), ipus=2, training=True, precision="fp32",
                      optimizer="sgd", recompute="layer")
    assert all(s.start in (0, 1, 3, 5) for s in plan.stages)     # cuts only between blocks
    assert sum(plan.layers_per_ipu) == 2


def test_levers_refuse_what_does_not_apply():
    for options, message in ((dict(offload_optimizer=True), "only applies to training"),
                             (dict(training=True, sharded=True), "replicas >= 2"),
                             (dict(training=True, optimizer="sgd", half_momentum=True), "first moment"),
                             (dict(precision="fp32", half_partials=True), "FP16 arithmetic"),
                             (dict(matmul_proportion=1.5), "matmul_proportion"),
                             (dict(training=True, recompute="every"), "recompute")):
        with pytest.raises(ValueError, match=message):
            M.Setup(**options)
