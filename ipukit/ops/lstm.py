"""One step of an LSTM cell: a matmul for the gates, then one elementwise vertex per chunk.

Gate order i, f, g, o (input, forget, cell, output), as PyTorch::

    [i f g o] = [x h] @ w + b
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h' = sigmoid(o) * tanh(c')

The input and the previous state are joined as a view (no copy) and multiplied
by the stacked weights in one matmul.  The new state is computed where ``c``
lives and mapped like it, so a loop can copy ``c'`` back into ``c`` without
moving anything between tiles.
"""
from __future__ import annotations

from ..core.programs import Sequence
from ..core.tensor import Tensor, concat
from . import codelets as K
from .elementwise import add, map_elementwise
from .matmul import matmul
from .planner import AVAILABLE_MEMORY_PROPORTION


def lstm_cell(g, x: Tensor, h: Tensor, c: Tensor, w: Tensor, b: Tensor | None = None, name: str = "lstm_cell",
              available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION):
    """``x`` (B, I), ``h`` and ``c`` (B, H), ``w`` (I + H, 4H), ``b`` (4H,) or None.

    Returns ``((h_new, c_new), program)``.
    """
    for label, t in (("x", x), ("h", h), ("c", c), ("w", w)):
        if not isinstance(t, Tensor) or t.ndim != 2:
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name}: {label} must be a 2-D tensor, got {got}")
    batch, inputs = x.shape
    hidden = h.shape[1]
    if h.shape != (batch, hidden) or c.shape != (batch, hidden):
        raise ValueError(f"{name}: h and c must both be (batch, hidden) = ({batch}, {hidden}); got h {h.shape}, "
                         f"c {c.shape}")
    if w.shape != (inputs + hidden, 4 * hidden):
        raise ValueError(f"{name}: w must be (inputs + hidden, 4 * hidden) = ({inputs + hidden}, {4 * hidden}), "
                         f"the weights of gates i, f, g, o side by side; got {w.shape}")
    if b is not None and (not isinstance(b, Tensor) or b.shape != (4 * hidden,)):
        raise ValueError(f"{name}: b must be a tensor of shape ({4 * hidden},), got "
                         f"{b.shape if isinstance(b, Tensor) else type(b).__name__}")
    gates, prog = matmul(g, concat([x, h], axis=1), w, name=f"{name}/gates",
                         available_memory_proportion=available_memory_proportion)
    steps = [prog]
    if b is not None:
        gates, prog = add(g, gates, b, name=f"{name}/bias")
        steps.append(prog)
    part = {k: gates[:, n * hidden:(n + 1) * hidden] for n, k in enumerate("ifgo")}
    outs, prog = map_elementwise(g, K.lstm_cell, {**part, "c": c}, outputs=("h_out", "c_out"), like=c,
                                 name=f"{name}/state")
    steps.append(prog)
    outs["h_out"].name, outs["c_out"].name = f"{name}/h", f"{name}/c"
    return (outs["h_out"], outs["c_out"]), Sequence(*steps)
