"""Layer records: what one layer of a network costs, per sample, on the forward pass.

A model is a list of layers run in order. Each record holds what a memory-fit and
pipelining analysis needs, counted exactly from the layer's shapes:

- ``params``   trainable parameters (what gets gradients and optimiser state);
- ``buffers``  non-trainable state stored with the weights (batch-norm running statistics);
- ``macs``     multiply-accumulates in the layer's matmuls / convolutions;
- ``flops``    all forward FLOPs: 2 per MAC, plus the elementwise work (bias, norms,
  activations, softmax) counted with the per-element conventions below;
- ``stored``   activation elements the backward pass needs (kept from forward to backward);
- ``inputs``   elements that flow into this layer from earlier ones, including skip
  connections that pass over it: what a pipeline cut just before this layer must send;
- ``live``     elements resident while the layer runs at inference (its inputs, outputs,
  workspace, and skip tensors held for later);
- ``output``   elements it produces.

All element counts are per sample (one sequence, one image); a micro-batch multiplies them.
Conventions (the same as Korthikanti et al. 2022, "Reducing Activation Recomputation in
Large Transformer Models", arXiv:2205.05198, §4): a matmul keeps its inputs for backward,
a norm keeps its input, an activation function keeps its input (ReLU its output), softmax
keeps its output; dropout is not modelled (inference, or training without dropout).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

# --- elementwise FLOPs per element (a transcendental function counts as one) ----------
RELU_FLOPS = 1             # max(x, 0)
GELU_FLOPS = 9             # 0.5 x (1 + tanh(c (x + 0.044715 x^3))): 2+1+1+1+1+1+1+1
TANH_FLOPS = 1
NORM_FLOPS = 7             # mean, subtract, square, sum, scale by 1/std, gamma, beta
SOFTMAX_FLOPS = 5          # max, subtract, exp, sum, divide
SCALE_MASK_FLOPS = 2       # attention scores: times 1/sqrt(d), plus the mask
ADD_FLOPS = 1              # residual add, bias add
LSTM_CELL_FLOPS = 9        # per hidden unit and step: 3 sigmoid + 1 tanh on the gates,
                           # c = f*c + i*g (3), tanh(c) (1), h = o*tanh(c) (1)


@dataclass(frozen=True)
class Layer:
    """One layer of a model; all counts are per sample (see the module docstring)."""

    name: str
    kind: str
    params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    stored: int = 0
    inputs: int = 0
    live: int = 0
    output: int = 0
    shapes: tuple = ()            # (("weight", (out, in)), ("output", (seq, out)), ...)
    tied_to: str | None = None    # the layer whose parameters this one reuses (weight tying)
    tied_params: int = 0          # how many of that layer's parameters it reuses

    def __post_init__(self):
        for field in ("params", "buffers", "macs", "flops", "stored", "inputs", "live",
                      "output", "tied_params"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"layer {self.name!r}: {field} must be a non-negative int, "
                                 f"got {value!r}")
        if self.tied_params and not self.tied_to:
            raise ValueError(f"layer {self.name!r}: tied_params={self.tied_params} but no "
                             f"tied_to layer names whose parameters it reuses")

    def shape(self, what: str) -> tuple:
        """The shape recorded under ``what`` (e.g. ``"weight"``, ``"output"``)."""
        for key, value in self.shapes:
            if key == what:
                return value
        known = ", ".join(k for k, _ in self.shapes) or "none"
        raise KeyError(f"layer {self.name!r} has no shape {what!r} (it has: {known})")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shapes"] = {k: list(v) for k, v in self.shapes}
        return d


def _positive(name: str, **sizes):
    for key, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"layer {name!r}: {key} must be a positive int, got {value!r}")


# --- dense layers ---------------------------------------------------------------------
def linear(name, in_features, out_features, tokens=1, bias=True, carried=0, kind="linear",
           input_elements=None):
    """``y = x W^T + b`` applied to ``tokens`` positions: 2 x in x out FLOPs per token (+ bias).

    ``carried``: elements of tensors held for later layers (e.g. a residual), passing over.
    ``input_elements``: the elements of the layer's input if it is not ``tokens x in``
    (e.g. a pooler that reads one token of a whole sequence).
    """
    _positive(name, in_features=in_features, out_features=out_features, tokens=tokens)
    x = tokens * in_features if input_elements is None else input_elements
    y = tokens * out_features
    macs = tokens * in_features * out_features
    return Layer(name, kind, params=in_features * out_features + (out_features if bias else 0),
                 macs=macs, flops=2 * macs + (ADD_FLOPS * y if bias else 0),
                 stored=tokens * in_features, inputs=x + carried, live=x + y + carried, output=y,
                 shapes=(("weight", (out_features, in_features)), ("input", (tokens, in_features)),
                         ("output", (tokens, out_features))))


def tied_linear(name, in_features, out_features, tokens, tied_to, bias=True, carried=0):
    """A linear layer whose weight is another layer's table (weight tying, e.g. a language
    model's output head reusing the token embedding): only its bias is its own parameter."""
    dense = linear(name, in_features, out_features, tokens, bias=bias, carried=carried)
    return replace(dense, params=out_features if bias else 0, tied_to=tied_to,
                   tied_params=in_features * out_features)


