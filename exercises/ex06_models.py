"""Notebook 06, real models: exercises.

Real networks are made of a few kinds of layer: matrix products (fully connected
layers, convolutions, the projections of attention) and the cheap elementwise work
between them.  These three exercises count what a layer costs, build a small
network's forward pass on the emulator in as few supersteps as it needs, and find
how many samples a true-size model can train on at once on one IPU.

Work on a function, then check it from the notebook with ``ipukit.check("ex06_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex06``).
"""
import numpy as np

import ipukit
from ipukit import models, ops


def conv_cost(in_channels, out_channels, kernel, size, stride=1, padding=0, groups=1, bias=False):
    """Exercise 06.1: parameters and forward FLOPs of a convolution, by formula.

    A 2-D convolution with ``kernel x kernel`` filters reads a ``size x size``
    image of ``in_channels`` channels (padded by ``padding`` on every side, moved
    by ``stride``).  With ``groups`` > 1 the channels are cut into groups and each
    output channel only sees the ``in_channels // groups`` inputs of its group.
    Return ``(params, flops)`` for one image: the weights (plus one bias per output
    channel when ``bias``), and 2 FLOP per multiply-add plus 1 per output element
    for the bias.  A fully connected layer is the case kernel=1, size=1.

    About 6 lines.  The output is ``out x out`` with
    ``out = (size + 2 * padding - kernel) // stride + 1``; each output value is a
    dot product over one filter.  ``ipukit.models.layers.conv2d`` keeps the same
    counts for whole networks (compare once your own version works).
    """
    raise NotImplementedError("Exercise 06.1: return (params, flops) of a convolution with groups")


def mlp_forward(graph, x, w1, b1, w2, b2):
    """Exercise 06.2: a two-layer network's forward pass in few supersteps.

    ``x`` (B, I), ``w1`` (I, H), ``b1`` (H,), ``w2`` (H, O) and ``b2`` (O,) are
    tensors of ``graph``, already mapped to tiles.  Add to the graph what computes
    ``relu(x @ w1 + b1) @ w2 + b2`` and return ``(logits, program)``: the (B, O)
    result tensor and the program that computes it.  The grader allows as many
    supersteps as the two matrix products need on their own (each with room for
    one more row of weights), plus one for the ReLU.

    About 8 lines.  Each op of ``ipukit.ops`` adds at least one superstep; adding
    a bias to a batch of rows adds two (a copy of the bias to every tile, then the
    add).  Can the matrix products do the bias adds for you?  Useful:
    ``ops.matmul``, ``ops.relu``, ``ipukit.concat`` (joins views, copies nothing),
    ``graph.add_constant`` and ``graph.map_linearly``, ``ipukit.Sequence``.
    """
    raise NotImplementedError("Exercise 06.2: build relu(x @ w1 + b1) @ w2 + b2 and return (logits, program)")


def max_micro_batch(model, ipu, training=True, precision="mixed", optimizer="adam", reserve=0.25):
    """Exercise 06.3: the largest micro-batch with which a model fits one IPU.

    Return the largest number of samples m per micro-batch for which everything
    ``model`` needs fits in the usable SRAM of one ``ipu``, or 0 if not even one
    sample fits.  Usable SRAM: ``int(ipu.tiles * ipu.sram_bytes_per_tile * (1 -
    reserve))`` bytes.  Bytes per value come from ``models.PRECISIONS[precision]``
    and the optimiser's state values per parameter from ``models.OPTIMIZERS``:

    - weights: ``weight_bytes`` x (``model.params`` + ``model.buffers``);
    - inference: activations ``activation_bytes`` x m x ``model.peak_live``;
    - training adds gradients (``gradient_bytes`` per parameter), the FP32 master
      copy (``master_bytes`` per parameter), the optimiser state (``state_bytes``
      x state values per parameter), and its activations are ``activation_bytes``
      x m x (``model.stored`` + ``model.peak_live``).

    About 10 lines.  Everything but the activations is the same for any m: subtract
    it from the usable SRAM, then see how many samples' activations fit in the rest.
    Work it out from these rules; the grader blocks ``models.fit``, which it uses to
    check your answer.
    """
    raise NotImplementedError("Exercise 06.3: return the largest micro-batch that fits one IPU")
