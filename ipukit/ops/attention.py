"""Multi-head scaled dot-product attention, built from the other ops.

For ``x`` (S, D) (or a batch (B, S, D)) and weights ``wq, wk, wv, wo`` (D, D)::

    Q, K, V = x @ wq, x @ wk, x @ wv           # one matmul with [wq wk wv] side by side
    per head h (D / heads columns each):
        P_h = softmax(Q_h @ K_h^T / sqrt(D / heads))   # over the last axis
        O_h = P_h @ V_h
    out = [O_1 ... O_heads] @ wo

The heads (and batch elements) are the batch of one batched matmul, so they run
side by side on different tiles; splitting Q, K and V into heads, and joining
the heads again, are views.  No mask and no biases.
"""
from __future__ import annotations

import math

from ..core.programs import Sequence
from ..core.tensor import Tensor, concat
from .matmul import matmul
from .nn import softmax
from .planner import AVAILABLE_MEMORY_PROPORTION


def attention(g, x: Tensor, wq: Tensor, wk: Tensor, wv: Tensor, wo: Tensor, heads: int = 1,
              name: str = "attention", available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION):
    """Self-attention of ``x`` (S, D) or (B, S, D); returns ``(out, program)``, out shaped like ``x``."""
    if not isinstance(x, Tensor) or x.ndim not in (2, 3):
        raise ValueError(f"{name}: x must be (S, D) or (B, S, D), got "
                         f"{x.shape if isinstance(x, Tensor) else type(x).__name__}")
    batch, seq, dim = (1, *x.shape) if x.ndim == 2 else x.shape
    for label, wt in (("wq", wq), ("wk", wk), ("wv", wv), ("wo", wo)):
        if not isinstance(wt, Tensor) or wt.shape != (dim, dim):
            raise ValueError(f"{name}: {label} must be ({dim}, {dim}), got "
                             f"{wt.shape if isinstance(wt, Tensor) else type(wt).__name__}")
    if not isinstance(heads, int) or heads < 1 or dim % heads:
        raise ValueError(f"{name}: heads={heads!r} must divide the model width {dim}")
    dh = dim // heads
    amp = available_memory_proportion
    qkv, p_qkv = matmul(g, x.reshape(batch * seq, dim), concat([wq, wk, wv], axis=1), name=f"{name}/qkv",
                        available_memory_proportion=amp)

    def split(part, order):
        t = qkv[:, part * dim:(part + 1) * dim].reshape(batch, seq, heads, dh).transpose(*order)
        return t.reshape(batch * heads, *t.shape[2:])

    q, kt, v = split(0, (0, 2, 1, 3)), split(1, (0, 2, 3, 1)), split(2, (0, 2, 1, 3))
    scores, p_scores = matmul(g, q, kt, name=f"{name}/scores", available_memory_proportion=amp)
    probs, p_soft = softmax(g, scores, scale=1.0 / math.sqrt(dh), name=f"{name}/softmax")
    ctx, p_ctx = matmul(g, probs, v, name=f"{name}/context", available_memory_proportion=amp)
    joined = ctx.reshape(batch, heads, seq, dh).transpose(0, 2, 1, 3).reshape(batch * seq, dim)
    out, p_out = matmul(g, joined, wo, name=f"{name}/out", available_memory_proportion=amp)
    out = out.reshape(x.shape)
    out.name = f"{name}/out"
    return out, Sequence(p_qkv, p_scores, p_soft, p_ctx, p_out)
