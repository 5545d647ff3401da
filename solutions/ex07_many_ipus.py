"""Notebook 07, many IPUs: solutions.

A model too big for one IPU is cut into pipeline stages, one per IPU; a model
that fits is copied onto several IPUs (replicas) to train on more data at once.
Both send data over the IPU-Links, which are far slower than the exchange on a
chip.  These four exercises price a pipeline, cut a model into stages, predict what
a gradient all-reduce sends over the links, and choose the training levers
that fit BERT-Large on four IPUs.
"""
import math


def pipeline_timing(stage_seconds, micro_batches, micro_batch_size=1):
    """Exercise 07.1: the bubble and throughput of a pipeline.

    ``stage_seconds[s]`` is how long stage s (one IPU) takes for one micro-batch.
    ``micro_batches`` micro-batches of ``micro_batch_size`` samples flow through
    the S stages: in step t, stage s works on micro-batch t - s, and every step
    lasts as long as the slowest stage.  Return ``(bubble, batch_seconds,
    samples_per_second)``: the fraction of stage-steps spent idle while the
    pipeline fills and drains, the time for the whole batch, and the throughput.
    Raise ValueError if there is no stage or no micro-batch.
    """
    stages = len(stage_seconds)
    if stages < 1 or micro_batches < 1:
        raise ValueError(f"a pipeline needs at least one stage and one micro-batch, got {stages} stages and "
                         f"{micro_batches} micro-batches")
    steps = micro_batches + stages - 1                 # fill, steady state, drain
    bubble = (stages - 1) / steps                      # idle stage-steps / all stage-steps
    batch_seconds = steps * max(stage_seconds)         # the slowest stage sets every step
    return bubble, batch_seconds, micro_batches * micro_batch_size / batch_seconds


def split_stages(costs, memory, stages, cap):
    """Exercise 07.2: cut layers into balanced stages under a memory cap.

    Layer i takes ``costs[i]`` time and ``memory[i]`` bytes.  Cut the layers, in
    order, into exactly ``stages`` non-empty runs of consecutive layers such that
    every run's memory (the sum over its layers) is at most ``cap``, and the
    slowest run (the largest sum of costs) is as fast as possible.  Return the
    cut points ``[0, b1, ..., n]``: stage k holds layers ``bounds[k]:bounds[k+1]``.
    Raise ValueError if no such split exists.
    """
    n = len(costs)
    if not 1 <= stages <= n:
        raise ValueError(f"cannot cut {n} layers into {stages} non-empty stages")
    cost_sum = [0] * (n + 1)
    mem_sum = [0] * (n + 1)
    for i in range(n):                                 # prefix sums: any run's total in O(1)
        cost_sum[i + 1] = cost_sum[i] + costs[i]
        mem_sum[i + 1] = mem_sum[i] + memory[i]
    # best[j]: the slowest stage of the best split of layers j..n-1 into k stages
    best = [math.inf] * n + [0]
    ends = []                                          # ends[k-1][j]: where the first of k stages ends
    for _ in range(1, stages + 1):
        new, end_at = [math.inf] * (n + 1), [None] * (n + 1)
        for j in range(n):
            for end in range(j + 1, n + 1):
                if mem_sum[end] - mem_sum[j] > cap:
                    break                              # longer runs only need more memory
                slowest = max(cost_sum[end] - cost_sum[j], best[end])
                if slowest < new[j]:
                    new[j], end_at[j] = slowest, end
        best = new
        ends.append(end_at)
    if best[0] == math.inf:
        raise ValueError(f"no split of {n} layers into {stages} stages keeps every stage under {cap} bytes")
    bounds = [0]
    for end_at in reversed(ends):                      # follow the choices from the first stage
        bounds.append(end_at[bounds[-1]])
    return bounds


def ring_all_reduce_cost(spec, n, tiles):
    """Exercise 07.3: what a ring all-reduce costs on the IPU-Links.

    There are R = ``spec.num_ipus`` replicas, one per IPU; each holds ``n``
    float32 values (its gradient) spread evenly over ``tiles`` tiles of its IPU
    (``n`` is a multiple of R * tiles).  ``collectives.all_reduce(g, parts,
    method="ring")`` leaves the sum on every replica.  Return ``(link_bytes,
    exchange_cycles)``: the bytes sent over IPU-Links in the whole all-reduce (all
    IPUs together), and the cycles of its exchange phases, summed over its steps.
    """
    r = spec.num_ipus
    if r == 1:
        return 0, 0                                    # nothing to share
    steps = 2 * (r - 1)                                # reduce-scatter, then all-gather
    ipu_bytes = n // r * 4                             # one chunk leaves (and enters) each IPU per step
    tile_bytes = ipu_bytes // tiles                    # ... a slice of it from each tile
    tile_cycles = math.ceil(tile_bytes / spec.exchange_bytes_per_cycle)
    link_cycles = math.ceil(ipu_bytes / spec.ipu_link_bytes_per_cycle)
    return steps * r * ipu_bytes, steps * max(tile_cycles, link_cycles)


def four_ipu_setup():
    """Exercise 07.4: a set-up that trains BERT-Large on 4 GC200s.

    Return a dict of options for ``ipukit.models.pipeline`` with which
    ``models.pipeline(models.bert_large(pretraining_heads=True, predictions=20),
    ipukit.GC200, **options)`` is feasible on at most 4 IPUs. Keep Graphcore's
    training run: ``training=True, precision="mixed", optimizer="adam",
    micro_batch=24``, at most 16 replicas (an IPU-POD64 of 4-IPU pipelines), and
    no matmul share below Graphcore's smallest, 0.1. Choose among the training
    levers: ``recompute``, ``offload_optimizer``, ``replicas`` with ``sharded``,
    ``half_momentum``, ``half_partials``, ``matmul_proportion``, and where the
    masked-LM head runs (``head="first"`` or ``"last"``). The reserve and the
    always-live share stay ipukit's.

    A few lines. Section 4b of the notebook frees the bytes lever by lever; which
    levers are needed, and which only help?
    """
    return dict(training=True, precision="mixed", optimizer="adam", micro_batch=24,
                recompute="layer",                    # keep each layer's input, recompute the rest
                offload_optimizer=True,               # Adam state and FP32 master weights off chip
                replicas=16, sharded=True,            # each replica keeps 1/16 of them
                head="first")                         # the masked-LM head beside its tied embedding
