"""Notebook 00, why a new processor: solutions.

A processor runs a kernel no faster than its arithmetic allows, nor faster than
its memory can feed it.  These two exercises put numbers on that: how many
FLOPs a matrix multiply does per byte it moves, and which of the two limits
wins on a given chip (the roofline model).
"""
import numpy as np


def matmul_intensity(m, k, n, dtype="float32"):
    """Exercise 00.1: the arithmetic intensity of a matrix multiply.

    ``C = A @ B`` with ``A`` (m, k), ``B`` (k, n), ``C`` (m, n), all of type
    ``dtype``.  Returns FLOP per byte: 2*m*k*n FLOPs over A and B read once
    and C written once.
    """
    flops = 2 * m * k * n                                   # k multiplies and k adds per element of C
    nbytes = (m * k + k * n + m * n) * np.dtype(dtype).itemsize
    return flops / nbytes


def roofline(peak_flops, bandwidth, intensity):
    """Exercise 00.2: where a kernel lands on a roofline.

    Returns ``(attainable FLOP/s, "memory" or "compute")``: the lower of the
    two roofs, and which one it is (at the ridge point the peak is reached).
    """
    fed = intensity * bandwidth                             # FLOP/s the memory can keep busy
    if fed < peak_flops:
        return float(fed), "memory"
    return float(peak_flops), "compute"
