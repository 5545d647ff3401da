"""ipukit.claims: the verdict rule, the ledger, and the LSTM experiment against NumPy and hand counts."""
import pytest

import ipukit
from ipukit import claims
from ipukit.simd import SIMDMachine

SPEC = ipukit.GC2.replace(tiles=16)


# --- verdicts ----------------------------------------------------------------------------------
def test_decide_reproduced_within_tolerance():
    assert claims.decide(8e12, measured=7.78e12) == claims.REPRODUCED          # 2.7 % short
    assert claims.decide(45e12, measured=31.1e12, mechanism=True, depends_on="X") == claims.MECHANISM + " X"
    assert claims.decide(260, measured=300) == claims.REPRODUCED                 # 15 % over
    assert claims.decide(260, measured=350, because="-") != claims.REPRODUCED    # 35 % over: too far,
    assert claims.decide(260, measured=350, at_least=True) == claims.REPRODUCED  # ... unless "260x+"
    assert claims.decide(260, measured=250, at_least=True, because="-") != claims.REPRODUCED


def test_decide_falls_back_to_mechanism_then_to_unsettled():
    assert claims.decide(260, measured=17, mechanism=True, depends_on="the batch").endswith("the batch")
    verdict = claims.decide(260, measured=0.5, mechanism=False, because="the GPU won")
    assert verdict == "cannot be settled here, because the GPU won"
    assert claims.decide(because="no power model").startswith(claims.UNSETTLED)
    with pytest.raises(ValueError, match="depends_on"):
        claims.decide(mechanism=True)
    with pytest.raises(ValueError, match="because"):
        claims.decide(260, measured=1)


def test_the_ledger_has_one_row_per_claim_and_links_each():
    ledger = claims.Ledger()
    assert ledger.missing() == list(claims.CLAIM_IDS) and len(set(claims.CLAIM_IDS)) == len(claims.CLAIMS)
    ledger.record("lstm", claims.decide(260, measured=17, mechanism=True, depends_on="the batch"), "17x")
    with pytest.raises(KeyError, match="no claim"):
        ledger.record("lsmt", claims.REPRODUCED)
    with pytest.raises(ValueError, match="decide"):
        ledger.record("bsp", "true")
    table = ledger.to_markdown().splitlines()
    assert len(table) == 2 + len(claims.CLAIMS)
    row = next(line for line in table if "260x" in line)
    assert "](#lstm)" in row and "mechanism shown, size depends on the batch" in row
    assert ledger.counts()[claims.MECHANISM] == 1 and "lstm" not in ledger.missing()
    assert all(c.anchor for c in claims.CLAIMS)


# --- the LSTM on the emulator ---------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["planned", "linear"])
def test_lstm_run_matches_numpy(layout):
    run = claims.lstm_run(SPEC, hidden=24, batch=3, steps=3, inputs=8, layout=layout, seed=4)
    assert run.error < 1e-5
    assert run.flops == 3 * 2 * 3 * 32 * 96


def test_planned_weights_stay_put():
    """Laid out for the matmul, only x and h cross the exchange; mapped linearly, weight blocks move every step."""
    hidden, inputs, steps = 64, 32, 2
    weights = 4 * (inputs + hidden) * 4 * hidden                 # bytes, float32
    planned = claims.lstm_run(SPEC, hidden, steps=steps, inputs=inputs)
    linear = claims.lstm_run(SPEC, hidden, steps=steps, inputs=inputs, layout="linear")
    assert planned.profile.exchange_bytes < 0.1 * weights * steps
    assert linear.profile.exchange_bytes > 0.5 * weights * steps
    assert planned.cycles_per_step < linear.cycles_per_step


def test_lstm_factor_direction():
    """Resident weights win at batch 1, and the advantage shrinks as the batch grows."""
    machine = SIMDMachine.like(SPEC, warp=32)
    factors = []
    for batch in (1, 4, 16):
        ipu = claims.lstm_run(SPEC, 128, batch, steps=2)
        gpu = claims.lstm_lockstep(machine, SPEC, 128, batch, steps=2)
        factors.append(gpu.cycles / ipu.profile.total_cycles)
    assert factors[0] > 2, factors
    assert factors[0] > factors[1] > factors[2], factors


def test_lstm_lockstep_reads_the_weights_every_step():
    machine = SIMDMachine("m", lanes=96, issue_cycles=6, memory_bytes_per_cycle=10.0)
    hidden, inputs, batch, steps = 40, 8, 2, 5
    cost = claims.lstm_lockstep(machine, SPEC, hidden, batch, steps, inputs)
    resident = claims.lstm_lockstep(machine, SPEC, hidden, batch, steps, inputs, weights_resident=True)
    weights = 4 * ((inputs + hidden) * 4 * hidden + 4 * hidden)
    assert cost.runs == (steps, steps)
    assert cost.total("memory_cycles") - resident.total("memory_cycles") == pytest.approx(steps * weights / 10.0)
    gates = cost.kernels[0]
    assert gates.items == batch * 4 * hidden
    assert gates.useful_cycles == pytest.approx(6 * batch * 4 * hidden * 2 * (inputs + hidden) / 16 / 96)


def test_gpu_step_by_the_roofline():
    # V100, float32, batch 1: memory-bound on the 13.5 MB of weights of a 650-unit layer
    bytes_ = 4 * ((1300 * 2600 + 2600) + 1300 + 2600) + 4 * (2600 + 4 * 650)
    assert claims.gpu_step_seconds("V100", 650, 1, dtype="float32") == pytest.approx(bytes_ / 900e9)
    # a big batch is compute-bound: the matmul's FLOPs at the peak
    big = claims.gpu_step_seconds("V100", 650, 4096, dtype="float16")
    assert big >= 2 * 4096 * 1300 * 2600 / 125e12
    assert claims.gpu_step_seconds("V100", 650, 1, weights_resident=True) < 0.01 * claims.gpu_step_seconds("V100", 650)
    assert claims.gpu_step_seconds("T4", 256, launch_seconds=5e-6) == pytest.approx(
        1e-5 + claims.gpu_step_seconds("T4", 256))


def test_published_figures_carry_sources():
    for table in (claims.DEVICES, claims.MEMORIES):
        for name, entry in table.items():
            assert entry["source"] and entry["bandwidth"] > 0, name
    assert claims.DEVICES["V100"]["peak"]["float16"] / claims.DEVICES["V100"]["watts"] == pytest.approx(125e12 / 300)
