"""Pipelining a model over several IPUs: contiguous stages, one per IPU, balanced.

A model too big for one IPU is cut into stages of consecutive layers, one stage per IPU;
micro-batches flow through them like cars through a production line (Huang et al. 2019,
"GPipe"; Graphcore's pipelined execution). Each stage must fit its IPU's SRAM; the
slowest stage sets the pace, so the split should balance them.

ASSUMPTION (schedule): training uses the one-forward-one-backward schedule (Narayanan et
al. 2021, "Efficient Large-Scale Language Model Training on GPU Clusters", §2.2): stage
``s`` of ``N`` holds the activations of ``N - s`` micro-batches at once, the first stage
the most. With ``recompute=True`` it keeps only its inputs for those and recomputes the
rest for one micro-batch at a time. Inference holds one micro-batch per stage.

The search is exact: a dynamic programme over (first layer of a stage, stages left) finds
the fewest IPUs on which every stage fits, then, for that many, the split whose slowest
stage is fastest. A stage's time per micro-batch is its FLOPs at the IPU's AMP peak
(times ``efficiency``) plus sending its activations (and, training, their gradients back)
over an IPU-Link; the weight update after each batch is not counted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..core.spec import GC200
from . import _format as fmt
from .costs import SegmentCosts, block_key
from .model import Model
from .setup import (
    ALWAYS_LIVE_FRACTION,
    RESERVED_FRACTION,
    MemoryBreakdown,
    Setup,
    check_ipu,
    check_model,
    check_reserve,
    make_setup,
    stage_reserve,
)

MAX_IPUS = 256        # the search gives up beyond this many stages


def bubble(stages: int, micro_batches: int) -> float:
    """Fraction of a pipelined batch the IPUs sit idle filling and draining the pipeline:
    (stages - 1) / (micro_batches + stages - 1) (Huang et al. 2019, GPipe §2.3)."""
    for key, value in (("stages", stages), ("micro_batches", micro_batches)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"bubble: {key} must be a positive int, got {value!r}")
    return (stages - 1) / (micro_batches + stages - 1)


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: layers ``[start, end)`` on one IPU."""

    index: int
    start: int
    end: int
    first: str
    last: str
    memory: MemoryBreakdown
    flops: int                 # forward FLOPs per sample
    compute_seconds: float     # per micro-batch (forward, and backward when training)
    link_seconds: float        # per micro-batch, sending over IPU-Links
    forward_bytes: int         # per micro-batch: activations sent to the next stage
    backward_bytes: int        # per micro-batch: gradients sent back to the previous stage
    blocks: int = 0            # repeated blocks (encoder layers) that start in this stage
    usable_bytes: int = 0      # SRAM this IPU has for the model (after its reserve)

    @property
    def seconds(self) -> float:
        return self.compute_seconds + self.link_seconds

    @property
    def sent_bytes(self) -> int:
        return self.forward_bytes + self.backward_bytes

    @property
    def layers(self) -> int:
        return self.end - self.start

    def describe(self) -> str:
        span = f"{self.first} .. {self.last}" if self.layers > 1 else self.first
        count = f"{self.layers} layer{'s' if self.layers != 1 else ''}"
        return (f"stage {self.index}: {span} ({count}), "
                f"{fmt.mib(self.memory.total)}, {fmt.count(self.flops, 'FLOP')}/sample, "
                f"{fmt.seconds(self.seconds)} per micro-batch")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["memory"] = self.memory.to_dict()
        d["seconds"] = self.seconds
        d["sent_bytes"] = self.sent_bytes
        return d


