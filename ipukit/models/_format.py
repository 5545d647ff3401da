"""Number formatting shared by the reports (one place, so every table reads alike)."""
from __future__ import annotations

MIB = 2**20


def count(n: float, unit: str = "") -> str:
    """335141888 -> '335.1 M'; count(4089184256, 'FLOP') -> '4.09 GFLOP'."""
    n = float(n)
    for prefix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            value = n / size
            text = f"{value:.3g}" if value < 100 else f"{value:.1f}"
            return f"{text} {prefix}{unit}"
    return f"{n:.0f} {unit}".rstrip()


def mib(nbytes: float) -> str:
    """Bytes as MiB with one decimal: the unit SRAM capacities are quoted in."""
    return f"{nbytes / MIB:,.1f} MiB"


def seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"
