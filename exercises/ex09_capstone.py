"""Notebook 09, capstone: exercises.

Tuning a model on the IPU is a loop: measure, find what dominates, change one
thing, measure again.  These exercises pick a matmul split from the planner's
prices under a memory cap, tune the mapping of a small layer to a cycle budget,
and then, open-ended, get a whole BERT encoder layer under a cycle budget by
any means (graded in tiers: bronze ex09_2, silver ex09_4, gold ex09_5).

Work on a function, then check it from the notebook with ``ipukit.check("ex09_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex09``).
"""
import math

import numpy as np

import ipukit
from ipukit import cost, ops
from ipukit.ops import codelets as K

GELU_C = math.sqrt(2.0 / math.pi)


def pick_split(spec, m, k, n, candidates, dtype="float32", available_memory_proportion=0.6):
    """Exercise 09.1: pick a matmul split from its priced plans, under a memory cap.

    ``candidates`` is a list of splits ``(m_parts, n_parts, k_parts)`` of the
    product ``(m x k) @ (k x n)`` on ``spec``.  Return the one whose plan takes the
    fewest cycles among those whose temporaries fit under
    ``available_memory_proportion`` of a tile's SRAM (the first of equal ones).
    Raise ValueError naming the sizes if none fits.  The fastest split is not
    always the one that fits: that is the decision.

    About 8 lines.  Useful: ``ops.plan_matmul(spec, m, k, n, dtype, splits=...,
    check_memory=False, available_memory_proportion=...)`` prices one split
    without raising when it does not fit; the plan's ``.cycles`` and ``.fits``.
    """
    raise NotImplementedError("Exercise 09.1: return the fastest candidate split that fits under the memory cap")