@dataclass(frozen=True)
class PipelinePlan:
    """The result of :func:`pipeline`: stages, memory per IPU, bubble and throughput."""

    model: str
    ipu: str
    setup: Setup
    micro_batches: int
    sram_bytes: int
    reserve: float
    efficiency: float
    stages: tuple
    feasible: bool
    reason: str = ""

    @property
    def ipus(self) -> int:
        return len(self.stages)

    @property
    def layers_per_ipu(self) -> list:
        """Repeated blocks (encoder layers) per IPU, as Graphcore's ``layers_per_ipu``: a
        block is counted on the IPU where it starts; the embedding is not a block."""
        return [s.blocks for s in self.stages]

    @property
    def usable_bytes(self) -> int:
        """SRAM per IPU for the model (the smallest over the stages when they differ)."""
        if self.stages and self.stages[0].usable_bytes:
            return min(s.usable_bytes for s in self.stages)
        return int(self.sram_bytes * (1 - self.reserve))

    @property
    def bubble(self) -> float:
        return bubble(self.ipus, self.micro_batches) if self.feasible else float("nan")

    @property
    def step_seconds(self) -> float:
        """Time per pipeline step: the slowest stage's time for one micro-batch."""
        return max(s.seconds for s in self.stages) if self.feasible else float("nan")

    @property
    def batch_seconds(self) -> float:
        """One batch of ``micro_batches`` micro-batches, fill and drain included."""
        return (self.micro_batches + self.ipus - 1) * self.step_seconds

    @property
    def throughput(self) -> float:
        """Samples per second (an upper bound at ``efficiency`` = 1: the IPU at peak)."""
        if not self.feasible:
            return float("nan")
        return self.micro_batches * self.setup.micro_batch / self.batch_seconds

    @property
    def balance(self) -> float:
        """Mean stage time / slowest stage time (1.0 = perfectly balanced)."""
        if not self.feasible:
            return float("nan")
        return float(np.mean([s.seconds for s in self.stages]) / self.step_seconds)

    def describe(self) -> str:
        head = f"{self.model}: {self.setup.describe()}, pipelined on {self.ipu}s"
        if not self.feasible:
            return f"{head}\n  no pipeline fits: {self.reason}"
        count = (f"{self.ipus} IPUs, one stage each" if self.ipus > 1
                 else "1 IPU: the whole model fits, no pipeline needed")
        spans = [f"{s.first} .. {s.last}" if s.layers > 1 else s.first for s in self.stages]
        width = max(8, max(map(len, spans))) + 2
        usable = sorted({s.usable_bytes for s in self.stages})
        if len(usable) > 1:
            room = "usable SRAM " + ", ".join(f"{fmt.mib(s.usable_bytes)} on IPU {s.index}"
                                              for s in self.stages)
        else:
            room = (f"usable SRAM per IPU {fmt.mib(self.usable_bytes)} "
                    f"({self.reserve:.0%} reserved)")
        lines = [head,
                 f"  {count}; {room}",
                 f"  {'IPU':>4}  {'layers':<{width}}{'memory':>13}{'use':>6}{'FLOP/sample':>13}"
                 f"{'time/mb':>10}"]
        for s, span in zip(self.stages, spans):
            lines.append(f"  {s.index:>4}  {span:<{width}}{fmt.mib(s.memory.total):>13}"
                         f"{s.memory.total / (s.usable_bytes or self.usable_bytes):>6.0%}"
                         f"{fmt.count(s.flops, 'FLOP'):>13}{fmt.seconds(s.seconds):>10}")
        if any(self.layers_per_ipu):
            lines.append(f"  layers per IPU (repeated blocks): {self.layers_per_ipu}")
        streamed = sum(s.memory.streamed for s in self.stages)
        if streamed:
            lines.append(f"  in Streaming Memory (per replica): {fmt.mib(streamed)} of optimiser "
                         f"state and master weights")
        lines += [f"  {self.micro_batches} micro-batches of {self.setup.micro_batch}: bubble "
                  f"{self.bubble:.1%}, stage balance {self.balance:.0%}",
                  f"  estimated throughput {self.throughput:,.1f} samples/s at "
                  f"{self.efficiency:.0%} of the AMP peak"
                  + (" (an upper bound)" if self.efficiency == 1 else "")]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "ipu": self.ipu, "setup": asdict(self.setup),
                "micro_batches": self.micro_batches, "sram_bytes": self.sram_bytes,
                "reserve": self.reserve, "usable_bytes": self.usable_bytes,
                "efficiency": self.efficiency, "feasible": self.feasible, "reason": self.reason,
                "ipus": self.ipus, "layers_per_ipu": self.layers_per_ipu, "bubble": self.bubble,
                "step_seconds": self.step_seconds,
                "throughput": self.throughput, "balance": self.balance,
                "stages": [s.to_dict() for s in self.stages]}


