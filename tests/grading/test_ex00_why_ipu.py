"""Grading tests of notebook 00 (why a new processor): ex00_1 and ex00_2.

Expected values are worked out here from first principles: the roofline
min(peak, intensity x bandwidth) evaluated batch by batch, with FLOPs counted per
output element and bytes from the NumPy arrays a multiply would read and write;
the time of a kernel as the slower of its arithmetic and its memory, source by
source.  Never from the code under test.  Device figures are the published ones:
NVIDIA V100 SXM2 datasheet (15.7 TFLOPS float32, 125 float16 tensor, 900 GB/s
HBM2, 16 GB), NVIDIA A100 datasheet (19.5 TFLOPS float32, 1,555 GB/s, 40 GB),
GC2 (31.1 TFLOPS float32, 124.5 float16, Jia et al. 2019; tile SRAM 16 B/cycle x
1216 tiles x 1.6 GHz = 31.1 TB/s; 304 MiB of SRAM; 96 GB/s over 3 IPU-Links to
the other IPU of a C2 card; PCIe Gen4 x16 at 31.5 GB/s).
"""
import math

import numpy as np
import pytest

V100 = (15.7e12, 900e9)
V100_HALF = (125e12, 900e9)
A100 = (19.5e12, 1555e9)
GC2 = (31.1e12, 16 * 1216 * 1.6e9)
GC2_HALF = (124.5e12, 16 * 1216 * 1.6e9)


@pytest.fixture(scope="module")
def ex00(load):
    return load("ex00_why_ipu")


# --- ex00_1: the smallest batch that reaches a share of the peak ------------------------------
def _attainable(peak, bandwidth, m, k, n, dtype):
    flops = m * n * (k + k)                      # each of the m*n outputs: k multiplies, k adds
    moved = sum(np.empty(shape, dtype).nbytes for shape in ((m, k), (k, n), (m, n)))
    return min(peak, flops / moved * bandwidth)


def _expected_batch(peak, bandwidth, k, n, fraction, dtype):
    """Doubling then bisection over m, on the roofline itself (the attainable rate grows with m)."""
    hi = 1
    while _attainable(peak, bandwidth, hi, k, n, dtype) < fraction * peak:
        hi *= 2
    lo = hi // 2                                  # lo fails (or is 0), hi reaches it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _attainable(peak, bandwidth, mid, k, n, dtype) >= fraction * peak else (mid, hi)
    return hi


def _check_batch(ex00, budget, label, peak_bw, k, n, fraction, dtype="float32"):
    peak, bandwidth = peak_bw
    budget.case(f"{label}: a ({k} x {n}) layer in {dtype}, {fraction:.0%} of the peak")
    expected = _expected_batch(peak, bandwidth, k, n, fraction, dtype)
    got = ex00.smallest_batch(peak, bandwidth, k, n, fraction, dtype)
    assert isinstance(got, (int, np.integer)) and not isinstance(got, bool), \
        f"expected a whole number of rows (an int), got {got!r}"
    at = _attainable(peak, bandwidth, expected, k, n, dtype)
    assert got == expected, (
        f"expected batch {expected:,} (it reaches {at / peak:.1%} of the peak; batch {expected - 1:,} reaches "
        f"{_attainable(peak, bandwidth, max(expected - 1, 1), k, n, dtype) / peak:.1%}), got {got:,}")


@pytest.mark.ex00_1
@pytest.mark.parametrize("label, peak_bw, k, n, fraction, dtype", [
    ("V100", V100, 1024, 1024, 0.5, "float32"),
    ("V100 tensor cores", V100_HALF, 1024, 4096, 0.5, "float16"),
    ("A100", A100, 4096, 4096, 0.9, "float32"),
    ("GC2 SRAM", GC2, 1024, 1024, 0.9, "float32"),          # a ridge of 1: a handful of rows
    ("GC2 SRAM", GC2_HALF, 1024, 4096, 1.0, "float16"),
    ("GC2 SRAM", GC2, 64, 64, 0.05, "float32"),              # batch 1 is already enough
])
def test_smallest_batch_published_devices(ex00, budget, label, peak_bw, k, n, fraction, dtype):
    _check_batch(ex00, budget, label, peak_bw, k, n, fraction, dtype)


@pytest.mark.ex00_1
def test_smallest_batch_same_layer_different_chips(ex00, budget):
    """Half the peak of a (1024 x 1024) float32 layer: about twenty rows on a V100, two on a GC2 (ridges 17.4, 1)."""
    budget.case("a (1024 x 1024) float32 layer at half the peak, V100 against GC2")
    gpu = ex00.smallest_batch(*V100, 1024, 1024, 0.5)
    ipu = ex00.smallest_batch(*GC2, 1024, 1024, 0.5)
    assert gpu >= 5 * ipu, f"expected the V100 to need at least five times the GC2's batch, got {gpu} and {ipu}"


