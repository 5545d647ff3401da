"""Pricing a run of consecutive layers: the bytes it needs on one IPU and its FLOPs.

One formula serves the single-IPU fit and the pipeline search, on single segments and on
the matrix of every (first layer, end) pair at once.
"""
from __future__ import annotations

import numpy as np

from .model import Model
from .setup import OPTIMIZERS, MemoryBreakdown, Setup


class SegmentCosts:
    """Prices any run of consecutive layers ``[start, end)`` of a model: bytes and FLOPs.

    Prefix sums make each price O(1); :meth:`matrices` prices every (start, end) at once.
    """

    def __init__(self, model: Model, setup: Setup):
        self.model, self.setup = model, setup
        layers = model.layers
        self.n = n = len(layers)

        def prefix(field):
            return np.concatenate(([0], np.cumsum([getattr(x, field) for x in layers],
                                                   dtype=np.int64)))
        self.P, self.B = prefix("params"), prefix("buffers")
        self.S, self.F = prefix("stored"), prefix("flops")
        self.live = np.array([x.live for x in layers], dtype=np.int64)
        # elements crossing a cut before layer i; nothing crosses after the last layer
        self.inputs = np.array([x.inputs for x in layers] + [0], dtype=np.int64)
        self.tied = [(i, model.index(x.tied_to), x.tied_params)
                     for i, x in enumerate(layers) if x.tied_to is not None]

    # --- one formula for the bytes, used on scalars and on whole matrices ----------------
    def _categories(self, params, buffers, tied, stored, live, first_inputs, in_flight):
        s, f = self.setup, self.setup.formats
        weights = f.weight_bytes * (params + buffers + tied)      # a tied copy is a weight too
        if not s.training:
            return dict(weights=weights, activations=f.activation_bytes * s.micro_batch * live)
        if s.recompute:
            elements = in_flight * first_inputs + stored + live
        else:
            elements = in_flight * stored + live
        return dict(weights=weights,
                    gradients=f.gradient_bytes * (params + tied),
                    master=f.master_bytes * params,
                    optimizer=f.state_bytes * OPTIMIZERS[s.optimizer] * params,
                    activations=f.activation_bytes * s.micro_batch * elements)

    def _tied_outside(self, start, end):
        """Parameters reused from a layer outside [start, end): that stage needs a copy."""
        total = 0
        for t, owner, count in self.tied:
            inside = (start <= t) & (t < end)
            owner_inside = (start <= owner) & (owner < end)
            total = total + count * (inside & ~owner_inside)
        return total

    def breakdown(self, start: int, end: int, in_flight: int = 1) -> MemoryBreakdown:
        if not 0 <= start < end <= self.n:
            raise ValueError(f"model {self.model.name!r}: layers [{start}, {end}) is not a "
                             f"non-empty range of its {self.n} layers")
        parts = self._categories(
            int(self.P[end] - self.P[start]), int(self.B[end] - self.B[start]),
            int(self._tied_outside(start, end)), int(self.S[end] - self.S[start]),
            int(self.live[start:end].max()), int(self.inputs[start]), in_flight)
        return MemoryBreakdown(**{k: int(v) for k, v in parts.items()})

    def flops(self, start: int, end: int) -> int:
        return int(self.F[end] - self.F[start])

    def matrices(self):
        """Arrays indexed [start, end] (shape n x n+1) for every segment; end > start."""
        n = self.n
        J, K = np.meshgrid(np.arange(n), np.arange(n + 1), indexing="ij")
        valid = K > J
        live = np.zeros((n, n + 1), dtype=np.int64)
        for j in range(n):
            live[j, j + 1:] = np.maximum.accumulate(self.live[j:])
        parts = {"params": self.P[K] - self.P[J], "buffers": self.B[K] - self.B[J],
                 "tied": self._tied_outside(J, K) + np.zeros_like(J),
                 "stored": self.S[K] - self.S[J], "live": live,
                 "first_inputs": self.inputs[J]}
        return valid, parts, self.F[K] - self.F[J]

    def memory_matrix(self, parts, in_flight):
        return sum(self._categories(**parts, in_flight=in_flight).values())