def _check_count(name, value, low=1):
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"pipeline: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def pipeline(model: Model, ipu=None, *, ipus: int | None = None, micro_batches: int = 16,
             reserve: float = RESERVED_FRACTION, efficiency: float = 1.0,
             max_ipus: int = MAX_IPUS, setup: Setup | None = None,
             always_live: float = ALWAYS_LIVE_FRACTION, cut: str | None = None,
             head: str = "last", **options) -> PipelinePlan:
    """Split ``model`` into stages over IPUs of type ``ipu`` (default GC200).

    With ``ipus=None`` it uses the fewest IPUs on which every stage fits; give ``ipus`` to
    spread it over more (faster) or check a given count. Options as :class:`Setup`
    (``training``, ``precision``, ``optimizer``, ``micro_batch``, ``recompute``) and the
    training levers (``offload_optimizer``, ``replicas``, ``sharded``, ``half_momentum``,
    ``half_partials``, ``matmul_proportion``; see :mod:`ipukit.models.setup`). With a
    ``matmul_proportion`` each IPU keeps ``always_live`` + its matmul share back, not
    ``reserve``; a list gives one share per IPU and at most that many IPUs.
    ``cut="layer"`` may cut between any two layers; ``cut="block"`` only between repeated
    blocks (whole encoder layers, as Graphcore's ``layers_per_ipu``). The default is
    ``"block"`` with ``recompute="layer"`` (stages end at the checkpoints) and ``"layer"``
    otherwise. ``head="first"`` runs the layers after the last repeated block (pooler,
    masked-LM head) on IPU 0 beside the embedding their decoder is tied to, as Graphcore's
    BERT does, instead of on the last IPU (the final hidden states travel back to IPU 0; that
    transfer is not counted).
    A plan that cannot fit comes back with ``feasible=False`` and the ``reason``.
    """
    model = check_model(model)
    chip = check_ipu(GC200 if ipu is None else ipu)
    setup = make_setup(setup, **options)
    reserve = check_reserve(reserve)
    if head not in ("last", "first"):
        raise ValueError(f"pipeline: head must be 'last' or 'first', got {head!r}")
    if head == "first":
        model = _head_first(model)
    micro_batches = _check_count("micro_batches", micro_batches)
    max_ipus = _check_count("max_ipus", max_ipus)
    if ipus is not None:
        ipus = _check_count("ipus", ipus)
        if ipus > len(model.layers):
            raise ValueError(f"pipeline: {ipus} IPUs but {model.name!r} has only "
                             f"{len(model.layers)} layers to share out; use ipus <= "
                             f"{len(model.layers)}")
    if not isinstance(efficiency, (int, float)) or not 0 < efficiency <= 1:
        raise ValueError(f"pipeline: efficiency is the fraction of the AMP peak reached, in "
                         f"(0, 1]; got {efficiency!r}")

    if cut is None:
        cut = "block" if setup.recompute == "layer" else "layer"
    if cut not in ("layer", "block"):
        raise ValueError(f"pipeline: cut must be 'layer' or 'block', got {cut!r}")
    per_ipu = isinstance(setup.matmul_proportion, tuple)
    if per_ipu and ipus is not None and ipus != len(setup.matmul_proportion):
        raise ValueError(f"pipeline: ipus={ipus} but matmul_proportion gives "
                         f"{len(setup.matmul_proportion)} shares (one per IPU); give as many "
                         f"shares as IPUs, or one number for all")

    def usable_on(stage):
        return int(chip.total_sram_bytes * (1 - stage_reserve(setup, reserve, stage, always_live)))

    costs = SegmentCosts(model, setup)
    usable = usable_on(0)
    plan = dict(model=model.name, ipu=chip.name, setup=setup, micro_batches=micro_batches,
                sram_bytes=chip.total_sram_bytes, reserve=stage_reserve(setup, reserve, 0, always_live),
                efficiency=float(efficiency))

    top = max(usable_on(i) for i in range(len(setup.matmul_proportion) if per_ipu else 1))
    too_big = _oversized_layer(costs, top)
    if too_big is not None:
        return PipelinePlan(**plan, stages=(), feasible=False, reason=too_big)
    peak = chip.peak_flops(setup.formats.compute_dtype) * efficiency
    valid, parts, flops = costs.matrices()
    if cut == "block":          # stages start and end only where a block starts
        edge = np.append(costs.block_start, True)
        valid = valid & edge[:-1, None] & edge[None, :]
    times = _stage_seconds(costs, flops, chip, peak)
    if per_ipu:
        counts = [ipus] if ipus is not None else range(1, len(setup.matmul_proportion) + 1)
        found = None
        for count in counts:
            found = _search(costs, valid, parts, times,
                            lambda r, count=count: usable_on(count - r), count, exact=True)
            if found is not None:
                break
    else:
        found = _search(costs, valid, parts, times, lambda r: usable, ipus or max_ipus,
                        exact=ipus is not None)
    if found is None:
        if ipus is not None:
            reason = (f"the layers cannot be cut into {ipus} stages that each fit "
                      f"{fmt.mib(usable)}; use more IPUs, or ipus=None for the fewest that work")
        else:
            most = len(setup.matmul_proportion) if per_ipu else max_ipus
            reason = (f"no split into at most {most} stages fits {fmt.mib(usable)} per IPU "
                      f"(the first stages hold the most micro-batches); try recompute=True, a "
                      f"smaller micro_batch, or a larger max_ipus")
        return PipelinePlan(**plan, stages=(), feasible=False, reason=reason)
    return PipelinePlan(**plan, stages=_stages(costs, found, chip, peak, usable_on), feasible=True)


