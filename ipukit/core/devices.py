"""The processors the course compares the IPU with: published figures, and the roofline arithmetic.

The roofline model (Williams, Waterman & Patterson, CACM 52(4), 2009): a chip that does at most
``peak`` FLOP/s and fetches at most ``bandwidth`` bytes/s from memory runs a kernel of arithmetic
intensity ``I`` at no more than ``min(peak, I * bandwidth)``.  The pictures are in
:mod:`ipukit.viz.roofline`; the numbers live here so models and libraries can use them too.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .spec import GC2, GC200, IPUSpec

# One table of published hardware numbers; peak_flops by dtype in FLOP/s, bandwidth in bytes/s
# (of the memory named in "memory"); on_chip_bytes is the chip's own SRAM (caches, shared memory;
# register files left out), with "on_chip" saying what it is made of.
HARDWARE = {
    # Intel Xeon Platinum 8180 (Skylake-SP, 2017), Intel ARK specification page: 28 cores,
    # 2.50 GHz base clock, 2 AVX-512 FMA units per core, 6 channels of DDR4-2666.
    # Peak [derived]: 28 cores x 2.5e9 Hz x 2 FMA units x 16 float32 lanes x 2 FLOP = 4.48e12
    # (an upper bound: heavy AVX-512 code runs below the base clock).  No float16 arithmetic
    # on this core (AVX-512 FP16 arrived with Sapphire Rapids): float16 is computed in float32.
    # Bandwidth [derived]: 6 channels x 2666e6 transfers/s x 8 B = 128 GB/s.
    # On chip: 38.5 MB of shared L3 (Intel ARK) and 1 MiB of L2 per core (Skylake-SP).
    "Xeon 8180": {"label": "CPU Xeon Platinum 8180", "year": 2017, "memory": "DDR4 DRAM",
                  "peak_flops": {"float32": 4.48e12, "float16": 4.48e12}, "bandwidth": 128e9,
                  "on_chip_bytes": int(38.5e6) + 28 * 2**20, "on_chip": "L3 + L2 caches"},
    # NVIDIA Tesla V100 GPU Accelerator datasheet (2018), V100 SXM2: single precision 15.7 TFLOPS,
    # tensor performance (float16 multiply, float32 accumulate) 125 TFLOPS, HBM2 900 GB/s.
    # On chip (NVIDIA Tesla V100 GPU Architecture whitepaper, 2017): 6,144 KB of L2 and 128 KB of
    # combined L1 / shared memory in each of 80 SMs = 16 MiB (plus 256 KB of registers per SM).
    "V100": {"label": "GPU V100 SXM2", "year": 2017, "memory": "HBM2",
             "peak_flops": {"float32": 15.7e12, "float16": 125e12}, "bandwidth": 900e9,
             "on_chip_bytes": 6144 * 1024 + 80 * 128 * 1024, "on_chip": "L2 + L1/shared memory"},
    # NVIDIA A100 Tensor Core GPU datasheet (2020), A100 SXM4 40 GB: FP32 19.5 TFLOPS, FP16 tensor
    # core 312 TFLOPS (dense; 624 with structured sparsity), HBM2 1,555 GB/s.
    # On chip (NVIDIA A100 Tensor Core GPU Architecture whitepaper, 2020): 40 MB of L2 and 192 KB
    # of combined L1 / shared memory in each of 108 SMs (plus 256 KB of registers per SM).
    "A100": {"label": "GPU A100 SXM4 40GB", "year": 2020, "memory": "HBM2",
             "peak_flops": {"float32": 19.5e12, "float16": 312e12}, "bandwidth": 1555e9,
             "on_chip_bytes": 40 * 2**20 + 108 * 192 * 1024, "on_chip": "L2 + L1/shared memory"},
    # GC2 (Colossus Mk1): 31.1 TFLOPS float32, 124.5 TFLOPS float16 (Jia et al., arXiv:1912.03413,
    # via apaperaday.com "4dtgcipu-second").  Memory: tile SRAM reads 16 B/cycle/tile (Jia et al. §3,
    # via apaperaday.com "4dtgcipu-5localmemory"), so 16 x 1216 tiles x 1.6e9 Hz = 31.1 TB/s
    # [derived]; Graphcore publishes 45 TB/s (JIA via apaperaday.com; the 2020 interview), kept
    # beside it as "marketed_bandwidth" (= GC2.memory_bytes_per_second_published).
    "GC2": {"label": "IPU GC2", "year": 2018, "memory": "tile SRAM", "spec": GC2,
            "peak_flops": {"float32": 31.1e12, "float16": 124.5e12}, "bandwidth": 31.1e12,
            "marketed_bandwidth": GC2.memory_bytes_per_second_published,
            "on_chip_bytes": GC2.total_sram_bytes, "on_chip": "tile SRAM"},
    # GC200 (Colossus Mk2, IPU-M2000): 62.5 TFLOPS float32, 250 TFLOPS float16 (Graphcore launch,
    # July 2020, as reported by cambrian-ai.com and convergedigest.com).  Memory [derived]:
    # 16 B/cycle/tile x 1472 tiles x 1.33e9 Hz = 31.3 TB/s.  ASSUMPTION: a Mk2 tile reads 16 B/cycle
    # like a Mk1 tile (no per-tile figure is published; ipukit.GC200 assumes the same); Graphcore
    # publishes 47.5 TB/s (launch coverage), kept beside it as "marketed_bandwidth".
    "GC200": {"label": "IPU GC200", "year": 2020, "memory": "tile SRAM", "spec": GC200,
              "peak_flops": {"float32": 62.5e12, "float16": 250e12}, "bandwidth": 31.3e12,
              "marketed_bandwidth": GC200.memory_bytes_per_second_published,
              "on_chip_bytes": GC200.total_sram_bytes, "on_chip": "tile SRAM"},
}

# Gholami, Yao, Kim, Hooper, Mahoney & Keutzer, "AI and Memory Wall", IEEE Micro 44(3), 2024
# (arXiv:2403.14123): over the past 20 years peak server hardware FLOPS grew 3.0x every 2 years,
# DRAM bandwidth 1.6x and interconnect bandwidth 1.4x.
MEMORY_WALL_GROWTH = {"peak compute (FLOP/s)": 3.0, "DRAM bandwidth": 1.6, "interconnect bandwidth": 1.4}


class Roof(NamedTuple):
    label: str
    peak: float          # FLOP/s
    bandwidth: float     # bytes/s from the memory the kernel's data lives in
    memory: str

    @property
    def ridge(self) -> float:
        """FLOP per byte above which the chip is compute-bound."""
        return self.peak / self.bandwidth

    def attainable(self, intensity):
        """min(peak, intensity x bandwidth): the roof at ``intensity`` FLOP/byte."""
        return np.minimum(self.peak, np.asarray(intensity, float) * self.bandwidth)


def device_roof(device, dtype: str = "float32") -> Roof:
    """The roof of a device: a name from :data:`HARDWARE` or an :class:`~ipukit.IPUSpec`.

    For a spec (e.g. the teaching-size ``GC2.replace(tiles=16)`` a program ran
    on) peak and SRAM bandwidth come from its tiles: ``spec.peak_flops(dtype)``
    and ``memory_read_bytes_per_cycle x tiles x clock``.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
    if isinstance(device, IPUSpec):
        bandwidth = device.memory_read_bytes_per_cycle * device.total_tiles * device.clock_hz
        ipus = f"{device.num_ipus} x " if device.num_ipus > 1 else ""
        return Roof(f"emulated {ipus}{device.name}, {device.tiles} tiles", device.peak_flops(dtype), bandwidth,
                    "tile SRAM")
    entry = HARDWARE.get(device) if isinstance(device, str) else None
    if entry is None:
        raise KeyError(f"unknown device {device!r}; use one of {', '.join(HARDWARE)} or an ipukit.IPUSpec")
    return Roof(entry["label"], entry["peak_flops"][dtype], entry["bandwidth"], entry["memory"])


def ridge_point(device, dtype: str = "float32") -> float:
    """Peak FLOP/s divided by memory bytes/s: the arithmetic intensity where the roof bends."""
    return device_roof(device, dtype).ridge


def exchange_roof(device) -> Roof | None:
    """An IPU's second roof: data that lives on *other* tiles comes over the exchange (4 B/cycle/tile)."""
    spec = device if isinstance(device, IPUSpec) else HARDWARE.get(device, {}).get("spec")
    if spec is None:
        return None
    bandwidth = spec.exchange_bytes_per_cycle * spec.total_tiles * spec.clock_hz
    return Roof(f"{device_roof(device).label} over the exchange", spec.peak_flops(), bandwidth, "exchange")
