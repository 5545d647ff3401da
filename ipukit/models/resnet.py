"""ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition", Table 1) and
ResNeXt-50 32x4d (Xie et al. 2017, "Aggregated Residual Transformations for Deep Neural
Networks", Table 1), laid out as torchvision builds them (``torchvision/models/resnet.py``:
bottleneck blocks with the stride on the 3x3 convolution, "ResNet v1.5").

torchvision's model tables list 25,557,032 parameters and 4.09 G multiply-adds ("GFLOPS",
counting one multiply-add as one operation) for ``resnet50``, and 25,028,904 / 4.23 G for
``resnext50_32x4d``, on 224x224 images. Batch-norm running mean and variance are buffers,
not parameters.
"""
from __future__ import annotations

from dataclasses import replace

from . import layers as L
from .model import Model

STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))    # (planes, stride of the first block)
EXPANSION = 4                                      # bottleneck output = 4 x planes


def _relu(name, elements, carried=0, keeps=False):
    """ReLU; its output is normally the next layer's input, which that layer keeps for
    backward, so it is counted there (``keeps=True`` when nothing after it keeps it)."""
    layer = L.activation(name, "relu", elements, L.RELU_FLOPS, keeps="output", carried=carried)
    return layer if keeps else replace(layer, stored=0)


def _bottleneck(prefix, in_channels, planes, stride, size, groups, width_per_group,
                last=False):
    """One bottleneck block: 1x1 -> 3x3 (strided, grouped) -> 1x1, plus the shortcut."""
    width = int(planes * (width_per_group / 64.0)) * groups     # as torchvision computes it
    out_channels = planes * EXPANSION
    x = in_channels * size * size                                # the block input, kept for the add
    c1 = L.conv2d(prefix + "conv1", in_channels, width, 1, size)
    c2 = L.conv2d(prefix + "conv2", width, width, 3, size, stride=stride, groups=groups,
                  carried=x)
    out_size = c2.shape("output")[1]
    c3 = L.conv2d(prefix + "conv3", width, out_channels, 1, out_size, carried=x)
    y = c3.output
    out = [c1,
           L.batchnorm(prefix + "bn1", width, size, carried=x),
           _relu(prefix + "relu1", width * size * size, carried=x),
           c2,
           L.batchnorm(prefix + "bn2", width, out_size, carried=x),
           _relu(prefix + "relu2", width * out_size * out_size, carried=x),
           c3,
           L.batchnorm(prefix + "bn3", out_channels, out_size, carried=x)]
    if stride != 1 or in_channels != out_channels:
        down = L.conv2d(prefix + "downsample.0", in_channels, out_channels, 1, size,
                        stride=stride, padding=0, carried=y)
        out += [replace(down, stored=0),     # its input is the block input conv1 already keeps
                L.batchnorm(prefix + "downsample.1", out_channels, out_size, carried=y)]
    out += [L.add(prefix + "add", y), _relu(prefix + "relu3", y, keeps=last)]
    return out, out_channels, out_size


def resnet(blocks=(3, 4, 6, 3), groups=1, width_per_group=64, image=224, classes=1000,
           name=None):
    """A bottleneck ResNet / ResNeXt on ``image x image`` RGB images, per image."""
    if len(blocks) != 4 or any(not isinstance(b, int) or b < 1 for b in blocks):
        raise ValueError(f"resnet: blocks must be 4 positive ints (blocks per stage), "
                         f"got {blocks!r}")
    for key, value in dict(groups=groups, width_per_group=width_per_group, image=image,
                           classes=classes).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"resnet: {key} must be a positive int, got {value!r}")
    if image < 32:
        raise ValueError(f"resnet: image={image} is too small for five stride-2 stages; use >= 32")
    conv1 = L.conv2d("conv1", 3, 64, 7, image, stride=2, padding=3)
    size = conv1.shape("output")[1]
    pool = L.maxpool("maxpool", 64, size, 3, 2, padding=1)
    out = [conv1, L.batchnorm("bn1", 64, size), _relu("relu", 64 * size * size),
           replace(pool, stored=pool.stored + pool.output)]     # keeps its input and the indices
    channels, size = 64, pool.shape("output")[1]
    for stage, ((planes, stride), count) in enumerate(zip(STAGES, blocks), start=1):
        for b in range(count):
            last = stage == 4 and b == count - 1
            block, channels, size = _bottleneck(f"layer{stage}.{b}.", channels, planes,
                                                stride if b == 0 else 1, size, groups,
                                                width_per_group, last=last)
            out += block
    out += [L.global_avgpool("avgpool", channels, size), L.linear("fc", channels, classes)]
    label = name or f"ResNet (blocks={tuple(blocks)}, groups={groups}, width={width_per_group})"
    return Model(label, out, sample=f"one {image}x{image} RGB image",
                 source="He et al. 2016 Table 1; Xie et al. 2017 Table 1; torchvision resnet.py",
                 config=(("blocks", tuple(blocks)), ("groups", groups),
                         ("width_per_group", width_per_group), ("image", image),
                         ("classes", classes)))


def resnet50(image=224, classes=1000):
    """ResNet-50 v1.5 as torchvision builds it (25,557,032 parameters)."""
    return resnet((3, 4, 6, 3), image=image, classes=classes, name="ResNet-50")


def resnext50_32x4d(image=224, classes=1000):
    """ResNeXt-50 32x4d: 32 groups of width 4 in the first stage (25,028,904 parameters)."""
    return resnet((3, 4, 6, 3), groups=32, width_per_group=4, image=image, classes=classes,
                  name="ResNeXt-50 32x4d")
