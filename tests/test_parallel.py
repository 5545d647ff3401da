"""Many IPUs: replicas and pipelines against NumPy, link traffic and the bubble against formulas.

Formulas written here from the algorithms:

* a ring all-reduce of N float32 gradients over R IPUs sends, in each of its 2(R-1)
  supersteps, N/R elements out of every IPU: 2(R-1) * N * 4 bytes over the links;
* a pipeline of S stages and M micro-batches of m samples runs M + S - 1 supersteps;
  stage s works in step t iff 0 <= t - s < M, and hands m * widths[s+1] activations
  to the next IPU when it is not the last stage; the bubble is (S-1)/(M+S-1).
"""
import math

import numpy as np
import pytest

import ipukit
from ipukit import Engine
from ipukit import parallel as P
from ipukit.errors import HostTransferError, MappingError

F32 = 4


def sgd_step_numpy(x, target, w, lr):
    """One full-batch step on L = sum((x @ w - target)**2) / (2 * batch), in float64."""
    x, target, w = (a.astype(np.float64) for a in (x, target, w))
    return w - lr * x.T @ (x @ w - target) / len(x)


def forward_numpy(x, weights, relu=True):
    h = x.astype(np.float64)
    for s, w in enumerate(weights):
        h = h @ w
        if relu and s < len(weights) - 1:
            h = np.maximum(h, 0)
    return h


def build_replicas(rng, replicas, tiles=16, d_in=32, d_out=8, batch=16, lr=0.1, method="ring", backend=None):
    spec = ipukit.GC2.replace(tiles=tiles, num_ipus=replicas)
    g = ipukit.Graph(spec)
    rep = P.replicate(g, d_in, d_out, batch, lr, method=method)
    eng = Engine(g, rep.program, backend=backend)
    x = rng.standard_normal((batch, d_in)).astype(np.float32)
    target = rng.standard_normal((batch, d_out)).astype(np.float32)
    w = rng.standard_normal((d_in, d_out)).astype(np.float32)
    rep.write(eng, x, target, w)
    eng.run()
    return rep, eng, (x, target, w)


def build_pipeline(rng, widths, micro_batches, m=4, tiles=8, backend=None):
    stages = len(widths) - 1
    g = ipukit.Graph(ipukit.GC2.replace(tiles=tiles, num_ipus=stages))
    pl = P.pipeline(g, widths, micro_batches, m)
    eng = Engine(g, pl.program, backend=backend)
    x = rng.standard_normal((micro_batches * m, widths[0])).astype(np.float32)
    weights = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(widths, widths[1:])]
    pl.write(eng, x, weights)
    eng.run()
    return pl, eng, (x, weights)


