"""Elementwise ops over tensors of any shape, like ``popops::map``: ``out, prog = add(g, a, b)``.

The work goes where the data is: each tile computes the elements of the output
it holds, and the output is mapped like the first input that has the output's
shape (a tensor with no mapping yet is mapped linearly first).  On a tile the
elements are cut into up to six chunks, one vertex per worker, on 64-bit
boundaries; a MultiVertex codelet (``add``, ``sub`` and ``mul`` use one, as
popops' ``BinaryOp1D`` is) gets one vertex per tile that all six workers run.
Shapes broadcast as in NumPy; a smaller operand (a bias, a scale) is first copied once to every tile
that needs it, by one broadcast exchange.
"""
from __future__ import annotations

import numpy as np

from ..lib import codelets as C
from ..core import cost
from ..core.programs import Execute, Sequence
from ..core.tensor import Tensor
from . import codelets as K
from .layout import Picker, broadcast_view, element_tiles, grain_bounds, replicate, store_with_order, tile_order


def map_elementwise(g, codelet, inputs: dict, outputs=("out",), like: Tensor | None = None,
                    name: str | None = None, dtype=None, **scalars):
    """Run an elementwise ``codelet`` over whole tensors; returns ``({output: tensor}, program)``.

    ``inputs`` maps the codelet's input fields to tensors (broadcast to one shape);
    ``outputs`` names its output fields, each a new tensor mapped like ``like``
    (default: the first input of the full shape).  ``dtype`` is the outputs'
    (default: the first input's).  Extra keyword arguments are the codelet's scalars.
    Works with your own codelets too, if their fields are 1-D and elementwise; a
    MultiVertex codelet (``multi=True``) gets one vertex per tile instead of one per worker.
    """
    name = name or codelet.name
    if not inputs:
        raise ValueError(f"{name}: an elementwise op needs at least one input tensor")
    tensors = list(inputs.values())
    for field, t in inputs.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: input '{field}' must be an ipukit.Tensor, got {type(t).__name__}")
        if t.graph is not g:
            raise ValueError(f"{name}: tensor '{t.name}' belongs to another graph")
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = ", ".join(f"'{t.name}' {t.shape}" for t in tensors)
        raise ValueError(f"{name}: shapes {shapes} do not broadcast together (NumPy's rules)") from None
    dtype = np.dtype(dtype or tensors[0].dtype)
    n = int(np.prod(shape, dtype=np.int64))
    grain = cost.vector_elements(g.spec, dtype)
    if like is None:
        like = next((t for t in tensors if t.shape == shape), None)
    elif not isinstance(like, Tensor) or like.shape != shape:
        raise ValueError(f"{name}: like= must be a tensor of the output's shape {shape}, got "
                         f"{like.shape if isinstance(like, Tensor) else type(like).__name__}")
    if like is not None:
        tiles = element_tiles(g, like, name, map_if_unmapped=True, grain=grain)
        ids = like.ids.reshape(-1)
    else:                                   # every input is broadcast: spread the output evenly
        per_tile = max(-(-n // g.num_tiles), 1)
        per_tile = -(-per_tile // grain) * grain
        tiles, ids = np.arange(n) // per_tile, np.arange(n)
    order, groups = tile_order(ids, tiles)
    outs = {f: store_with_order(g, shape, dtype, f"{name}/{f}" if len(outputs) > 1 else name, order,
                                tiles[order]) for f in outputs}
    program = []
    flats, small = {}, {}
    for field, t in inputs.items():
        if t.size < n:                      # a broadcast operand: one copy per tile, then local views
            small[field] = t
        else:
            flats[field] = Picker(broadcast_view(t, shape).flatten())
    views, copy = replicate(g, small, [tile for tile, _, _ in groups], name)
    if copy is not None:
        program.append(copy)
    replicas = {f: (views[f], np.broadcast_to(np.arange(t.size).reshape(t.shape), shape).reshape(-1))
                for f, t in small.items()}
    cs = g.add_compute_set(name)
    for tile, lo, hi in groups:
        bounds = (np.array([0, hi - lo]) if codelet.multi
                  else grain_bounds(hi - lo, g.spec.workers_per_tile, grain))
        for c0, c1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            pos = order[lo + c0:lo + c1]
            fields = {f: pick(pos) for f, pick in flats.items()}
            for f, (views, source) in replicas.items():
                fields[f] = Picker(views[tile].flatten())(source[pos])
            for f, (_, store) in outs.items():
                fields[f] = store[lo + c0:lo + c1]
            g.add_vertex(cs, codelet, tile=tile, **fields, **scalars)
    program.append(Execute(cs))
    return {f: view for f, (view, _) in outs.items()}, program[0] if len(program) == 1 else Sequence(*program)


def _binary(codelet, g, a, b, name):
    for t in (a, b):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: operands must be tensors, got {type(t).__name__}; to scale by a number "
                            "use ops.scale(g, x, factor)")
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: '{a.name}' is {a.dtype} but '{b.name}' is {b.dtype}; the operands must have "
                        "the same dtype")
    outs, prog = map_elementwise(g, codelet, {"a": a, "b": b}, name=name)
    return outs["out"], prog


def _unary(codelet, g, x, name, **scalars):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    outs, prog = map_elementwise(g, codelet, {"a": x}, name=name, **scalars)
    return outs["out"], prog


def add(g, a: Tensor, b: Tensor, name: str = "add"):
    """``a + b`` (broadcasting); returns ``(out, program)``."""
    return _binary(K.add_1d, g, a, b, name)


def sub(g, a: Tensor, b: Tensor, name: str = "sub"):
    """``a - b`` (broadcasting)."""
    return _binary(K.sub_1d, g, a, b, name)


def mul(g, a: Tensor, b: Tensor, name: str = "mul"):
    """``a * b`` elementwise (broadcasting)."""
    return _binary(K.mul_1d, g, a, b, name)


def div(g, a: Tensor, b: Tensor, name: str = "div"):
    """``a / b`` elementwise (broadcasting)."""
    return _binary(K.div, g, a, b, name)


def scale(g, x: Tensor, factor: float, name: str = "scale"):
    """``x * factor`` for a number ``factor``."""
    if isinstance(factor, Tensor) or not np.isscalar(factor):
        raise TypeError(f"{name}: factor must be a number; to multiply by a tensor use ops.mul")
    return _unary(C.scale, g, x, name, factor=float(factor))


def exp(g, x: Tensor, name: str = "exp"):
    """``e ** x``."""
    return _unary(K.exp, g, x, name)