def embedding(name, rows, dim, tokens, tables=1, extra_rows=0, carried=0):
    """A table lookup: no FLOPs, only the token ids are kept for backward.

    ``tables`` lookups are summed (BERT adds word, position and token-type embeddings);
    ``extra_rows`` are the rows of the tables after the first.
    """
    _positive(name, rows=rows, dim=dim, tokens=tokens, tables=tables)
    y = tokens * dim
    return Layer(name, "embedding", params=(rows + extra_rows) * dim,
                 flops=ADD_FLOPS * (tables - 1) * y, stored=tokens, inputs=tokens + carried,
                 live=tokens + tables * y + carried, output=y,
                 shapes=(("weight", (rows, dim)), ("output", (tokens, dim))))


def layernorm(name, features, tokens, inputs=None, carried=0, residual=False):
    """LayerNorm over ``features`` at each position; ``residual=True`` adds a skip first."""
    _positive(name, features=features, tokens=tokens)
    x = tokens * features
    flops = NORM_FLOPS * x + (ADD_FLOPS * x if residual else 0)
    ins = (2 * x if residual else x) if inputs is None else inputs
    return Layer(name, "layernorm", params=2 * features, flops=flops,
                 stored=x + 2 * tokens,             # the input and each position's mean and 1/std
                 inputs=ins + carried, live=ins + x + carried, output=x,
                 shapes=(("weight", (features,)), ("output", (tokens, features))))


def activation(name, kind, elements, flops_per_element, keeps="input", carried=0):
    """An elementwise function (GELU, ReLU, tanh). Its backward needs its input (GELU) or its
    output (ReLU); either way one tensor of ``elements`` is kept."""
    _positive(name, elements=elements)
    if keeps not in ("input", "output"):
        raise ValueError(f"layer {name!r}: keeps must be 'input' or 'output', got {keeps!r}")
    return Layer(name, kind, flops=flops_per_element * elements, stored=elements,
                 inputs=elements + carried, live=2 * elements + carried, output=elements,
                 shapes=(("output", (elements,)),))


def add(name, elements, carried=0):
    """Residual add: needs nothing stored for backward (the gradient just passes through)."""
    _positive(name, elements=elements)
    return Layer(name, "add", flops=ADD_FLOPS * elements, inputs=2 * elements + carried,
                 live=3 * elements + carried, output=elements, shapes=(("output", (elements,)),))


def attention(name, hidden, heads, seq, carried=0):
    """Self-attention core: S = Q K^T / sqrt(d) + mask, P = softmax(S), C = P V, all heads.

    Keeps Q, K, V and P for backward (Korthikanti et al. 2022, §4.1). Its input is the
    fused Q|K|V projection; FLOPs count the full seq x seq scores (a causal mask hides half
    of them but they are still computed).
    """
    _positive(name, hidden=hidden, heads=heads, seq=seq)
    if hidden % heads:
        raise ValueError(f"layer {name!r}: hidden size {hidden} is not a multiple of "
                         f"{heads} heads; choose heads that divide it")
    head_dim = hidden // heads
    scores = heads * seq * seq
    qkv, ctx = 3 * seq * hidden, seq * hidden
    macs = 2 * seq * seq * hidden                   # Q K^T and P V
    return Layer(name, "attention", macs=macs,
                 flops=2 * macs + (SCALE_MASK_FLOPS + SOFTMAX_FLOPS) * scores,
                 stored=qkv + scores, inputs=qkv + carried, live=qkv + 2 * scores + ctx + carried,
                 output=ctx,
                 shapes=(("qkv", (seq, 3 * hidden)), ("scores", (heads, seq, seq)),
                         ("output", (seq, hidden)), ("head_dim", (head_dim,))))


