"""Roofline and memory wall: why keeping data in SRAM next to the cores matters.

The roofline model (Williams, Waterman & Patterson, CACM 52(4), 2009): a chip
that does at most ``peak`` FLOP/s and fetches at most ``bandwidth`` bytes/s
from memory runs a kernel of arithmetic intensity ``I`` (FLOP per byte fetched)
at no more than ``min(peak, I * bandwidth)``.  Below the *ridge point*
``peak / bandwidth`` the kernel is memory-bound.  A GPU fetches from HBM, a CPU
from DDR; an IPU tile computes on its own SRAM, whose bandwidth is of the
order of its compute, so its ridge sits near 1 FLOP/byte instead of 10-200.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib.ticker import FuncFormatter

from ..palette import OKABE_ITO, PHASE_COLORS, SERIES
from ..spec import GC2, GC200, IPUSpec
from ._common import fmt_rate, new_figure

# One table of published hardware numbers; peak_flops by dtype in FLOP/s, bandwidth in bytes/s.
HARDWARE = {
    # Intel Xeon Platinum 8180 (Skylake-SP, 2017), Intel ARK specification page: 28 cores,
    # 2.50 GHz base clock, 2 AVX-512 FMA units per core, 6 channels of DDR4-2666.
    # Peak [derived]: 28 cores x 2.5e9 Hz x 2 FMA units x 16 float32 lanes x 2 FLOP = 4.48e12
    # (an upper bound: heavy AVX-512 code runs below the base clock).  No float16 arithmetic
    # on this core (AVX-512 FP16 arrived with Sapphire Rapids): float16 is computed in float32.
    # Bandwidth [derived]: 6 channels x 2666e6 transfers/s x 8 B = 128 GB/s.
    "Xeon 8180": {"label": "CPU Xeon Platinum 8180", "year": 2017, "memory": "DDR4 DRAM",
                  "peak_flops": {"float32": 4.48e12, "float16": 4.48e12}, "bandwidth": 128e9},
    # NVIDIA Tesla V100 GPU Accelerator datasheet (2018), V100 SXM2: single precision 15.7 TFLOPS,
    # tensor performance (float16 multiply, float32 accumulate) 125 TFLOPS, HBM2 900 GB/s.
    "V100": {"label": "GPU V100 SXM2", "year": 2017, "memory": "HBM2",
             "peak_flops": {"float32": 15.7e12, "float16": 125e12}, "bandwidth": 900e9},
    # NVIDIA A100 Tensor Core GPU datasheet (2020), A100 SXM4 40 GB: FP32 19.5 TFLOPS, FP16 tensor
    # core 312 TFLOPS (dense; 624 with structured sparsity), HBM2 1,555 GB/s.
    "A100": {"label": "GPU A100 SXM4 40GB", "year": 2020, "memory": "HBM2",
             "peak_flops": {"float32": 19.5e12, "float16": 312e12}, "bandwidth": 1555e9},
    # GC2 (Colossus Mk1): 31.1 TFLOPS float32, 124.5 TFLOPS float16 (Jia et al., arXiv:1912.03413,
    # via apaperaday.com "4dtgcipu-second").  Memory: tile SRAM reads 16 B/cycle/tile (Jia et al. §3,
    # via apaperaday.com "4dtgcipu-5localmemory"), so 16 x 1216 tiles x 1.6e9 Hz = 31.1 TB/s
    # [derived]; Graphcore's marketing figure is 45 TB/s.
    "GC2": {"label": "IPU GC2", "year": 2018, "memory": "tile SRAM", "spec": GC2,
            "peak_flops": {"float32": 31.1e12, "float16": 124.5e12}, "bandwidth": 31.1e12,
            "marketed_bandwidth": 45e12},
    # GC200 (Colossus Mk2, IPU-M2000): 62.5 TFLOPS float32, 250 TFLOPS float16 (Graphcore launch,
    # July 2020, as reported by cambrian-ai.com and convergedigest.com).  Memory [derived]:
    # 16 B/cycle/tile x 1472 tiles x 1.33e9 Hz = 31.3 TB/s.  ASSUMPTION: a Mk2 tile reads 16 B/cycle
    # like a Mk1 tile (no per-tile figure is published; ipukit.GC200 assumes the same); Graphcore
    # markets 47.5 TB/s.
    "GC200": {"label": "IPU GC200", "year": 2020, "memory": "tile SRAM", "spec": GC200,
              "peak_flops": {"float32": 62.5e12, "float16": 250e12}, "bandwidth": 31.3e12,
              "marketed_bandwidth": 47.5e12},
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


def _workloads(workloads) -> list:
    """``(label, intensity, achieved or None)`` from a dict or a list of tuples."""
    if workloads is None:
        return []
    items = [(k, *(v if isinstance(v, (tuple, list)) else (v,))) for k, v in workloads.items()] \
        if isinstance(workloads, dict) else [tuple(w) for w in workloads]
    out = []
    for item in items:
        if len(item) not in (2, 3):
            raise ValueError(f"a workload is (label, intensity) or (label, intensity, achieved FLOP/s); got {item!r}")
        label, intensity = str(item[0]), float(item[1])
        if intensity <= 0:
            raise ValueError(f"workload '{label}': arithmetic intensity must be positive, got {intensity}")
        out.append((label, intensity, float(item[2]) if len(item) == 3 else None))
    return out


def _intensity_label(v, _pos=None) -> str:
    return f"1/{1 / v:.3g}" if 0 < v < 1 else f"{v:.3g}"


def plot_roofline(devices=("Xeon 8180", "V100", "A100", "GC2"), dtype: str = "float32", workloads=None,
                  exchange: bool = False, title: str | None = None):
    """Draw the rooflines of ``devices`` and place workloads on them.

    Args:
        devices: names from :data:`HARDWARE` and/or IPUSpecs.
        workloads: ``{label: intensity}`` or ``{label: (intensity, achieved FLOP/s)}``
            (or a list of such tuples): a dotted vertical line at the intensity,
            and a star at the performance a run achieved.
        exchange: for IPUs, also draw the (dashed) roof of data fetched from other tiles.
    """
    roofs = [device_roof(d, dtype) for d in devices]
    work = _workloads(workloads)
    xs = [r.ridge for r in roofs] + [w[1] for w in work]
    lo, hi = min(xs + [1.0]) / 16, max(xs + [1.0]) * 16
    x = np.geomspace(lo, hi, 256)
    fig = new_figure(10, 6.5)
    ax = fig.subplots()
    names = list(HARDWARE)
    for i, (device, roof) in enumerate(zip(devices, roofs)):
        # a known device keeps its colour in every figure; others take the next free colours
        slot = names.index(device) if isinstance(device, str) and device in HARDWARE else len(names) + i
        color = SERIES[slot % len(SERIES)]
        ax.plot(x, roof.attainable(x), color=color, lw=2, gid=f"roof {roof.label}",
                label=f"{roof.label}: {fmt_rate(roof.peak)}, {fmt_rate(roof.bandwidth, 'B/s')} {roof.memory}; "
                      f"ridge {roof.ridge:.3g} FLOP/B")
        ax.plot([roof.ridge], [roof.peak], "o", color=color, gid=f"ridge {roof.label}")
        ex = exchange_roof(device) if exchange else None
        if ex is not None:
            ax.plot(x, ex.attainable(x), color=color, lw=1.2, ls="--",
                    label=f"{ex.label}: {fmt_rate(ex.bandwidth, 'B/s')}")
    for label, intensity, achieved in work:
        ax.axvline(intensity, color=OKABE_ITO["black"], ls=":", lw=1.2, gid=f"workload {label}")
        ax.text(intensity, 0.98, f" {label}: {_intensity_label(intensity)} FLOP/B", transform=ax.get_xaxis_transform(),
                rotation=90, va="top", ha="right", fontsize=8)
        if achieved is not None:
            ax.plot([intensity], [achieved], "*", ms=14, color=OKABE_ITO["black"], mec="white",
                    gid=f"achieved {label}", label=f"{label}: achieved {fmt_rate(achieved)}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(FuncFormatter(_intensity_label))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_rate(v)))
    ax.set_xlabel("arithmetic intensity (FLOP per byte fetched from memory)")
    ax.set_ylabel(f"attainable performance ({dtype})")
    ax.grid(True, which="major", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside lower left", frameon=False)
    fig.suptitle(title or f"Roofline ({dtype}): below its ridge point a chip waits for memory")
    return fig


def plot_memory_wall(years: int = 20, dtype: str = "float32", title: str | None = None):
    """Compute has outgrown memory bandwidth: growth since a start year, and FLOP per byte today.

    Left: growth factors at the rates of :data:`MEMORY_WALL_GROWTH`.  Right: the
    machine balance (ridge point) of each device in :data:`HARDWARE`, i.e. how
    many FLOPs a kernel must do per byte it fetches to keep the chip busy.
    """
    if years < 2:
        raise ValueError(f"years must be at least 2, got {years}")
    fig = new_figure(12, 4.5)
    grow_ax, bal_ax = fig.subplots(1, 2)
    t = np.linspace(0, years, 100)
    for i, (what, rate) in enumerate(MEMORY_WALL_GROWTH.items()):
        grow_ax.plot(t, rate ** (t / 2), color=SERIES[i], lw=2, label=f"{what}: x{rate:g} every 2 years")
        grow_ax.annotate(f"x{rate ** (years / 2):,.0f}", (years, rate ** (years / 2)), fontsize=8, color=SERIES[i],
                         textcoords="offset points", xytext=(3, 0), va="center")
    grow_ax.set_yscale("log")
    grow_ax.set_xlabel("years")
    grow_ax.set_ylabel("growth since year 0")
    grow_ax.legend(fontsize=8)
    grow_ax.set_title("Gholami et al., AI and Memory Wall (2024)", fontsize=9)
    names = list(HARDWARE)
    ridges = [ridge_point(n, dtype) for n in names]
    colors = [PHASE_COLORS["compute"] if HARDWARE[n]["memory"] == "tile SRAM" else PHASE_COLORS["exchange"]
              for n in names]
    bal_ax.barh(range(len(names)), ridges, color=colors)
    for i, r in enumerate(ridges):
        bal_ax.text(r, i, f" {r:.3g}", va="center", fontsize=8)
    bal_ax.set_yticks(range(len(names)), [f"{HARDWARE[n]['label']} ({HARDWARE[n]['memory']})" for n in names],
                      fontsize=8)
    bal_ax.set_xscale("log")
    bal_ax.set_xlabel(f"FLOP per byte fetched needed to reach peak ({dtype})")
    bal_ax.set_title("machine balance = peak / memory bandwidth", fontsize=9)
    bal_ax.invert_yaxis()
    fig.suptitle(title or "The memory wall: compute grows faster than the bandwidth that feeds it")
    return fig
