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
    ipu_link_bytes_per_second: float = 96e9  # per direction between two neighbouring IPUs
    host_bytes_per_second: float = 31.5e9    # host <-> IPU, per IPU, each way
    sync_cycles: int = 150            # on-chip sync. ASSUMPTION: no published figure
    sync_hop_seconds: float = 15e-9   # inter-IPU sync latency per hop (PLB lib/poplibs_test/Util.cpp)
    alignment: int = 8                # bytes; tensors start on 64-bit boundaries
    num_ipus: int = 1
    # Published chip figures, shown beside the model's own numbers (not used by the cost model,
    # except streaming_memory_*, which the remote-buffer copies use):
    ipu_links: int = 0                        # IPU-Links per chip
    ipu_link_chip_bytes_per_second: float = 0.0   # all of a chip's IPU-Links together
    ipu_link_topology: str = ""
    memory_bytes_per_second_published: float = 0.0   # on-chip SRAM, whole chip (marketing)
    power_watts: float = 0.0                  # per chip (0: not published)
    streaming_memory_bytes: int = 0           # DRAM reachable per IPU (0: none)
    streaming_memory_bytes_per_second: float = 0.0    # per IPU. ASSUMPTION: see GC200

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

    @property
    def streaming_memory_bytes_per_cycle(self) -> float:
        """Remote-buffer copies, per IPU (an ASSUMPTION: no figure is published)."""
        return self.streaming_memory_bytes_per_second / self.clock_hz

    @property
    def memory_bytes_per_second_derived(self) -> float:
        """On-chip SRAM read bandwidth of the whole chip from the per-tile load width:
        memory_read_bytes_per_cycle x tiles x clock (GC2: 31.1 TB/s). Graphcore publishes
        45 TB/s (GC2) and 47.5 TB/s (GC200): ``memory_bytes_per_second_published``."""
        return self.memory_read_bytes_per_cycle * self.tiles * self.clock_hz

    def describe(self) -> str:
        ipus = f"{self.num_ipus} x " if self.num_ipus > 1 else ""
        return (f"{ipus}{self.name}: {self.tiles} tiles x {_kib(self.sram_bytes_per_tile)} SRAM, "
                f"{self.workers_per_tile} workers/tile, {self.clock_hz / 1e9:.2f} GHz")


def _kib(nbytes: int) -> str:
    return f"{nbytes / 1024:g} KiB"


# Colossus Mk1 (C2 card): 1216 tiles, 256 KiB each (JIA via HPC-Paper-Notes, APD "second"),
# 1.6 GHz (APD "5localmemory"). FP32 31.1 TFLOPS / (1216 x 1.6 GHz) = 16 FLOP/cycle/tile;
# FP16 124.5 TFLOPS -> 64 (APD "second", derived).
# IPU-Links: the chip has 80 IPU-Links, 2.5 Tbit/s = 320 GB/s chip-to-chip in all (the 2020
# interview with Graphcore China behind the course). The cost model uses the bandwidth between
# the two IPUs of a C2 card, the neighbours a program here spans: 3 links x 64 GB/s
# bidirectional = 192 GB/s, i.e. 96 GB/s each way (LEG README; JIA).
# Host: PCIe Gen4 x16 (the interview: "16 lanes of PCIe Gen4"): 16 GT/s x 16 lanes x 128/130
# / 8 = 31.5 GB/s each way. ASSUMPTION: the theoretical line rate; no measured host bandwidth
# is published for the C2 (real transfers reach less).
# Memory: 45 TB/s published (JIA via APD "second"; the interview); ipukit's tiles read 16 B/cycle
# (JIA §3), 31.1 TB/s. Power: 125 TFLOPS mixed precision at 120 W per chip (the interview; a
# C2 card of two IPUs is rated 300 W, LEG).
GC2 = IPUSpec(
    name="GC2",
    tiles=1216,
    sram_bytes_per_tile=256 * 1024,
    clock_hz=1.6e9,
    fp32_flops_per_cycle=16,
    fp16_flops_per_cycle=64,
    ipu_link_bytes_per_second=96e9,
    host_bytes_per_second=16e9 * 16 * 128 / 130 / 8,
    ipu_links=80,
    ipu_link_chip_bytes_per_second=320e9,
    ipu_link_topology="C2 card: two IPUs joined by 3 IPU-Links (2 of them within the board); "
                      "cards joined card-to-card",
    memory_bytes_per_second_published=45e12,
    power_watts=120.0,
)

# Colossus Mk2 (IPU-M2000): 1472 tiles (Hot Chips 2021; Poplar prints numTiles = 1472, TUT tut4),
# 624 KiB per tile (Poplar target summary "Memory Per-Tile 624.0 kB"), 1.33 GHz (TUT tut6:
# 6,681,766 cycles = 5,023.9 us). FP32 62.5 TFLOPS / (1472 x 1.33 GHz) = 32 FLOP/cycle/tile;
# FP16 250 TFLOPS -> 128 (launch coverage, derived).
# IPU-Links: 10 per chip, 320 GB/s chip-to-chip in all (GC200 product listing). The cost model
# uses the bandwidth between one pair of neighbours in the M2000's ladder: 128 Gibit/s x 0.85
# efficiency, 4 links between the two IPUs of a pair = 58.4 GB/s each way (PLB Util.cpp
# addGlobalExchangeConstraints).
# Host: through the M2000 gateway over 100 GbE RoCE, 12.5 GB/s. ASSUMPTION: line rate, not a
# measurement.
# Memory: 47.5 TB/s published (launch coverage); ipukit's tiles read 16 B/cycle, 31.3 TB/s
# (ASSUMPTION: the Mk1 per-tile width).
# Streaming Memory: up to 448 GB of DRAM per IPU-M2000 of 4 IPUs = 112 GB per IPU, behind the
# IPU-Gateway (2.8 Tbit/s IPU-Fabric per M2000) (tweakers.net; cambrian-ai.com; convergedigest).
# ASSUMPTION: no per-IPU Streaming Memory bandwidth is published; ipukit uses the PCIe Gen4 x16
# rate, 31.5 GB/s per IPU (Graphcore's "180 TB/s" is a marketing sum, not a per-IPU rate). Vary
# it (spec.replace(streaming_memory_bytes_per_second=...)) before trusting a conclusion.
GC200 = IPUSpec(
    name="GC200",
    tiles=1472,
    sram_bytes_per_tile=624 * 1024,
    clock_hz=1.33e9,
    fp32_flops_per_cycle=32,
    fp16_flops_per_cycle=128,
    ipu_link_bytes_per_second=4 * 128 * 2**30 / 8 * 0.85,
    host_bytes_per_second=12.5e9,
    ipu_links=10,
    ipu_link_chip_bytes_per_second=320e9,
    ipu_link_topology="IPU-M2000: 4 IPUs in a ladder, the two IPUs of a pair joined by 4 links, "
                      "2 rung links, 2 links up and 2 down the ladder",
    memory_bytes_per_second_published=47.5e12,
    streaming_memory_bytes=448 * 10**9 // 4,
    streaming_memory_bytes_per_second=16e9 * 16 * 128 / 130 / 8,
)
