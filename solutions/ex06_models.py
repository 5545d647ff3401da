"""Notebook 06, real models: solutions.

Real networks are made of a few kinds of layer: matrix products (fully connected
layers, convolutions, the projections of attention) and the cheap elementwise work
between them.  These three exercises count what a layer costs, build a small
network's forward pass on the emulator in as few supersteps as it needs, and find
how many samples a true-size model can train on at once on one IPU.
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
    """
    out_size = (size + 2 * padding - kernel) // stride + 1
    per_output = (in_channels // groups) * kernel * kernel       # multiply-adds behind one output value
    outputs = out_channels * out_size * out_size
    params = out_channels * per_output + (out_channels if bias else 0)
    flops = 2 * outputs * per_output + (outputs if bias else 0)
    return params, flops


def mlp_forward(graph, x, w1, b1, w2, b2):
    """Exercise 06.2: a two-layer network's forward pass in few supersteps.

    ``x`` (B, I), ``w1`` (I, H), ``b1`` (H,), ``w2`` (H, O) and ``b2`` (O,) are
    tensors of ``graph``, already mapped to tiles.  Add to the graph what computes
    ``relu(x @ w1 + b1) @ w2 + b2`` and return ``(logits, program)``: the (B, O)
    result tensor and the program that computes it.  The grader allows as many
    supersteps as the two matrix products need on their own (each with room for
    one more row of weights), plus one for the ReLU.
    """
    # x @ w + b == [x 1] @ [w; b]: a bias is one more row of weights, and a column of
    # ones one more column of inputs.  concat only makes views, so no step is added.
    ones = graph.add_constant(np.ones((x.shape[0], 1), x.dtype), name="ones")
    graph.map_linearly(ones)
    hidden, layer1 = ops.matmul(graph, ipukit.concat([x, ones], axis=1),
                                ipukit.concat([w1, b1.reshape(1, -1)], axis=0), name="layer1")
    active, relu = ops.relu(graph, hidden, name="relu")
    logits, layer2 = ops.matmul(graph, ipukit.concat([active, ones], axis=1),
                                ipukit.concat([w2, b2.reshape(1, -1)], axis=0), name="layer2")
    return logits, ipukit.Sequence(layer1, relu, layer2)


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
    """
    fmt = models.PRECISIONS[precision]
    usable = int(ipu.tiles * ipu.sram_bytes_per_tile * (1 - reserve))
    fixed = fmt.weight_bytes * (model.params + model.buffers)
    per_sample = fmt.activation_bytes * model.peak_live
    if training:
        states = models.OPTIMIZERS[optimizer]
        fixed += (fmt.gradient_bytes + fmt.master_bytes + fmt.state_bytes * states) * model.params
        per_sample += fmt.activation_bytes * model.stored
    return max(0, (usable - fixed) // per_sample)
