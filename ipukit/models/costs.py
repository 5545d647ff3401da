"""Pricing a run of consecutive layers: the bytes it needs on one IPU and its FLOPs.

One formula serves the single-IPU fit and the pipeline search, on single segments and on
the matrix of every (first layer, end) pair at once.
"""
from __future__ import annotations

import re

import numpy as np

from .model import Model
from .setup import MemoryBreakdown, Setup

# A repeated block is a run of layers named "<prefix>.<number>." (BERT's "encoder.3.",
# GPT-2's "h.3.", ResNet's "layer2.1."); any other layer is a block of its own.
_BLOCK = re.compile(r"^([A-Za-z_]\w*\.\d+)\.")


def block_key(name: str):
    """The repeated block a layer belongs to ("encoder.3"), or None."""
    match = _BLOCK.match(name)
    return match.group(1) if match else None


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
        # matmul partial sums: the output of layers that multiply (macs > 0)
        self.mm_out = np.array([x.output if x.macs else 0 for x in layers], dtype=np.int64)
        keys = [block_key(x.name) for x in layers]
        self.block_start = np.array([i == 0 or keys[i] is None or keys[i] != keys[i - 1]
                                     for i in range(n)], dtype=bool)
        self.C = np.concatenate(([0], np.cumsum(np.where(self.block_start, self.inputs[:n], 0))))
        self._block_stored = None

    # --- one formula for the bytes, used on scalars and on whole matrices ----------------
    def _categories(self, params, buffers, tied, stored, live, first_inputs, in_flight,
                    mm_out, checkpoints, block_stored):
        s, f = self.setup, self.setup.formats
        weights = f.weight_bytes * (params + buffers + tied)      # a tied copy is a weight too
        partials = s.partials_extra_bytes * s.micro_batch * mm_out
        if not s.training:
            return dict(weights=weights, activations=f.activation_bytes * s.micro_batch * live,
                        partials=partials)
        if s.recompute == "layer":
            # each block's input kept for the micro-batches in flight; one block recomputed
            elements = in_flight * checkpoints + block_stored + live
        elif s.recompute:
            elements = in_flight * first_inputs + stored + live
        else:
            elements = in_flight * stored + live
        master = f.master_bytes * params
        optimizer = s.optimizer_bytes * params
        if s.sharded:                       # replicated tensor sharding: 1/replicas each
            master = -(-master // s.replicas)
            optimizer = -(-optimizer // s.replicas)
        off_chip = master + optimizer if s.offload_optimizer else 0
        if s.offload_optimizer:
            master = optimizer = 0 * master
        return dict(weights=weights,
                    gradients=f.gradient_bytes * (params + tied),
                    master=master, optimizer=optimizer,
                    activations=f.activation_bytes * s.micro_batch * elements,
                    partials=partials, streamed=off_chip)

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
            int(self.live[start:end].max()), int(self.inputs[start]), in_flight,
            int(self.mm_out[start:end].max()), self._checkpoints(start, end),
            int(self.block_stored()[start, end]) if self.setup.recompute == "layer" else 0)
        return MemoryBreakdown(**{k: int(v) for k, v in parts.items()})

    def _checkpoints(self, start, end):
        """Elements kept per micro-batch by checkpointing every block: the input of the
        segment's first layer and of every block that starts inside it."""
        return self.inputs[start] + self.C[end] - self.C[np.minimum(start + 1, end)]

    def block_stored(self):
        """[start, end]: the most stored elements of one block's part inside [start, end)
        (what recomputing one block at a time holds)."""
        if self._block_stored is None:
            n, stored = self.n, np.diff(self.S)
            out = np.zeros((n, n + 1), dtype=np.int64)
            for j in range(n):
                piece = best = 0
                for k in range(j, n):
                    if k > j and self.block_start[k]:
                        piece = 0
                    piece += int(stored[k])
                    best = max(best, piece)
                    out[j, k + 1] = best
            self._block_stored = out
        return self._block_stored

    def layer_blocks(self, start, end) -> int:
        """Repeated blocks (encoder layers) that start inside [start, end)."""
        keys = [block_key(x.name) for x in self.model.layers]
        return sum(1 for i in range(start, end)
                   if keys[i] is not None and (i == 0 or keys[i] != keys[i - 1]))

    def flops(self, start: int, end: int) -> int:
        return int(self.F[end] - self.F[start])

    def matrices(self):
        """Arrays indexed [start, end] (shape n x n+1) for every segment; end > start."""
        n = self.n
        J, K = np.meshgrid(np.arange(n), np.arange(n + 1), indexing="ij")
        valid = K > J
        live = np.zeros((n, n + 1), dtype=np.int64)
        mm_out = np.zeros((n, n + 1), dtype=np.int64)
        for j in range(n):
            live[j, j + 1:] = np.maximum.accumulate(self.live[j:])
            mm_out[j, j + 1:] = np.maximum.accumulate(self.mm_out[j:])
        parts = {"params": self.P[K] - self.P[J], "buffers": self.B[K] - self.B[J],
                 "tied": self._tied_outside(J, K) + np.zeros_like(J),
                 "stored": self.S[K] - self.S[J], "live": live,
                 "first_inputs": self.inputs[J], "mm_out": mm_out,
                 "checkpoints": self._checkpoints(J, K),
                 "block_stored": (self.block_stored() if self.setup.recompute == "layer"
                                  else np.zeros((n, n + 1), dtype=np.int64))}
        return valid, parts, self.F[K] - self.F[J]

    def memory_matrix(self, parts, in_flight):
        """On-chip bytes of every segment (Streaming Memory left out)."""
        cats = self._categories(**parts, in_flight=in_flight)
        cats.pop("streamed", None)
        return sum(cats.values())
