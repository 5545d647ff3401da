"""Notebook 00, why a new processor: exercises.

A processor runs a kernel no faster than its arithmetic allows, nor faster than
its memory can feed it.  These two exercises turn that into decisions: how big
a batch a layer needs before a chip's arithmetic, not its memory, is the limit,
and where a kernel's data should live when the fastest memory is too small.

Work on a function, then check it from the notebook with ``ipukit.check("ex00_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex00``).
"""
import numpy as np


def smallest_batch(peak_flops, bandwidth, k, n, fraction, dtype="float32"):
    """Exercise 00.1: the smallest batch at which a layer reaches a share of the peak.

    A layer multiplies an ``(m, k)`` batch by a ``(k, n)`` weight matrix (its
    output ``(m, n)``), all of type ``dtype``, reading the two inputs once and
    writing the output once: ``2 m k n`` FLOPs.  On a chip of ``peak_flops``
    FLOP/s fed at ``bandwidth`` bytes/s it runs at most at ``min(peak, intensity
    x bandwidth)`` (the roofline).  Return the smallest batch ``m >= 1`` for
    which that is at least ``fraction`` of ``peak_flops``; raise ValueError if
    no batch reaches it (the intensity stops growing: what is its limit?).

    About 10 lines.  Useful: ``np.dtype(dtype).itemsize``.  Check: on a V100
    (15.7e12 FLOP/s, 900e9 B/s) a (1024 x 1024) float32 layer needs a batch of
    19 rows for half the peak; fed from a GC2's SRAM (31.1e12, 31.1e12 B/s), 2.
    """
    raise NotImplementedError("Exercise 00.1: return the smallest batch m that reaches the share of the peak")


def best_source(flops, nbytes, peak_flops, sources):
    """Exercise 00.2: where a kernel's data should live.

    ``sources`` maps a name (``"SRAM"``, ``"host"``, ...) to ``(bandwidth in
    bytes/s, capacity in bytes)``.  A kernel does ``flops`` FLOPs on ``nbytes``
    bytes; fed from a source it takes ``max(flops / peak_flops, nbytes /
    bandwidth)`` seconds (the slower of its arithmetic and its memory), but only
    a source whose capacity holds all ``nbytes`` can feed it.  Return ``(name,
    seconds)`` of the fastest such source (the first listed of equal ones); raise
    ValueError if no source holds the data.

    About 8 lines.  Check: 220 MB of BERT-Base weights fit in a GC2's 304 MiB of
    SRAM; BERT-Large's 680 MB do not, and must come from elsewhere.
    """
    raise NotImplementedError("Exercise 00.2: return (name, seconds) of the fastest source that holds the data")
