"""2-D convolution as a matmul over image patches (im2col), like poplin's convolutions.

Layout: NCHW.  ``x`` is (N, C, H, W), the weights ``w`` are (O, C // groups, KH, KW)
as in PyTorch and poplin, and the result is (N, O, H', W').

Each output pixel is a dot product of one patch of the input with one filter,
so a convolution is a matrix product: the patches, one per row (N*H'*W' rows of
C*KH*KW), times the filters as columns.  On ipukit the patch matrix is only a
*view* of the input (an element appears in up to KH*KW patches); the matmul's
operand exchange is where the patches are really gathered onto tiles.  With
``groups > 1`` each group of channels is an independent product: a batched
matmul, the groups side by side on different tiles.  Depthwise convolution is
``groups == C``.  Padding reads zeros from a one-element constant.
"""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .matmul import matmul
from .planner import AVAILABLE_MEMORY_PROPORTION


def _pair(v, label, name):
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
        raise ValueError(f"{name}: {label} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def conv2d(g, x: Tensor, w: Tensor, stride=1, padding=0, groups: int = 1, name: str = "conv2d",
           available_memory_proportion: float = AVAILABLE_MEMORY_PROPORTION):
    """Convolve ``x`` (N, C, H, W) with ``w`` (O, C // groups, KH, KW); returns ``(y, program)``.

    ``stride`` and ``padding`` are ints or (rows, columns) pairs; ``groups`` splits the
    channels into independent groups (``groups == C`` is a depthwise convolution).
    """
    for label, t in (("x", x), ("w", w)):
        if not isinstance(t, Tensor) or t.ndim != 4:
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            axes = "N, C, H, W" if label == "x" else "O, C/groups, KH, KW"
            raise ValueError(f"{name}: {label} must be a 4-D tensor ({axes}), got {got}")
    (sh, sw), (ph, pw) = _pair(stride, "stride", name), _pair(padding, "padding", name)
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got stride {stride!r}, "
                         f"padding {padding!r}")
    N, C, H, W = x.shape
    O, cg, kh, kw = w.shape  # noqa: E741  (O: output channels, as in the convolution literature)
    if not isinstance(groups, (int, np.integer)) or groups < 1 or C % groups or O % groups:
        raise ValueError(f"{name}: groups={groups!r} must divide the {C} input and {O} output channels")
    if cg != C // groups:
        raise ValueError(f"{name}: w has {cg} input channels per filter but x has {C} channels in {groups} "
                         f"group(s), i.e. {C // groups} per group; w must be (O, C // groups, KH, KW)")
    if x.dtype != w.dtype:
        raise TypeError(f"{name}: '{x.name}' is {x.dtype} but '{w.name}' is {w.dtype}")
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{name}: a {kh}x{kw} kernel does not fit in the {H}x{W} input padded by "
                         f"({ph}, {pw})")
    og = O // groups
    ids = x.ids
    if ph or pw:
        zero = g.add_constant(np.zeros(1, x.dtype), name=f"{name}/zero")
        g.set_tile_mapping(zero, int(max(g.elem_tile[ids.flat[0]], 0)))
        padded = np.full((N, C, H + 2 * ph, W + 2 * pw), zero.ids[0], np.int64)
        padded[:, :, ph:ph + H, pw:pw + W] = ids
        ids = padded
    G = np.arange(groups).reshape(groups, 1, 1, 1, 1, 1, 1)
    n = np.arange(N).reshape(1, N, 1, 1, 1, 1, 1)
    oh = np.arange(Ho).reshape(1, 1, Ho, 1, 1, 1, 1)
    ow = np.arange(Wo).reshape(1, 1, 1, Wo, 1, 1, 1)
    c = np.arange(cg).reshape(1, 1, 1, 1, cg, 1, 1)
    i = np.arange(kh).reshape(1, 1, 1, 1, 1, kh, 1)
    j = np.arange(kw).reshape(1, 1, 1, 1, 1, 1, kw)
    patches = ids[n, G * cg + c, oh * sh + i, ow * sw + j].reshape(groups, N * Ho * Wo, cg * kh * kw)
    a = Tensor(g, patches, x.dtype, f"{name}/patches")
    b = w.reshape(groups, og, cg * kh * kw).transpose(0, 2, 1)
    if groups == 1:
        out, prog = matmul(g, a[0], b[0], name=name, available_memory_proportion=available_memory_proportion)
        out = out.reshape(1, N * Ho * Wo, og)
    else:
        out, prog = matmul(g, a, b, name=name, available_memory_proportion=available_memory_proportion)
    y = out.reshape(groups, N, Ho, Wo, og).transpose(1, 0, 4, 2, 3).reshape(N, O, Ho, Wo)
    y.name = name
    return y, prog