# --- replicas ----------------------------------------------------------------------
@pytest.mark.parametrize("replicas", [2, 4])
def test_replicated_step_equals_the_full_batch_gradient_step(backend, rng, replicas):
    rep, eng, (x, target, w) = build_replicas(rng, replicas, backend=backend)
    new = rep.read_weights(eng)
    for r in range(replicas):           # every replica applied the same update
        np.testing.assert_array_equal(new[r], new[0])
    np.testing.assert_allclose(new[0], sgd_step_numpy(x, target, w, 0.1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rep.read_output(eng), x.astype(np.float64) @ w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["tree", "gather"])
def test_every_all_reduce_method_gives_the_same_step(rng, method):
    rep, eng, (x, target, w) = build_replicas(rng, 3, tiles=8, d_in=12, d_out=5, batch=9, method=method)
    np.testing.assert_allclose(rep.read_weights(eng)[2], sgd_step_numpy(x, target, w, 0.1), rtol=1e-5, atol=1e-5)


def test_one_replica_is_plain_sgd_without_links(rng):
    rep, eng, (x, target, w) = build_replicas(rng, 1, tiles=8, d_in=10, d_out=3, batch=6)
    np.testing.assert_allclose(rep.read_weights(eng)[0], sgd_step_numpy(x, target, w, 0.1), rtol=1e-5, atol=1e-5)
    assert eng.profile.link_bytes == 0


@pytest.mark.parametrize("replicas", [2, 4])
def test_ring_all_reduce_of_the_gradients_over_the_links(rng, replicas):
    tiles, d_in, d_out = 16, 32, 8
    rep, eng, _ = build_replicas(rng, replicas, tiles=tiles, d_in=d_in, d_out=d_out)
    prof, spec = eng.profile, eng.graph.spec
    n = d_in * d_out
    assert prof.num_supersteps == 5 + 2 * (replicas - 1)       # forward 2, gradient 2, update 1
    assert prof.link_bytes == 2 * (replicas - 1) * n * F32
    links = P.link_bytes_per_step(prof)
    assert np.count_nonzero(links) == 2 * (replicas - 1)     # only the all-reduce crosses chips
    ring = [prof.steps[i] for i, b in zip(prof.trace, links) if b]
    per_ipu = n // replicas * F32                            # out of every IPU, each step
    per_tile = per_ipu // tiles                              # each tile holds 2 rows of the gradient
    for record in ring:
        assert sum(p.link_bytes for p in record.phases) == replicas * per_ipu
        link_cycles = math.ceil(per_ipu / spec.ipu_link_bytes_per_cycle)
        assert record.cycles("exchange") == max(link_cycles, per_tile // spec.exchange_bytes_per_cycle)
        assert spec.global_sync_cycles in [p.cycles for p in record.phases if p.kind == "sync"]


def test_replicas_own_their_ipus(rng):
    rep, eng, _ = build_replicas(rng, 2, tiles=8, d_in=16, d_out=4, batch=4)
    for r in range(2):
        for t in (rep.x[r], rep.weights[r], rep.output[r], rep.grads[r], rep.summed[r]):
            assert set(np.unique(eng.graph.element_tiles(t) // 8).tolist()) == {r}


# --- pipeline ------------------------------------------------------------------------
@pytest.mark.parametrize("widths, micro_batches", [((16, 32, 24, 8), 6), ((8, 8), 3), ((5, 12, 3), 4)])
def test_pipeline_outputs_equal_the_layers_in_sequence(backend, rng, widths, micro_batches):
    pl, eng, (x, weights) = build_pipeline(rng, widths, micro_batches, backend=backend)
    np.testing.assert_allclose(pl.read_outputs(eng), forward_numpy(x, weights), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stages, micro_batches", [(2, 1), (2, 4), (3, 6), (4, 4), (4, 12)])
def test_bubble_from_the_profile_matches_the_formula(rng, stages, micro_batches):
    widths = (8,) * (stages + 1)
    _, eng, _ = build_pipeline(rng, widths, micro_batches, m=2, tiles=4)
    assert eng.profile.num_supersteps == micro_batches + stages - 1
    assert P.bubble_fraction(eng.profile) == pytest.approx((stages - 1) / (micro_batches + stages - 1))


def test_each_stage_computes_exactly_when_its_micro_batch_is_there(rng):
    widths, mbs, m = (16, 32, 24, 8), 5, 4
    pl, eng, _ = build_pipeline(rng, widths, mbs, m=m)
    busy = P.ipu_compute_cycles(eng.profile)
    stages = len(widths) - 1
    assert busy.shape == (mbs + stages - 1, stages)
    for t in range(busy.shape[0]):
        for s in range(stages):
            working = 0 <= t - s < mbs
            assert (busy[t, s] > 0) == working
            assert pl.schedule[t][s] == (t - s if working else None)
    for s in range(stages):             # a stage does the same work for every micro-batch
        assert len(set(busy[busy[:, s] > 0, s].tolist())) == 1


def test_activations_cross_the_links_once_per_micro_batch(rng):
    widths, mbs, m = (16, 32, 24, 8), 5, 4
    _, eng, _ = build_pipeline(rng, widths, mbs, m=m)
    stages = len(widths) - 1
    links = P.link_bytes_per_step(eng.profile)
    for t, sent in enumerate(links):
        handing_on = [s for s in range(stages - 1) if 0 <= t - s < mbs]
        assert sent == sum(m * widths[s + 1] * F32 for s in handing_on)
    assert eng.profile.link_bytes == mbs * m * sum(widths[1:-1]) * F32


# --- errors -------------------------------------------------------------------------
def test_more_replicas_than_ipus():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=2))
    with pytest.raises(MappingError, match=r"4 replicas need 4 IPUs.*has 2.*replace\(num_ipus=4\)"):
        P.replicate(g, 8, 2, 8, replicas=4)


def test_a_batch_that_does_not_split():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=4))
    with pytest.raises(ValueError, match="batch of 10 does not split evenly into 4 replicas.*e.g. 12"):
        P.replicate(g, 8, 2, 10)


def test_bad_sizes_and_method():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=2))
    with pytest.raises(ValueError, match="d_in must be a positive int, got 0"):
        P.replicate(g, 0, 2, 8)
    with pytest.raises(ValueError, match="unknown all-reduce method 'star'"):
        P.replicate(g, 8, 2, 8, method="star")


def test_more_stages_than_ipus():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=2))
    with pytest.raises(MappingError, match=r"3 layers need 3 IPUs.*has 2.*replace\(num_ipus=3\)"):
        P.pipeline(g, (4, 4, 4, 4), 2, 2)
    with pytest.raises(ValueError, match="describe no layer"):
        P.pipeline(g, (4,), 2, 2)
    with pytest.raises(ValueError, match="micro_batches must be a positive int, got 0"):
        P.pipeline(g, (4, 4), 0, 2)


def test_writing_data_of_the_wrong_shape(rng):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4, num_ipus=2))
    rep = P.replicate(g, 8, 2, 4)
    pl = P.pipeline(g, (3, 5, 2), 2, 2)
    eng = Engine(g, [rep.program, pl.program])
    with pytest.raises(HostTransferError, match=r"x must have shape \(4, 8\), got \(4, 7\)"):
        rep.write(eng, np.zeros((4, 7)), np.zeros((4, 2)), np.zeros((8, 2)))
    with pytest.raises(HostTransferError, match="2 stages need 2 weight matrices, got 1"):
        pl.write(eng, np.zeros((4, 3)), [np.zeros((3, 5))])
    with pytest.raises(HostTransferError, match=r"weights\[1\] must have shape \(5, 2\), got \(2, 5\)"):
        pl.write(eng, np.zeros((4, 3)), [np.zeros((3, 5)), np.zeros((2, 5))])
