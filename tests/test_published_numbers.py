"""The chip figures in core/spec.py and core/devices.py against what Graphcore and NVIDIA
published (shared/ipu_facts.md section 0), computed here from the published quantities."""
import pytest

import ipukit
from ipukit.core.devices import HARDWARE


def test_gc2_host_link_is_pcie_gen4_x16():
    # PCIe Gen4: 16 GT/s per lane, 128b/130b encoding, 16 lanes, 8 bits per byte
    gen4_x16 = 16e9 * 16 * (128 / 130) / 8
    assert ipukit.GC2.host_bytes_per_second == pytest.approx(gen4_x16)
    assert ipukit.GC2.host_bytes_per_second == pytest.approx(31.5e9, rel=1e-3)


def test_ipu_links_chip_total_and_per_pair():
    # GC2: 80 IPU-Links, 2.5 Tbit/s = 320 GB/s (interview); GC200: 10 links, 320 GB/s (listing)
    assert (ipukit.GC2.ipu_links, ipukit.GC200.ipu_links) == (80, 10)
    assert ipukit.GC2.ipu_link_chip_bytes_per_second == 320e9
    assert ipukit.GC200.ipu_link_chip_bytes_per_second == 320e9
    # between one pair of neighbours: C2 card 3 x 64 GB/s both ways -> 96 GB/s each way (LEG);
    # M2000 pair: 4 links x 128 Gibit/s x 0.85 (PopLibs Util.cpp)
    assert ipukit.GC2.ipu_link_bytes_per_second == 3 * 64e9 / 2
    assert ipukit.GC200.ipu_link_bytes_per_second == pytest.approx(4 * 128 * 2**30 / 8 * 0.85)
    for spec in (ipukit.GC2, ipukit.GC200):
        assert spec.ipu_link_bytes_per_second < spec.ipu_link_chip_bytes_per_second
        assert spec.ipu_link_topology


def test_on_chip_memory_bandwidth_published_beside_the_derived_one():
    assert ipukit.GC2.memory_bytes_per_second_published == 45e12
    assert ipukit.GC200.memory_bytes_per_second_published == 47.5e12
    # derived: 16 B/cycle/tile x 1216 tiles x 1.6 GHz (Jia et al. 2019)
    assert ipukit.GC2.memory_bytes_per_second_derived == pytest.approx(16 * 1216 * 1.6e9)
    assert HARDWARE["GC2"]["marketed_bandwidth"] == 45e12
    assert HARDWARE["GC200"]["marketed_bandwidth"] == 47.5e12


def test_power_and_streaming_memory():
    assert ipukit.GC2.power_watts == 120          # 125 TFLOPS mixed precision at 120 W
    assert ipukit.GC2.peak_flops("float16") / ipukit.GC2.power_watts == pytest.approx(
        124.5e12 / 120, rel=0.01)
    assert ipukit.GC200.streaming_memory_bytes * 4 == 448e9   # 448 GB per IPU-M2000 of 4 IPUs
    assert ipukit.GC2.streaming_memory_bytes == 0


def test_gpu_on_chip_memory_beside_its_hbm():
    # V100: 6,144 KB L2 + 80 SMs x 128 KB L1/shared; A100: 40 MB L2 + 108 x 192 KB
    assert HARDWARE["V100"]["on_chip_bytes"] == 6144 * 1024 + 80 * 128 * 1024
    assert HARDWARE["A100"]["on_chip_bytes"] == 40 * 2**20 + 108 * 192 * 1024
    assert HARDWARE["GC2"]["on_chip_bytes"] == 1216 * 256 * 1024
    for entry in HARDWARE.values():
        assert entry["on_chip_bytes"] > 0 and entry["on_chip"]