# --- exercise 09.3: the activation of the feed-forward block --------------------------
def _bias_gelu_cycles(a, r, spec, dtype):
    """A vertex's worker cycles: a start, a few cycles per row, and per 64-bit vector an
    add and a GELU (ipukit.ops prices its GELU the same way)."""
    vectors = -(-a // cost.vector_elements(spec, dtype))
    return (cost.VERTEX_OVERHEAD + K.SEGMENT_CYCLES * r
            + (K.GELU_CYCLES_PER_VECTOR + cost.BINARY_CYCLES_PER_VECTOR) * vectors)


@ipukit.codelet(inputs={"a": "T[r,d]", "bias": "T[d]"}, outputs={"out": "T[r,d]"}, cycles=_bias_gelu_cycles)
def bias_gelu_rows(a, bias, out):
    """out[i] = GELU(a[i] + bias) for each row i (GELU in its tanh form, as BERT)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x = np.float64(a[i, j]) + np.float64(bias[j])
            out[i, j] = 0.5 * x * (1.0 + math.tanh(GELU_C * (x + 0.044715 * x * x * x)))


def naive_bias_gelu(graph, rows, width):
    """The first draft (given): every tensor mapped linearly, one vertex per tile.

    Each tile gets one vertex for the rows whose first element it holds.  It works
    and matches NumPy, but it misses the budget of exercise 09.3.
    """
    x = graph.add_variable((rows, width), name="x")
    bias = graph.add_variable(width, name="bias")
    out = graph.add_variable((rows, width), name="out")
    graph.map_linearly(x)
    graph.map_linearly(out)
    graph.set_tile_mapping(bias, 0)
    cs = graph.add_compute_set("bias_gelu")
    first = graph.element_tiles(x)[:, 0]                   # the tile of each row's first element
    for tile in np.unique(first).tolist():
        mine = np.flatnonzero(first == tile)
        lo, hi = int(mine[0]), int(mine[-1]) + 1
        graph.add_vertex(cs, bias_gelu_rows, tile=tile, a=x[lo:hi], bias=bias, out=out[lo:hi])
    return x, bias, out, ipukit.Execute(cs)


def tuned_bias_gelu(graph, rows, width):
    """Exercise 09.3: tune the mapping of the activation step to meet a cycle budget.

    Build ``out = GELU(x + bias)`` row by row with ``bias_gelu_rows`` vertices,
    as ``naive_bias_gelu`` does, but map and split the work so that it runs within
    the budget.  Create float32 tensors ``x`` (rows, width), ``bias`` (width,) and
    ``out`` (rows, width), and return ``(x, bias, out, program)``.

    The budget is what this layout costs: whole rows spread evenly over the tiles,
    each tile's rows shared out between its six workers, ``bias`` received once by
    each tile.  Run ``naive_bias_gelu`` first and look at its profile: which tiles
    compute, how many workers work, what crosses the exchange?

    About 15 lines.  Useful: ``graph.map_linearly(t, grain_size=...)`` (a grain of
    ``width`` keeps rows whole), ``graph.tile_mapping(x)`` (per tile, ``(start,
    end)`` intervals of ``x`` flattened), ``graph.spec.workers_per_tile``,
    ``graph.add_vertex(cs, bias_gelu_rows, tile=..., a=x[r0:r1], bias=bias,
    out=out[r0:r1])``, ``ipukit.Execute(cs)``.  A vertex reading rows that live
    on another tile waits for them to cross the exchange.
    """
    raise NotImplementedError("Exercise 09.3: map and split GELU(x + bias) so that it meets the cycle budget")


# --- the capstone: one BERT encoder layer under a cycle budget ---------------------------
SHAPES = {"x": ("batch", "tokens", "width"), "wq": ("width", "width"), "wk": ("width", "width"),
          "wv": ("width", "width"), "wo": ("width", "width"), "w1": ("width", "ffn"), "b1": ("ffn",),
          "w2": ("ffn", "width"), "b2": ("width",), "gamma1": ("width",), "beta1": ("width",),
          "gamma2": ("width",), "beta2": ("width",)}


def _vectors(n, spec, dtype):                        # 64-bit vectors: 2 float32 or 4 float16
    return -(-n // cost.vector_elements(spec, dtype))


@ipukit.codelet(inputs={"a": "T[n]", "bias": "T[n]"}, outputs={"out": "T[n]"},
                cycles=lambda out, spec, dtype: cost.VERTEX_OVERHEAD
                + (cost.BINARY_CYCLES_PER_VECTOR + K.GELU_CYCLES_PER_VECTOR) * _vectors(out, spec, dtype))
def bias_gelu(a, bias, out):
    """out = GELU(a + bias): an add and a GELU per element, in one vertex (notebook 09, section 4.2)."""
    for i in range(out.size):
        x = np.float64(a[i]) + np.float64(bias[i])
        out[i] = 0.5 * x * (1.0 + math.tanh(GELU_C * (x + 0.044715 * x * x * x)))


@ipukit.codelet(inputs={"a": "T[n]", "bias": "T[n]", "res": "T[n]"}, outputs={"out": "T[n]"},
                cycles=lambda out, spec, dtype: cost.VERTEX_OVERHEAD
                + 2 * cost.BINARY_CYCLES_PER_VECTOR * _vectors(out, spec, dtype))
def bias_residual(a, bias, res, out):
    """out = a + bias + res: two adds per element, in one vertex (notebook 09, section 4.2)."""
    for i in range(out.size):
        out[i] = np.float64(a[i]) + np.float64(bias[i]) + np.float64(res[i])


def first_draft_layer(graph, size, batch=1):
    """The first draft of notebook 09 (given): ``(tensors, out, program)``.

    Every tensor float32 and mapped linearly; each matmul with weights split by
    tokens (every tile multiplies some tokens by the whole weight matrix); every
    op its own step.  Correct, and far from the budget of exercise 09.2.
    """
    B, S, H = batch, size["tokens"], size["heads"]
    dims = {**size, "batch": B}
    t = {}
    for name, axes in SHAPES.items():
        t[name] = graph.add_variable(tuple(dims[a] for a in axes), "float32", name=name)
        graph.map_linearly(t[name])
    steps = []

    def op(result):
        out, program = result
        steps.append(program)
        return out

    def project(a, w, name):
        plan = ops.plan_matmul(graph.spec, B * S, w.shape[0], w.shape[1], w.dtype, splits=(graph.num_tiles, 1, 1))
        return op(ops.matmul(graph, a, w, name=name, plan=plan))

    x, D = t["x"], size["width"]
    dh = D // H

    def heads(v, order):                   # (B, S, D) -> (B * H, ...): views, no data moves
        v = v.reshape(B, S, H, dh).transpose(*order)
        return v.reshape(B * H, *v.shape[2:])

    q, k, v = (project(x, t[w], f"attention/{w[1]}") for w in ("wq", "wk", "wv"))
    scores = op(ops.matmul(graph, heads(q, (0, 2, 1, 3)), heads(k, (0, 2, 3, 1)), name="attention/scores"))
    probs = op(ops.softmax(graph, scores, scale=1 / math.sqrt(dh), name="attention/softmax"))
    context = op(ops.matmul(graph, probs, heads(v, (0, 2, 1, 3)), name="attention/context"))
    context = context.reshape(B, H, S, dh).transpose(0, 2, 1, 3).reshape(B, S, D)
    attention = project(context, t["wo"], "attention/out")
    n1 = op(ops.layer_norm(graph, op(ops.add(graph, x, attention, name="residual1")), t["gamma1"], t["beta1"],
                           name="norm1"))
    h = op(ops.add(graph, project(n1, t["w1"], "ffn/in"), t["b1"], name="ffn/bias1"))
    f = op(ops.add(graph, project(op(ops.gelu(graph, h, name="ffn/gelu")), t["w2"], "ffn/out"), t["b2"],
                   name="ffn/bias2"))
    out = op(ops.layer_norm(graph, op(ops.add(graph, n1, f, name="residual2")), t["gamma2"], t["beta2"],
                            name="norm2"))
    return t, out, ipukit.Sequence(*steps)


def fast_encoder_layer(graph, size, batch=1):
    """Exercises 09.2, 09.4 and 09.5: one BERT encoder layer under a cycle budget, in tiers.

    Build on ``graph`` the encoder layer of notebook 09 for ``size`` (a dict with
    ``tokens``, ``width``, ``heads``, ``ffn``) and ``batch`` sequences, by any
    means, and return ``(tensors, out, program)``: ``tensors`` maps every name of
    ``SHAPES`` to a tensor of that shape (float32 or float16, laid out as you
    like), ``out`` is the layer's output (batch, tokens, width).  The grader writes
    random parameters, runs ``program`` once on 16 GC2 tiles (32 tokens, D = 64,
    4 heads, F = 256, one sequence), checks the output against NumPy (to 1e-3 in
    float32, 5e-2 in float16), and grades ``profile.total_cycles`` in tiers set
    from the reference solution's cycles (22,097): bronze (Exercise 09.2: within
    3x, 66,291 cycles), silver (Exercise 09.4: within 1.5x, 33,145) and gold
    (Exercise 09.5: at or under 22,097).  ``first_draft_layer`` (given) is
    correct but reaches no tier: 78,008 cycles.

    Useful: ``first_draft_layer`` as a start, ``ops.matmul`` (the planner chooses
    a split when you pass no plan), ``ops.attention``, ``ops.add``,
    ``ops.layer_norm``, ``ops.map_elementwise`` with ``bias_gelu`` and
    ``bias_residual``, ``ipukit.Sequence``; ``engine.profile`` to measure.
    """
    raise NotImplementedError("Exercise 09.2: build the encoder layer, by any means, under the cycle budget")
