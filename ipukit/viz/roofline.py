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


import numpy as np
from matplotlib.ticker import FuncFormatter

from ..core.devices import (HARDWARE, MEMORY_WALL_GROWTH, Roof, device_roof, exchange_roof,  # noqa: F401 (public here)
                            ridge_point)
from ..palette import OKABE_ITO, PHASE_COLORS, SERIES
from ._common import fmt_rate, new_figure

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
