"""Grading tests of notebook 00 (why a new processor): ex00_1 and ex00_2.

Expected values are worked out here from first principles (FLOPs counted per
output element, bytes from the NumPy arrays a multiply would read and write;
the roofline as an explicit comparison), never taken from the code under test.
Device figures are the published ones: NVIDIA V100 SXM2 datasheet (15.7 TFLOPS
float32, 900 GB/s HBM2), NVIDIA A100 datasheet (19.5 TFLOPS float32, 1,555 GB/s),
GC2 (31.1 TFLOPS float32, Jia et al. 2019; tile SRAM 16 B/cycle x 1216 tiles x
1.6 GHz = 31.1 TB/s).
"""
import math

import numpy as np
import pytest

V100 = (15.7e12, 900e9)
A100 = (19.5e12, 1555e9)
GC2 = (31.1e12, 16 * 1216 * 1.6e9)


@pytest.fixture(scope="module")
def ex00(load):
    return load("ex00_why_ipu")


# --- ex00_1: arithmetic intensity of a matmul ------------------------------------------
def _expected_intensity(m, k, n, dtype):
    flops = m * n * (k + k)                      # each of the m*n outputs: k multiplies, k adds
    moved = sum(np.empty(shape, dtype).nbytes for shape in ((m, k), (k, n), (m, n)))
    return flops / moved


def _check_intensity(ex00, m, k, n, dtype):
    expected = _expected_intensity(m, k, n, dtype)
    got = ex00.matmul_intensity(m, k, n, dtype)
    assert isinstance(got, (float, np.floating)), \
        f"expected a float (FLOP per byte), got {got!r} of type {type(got).__name__}"
    assert got == pytest.approx(expected, rel=1e-9), (
        f"({m}, {k}) x ({k}, {n}) in {np.dtype(dtype).name}: expected {expected:.6g} FLOP/byte "
        f"({2 * m * k * n:,} FLOP over {2 * m * k * n / expected:,.0f} B), got {got:.6g}")


@pytest.mark.ex00_1
@pytest.mark.parametrize("m, k, n, dtype", [
    (64, 64, 64, "float32"),        # square: n / 6 = 10.67
    (1024, 1024, 1024, "float16"),  # square in half precision: n / 3
    (1, 1024, 1, "float32"),        # a dot product written as a matmul: about 1/4
    (128, 512, 1, "float32"),       # matrix-vector: about 1/2, whatever the size
    (3, 5, 7, "float16"),           # three different sizes: no symmetry to lean on
])
def test_matmul_intensity_fixed(ex00, m, k, n, dtype):
    _check_intensity(ex00, m, k, n, dtype)


@pytest.mark.ex00_1
def test_matmul_intensity_square_float32_is_n_over_6(ex00):
    for n in (6, 60, 600):
        got = ex00.matmul_intensity(n, n, n, "float32")
        assert got == pytest.approx(n / 6, rel=1e-9), \
            f"a square {n} x {n} float32 multiply: expected 2n^3 / (3 n^2 x 4 B) = {n / 6:g}, got {got!r}"


@pytest.mark.ex00_1
def test_matmul_intensity_takes_numpy_dtypes(ex00):
    _check_intensity(ex00, 16, 32, 8, np.float16)
    _check_intensity(ex00, 16, 32, 8, np.dtype("float32"))


@pytest.mark.ex00_1
@pytest.mark.parametrize("seed", range(8))
def test_matmul_intensity_random(ex00, seed):
    rng = np.random.default_rng(seed)
    m, k, n = (int(v) for v in rng.integers(1, 5000, size=3))
    _check_intensity(ex00, m, k, n, str(rng.choice(["float32", "float16"])))


# --- ex00_2: the roofline ---------------------------------------------------------------
def _expected_roof(peak, bandwidth, intensity):
    fed = intensity * bandwidth
    return (fed, "memory") if fed < peak else (peak, "compute")


def _check_roof(ex00, peak, bandwidth, intensity, label=""):
    expected = _expected_roof(peak, bandwidth, intensity)
    got = ex00.roofline(peak, bandwidth, intensity)
    where = f"{label + ': ' if label else ''}peak {peak:.4g} FLOP/s, {bandwidth:.4g} B/s, {intensity:.4g} FLOP/B"
    assert isinstance(got, tuple) and len(got) == 2, \
        f"{where}: expected a tuple (attainable FLOP/s, 'memory' or 'compute'), got {got!r}"
    flops, bound = got
    assert isinstance(flops, (int, float, np.integer, np.floating)) and not isinstance(flops, bool), \
        f"{where}: expected the attainable FLOP/s as a number, got {flops!r}"
    assert bound in ("memory", "compute"), f"{where}: expected 'memory' or 'compute' as the bound, got {bound!r}"
    assert (math.isclose(float(flops), expected[0], rel_tol=1e-9), bound) == (True, expected[1]), (
        f"{where}: expected ({expected[0]:.4g}, {expected[1]!r}), got ({float(flops):.4g}, {bound!r})")


@pytest.mark.ex00_2
@pytest.mark.parametrize("device, peak_bw, intensity", [
    ("V100, vector add", V100, 1 / 12),          # 75 GFLOP/s: 0.5 % of its peak
    ("GC2 SRAM, vector add", GC2, 1 / 12),       # 2.6 TFLOP/s: still memory-bound
    ("A100, dot product", A100, 1 / 4),
    ("V100, 64^3 matmul", V100, 64 / 6),         # below its ridge of 17.4: memory-bound
    ("GC2 SRAM, 64^3 matmul", GC2, 64 / 6),      # above its ridge of 1: compute-bound
    ("A100, 1024^3 matmul", A100, 1024 / 6),
])
def test_roofline_published_devices(ex00, device, peak_bw, intensity):
    _check_roof(ex00, *peak_bw, intensity, device)


@pytest.mark.ex00_2
def test_roofline_at_the_ridge_reaches_the_peak(ex00):
    _check_roof(ex00, 1e12, 1e11, 10.0, "exactly at the ridge (10 FLOP/B)")
    _check_roof(ex00, 4e12, 2e12, 2.0, "exactly at the ridge (2 FLOP/B)")


@pytest.mark.ex00_2
def test_roofline_same_kernel_different_verdicts(ex00):
    """A 64^3 float32 matmul waits for HBM on a V100 but for its arithmetic on a GC2."""
    _, on_gpu = ex00.roofline(*V100, 64 / 6)
    _, on_ipu = ex00.roofline(*GC2, 64 / 6)
    assert (on_gpu, on_ipu) == ("memory", "compute"), (
        f"a 64^3 float32 matmul: expected memory-bound on the V100, compute-bound on the GC2; "
        f"got {on_gpu!r}, {on_ipu!r}")


@pytest.mark.ex00_2
@pytest.mark.parametrize("seed", range(8))
def test_roofline_random(ex00, seed):
    rng = np.random.default_rng(1000 + seed)
    peak = float(10 ** rng.uniform(9, 15))
    bandwidth = float(10 ** rng.uniform(8, 14))
    ridge = peak / bandwidth
    intensity = float(ridge * 10 ** rng.uniform(-2, 2))
    _check_roof(ex00, peak, bandwidth, intensity, f"seed {seed}")
