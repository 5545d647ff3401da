"""Notebook 07, many IPUs: solutions.

A model too big for one IPU is cut into pipeline stages, one per IPU; a model
that fits is copied onto several IPUs (replicas) to train on more data at once.
Both send data over the IPU-Links, which are far slower than the exchange on a
chip.  These three exercises price a pipeline, cut a model into stages, and
predict what a gradient all-reduce sends over the links.
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
