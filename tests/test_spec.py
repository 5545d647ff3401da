"""Presets reproduce the published figures they are built from."""
import dataclasses

import pytest

import ipukit


@pytest.mark.parametrize("spec, tiles, kib, ghz, fp32_tflops, fp16_tflops", [
    (ipukit.GC2, 1216, 256, 1.6, 31.1, 124.5),      # JIA; APD "second"
    (ipukit.GC200, 1472, 624, 1.33, 62.5, 250.0),   # Hot Chips 2021; launch coverage
])
def test_presets_match_published_figures(spec, tiles, kib, ghz, fp32_tflops, fp16_tflops):
    assert spec.tiles == tiles
    assert spec.sram_bytes_per_tile == kib * 1024
    assert spec.clock_hz == pytest.approx(ghz * 1e9)
    assert spec.workers_per_tile == 6
    assert spec.exchange_bytes_per_cycle == 4
    assert spec.peak_flops("float32") / 1e12 == pytest.approx(fp32_tflops, rel=0.01)
    assert spec.peak_flops("float16") / 1e12 == pytest.approx(fp16_tflops, rel=0.01)


def test_total_sram():
    assert ipukit.GC2.total_sram_bytes == 304 * 2**20            # "304 MiB" (JIA)
    assert ipukit.GC200.total_sram_bytes / 2**20 == pytest.approx(897, abs=1)   # "897 MB"


def test_exchange_bandwidth_aggregate():
    # ~7.8 TB/s all-to-all (derived: tiles x 4 B x clock)
    for spec in (ipukit.GC2, ipukit.GC200):
        agg = spec.tiles * spec.exchange_bytes_per_cycle * spec.clock_hz
        assert agg / 1e12 == pytest.approx(7.8, abs=0.1)


def test_replace_and_multi_ipu():
    small = ipukit.GC2.replace(tiles=16)
    assert small.tiles == 16 and small.sram_bytes_per_tile == ipukit.GC2.sram_bytes_per_tile
    assert ipukit.GC2.tiles == 1216                       # the preset is untouched
    four = ipukit.GC200.replace(num_ipus=4)
    assert four.total_tiles == 4 * 1472 and four.ipu_of(1472 * 3 + 5) == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.tiles = 3


@pytest.mark.parametrize("change", [dict(tiles=0), dict(sram_bytes_per_tile=1001), dict(num_ipus=-1),
                                    dict(clock_hz=0)])
def test_invalid_specs_are_refused(change):
    with pytest.raises(ValueError):
        ipukit.GC2.replace(**change)
