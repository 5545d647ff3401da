"""How a model is run (inference or training, number formats, optimiser, micro-batch),
and what its memory is made of.

Bytes per value (:data:`PRECISIONS`): FP32 everywhere; FP16 everywhere; or mixed precision
(Micikevicius et al. 2018, "Mixed Precision Training"): FP16 weights, activations and
gradients, plus an FP32 master copy of the weights and FP32 optimiser state. Optimiser
state per parameter (:data:`OPTIMIZERS`): SGD none, momentum one value, Adam two (Kingma &
Ba 2015). Adam in mixed precision is then 2 + 2 + 4 + 4 + 4 = 16 bytes per parameter, as
in Rajbhandari et al. 2020, "ZeRO", §3.1.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..core.spec import IPUSpec
from .model import Model

# ASSUMPTION: the share of each IPU's SRAM kept for what the memory analysis does not count:
# code, vertex state, exchange buffers, stacks and the temporaries of matmuls and
# convolutions. No figure is published for it; a quarter is a round guess to reason with
# (PopVision's memory report shows the real split of a compiled program). Every analysis
# takes ``reserve=`` to change it.
RESERVED_FRACTION = 0.25


@dataclass(frozen=True)
class Precision:
    """Bytes per value of each kind of tensor."""

    name: str
    label: str
    weight_bytes: int
    activation_bytes: int
    gradient_bytes: int
    master_bytes: int      # an extra FP32 copy of the weights (0 when there is none)
    state_bytes: int       # bytes per optimiser state value
    compute_dtype: str     # the arithmetic's format, which sets the AMP peak rate


PRECISIONS = {
    "fp32": Precision("fp32", "FP32", 4, 4, 4, 0, 4, "float32"),
    "fp16": Precision("fp16", "FP16", 2, 2, 2, 0, 2, "float16"),
    "mixed": Precision("mixed", "mixed precision (FP16, FP32 master weights and optimiser state)",
                       2, 2, 2, 4, 4, "float16"),
}

OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2}     # state values kept per parameter
_OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam"}


@dataclass(frozen=True)
class Setup:
    """How the model is run: inference or training, number formats, optimiser, micro-batch.

    ``recompute=True`` (training) keeps only each pipeline stage's inputs for the
    micro-batches in flight and recomputes the rest of the forward pass during backward.
    """

    training: bool = False
    precision: str = "fp16"
    optimizer: str = "adam"
    micro_batch: int = 1
    recompute: bool = False

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of "
                             f"{', '.join(map(repr, PRECISIONS))}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of "
                             f"{', '.join(map(repr, OPTIMIZERS))}")
        if not isinstance(self.micro_batch, int) or self.micro_batch < 1:
            raise ValueError(f"micro_batch must be a positive int (samples per micro-batch), "
                             f"got {self.micro_batch!r}")
        if self.recompute and not self.training:
            raise ValueError("recompute=True only applies to training (inference keeps no "
                             "activations for a backward pass); set training=True or drop it")

    @property
    def formats(self) -> Precision:
        return PRECISIONS[self.precision]

    @property
    def passes(self) -> int:
        """Forward-pass equivalents of compute per sample: backward costs about twice the
        forward (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1:
        6N FLOPs per token to train vs 2N to infer); recomputation adds one forward."""
        if not self.training:
            return 1
        return 4 if self.recompute else 3

    def describe(self) -> str:
        if not self.training:
            what = f"inference, {self.formats.label}"
        else:
            what = (f"training, {self.formats.label}, {_OPTIMIZER_LABELS[self.optimizer]}"
                    + (", recomputation" if self.recompute else ""))
        return f"{what}, micro-batch {self.micro_batch}"


def make_setup(setup=None, **options) -> Setup:
    """A :class:`Setup` from keyword options, or the one given (not both)."""
    if setup is not None:
        if options:
            raise ValueError(f"give either setup= or the options {sorted(options)}, not both")
        if not isinstance(setup, Setup):
            raise TypeError(f"setup must be a Setup, got {type(setup).__name__}")
        return setup
    return Setup(**options)


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes needed, by kind."""

    weights: int = 0
    gradients: int = 0
    master: int = 0
    optimizer: int = 0
    activations: int = 0

    LABELS = {"weights": "weights", "gradients": "gradients", "master": "FP32 master weights",
              "optimizer": "optimiser state", "activations": "activations"}

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def items(self) -> list:
        """(kind, bytes) for each kind, in a fixed order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def check_ipu(ipu):
    """The per-chip view of an IPUSpec, refusing anything else."""
    if not isinstance(ipu, IPUSpec):
        raise TypeError(f"ipu must be an IPUSpec such as ipukit.GC2 or ipukit.GC200, got "
                        f"{type(ipu).__name__}")
    return ipu.replace(num_ipus=1)


def check_reserve(reserve):
    if not isinstance(reserve, (int, float)) or not 0 <= reserve < 1:
        raise ValueError(f"reserve is the fraction of SRAM kept for code, exchange and stacks; "
                         f"it must be in [0, 1), got {reserve!r}")
    return float(reserve)


def check_model(model):
    if not isinstance(model, Model):
        raise TypeError(f"expected a Model (e.g. ipukit.models.bert_large()), got "
                        f"{type(model).__name__}")
    return model
