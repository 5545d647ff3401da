"""How a model is run (inference or training, number formats, optimiser, micro-batch),
and what its memory is made of.

Bytes per value (:data:`PRECISIONS`): FP32 everywhere; FP16 everywhere; or mixed precision
(Micikevicius et al. 2018, "Mixed Precision Training"): FP16 weights, activations and
gradients, plus an FP32 master copy of the weights and FP32 optimiser state. Optimiser
state per parameter (:data:`OPTIMIZERS`): SGD none, momentum one value, Adam two (Kingma &
Ba 2015). Adam in mixed precision is then 2 + 2 + 4 + 4 + 4 = 16 bytes per parameter, as
in Rajbhandari et al. 2020, "ZeRO", §3.1.

The training levers Graphcore uses (the ``ipu_config.json`` of Optimum Graphcore's
``Graphcore/bert-large-uncased``; :data:`GRAPHCORE_BERT_LARGE` holds that set-up), each a
:class:`Setup` option and each a line of the memory breakdown:

- ``offload_optimizer`` (``optimizer_state_offchip``): optimiser state and FP32 master
  weights live in Streaming Memory, the DRAM of the IPU-M2000, not in tile SRAM;
- ``sharded`` over ``replicas`` (``replicated_tensor_sharding``): each of the data-parallel
  replicas keeps 1/replicas of the optimiser state and master weights;
- ``recompute="layer"`` (``recompute_checkpoint_every_layer``): keep each layer's input for
  the micro-batches in flight, recompute one layer's activations at a time for backward;
- ``half_momentum`` (``enable_half_first_order_momentum``): Adam's (or momentum's) first
  moment in FP16, 2 bytes instead of 4;
- ``half_partials`` (``enable_half_partials``): matmuls accumulate in FP16, not FP32. With
  ``half_partials=False`` the breakdown counts the partial sums of each stage's largest
  matmul output (the bytes they take beyond the output itself); ``True`` counts them in FP16;
  the default ``None`` leaves them, like the other matmul temporaries, inside the reserve;
- ``matmul_proportion``: the share of each IPU's SRAM the matmul planner may use for its
  temporaries (Poplar's ``availableMemoryProportion``), one number or one per IPU.
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

# The reserve split in two when a set-up names the matmul's share (``matmul_proportion``):
# ASSUMPTION, no published figure for either: code, vertex state, exchange buffers and stacks
# ("always-live" in PopVision's words) take ALWAYS_LIVE_FRACTION of each IPU's SRAM, and the
# matmul and convolution temporaries DEFAULT_MATMUL_PROPORTION, so that the two add up to
# RESERVED_FRACTION. (Poplar's own default cap for the temporaries, availableMemoryProportion,
# is 0.6: a cap, not what a plan uses.)
ALWAYS_LIVE_FRACTION = 0.10
DEFAULT_MATMUL_PROPORTION = 0.15     # ALWAYS_LIVE_FRACTION + this = RESERVED_FRACTION

# PopLibs' matmuls accumulate float16 products in float32 partials unless told otherwise
# (poplin "partialsType"; Optimum Graphcore's enable_half_partials switches it to half).
PARTIALS_BYTES = {False: 4, True: 2}


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
RECOMPUTE = (False, True, "stage", "layer")

# Graphcore's BERT-Large pre-training set-up, as options of models.pipeline, for the model
# ``bert_large(pretraining_heads=True, predictions=20)`` (BertForPreTraining; the masked-LM
# head predicts 20 positions of each 128-token sequence, "--mask-tokens 20" in Graphcore's
# BERT examples). From huggingface.co/Graphcore/bert-large-uncased, ipu_config.json:
# ipus_per_replica 4, layers_per_ipu [3, 7, 7, 7] (the embedding shares IPU 0 with 3 encoder
# layers), optimizer_state_offchip, replicated_tensor_sharding, replication_factor 16,
# recompute_checkpoint_every_layer, enable_half_first_order_momentum, enable_half_partials,
# matmul_proportion [0.1, 0.15, 0.15, 0.15]. Graphcore's model code (Optimum Graphcore,
# BertForPreTraining.parallelize) puts the masked-LM head on IPU 0 beside the embedding its
# decoder is tied to: head="first". LAMB keeps Adam's two state values per parameter.
# ASSUMPTION: micro_batch is not in ipu_config.json. 24 is a value at which ipukit's memory
# model (with its own ASSUMPTION for the always-live share) needs the 4 IPUs Graphcore uses;
# 22 to 28 give the same count. So "4 IPUs" here checks the model's shape against the
# published choice; it is not an independent prediction.
GRAPHCORE_BERT_LARGE = dict(training=True, precision="mixed", optimizer="adam", micro_batch=24,
                            recompute="layer", offload_optimizer=True, replicas=16,
                            sharded=True, half_momentum=True, half_partials=True,
                            matmul_proportion=(0.1, 0.15, 0.15, 0.15), head="first")


@dataclass(frozen=True)
class Setup:
    """How the model is run: inference or training, number formats, optimiser, micro-batch.

    ``recompute=True`` (or ``"stage"``, training) keeps only each pipeline stage's inputs
    for the micro-batches in flight and recomputes the rest of the forward pass during
    backward; ``recompute="layer"`` keeps every layer's input (a checkpoint per repeated
    block, e.g. per encoder layer) and recomputes one layer at a time. The other levers are
    described in the module docstring.
    """

    training: bool = False
    precision: str = "fp16"
    optimizer: str = "adam"
    micro_batch: int = 1
    recompute: object = False
    offload_optimizer: bool = False
    replicas: int = 1
    sharded: bool = False
    half_momentum: bool = False
    half_partials: object = None
    matmul_proportion: object = None

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
        if self.recompute not in RECOMPUTE or isinstance(self.recompute, int) and \
                not isinstance(self.recompute, bool):
            raise ValueError(f"recompute must be one of {RECOMPUTE}, got {self.recompute!r}")
        if self.recompute and not self.training:
            raise ValueError("recompute=True only applies to training (inference keeps no "
                             "activations for a backward pass); set training=True or drop it")
        for lever in ("offload_optimizer", "sharded", "half_momentum"):
            if getattr(self, lever) and not self.training:
                raise ValueError(f"{lever}=True only applies to training (inference keeps no "
                                 f"optimiser state); set training=True or drop it")
        if not isinstance(self.replicas, int) or isinstance(self.replicas, bool) or self.replicas < 1:
            raise ValueError(f"replicas must be a positive int (data-parallel copies of the "
                             f"model), got {self.replicas!r}")
        if self.sharded and self.replicas < 2:
            raise ValueError("sharded=True splits optimiser state over the replicas; give "
                             "replicas >= 2 (e.g. replicas=16)")
        if self.half_momentum and self.optimizer == "sgd":
            raise ValueError("half_momentum=True needs an optimiser with a first moment: "
                             "optimizer='momentum' or 'adam'")
        if self.half_partials not in (None, False, True):
            raise ValueError(f"half_partials must be None, False or True, got "
                             f"{self.half_partials!r}")
        if self.half_partials and self.formats.compute_dtype == "float32":
            raise ValueError("half_partials=True needs FP16 arithmetic: precision='fp16' or "
                             "'mixed' (FP32 matmuls accumulate in FP32)")
        if self.matmul_proportion is not None:
            props = self.matmul_proportion
            props = tuple(props) if isinstance(props, (list, tuple)) else (props,)
            if not props or not all(isinstance(p, (int, float)) and not isinstance(p, bool)
                                    and 0 < p < 1 for p in props):
                raise ValueError(f"matmul_proportion is the share of each IPU's SRAM kept for "
                                 f"matmul temporaries: a number in (0, 1) or one per IPU, got "
                                 f"{self.matmul_proportion!r}")
            value = props if isinstance(self.matmul_proportion, (list, tuple)) else float(props[0])
            object.__setattr__(self, "matmul_proportion", value)

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

    @property
    def first_moment_bytes(self) -> int:
        """Bytes of the optimiser's first moment (momentum, Adam's m): FP16 with half_momentum."""
        return 2 if self.half_momentum else self.formats.state_bytes

    @property
    def optimizer_bytes(self) -> int:
        """Optimiser state bytes per parameter, before sharding."""
        states = OPTIMIZERS[self.optimizer]
        if states == 0:
            return 0
        return self.first_moment_bytes + (states - 1) * self.formats.state_bytes

    @property
    def partials_bytes(self) -> int:
        """Bytes per matmul partial sum: FP32 unless half_partials (FP16 arithmetic only)."""
        if self.formats.compute_dtype == "float32":
            return 4
        return PARTIALS_BYTES[bool(self.half_partials)]

    @property
    def partials_extra_bytes(self) -> int:
        """Bytes per output element the partials take beyond the output's own format (0 when
        ``half_partials`` is None: the partials are then left inside the reserve)."""
        if self.half_partials is None:
            return 0
        return self.partials_bytes - self.formats.activation_bytes

    def matmul_share(self, stage: int = 0):
        """The matmul's share of SRAM on IPU ``stage`` (None when not given)."""
        props = self.matmul_proportion
        if props is None or not isinstance(props, tuple):
            return props
        return props[stage] if stage < len(props) else props[-1]

    def describe(self) -> str:
        if not self.training:
            what = f"inference, {self.formats.label}"
        else:
            what = (f"training, {self.formats.label}, {_OPTIMIZER_LABELS[self.optimizer]}"
                    + {True: ", recomputation", "stage": ", recomputation",
                       "layer": ", recomputation (checkpoint every layer)"}.get(self.recompute, ""))
            levers = [name for name, on in (
                ("optimiser state in Streaming Memory", self.offload_optimizer),
                (f"state sharded over {self.replicas} replicas", self.sharded),
                ("FP16 first moment", self.half_momentum)) if on]
            what += "".join(", " + lever for lever in levers)
        if self.half_partials is not None:
            what += ", FP16 partials" if self.half_partials else ", FP32 partials"
        if self.matmul_proportion is not None:
            props = self.matmul_proportion
            what += (", matmul_proportion " + (f"{list(props)}" if isinstance(props, tuple)
                                               else f"{props:g}"))
        return f"{what}, micro-batch {self.micro_batch}"


