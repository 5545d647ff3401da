"""The machine being emulated: IPUSpec and the GC2 / GC200 presets.

Every number carries its source. Short names refer to the table in the kit's
fact sheet on the IPU (docs section "Sources" in the README):
JIA = Jia et al., "Dissecting the Graphcore IPU Architecture via Microbenchmarking",
arXiv:1912.03413; APD = apaperaday.com summaries of JIA; ASM = Graphcore
"Assembly programming" guide ch. 4; TUT = graphcore/tutorials poplar tut1-6;
PLB = graphcore/poplibs; LEG = graphcore/legacy_drivers_and_tools (C2 card).
Numbers marked ASSUMPTION have no published figure; they live here and nowhere else.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IPUSpec:
    """One IPU chip type, and how many of them are used together.

    Tile ids are global: 0 ... num_ipus * tiles - 1, IPU i owning the block
    [i * tiles, (i + 1) * tiles).  Use ``spec.replace(tiles=16)`` for a
    teaching-size machine.
    """

    name: str
    tiles: int                        # tiles per IPU
    sram_bytes_per_tile: int
    clock_hz: float
    workers_per_tile: int = 6         # hardware worker contexts, round-robin (ASM §4.2.1)
    exchange_bytes_per_cycle: int = 4  # per tile, on-chip exchange (TUT tut6, getExchangeBytesPerCycle)
    fp32_flops_per_cycle: int = 16    # per tile, AMP peak in float32
    fp16_flops_per_cycle: int = 64    # per tile, AMP peak in float16
    vector_bytes: int = 8             # 64-bit data path: 2 x f32 or 4 x f16 per vector op
    memory_read_bytes_per_cycle: int = 16   # per tile (JIA §3 via APD "5localmemory")
    memory_write_bytes_per_cycle: int = 8   # per tile (JIA §3 via APD "5localmemory")
    ipu_link_bytes_per_second: float = 96e9  # per direction between two IPUs
    host_bytes_per_second: float = 15.75e9   # host <-> IPU, per IPU
    sync_cycles: int = 150            # on-chip sync. ASSUMPTION: no published figure
    sync_hop_seconds: float = 15e-9   # inter-IPU sync latency per hop (PLB lib/poplibs_test/Util.cpp)
    alignment: int = 8                # bytes; tensors start on 64-bit boundaries
    num_ipus: int = 1

    def __post_init__(self):
        for field in ("tiles", "sram_bytes_per_tile", "workers_per_tile",
                      "exchange_bytes_per_cycle", "num_ipus", "alignment"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"IPUSpec.{field} must be a positive integer, got {value!r}")
        if self.sram_bytes_per_tile % self.alignment:
            raise ValueError(
                f"IPUSpec.sram_bytes_per_tile ({self.sram_bytes_per_tile}) must be a multiple "
                f"of the alignment ({self.alignment} B)")
        if self.clock_hz <= 0:
            raise ValueError(f"IPUSpec.clock_hz must be positive, got {self.clock_hz!r}")

    def replace(self, **changes) -> "IPUSpec":
        """A copy with some fields changed, e.g. ``GC2.replace(tiles=16)``."""
        return dataclasses.replace(self, **changes)

    @property
    def total_tiles(self) -> int:
        return self.tiles * self.num_ipus

    @property
    def total_sram_bytes(self) -> int:
        return self.total_tiles * self.sram_bytes_per_tile

    def ipu_of(self, tile: int) -> int:
        return tile // self.tiles

    def flops_per_cycle(self, dtype) -> int:
        """AMP peak FLOP per tile-cycle for float16 or float32."""
        return self.fp16_flops_per_cycle if np.dtype(dtype) == np.float16 else self.fp32_flops_per_cycle

    def peak_flops(self, dtype="float32") -> float:
        """Whole-machine AMP peak in FLOP/s (GC2: 31.1 TFLOPS fp32, 124.5 fp16)."""
        return self.flops_per_cycle(dtype) * self.total_tiles * self.clock_hz

    @property
    def global_sync_cycles(self) -> int:
        """Sync across IPUs: the on-chip sync plus the link round trip.

        PopLibs' IPU model: 15 ns per hop, hops = 1 + (numIPUs / 2) / 2 (integer
        division), round trip x2 (PLB lib/poplibs_test/Util.cpp::setGlobalSyncLatency).
        """
        hops = 1 + (self.num_ipus // 2) // 2
        return self.sync_cycles + math.ceil(self.sync_hop_seconds * self.clock_hz * hops * 2)

    @property
    def ipu_link_bytes_per_cycle(self) -> float:
        return self.ipu_link_bytes_per_second / self.clock_hz

    @property
    def host_bytes_per_cycle(self) -> float:
        return self.host_bytes_per_second / self.clock_hz

    def describe(self) -> str:
        ipus = f"{self.num_ipus} x " if self.num_ipus > 1 else ""
        return (f"{ipus}{self.name}: {self.tiles} tiles x {_kib(self.sram_bytes_per_tile)} SRAM, "
                f"{self.workers_per_tile} workers/tile, {self.clock_hz / 1e9:.2f} GHz")


def _kib(nbytes: int) -> str:
    return f"{nbytes / 1024:g} KiB"


# Colossus Mk1 (C2 card): 1216 tiles, 256 KiB each (JIA via HPC-Paper-Notes, APD "second"),
# 1.6 GHz (APD "5localmemory"). FP32 31.1 TFLOPS / (1216 x 1.6 GHz) = 16 FLOP/cycle/tile;
# FP16 124.5 TFLOPS -> 64 (APD "second", derived). IPU-Links: 3 x 64 GB/s bidirectional
# between the two IPUs of a card = 192 GB/s, i.e. 96 GB/s each way (LEG README).
# Host: PCIe Gen3 x16, 8 GT/s x 16 lanes x 128/130 / 8 = 15.75 GB/s. ASSUMPTION: theoretical
# link rate; no measured host bandwidth is published for the C2.
GC2 = IPUSpec(
    name="GC2",
    tiles=1216,
    sram_bytes_per_tile=256 * 1024,
    clock_hz=1.6e9,
    fp32_flops_per_cycle=16,
    fp16_flops_per_cycle=64,
    ipu_link_bytes_per_second=96e9,
    host_bytes_per_second=15.75e9,
)

# Colossus Mk2 (IPU-M2000): 1472 tiles (Hot Chips 2021; Poplar prints numTiles = 1472, TUT tut4),
# 624 KiB per tile (Poplar target summary "Memory Per-Tile 624.0 kB"), 1.33 GHz (TUT tut6:
# 6,681,766 cycles = 5,023.9 us). FP32 62.5 TFLOPS / (1472 x 1.33 GHz) = 32 FLOP/cycle/tile;
# FP16 250 TFLOPS -> 128 (launch coverage, derived). IPU-Links: 128 Gibit/s x 0.85 efficiency,
# 4 links between the two IPUs of a pair = 58.4 GB/s each way (PLB Util.cpp
# addGlobalExchangeConstraints). Host: through the M2000 gateway over 100 GbE RoCE,
# 12.5 GB/s. ASSUMPTION: line rate, not a measurement.
GC200 = IPUSpec(
    name="GC200",
    tiles=1472,
    sram_bytes_per_tile=624 * 1024,
    clock_hz=1.33e9,
    fp32_flops_per_cycle=32,
    fp16_flops_per_cycle=128,
    ipu_link_bytes_per_second=4 * 128 * 2**30 / 8 * 0.85,
    host_bytes_per_second=12.5e9,
)
