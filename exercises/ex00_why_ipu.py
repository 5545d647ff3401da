"""Notebook 00, why a new processor: exercises.

A processor runs a kernel no faster than its arithmetic allows, nor faster than
its memory can feed it.  These two exercises put numbers on that: how many
FLOPs a matrix multiply does per byte it moves, and which of the two limits
wins on a given chip (the roofline model).

Work on a function, then check it from the notebook with ``ipukit.check("ex00_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex00``).
"""
import numpy as np


def matmul_intensity(m, k, n, dtype="float32"):
    """Exercise 00.1: the arithmetic intensity of a matrix multiply.

    ``C = A @ B`` with ``A`` of shape ``(m, k)``, ``B`` of shape ``(k, n)`` and
    ``C`` of shape ``(m, n)``, all three of type ``dtype``.  Return its
    arithmetic intensity in FLOP per byte, as a float: the FLOPs it does (each
    element of C takes k multiplies and k adds) divided by the bytes it moves,
    counting A and B read once and C written once.

    About 3 lines.  Useful: ``np.dtype(dtype).itemsize`` (bytes per element:
    4 for float32, 2 for float16).  Check: a square 64 x 64 float32 multiply
    does 64 / 6 = 10.67 FLOP per byte.
    """
    raise NotImplementedError("Exercise 00.1: return the FLOP per byte of an (m, k) x (k, n) matrix multiply")


def roofline(peak_flops, bandwidth, intensity):
    """Exercise 00.2: where a kernel lands on a roofline.

    A chip does at most ``peak_flops`` FLOP/s and its memory delivers at most
    ``bandwidth`` bytes/s.  A kernel of arithmetic intensity ``intensity``
    (FLOP per byte) then runs at no more than ``min(peak, intensity x bandwidth)``
    FLOP/s.  Return ``(attainable, bound)``: that attainable FLOP/s (a float),
    and ``"memory"`` when memory is the limit (``intensity x bandwidth`` below
    the peak) or ``"compute"`` when the peak is (a kernel exactly at the ridge
    point reaches the peak: ``"compute"``).

    About 4 lines.  Useful: ``min``.  Check: a V100 (15.7e12 FLOP/s, 900e9 B/s)
    adding two float32 vectors (1/12 FLOP per byte) gets ``(75e9, "memory")``.
    """
    raise NotImplementedError("Exercise 00.2: return (min(peak, intensity x bandwidth), 'memory' or 'compute')")