def make_setup(setup=None, **options) -> Setup:
    """A :class:`Setup` from keyword options, or the one given (not both)."""
    if setup is not None:
        if options:
            raise ValueError(f"give either setup= or the options {sorted(options)}, not both")
        if not isinstance(setup, Setup):
            raise TypeError(f"setup must be a Setup, got {type(setup).__name__}")
        return setup
    unknown = sorted(set(options) - {f.name for f in fields(Setup)})
    if unknown:
        placement = {"head", "cut", "ipus", "micro_batches"} & set(unknown)
        hint = (f" ({', '.join(sorted(placement))}: where layers go over IPUs, an option of "
                f"models.pipeline, not of a set-up or a one-IPU fit)" if placement else "")
        raise TypeError(f"unknown set-up option(s) {unknown}; a set-up takes "
                        f"{[f.name for f in fields(Setup)]}{hint}")
    return Setup(**options)


@dataclass(frozen=True)
class MemoryBreakdown:
    """Bytes needed, by kind."""

    weights: int = 0
    gradients: int = 0
    master: int = 0
    optimizer: int = 0
    activations: int = 0
    partials: int = 0
    streamed: int = 0      # in Streaming Memory (off chip): not part of ``total``

    LABELS = {"weights": "weights", "gradients": "gradients", "master": "FP32 master weights",
              "optimizer": "optimiser state", "activations": "activations",
              "partials": "matmul partials", "streamed": "in Streaming Memory"}

    @property
    def total(self) -> int:
        """Bytes in tile SRAM (Streaming Memory not included)."""
        return sum(getattr(self, f.name) for f in fields(self) if f.name != "streamed")

    def items(self) -> list:
        """(kind, bytes) for each kind kept in SRAM, in a fixed order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if f.name != "streamed"]

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def check_ipu(ipu):
    """The per-chip view of an IPUSpec, refusing anything else."""
    if not isinstance(ipu, IPUSpec):
        raise TypeError(f"ipu must be an IPUSpec such as ipukit.GC2 or ipukit.GC200, got "
                        f"{type(ipu).__name__}")
    return ipu.replace(num_ipus=1)


def stage_reserve(setup: "Setup", reserve: float, stage: int = 0,
                  always_live: float = ALWAYS_LIVE_FRACTION) -> float:
    """The share of SRAM not available to the model on IPU ``stage``: ``reserve`` when the
    set-up gives no ``matmul_proportion``, else always-live + the matmul's share there."""
    share = setup.matmul_share(stage)
    if share is None:
        return reserve
    total = always_live + share
    if not 0 <= total < 1:
        raise ValueError(f"always-live share {always_live:g} + matmul_proportion {share:g} "
                         f"leaves no SRAM for the model; lower one of them")
    return total


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
