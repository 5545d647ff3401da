"""Notebook 07, many IPUs: exercises.

A model too big for one IPU is cut into pipeline stages, one per IPU; a model
that fits is copied onto several IPUs (replicas) to train on more data at once.
Both send data over the IPU-Links, which are far slower than the exchange on a
chip.  These three exercises price a pipeline, cut a model into stages, and
predict what a gradient all-reduce sends over the links.

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
