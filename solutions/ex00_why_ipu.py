"""Notebook 00, why a new processor: solutions.

A processor runs a kernel no faster than its arithmetic allows, nor faster than
its memory can feed it.  These two exercises turn that into decisions: how big
a batch a layer needs before a chip's arithmetic, not its memory, is the limit,
and where a kernel's data should live when the fastest memory is too small.
"""
import numpy as np


def smallest_batch(peak_flops, bandwidth, k, n, fraction, dtype="float32"):
    """Exercise 00.1: the smallest batch at which a layer reaches a share of the peak.

    A layer multiplies an ``(m, k)`` batch by a ``(k, n)`` weight matrix (its
    output ``(m, n)``), all of type ``dtype``, reading the two inputs once and
    writing the output once.  Return the smallest batch ``m >= 1`` whose
    roofline bound ``min(peak, intensity x bandwidth)`` is at least ``fraction``
    of ``peak_flops``; ValueError if no batch does.
    """
    size = np.dtype(dtype).itemsize
    need = fraction * peak_flops / bandwidth                # the intensity that reaches the share (FLOP/B)

    def intensity(m):                                       # 2mkn FLOPs over (mk + kn + mn) numbers
        return 2 * m * k * n / (size * (m * k + k * n + m * n))

    if fraction > 1 or need >= 2 * k * n / (size * (k + n)):    # the intensity's limit as m grows
        raise ValueError(f"smallest_batch: a ({k} x {n}) layer in {np.dtype(dtype).name} never reaches "
                         f"{fraction:.0%} of the peak on this chip, whatever the batch")
    r = need * size / 2                                     # m k n >= r (m k + k n + m n), solved for m
    m = max(1, int(r * k * n / (k * n - r * (k + n))) - 2)
    while intensity(m) < need:
        m += 1
    while m > 1 and intensity(m - 1) >= need:
        m -= 1
    return m


def best_source(flops, nbytes, peak_flops, sources):
    """Exercise 00.2: where a kernel's data should live.

    ``sources`` maps a name to ``(bandwidth bytes/s, capacity bytes)``.  The
    kernel does ``flops`` FLOPs on ``nbytes`` bytes; from a source it takes
    ``max(flops / peak_flops, nbytes / bandwidth)`` seconds, if the source holds
    all ``nbytes``.  Return ``(name, seconds)`` of the fastest source that holds
    the data (the first of equals); ValueError if none does.
    """
    best = None
    for name, (bandwidth, capacity) in sources.items():
        if nbytes <= capacity:
            seconds = max(flops / peak_flops, nbytes / bandwidth)
            if best is None or seconds < best[1]:
                best = (name, float(seconds))
    if best is None:
        raise ValueError(f"best_source: {nbytes:,} B fit in none of {', '.join(sources)}: split the data "
                         "or add a larger source")
    return best
