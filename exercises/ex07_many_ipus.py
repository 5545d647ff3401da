"""Notebook 07, many IPUs: exercises.

A model too big for one IPU is cut into pipeline stages, one per IPU; a model
that fits is copied onto several IPUs (replicas) to train on more data at once.
Both send data over the IPU-Links, which are far slower than the exchange on a
chip.  These four exercises price a pipeline, cut a model into stages, predict what
a gradient all-reduce sends over the links, and choose the training levers
that fit BERT-Large on four IPUs.

Work on a function, then check it from the notebook with ``ipukit.check("ex07_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex07``).
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

    About 6 lines.  Count the steps first (the first micro-batch needs S steps to
    reach the end; each further one adds a step).  Useful: ``len``, ``max``;
    ``ipukit.parallel.bubble_fraction(profile)`` measures the bubble of a real run.
    """
    raise NotImplementedError("Exercise 07.1: return (bubble, batch_seconds, samples_per_second) of a pipeline")


def split_stages(costs, memory, stages, cap):
    """Exercise 07.2: cut layers into balanced stages under a memory cap.

    Layer i takes ``costs[i]`` time and ``memory[i]`` bytes.  Cut the layers, in
    order, into exactly ``stages`` non-empty runs of consecutive layers such that
    every run's memory (the sum over its layers) is at most ``cap``, and the
    slowest run (the largest sum of costs) is as fast as possible.  Return the
    cut points ``[0, b1, ..., n]``: stage k holds layers ``bounds[k]:bounds[k+1]``.
    Raise ValueError if no such split exists.

    About 20 lines.  Trying every set of cut points is correct but grows as
    n^(stages-1); a dynamic programme is fast: the best split of layers j..n-1
    into k stages is a first stage j..e-1 followed by the best split of e..n-1
    into k-1 stages, for the best e.  Prefix sums give any run's total at once.
    (``ipukit.models.pipeline`` does this search for real models.)
    """
    raise NotImplementedError("Exercise 07.2: return the cut points of the fastest split that fits the cap")


def ring_all_reduce_cost(spec, n, tiles):
    """Exercise 07.3: what a ring all-reduce costs on the IPU-Links.

    There are R = ``spec.num_ipus`` replicas, one per IPU; each holds ``n``
    float32 values (its gradient) spread evenly over ``tiles`` tiles of its IPU
    (``n`` is a multiple of R * tiles).  ``collectives.all_reduce(g, parts,
    method="ring")`` leaves the sum on every replica.  Return ``(link_bytes,
    exchange_cycles)``: the bytes sent over IPU-Links in the whole all-reduce (all
    IPUs together), and the cycles of its exchange phases, summed over its steps.

    About 8 lines.  The ring cuts each gradient into R chunks and runs 2(R-1)
    steps; in each, one chunk leaves every IPU, a slice from each of its tiles.
    A step's exchange lasts as long as its busiest tile (``spec.exchange_bytes_per_cycle``)
    or its busiest IPU-Link (``spec.ipu_link_bytes_per_cycle``), whichever is
    longer; round cycles up with ``math.ceil``.
    """
    raise NotImplementedError("Exercise 07.3: return (link_bytes, exchange_cycles) of a ring all-reduce")


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
    raise NotImplementedError("Exercise 07.4: return the options of a set-up that trains BERT-Large on 4 GC200s")
