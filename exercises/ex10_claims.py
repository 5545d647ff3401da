"""Notebook 10, checking the claims: exercises.

A published speed-up is a measurement of two machines under assumptions.
These three exercises turn a profile and a lock-step price into a verdict,
find where a speed-up falls below a threshold with as few experiments as
possible, and price the assumptions a claim rests on.

Work on a function, then check it from the notebook with ``ipukit.check("ex10_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex10``).
"""
import numpy as np


def decide_speedup(profile, lockstep, claimed):
    """Exercise 10.1: decide a claimed speed-up from a profile.

    ``profile`` is the IPU's run (an ``engine.profile``); ``lockstep`` is the
    same work priced on a lock-step machine with the same clock (an
    ``ipukit.simd.SIMDCost``); ``claimed`` is the speed-up claimed for the IPU.
    Return ``(factor, bound, verdict)``:

    - ``factor``: the lock-step machine's cycles divided by the IPU's total cycles;
    - ``bound``: ``"memory"`` if the lock-step machine's memory cycles, summed
      over all its kernel runs, exceed its compute cycles summed the same way,
      else ``"compute"``: what holds the lock-step machine back;
    - ``verdict``: ``"reproduced"`` if ``factor >= claimed``; else
      ``"mechanism"`` if ``factor > 1`` (the IPU wins, but by less); else
      ``"unsettled"`` (the experiment does not even show the claimed direction).

    About 4 lines.  Useful: ``profile.total_cycles``, ``lockstep.cycles``,
    ``lockstep.total("memory_cycles")``, ``lockstep.total("compute_cycles")``.
    """
    raise NotImplementedError("Exercise 10.1: return (factor, bound, verdict) for a claimed speed-up")


def batch_below(factor_at, threshold=10.0, max_batch=64):
    """Exercise 10.2: the smallest batch at which a speed-up falls below a threshold.

    ``factor_at(batch)`` runs an experiment (slowly: each call builds and runs a
    program on the emulator) and returns the IPU's speed-up at that batch size.
    The speed-up never grows with the batch.  Return the smallest batch in
    ``1 .. max_batch`` for which ``factor_at(batch) < threshold``, or None if
    even ``max_batch`` stays at or above it.

    Budget: at most ``ceil(log2(max_batch)) + 2`` calls of ``factor_at``, so
    trying every batch in turn is too slow; halve the range instead.

    About 10 lines.  Keep two batches ``lo`` and ``hi`` with the answer in
    ``lo + 1 .. hi`` and ``factor_at(hi) < threshold``; test the middle.
    """
    raise NotImplementedError("Exercise 10.2: return the smallest batch whose speed-up is below the threshold")


def price_assumptions(ipu_seconds, hidden, batch, device, claimed, inputs=None, dtype="float16"):
    """Exercise 10.3: price the assumptions behind a claimed LSTM speed-up.

    ``ipu_seconds`` is one LSTM step on the IPU.  ``device`` is a GPU, given as a
    dict with ``"peak"`` (FLOP/s in ``dtype``), ``"bandwidth"`` (bytes/s of its
    memory) and ``"onchip"`` (bytes of on-chip memory: registers and caches).
    ``inputs`` (the width of x) defaults to ``hidden``.  One step on the GPU is
    two kernels, each lasting ``max(FLOPs / peak, bytes / bandwidth)`` (the
    roofline: the GPU's best case), with ``b = itemsize of dtype`` bytes a value:

    - gates, ``[x h] @ W + bias``: ``2 * batch * 4*hidden * (inputs + hidden)``
      FLOPs; it reads the weights, ``(inputs + hidden) * 4*hidden + 4*hidden``
      values, and ``batch * (inputs + hidden)`` values of [x h], and writes
      ``batch * 4*hidden`` gate values;
    - state update: ``9 * batch * hidden`` FLOPs; it reads the gates and c and
      writes h and c: ``batch * 4*hidden + 4 * batch * hidden`` values.

    Return a dict:

    - ``"from_memory"``: the GPU's step over ``ipu_seconds``, reading the weights
      from memory every step (the claim's assumption);
    - ``"resident"``: the same ratio when the weights stay on the GPU's chip (the
      gates kernel does not read them), or None if the weights' bytes exceed
      ``device["onchip"]``;
    - ``"overhead_needed"``: the seconds per step the GPU would have to lose on
      top of its roofline step (launches, a framework) for the claimed factor to
      hold: ``claimed * ipu_seconds`` minus its step from memory, or 0.0 if
      that is negative.

    About 15 lines.  Useful: ``np.dtype(dtype).itemsize``, ``max``; write the
    step time once as a helper and call it twice.  Work it out from these
    rules: the grader blocks ``ipukit.claims.gpu_step_seconds``.
    """
    raise NotImplementedError("Exercise 10.3: return the factors with weights from memory and resident, "
                              "and the overhead the claim needs")