@pytest.mark.ex00_1
def test_smallest_batch_out_of_reach(ex00, budget):
    budget.case("a (64 x 64) float32 layer at 95 % of a V100's peak: its intensity never passes 16 FLOP/B")
    with pytest.raises(ValueError):
        ex00.smallest_batch(*V100, 64, 64, 0.95)


@pytest.mark.ex00_1
@pytest.mark.parametrize("seed", range(6))
def test_smallest_batch_random(ex00, budget, seed):
    rng = np.random.default_rng(seed)
    peak = float(10 ** rng.uniform(12, 14))
    bandwidth = float(10 ** rng.uniform(10.5, 13.5))
    k, n = (int(v) for v in rng.integers(16, 8192, size=2))
    dtype = str(rng.choice(["float32", "float16"]))
    limit = min(peak, 2 * k * n / (np.dtype(dtype).itemsize * (k + n)) * bandwidth) / peak
    fraction = float(limit * rng.uniform(0.05, 0.95))
    _check_batch(ex00, budget, f"seed {seed}", (peak, bandwidth), k, n, fraction, dtype)


# --- ex00_2: where the data should live ----------------------------------------------------
GC2_SOURCES = {
    "SRAM": (16 * 1216 * 1.6e9, 304 * 2 ** 20),
    "other IPU": (96e9, 304 * 2 ** 20),
    "host": (31.5e9, 2 ** 40),
}


def _expected_source(flops, nbytes, peak, sources):
    times = [(max(flops / peak, nbytes / bw), i, name) for i, (name, (bw, cap)) in enumerate(sources.items())
             if cap >= nbytes]
    if not times:
        return None
    seconds, _, name = min(times)
    return name, seconds


def _check_source(ex00, budget, label, flops, nbytes, peak, sources):
    budget.case(f"{label}: {flops:.3g} FLOP on {nbytes:,} B")
    expected = _expected_source(flops, nbytes, peak, sources)
    got = ex00.best_source(flops, nbytes, peak, dict(sources))
    assert isinstance(got, tuple) and len(got) == 2, f"expected a tuple (source name, seconds), got {got!r}"
    name, seconds = got
    options = "; ".join(f"{s}: {max(flops / peak, nbytes / bw):.3g} s" + ("" if cap >= nbytes else " (too small)")
                        for s, (bw, cap) in sources.items())
    assert name == expected[0] and math.isclose(float(seconds), expected[1], rel_tol=1e-9), (
        f"expected ({expected[0]!r}, {expected[1]:.4g} s), got ({name!r}, {float(seconds):.4g} s); "
        f"the sources: {options}")


@pytest.mark.ex00_2
def test_best_source_fits_on_chip(ex00, budget):
    # BERT-Base's 110 M float16 weights, read once for a 128-token sequence: 220 MB fit in the SRAM
    _check_source(ex00, budget, "BERT-Base inference on a GC2", 2 * 110e6 * 128, 220_000_000, GC2[0], GC2_SOURCES)


@pytest.mark.ex00_2
def test_best_source_too_big_for_the_sram(ex00, budget):
    # BERT-Large's 340 M float16 weights, 680 MB: over 304 MiB, so only the host holds them here
    _check_source(ex00, budget, "BERT-Large on one GC2", 2 * 340e6 * 128, 680_000_000, GC2[0], GC2_SOURCES)


@pytest.mark.ex00_2
def test_best_source_compute_bound_ties_keep_the_first(ex00, budget):
    # so much arithmetic per byte that every source is fast enough: the first listed wins
    sources = {"host": (31.5e9, 2 ** 40), "SRAM": GC2_SOURCES["SRAM"]}
    _check_source(ex00, budget, "a compute-bound kernel", 1e15, 1_000_000, GC2[0], sources)


@pytest.mark.ex00_2
def test_best_source_nothing_holds_it(ex00, budget):
    budget.case("2 GB on a GC2 with only its SRAM and the other IPU")
    sources = {k: v for k, v in GC2_SOURCES.items() if k != "host"}
    with pytest.raises(ValueError):
        ex00.best_source(1e12, 2_000_000_000, GC2[0], sources)


@pytest.mark.ex00_2
@pytest.mark.parametrize("seed", range(6))
def test_best_source_random(ex00, budget, seed):
    rng = np.random.default_rng(1000 + seed)
    sources = {f"memory {i}": (float(10 ** rng.uniform(9, 13)), int(10 ** rng.uniform(6, 11)))
               for i in range(int(rng.integers(2, 6)))}
    nbytes = int(10 ** rng.uniform(5, 10))
    biggest = max(cap for _, cap in sources.values())
    nbytes = min(nbytes, biggest)
    _check_source(ex00, budget, f"seed {seed}", float(nbytes * 10 ** rng.uniform(-2, 4)), nbytes,
                  float(10 ** rng.uniform(12, 14)), sources)