# --- convolutional layers -------------------------------------------------------------
def conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def conv2d(name, in_channels, out_channels, kernel, size, stride=1, padding=None, groups=1,
           bias=False, carried=0):
    """A 2-D convolution on a ``size x size`` input; returns the layer (see ``.shape('output')``).

    MACs = out_channels x out_h x out_w x (in_channels / groups) x kernel^2.
    """
    _positive(name, in_channels=in_channels, out_channels=out_channels, kernel=kernel, size=size,
              stride=stride, groups=groups)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"layer {name!r}: {groups} groups must divide both {in_channels} input "
                         f"and {out_channels} output channels")
    padding = kernel // 2 if padding is None else padding
    out = conv_output_size(size, kernel, stride, padding)
    if out < 1:
        raise ValueError(f"layer {name!r}: a {kernel}x{kernel} kernel with stride {stride} leaves "
                         f"no output on a {size}x{size} input; use a larger image")
    x, y = in_channels * size * size, out_channels * out * out
    per_out = (in_channels // groups) * kernel * kernel
    macs = y * per_out
    return Layer(name, "conv", params=out_channels * per_out + (out_channels if bias else 0),
                 macs=macs, flops=2 * macs + (ADD_FLOPS * y if bias else 0), stored=x,
                 inputs=x + carried, live=x + y + carried, output=y,
                 shapes=(("weight", (out_channels, in_channels // groups, kernel, kernel)),
                         ("input", (in_channels, size, size)),
                         ("output", (out_channels, out, out))))


def batchnorm(name, channels, size, carried=0):
    """BatchNorm2d: 2 parameters per channel, and 2 running statistics (buffers)."""
    _positive(name, channels=channels, size=size)
    x = channels * size * size
    return Layer(name, "batchnorm", params=2 * channels, buffers=2 * channels,
                 flops=NORM_FLOPS * x, stored=x, inputs=x + carried, live=2 * x + carried,
                 output=x, shapes=(("weight", (channels,)), ("output", (channels, size, size))))


def maxpool(name, channels, size, kernel, stride, padding=0, carried=0):
    """Max pooling: kernel^2 - 1 comparisons per output; keeps its input for backward."""
    out = conv_output_size(size, kernel, stride, padding)
    x, y = channels * size * size, channels * out * out
    return Layer(name, "pool", flops=(kernel * kernel - 1) * y, stored=x, inputs=x + carried,
                 live=x + y + carried, output=y,
                 shapes=(("input", (channels, size, size)), ("output", (channels, out, out))))


def global_avgpool(name, channels, size):
    """Average over the whole feature map: backward needs only the shape."""
    x = channels * size * size
    return Layer(name, "pool", flops=x, inputs=x, live=x + channels, output=channels,
                 shapes=(("input", (channels, size, size)), ("output", (channels,))))


# --- recurrent layers -----------------------------------------------------------------
def lstm(name, input_size, hidden, steps, biases=1):
    """One LSTM layer unrolled over ``steps`` time steps (Hochreiter & Schmidhuber 1997).

    Gates i, f, g, o = W x_t + U h_{t-1} + b: 4 x hidden x (input + hidden) MACs per step.
    ``biases=2`` counts PyTorch's two bias vectors (b_ih and b_hh); Zaremba et al. use one.
    Keeps x_t, h_{t-1}, c_{t-1}, the four activated gates and tanh(c_t) at every step.
    """
    _positive(name, input_size=input_size, hidden=hidden, steps=steps, biases=biases)
    gates = 4 * hidden
    macs = steps * gates * (input_size + hidden)
    x, y = steps * input_size, steps * hidden
    return Layer(name, "lstm", params=gates * (input_size + hidden) + biases * gates, macs=macs,
                 flops=2 * macs + steps * (biases * ADD_FLOPS * gates + LSTM_CELL_FLOPS * hidden),
                 stored=steps * (input_size + 7 * hidden), inputs=x,
                 live=x + y + 2 * hidden + gates, output=y,
                 shapes=(("weight_ih", (gates, input_size)), ("weight_hh", (gates, hidden)),
                         ("output", (steps, hidden))))


def softmax_loss(name, classes, tokens, carried=0):
    """Softmax cross-entropy over ``classes`` logits per token; keeps the probabilities.

    Its inputs are the logits and one label per token.
    """
    _positive(name, classes=classes, tokens=tokens)
    x = tokens * classes
    return Layer(name, "loss", flops=(SOFTMAX_FLOPS + 1) * x, stored=x,
                 inputs=x + tokens + carried, live=2 * x + tokens + carried, output=tokens,
                 shapes=(("logits", (tokens, classes)),))