def _head_first(model):
    """The model with the layers after its last repeated block moved to just before its first."""
    keys = [block_key(x.name) for x in model.layers]
    numbered = [i for i, k in enumerate(keys) if k is not None]
    if not numbered:
        raise ValueError(f"pipeline: head='first' needs repeated blocks (layers named like "
                         f"'encoder.3.…'); {model.name!r} has none")
    first, last = numbered[0], numbered[-1] + 1
    if last == len(model.layers):
        return model
    layers = model.layers
    return replace(model, layers=layers[:first] + layers[last:] + layers[first:last])


def _oversized_layer(costs, usable):
    """A layer that overflows an IPU in whatever stage it is put, with a message; else None.

    Its weights, one micro-batch of its stored activations and its working set are a lower
    bound on the memory of any stage that holds it (recomputation or not)."""
    floor = SegmentCosts(costs.model, replace(costs.setup, recompute=False))
    for i, layer in enumerate(costs.model.layers):
        alone = floor.breakdown(i, i + 1, in_flight=1)
        if alone.total > usable:
            return (f"layer {layer.name!r} alone needs {fmt.mib(alone.total)}, more than the "
                    f"{fmt.mib(usable)} usable on one IPU; a pipeline of whole layers cannot "
                    f"hold it: split that layer over several IPUs (e.g. shard an embedding "
                    f"table by rows), or use a smaller precision or optimiser")
    return None


def _stage_seconds(costs, flops, chip, peak):
    """Seconds per micro-batch for every segment: compute plus IPU-Link transfers."""
    s = costs.setup
    compute = s.micro_batch * s.passes * flops / peak
    n = costs.n
    J, K = np.meshgrid(np.arange(n), np.arange(n + 1), indexing="ij")
    sent = costs.inputs[K].astype(float)                   # activations to the next stage
    if s.training:
        sent = sent + np.where(J > 0, costs.inputs[J], 0)  # gradients back to the previous one
    link = s.micro_batch * s.formats.activation_bytes * sent / chip.ipu_link_bytes_per_second
    return compute + link


def _search(costs, valid, parts, times, usable, limit, exact):
    """Dynamic programme from the last stage back: best[r][j] = the slowest stage time of the
    best split of layers [j, n) into r stages, the first of which holds r micro-batches.
    ``usable(r)`` is the SRAM of the stage with r stages left (itself included).
    Returns the chosen cut points for the fewest (or exactly ``limit``) stages, or None."""
    n = costs.n
    best = np.full(n + 1, np.inf)
    best[n] = 0.0
    choices = []
    rows = np.arange(n)
    for r in range(1, limit + 1):
        fits = valid & (costs.memory_matrix(parts, in_flight=r) <= usable(r))
        candidate = np.where(fits, np.maximum(times, best[None, :]), np.inf)
        cut = np.argmin(candidate, axis=1)
        best = np.full(n + 1, np.inf)
        best[:n] = candidate[rows, cut]
        choices.append(cut)
        if np.isfinite(best[0]) and (not exact or r == limit):
            return _cuts(choices, n)
        if not np.isfinite(best).any():
            return None
    return None


def _cuts(choices, n):
    bounds, j = [0], 0
    for cut in reversed(choices):
        j = int(cut[j])
        bounds.append(j)
    assert j == n
    return bounds


def _stages(costs, bounds, chip, peak, usable_on):
    s = costs.setup
    count = len(bounds) - 1
    out = []
    for i, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
        flops = costs.flops(start, end)
        per_element = s.micro_batch * s.formats.activation_bytes
        forward = per_element * int(costs.inputs[end])
        backward = per_element * int(costs.inputs[start]) if s.training and start else 0
        out.append(Stage(i, start, end, costs.model.layers[start].name,
                         costs.model.layers[end - 1].name,
                         costs.breakdown(start, end, in_flight=count - i), flops,
                         s.micro_batch * s.passes * flops / peak,
                         (forward + backward) / chip.ipu_link_bytes_per_second,
                         forward, backward, costs.layer_blocks(start, end), usable_on(i)))
    return tuple(out)
