"""Neural-network ops, like ``popnn``: activations, softmax and layer norm.

Activations are elementwise (see :mod:`ipukit.ops.elementwise`).  Softmax and
layer norm work on rows (the last axis): each row is computed whole by one
tile, its *home*, the tile that holds most of it; rows split over tiles are
gathered there by the exchange.  The output has the input's shape, each row
stored on its home tile.  Rows are dealt to up to six vertices per tile.
"""
from __future__ import annotations

import numpy as np

from ..lib import codelets as C
from ..core.programs import Execute, Sequence
from ..core.tensor import Tensor
from . import codelets as K
from .elementwise import _unary
from .layout import element_tiles, replicate, row_homes, split_bounds, store_with_order


def relu(g, x: Tensor, name: str = "relu"):
    """``max(x, 0)``."""
    return _unary(C.relu, g, x, name)


def gelu(g, x: Tensor, name: str = "gelu"):
    """GELU in its tanh form: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` (as popnn and GPT-2)."""
    return _unary(K.gelu, g, x, name)


def sigmoid(g, x: Tensor, name: str = "sigmoid"):
    """``1 / (1 + e ** -x)``."""
    return _unary(K.sigmoid, g, x, name)


def tanh(g, x: Tensor, name: str = "tanh"):
    """``tanh(x)``."""
    return _unary(K.tanh, g, x, name)


def map_rows(g, codelet, x: Tensor, name: str, per_tile: dict | None = None, **scalars):
    """Run a row-wise ``codelet`` (fields ``a: T[r,d]``, ``out: T[r,d]``) over the last axis of ``x``.

    ``per_tile`` maps more input fields to small tensors every vertex reads whole
    (gamma, beta): they are copied once to each tile that computes rows.
    Returns ``(out, program)``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name}: '{x.name}' {x.shape} has no last axis to work along")
    width = x.shape[-1]
    rows = x.size // width
    x2 = x.reshape(rows, width)
    element_tiles(g, x2, name, map_if_unmapped=True, grain=width)     # rows whole on a tile by default
    homes = row_homes(g, x2, name)
    first_id = x2.ids[:, 0] if rows else np.zeros(0, np.int64)
    row_order = np.lexsort((first_id, homes))
    order = (row_order[:, None] * width + np.arange(width)[None, :]).reshape(-1)
    out, store = store_with_order(g, x.shape, x.dtype, name, order, np.repeat(homes[row_order], width))
    store2 = store.reshape(rows, width)
    program = []
    tiles_used, starts = np.unique(homes[row_order], return_index=True)
    ends = np.append(starts[1:], rows)
    extra, copy = replicate(g, per_tile or {}, tiles_used.tolist(), name)
    if copy is not None:
        program.append(copy)
    cs = g.add_compute_set(name)
    ids2 = None
    for tile, lo, hi in zip(tiles_used.tolist(), starts.tolist(), ends.tolist()):
        bounds = split_bounds(hi - lo, min(g.spec.workers_per_tile, hi - lo))
        for r0, r1 in zip((lo + bounds[:-1]).tolist(), (lo + bounds[1:]).tolist()):
            idx = row_order[r0:r1]
            if idx[-1] - idx[0] + 1 == idx.size and (np.diff(idx) == 1).all():
                a = x2[int(idx[0]):int(idx[-1]) + 1]
            else:                           # rows picked from here and there: index the ids once
                ids2 = x2.ids if ids2 is None else ids2
                a = Tensor(g, ids2[idx], x.dtype, f"{x.name}[<{idx.size} rows>]")
            fields = {f: views[tile] for f, views in extra.items()}
            g.add_vertex(cs, codelet, tile=tile, a=a, out=store2[r0:r1], **fields, **scalars)
    program.append(Execute(cs))
    return out, program[0] if len(program) == 1 else Sequence(*program)


def softmax(g, x: Tensor, scale: float = 1.0, name: str = "softmax"):
    """``softmax(scale * x)`` over the last axis, numerically stable (the row maximum is
    subtracted first).  ``scale`` folds in a factor such as attention's 1/sqrt(d)."""
    if not np.isscalar(scale) or not scale > 0:
        raise ValueError(f"{name}: scale must be a positive number, got {scale!r}")
    _float(x, name)
    return map_rows(g, K.softmax_rows, x, name, scale=float(scale))


def layer_norm(g, x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5, name: str = "layer_norm"):
    """``(x - mean) / sqrt(var + eps) * gamma + beta`` over the last axis (biased variance,
    as PyTorch's LayerNorm).  ``gamma`` and ``beta`` have the last axis's length."""
    _float(x, name)
    width = x.shape[-1] if x.ndim else 0
    for label, t in (("gamma", gamma), ("beta", beta)):
        if not isinstance(t, Tensor) or t.shape != (width,) or t.dtype != x.dtype:
            got = f"{t.shape} {t.dtype}" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name}: {label} must be a {x.dtype} tensor of shape ({width},), the length of "
                             f"the last axis of '{x.name}' {x.shape}; got {got}")
    if not eps > 0:
        raise ValueError(f"{name}: eps must be positive, got {eps!r}")
    return map_rows(g, K.layer_norm_rows, x, name, per_tile={"gamma": gamma, "beta": beta}, eps=float(eps))


def _float(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: needs a float16 or float32 tensor, '{x.name}' is {x.dtype}")
