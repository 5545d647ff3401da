"""Memory fit: does a model fit in the SRAM of one IPU, for inference or for training?

The IPU has no DRAM next to it: weights, activations, gradients and optimiser state all
live in the tiles' SRAM (304 MiB on a GC2, ~897 MiB on a GC200), or the model must be
split over several IPUs (see :mod:`ipukit.models.pipeline`).

What is counted (bytes per value in :mod:`ipukit.models.setup`):

- weights, and buffers such as batch-norm statistics;
- for training: a gradient per parameter, the optimiser's state and, in mixed precision,
  an FP32 master copy of the weights;
- activations per micro-batch: for inference the largest set live at once (one layer's
  inputs, outputs and the skip tensors held for later); for training every activation the
  backward pass needs (:mod:`ipukit.models.layers`), plus the working set of the largest
  layer (during backward its gradients are about as large as its live tensors).

A share of the SRAM is kept back for what this does not count (code, exchange buffers,
stacks, the temporaries of matmuls): :data:`ipukit.models.setup.RESERVED_FRACTION`, an
ASSUMPTION; change it with ``reserve=``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..core.spec import GC200
from . import _format as fmt
from .costs import SegmentCosts
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


def segment_memory(model: Model, start: int, end: int, setup: Setup, in_flight: int = 1
                   ) -> MemoryBreakdown:
    """Memory of the layers ``[start, end)`` placed on one IPU, holding the activations of
    ``in_flight`` micro-batches for training (1 when the model is not pipelined)."""
    return SegmentCosts(model, setup).breakdown(start, end, in_flight)


@dataclass(frozen=True)
class FitReport:
    """Whether a model fits on one IPU, and what takes the space."""

    model: str
    ipu: str
    setup: Setup
    memory: MemoryBreakdown
    sram_bytes: int
    reserve: float
    params: int

    @property
    def usable_bytes(self) -> int:
        """SRAM left for the model once the reserve (code, exchange, stacks) is set aside."""
        return int(self.sram_bytes * (1 - self.reserve))

    @property
    def fits(self) -> bool:
        return self.memory.total <= self.usable_bytes

    @property
    def headroom_bytes(self) -> int:
        """Usable SRAM left over (negative when it does not fit)."""
        return self.usable_bytes - self.memory.total

    @property
    def ipus_lower_bound(self) -> int:
        """IPUs needed if the memory could be split perfectly evenly: a lower bound (the
        pipeline split in :func:`ipukit.models.pipeline` gives the real count)."""
        return max(1, math.ceil(self.memory.total / self.usable_bytes))

    def describe(self) -> str:
        lines = [f"{self.model} ({self.params:,} parameters): {self.setup.describe()}, "
                 f"on one {self.ipu}"]
        for kind, nbytes in self.memory.items():
            if nbytes:
                lines.append(f"  {MemoryBreakdown.LABELS[kind]:<22}{fmt.mib(nbytes):>16}")
        lines.append(f"  {'total':<22}{fmt.mib(self.memory.total):>16}")
        if self.memory.streamed:
            lines.append(f"  (+ {fmt.mib(self.memory.streamed)} of optimiser state and master "
                         f"weights in Streaming Memory, off chip)")
        what = ("code, exchange and stacks" if self.setup.matmul_proportion is None else
                f"code, exchange and stacks plus matmul temporaries "
                f"({self.setup.matmul_share(0):g})")
        lines.append(f"  {self.ipu} SRAM {fmt.mib(self.sram_bytes)}; with {self.reserve:.0%} "
                     f"reserved for {what}, {fmt.mib(self.usable_bytes)} "
                     f"is usable")
        if self.fits:
            lines.append(f"  fits, with {fmt.mib(self.headroom_bytes)} to spare "
                         f"({self.memory.total / self.usable_bytes:.0%} of usable SRAM)")
        else:
            lines.append(f"  does NOT fit: {self.memory.total / self.usable_bytes:.1f}x the usable "
                         f"SRAM; at least {self.ipus_lower_bound} IPUs are needed")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "ipu": self.ipu, "setup": asdict(self.setup),
                "memory": self.memory.to_dict(), "sram_bytes": self.sram_bytes,
                "reserve": self.reserve, "usable_bytes": self.usable_bytes, "fits": self.fits,
                "headroom_bytes": self.headroom_bytes, "params": self.params,
                "ipus_lower_bound": self.ipus_lower_bound}


def fit(model: Model, ipu=None, *, reserve: float = RESERVED_FRACTION, setup: Setup | None = None,
        always_live: float = ALWAYS_LIVE_FRACTION, **options) -> FitReport:
    """Does ``model`` fit on one ``ipu`` (default GC200)? Options as :class:`Setup`:
    ``training``, ``precision`` ("fp32", "fp16", "mixed"), ``optimizer`` ("sgd",
    "momentum", "adam"), ``micro_batch`` and the training levers (``recompute``,
    ``offload_optimizer``, ``replicas``, ``sharded``, ``half_momentum``, ``half_partials``,
    ``matmul_proportion``). With ``matmul_proportion`` the reserve is ``always_live`` + that
    share, not ``reserve``.

    For example ``fit(bert_large(), ipukit.GC2, training=True, precision="fp32")``.
    """
    model = check_model(model)
    chip = check_ipu(GC200 if ipu is None else ipu)
    setup = make_setup(setup, **options)
    memory = segment_memory(model, 0, len(model.layers), setup)
    reserve = stage_reserve(setup, check_reserve(reserve), 0, always_live)
    return FitReport(model.name, chip.name, setup, memory, chip.total_sram_bytes,
                     reserve, model.params)
