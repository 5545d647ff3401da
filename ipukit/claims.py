"""Checking published claims about the IPU: a ledger of verdicts, and the LSTM experiment behind one.

The course began from an interview (2020) in which Graphcore made claims about
the GC2 (the kit's fact sheet, section 0b).  Notebook 10 checks each one and
records a *verdict* that it computes from its experiments, never types in::

    ledger = claims.Ledger()
    ledger.record("lstm", claims.decide(260, measured=factor, mechanism=factor > 1,
                                        depends_on="the hidden size and the batch"), "...")
    display(Markdown(ledger.to_markdown()))

A verdict is one of three kinds (:func:`decide`):

- ``"reproduced on the emulator"``: the emulator (or its model of the other
  machine) measures the claimed size, within a tolerance;
- ``"mechanism shown, size depends on X"``: the effect is there, in the right
  direction, but its size rests on X;
- ``"cannot be settled here, because Y"``.

**The LSTM experiment.**  A recurrent network runs its steps one after another,
each multiplying the whole weight matrix by a small batch of states.
:func:`lstm_run` runs T steps on the emulator with the weights resident in
tile SRAM, laid out where the gates' matmul computes (``"planned"``) or spread
linearly (``"linear"``), and checks the result against NumPy.
:func:`lstm_lockstep` prices the same T steps on a lock-step machine
(:class:`ipukit.simd.SIMDMachine`) the way a GPU library runs them: per step, a
matmul kernel with one lane per gate output and a kernel for the state update,
re-reading the weights from memory every step unless ``weights_resident``
(Diamos et al., "Persistent RNNs: stashing recurrent weights on-chip", ICML
2016, keep them in the GPU's register files).  :func:`gpu_step_seconds` is the
same step on a real GPU's published peak and bandwidth, as a roofline.

The published figures this module compares with live in :data:`DEVICES` and
:data:`MEMORIES`, each with its source.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REPRODUCED = "reproduced on the emulator"
MECHANISM = "mechanism shown, size depends on"
UNSETTLED = "cannot be settled here, because"

# --- published figures -----------------------------------------------------------------
# Processors, by name: year, peak FLOP/s by dtype (float16 = mixed precision on tensor cores or the
# AMP unit), memory bandwidth (bytes/s) of the memory the data lives in, power (W), on-chip memory
# (bytes), and the source of each.
DEVICES = {
    "GC2": dict(year=2018, kind="IPU", peak={"float32": 31.1e12, "float16": 124.5e12}, bandwidth=45e12,
                memory="tile SRAM (marketed)", watts=120, onchip=1216 * 256 * 1024,
                source="Jia et al. 2019 (arXiv:1912.03413) via apaperaday.com: 31.1 / 124.5 TFLOPS, 45 TB/s, "
                       "1216 x 256 KiB; 120 W per chip: the 2020 interview (fact sheet §0)"),
    "GC200": dict(year=2020, kind="IPU", peak={"float32": 62.5e12, "float16": 250e12}, bandwidth=47.5e12,
                  memory="tile SRAM (marketed)", watts=None, onchip=1472 * 624 * 1024,
                  source="Graphcore Mk2 launch, July 2020 (convergedigest.com, hexus.net): 250 TFLOPS, "
                         "47.5 TB/s, 1472 x 624 KiB; no per-chip power is published for the IPU-M2000"),
    "C600 (GC200 card)": dict(year=2022, kind="IPU", peak={"float16": 280e12}, bandwidth=47.5e12,
                              memory="tile SRAM (marketed)", watts=185, onchip=1472 * 624 * 1024,
                              source="Graphcore C600 datasheet (docs.graphcore.ai): TDP 185 W; 280 TFLOPS "
                                     "float16 as reported at its launch (gfmreview.com, 2022)"),
    "V100": dict(year=2017, kind="GPU", peak={"float32": 15.7e12, "float16": 125e12}, bandwidth=900e9,
                 memory="HBM2", watts=300, onchip=(80 * 256 + 80 * 128 + 6 * 1024) * 1024, clock=1.53e9,
                 source="NVIDIA V100 datasheet (2018), SXM2: 15.7 / 125 TFLOPS, 900 GB/s, 300 W; Volta "
                        "whitepaper: 80 SMs x 256 KiB registers + 128 KiB L1/shared, 6 MiB L2; 1.53 GHz boost"),
    "T4": dict(year=2018, kind="GPU", peak={"float32": 8.1e12, "float16": 65e12}, bandwidth=320e9,
               memory="GDDR6", watts=70, onchip=(40 * 256 + 40 * 96 + 4 * 1024) * 1024, clock=1.59e9,
               source="NVIDIA T4 datasheet (2018): 8.1 / 65 TFLOPS, 320 GB/s GDDR6, 70 W; Turing "
                      "whitepaper: 40 SMs x 256 KiB registers + 96 KiB L1/shared, 4 MiB L2"),
    "A100": dict(year=2020, kind="GPU", peak={"float32": 19.5e12, "float16": 312e12}, bandwidth=1555e9,
                 memory="HBM2", watts=400, onchip=(108 * 256 + 108 * 192 + 40 * 1024) * 1024, clock=1.41e9,
                 source="NVIDIA A100 datasheet (2020), SXM4 40 GB: 19.5 / 312 TFLOPS (dense), 1,555 GB/s, "
                        "400 W; A100 whitepaper: 108 SMs x 256 KiB registers + 192 KiB L1/shared, 40 MB L2"),
}

# Memories an IPU's SRAM is compared with: bandwidth (bytes/s) and load latency (seconds, a range).
MEMORIES = {
    "CPU DDR4, 6 x DDR4-2666 (Xeon 8180)": dict(
        kind="off-chip", bandwidth=128e9, latency=(60e-9, 100e-9),
        source="Intel ARK (Xeon Platinum 8180): 6 channels of DDR4-2666 -> 6 x 2666e6 x 8 B [derived]; "
               "latency: Intel, Performance Analysis Guide for Core i7 / Xeon 5500 (Levinthal), p. 22: "
               "local DRAM ~60 ns, remote ~100 ns"),
    "CPU DDR4, 6 x DDR4-2933 (Xeon 8280)": dict(
        kind="off-chip", bandwidth=140.8e9, latency=(60e-9, 100e-9),
        source="Intel ARK (Xeon Platinum 8280): 6 channels of DDR4-2933 -> 6 x 2933e6 x 8 B [derived]; "
               "latency as above"),
    "GPU GDDR6 (T4)": dict(kind="off-chip", bandwidth=320e9, latency=(400 / 1.59e9, 600 / 1.59e9),
                           source="T4 datasheet; latency: CUDA C++ Best Practices Guide, 'Memory "
                                  "Instructions': 400-600 clock cycles, at the T4's 1.59 GHz [derived]"),
    "GPU HBM2 (V100)": dict(kind="off-chip", bandwidth=900e9, latency=(400 / 1.53e9, 600 / 1.53e9),
                            source="V100 datasheet; latency: CUDA C++ Best Practices Guide, 400-600 cycles, "
                                   "at 1.53 GHz [derived]"),
    "GPU HBM2 (A100)": dict(kind="off-chip", bandwidth=1555e9, latency=(400 / 1.41e9, 600 / 1.41e9),
                            source="A100 datasheet; latency: CUDA C++ Best Practices Guide, 400-600 cycles, "
                                   "at 1.41 GHz [derived]"),
    "GPU L2 cache (V100)": dict(kind="GPU on-chip", bandwidth=2155e9, latency=(193 / 1.53e9,) * 2,
                                source="Jia, Maggioni, Staiger & Scarpazza, 'Dissecting the NVIDIA Volta GPU "
                                       "architecture via microbenchmarking', arXiv:1804.06826: L2 2,155 GB/s "
                                       "measured, ~193-cycle hit"),
    "GPU L1 / shared memory (V100)": dict(kind="GPU on-chip", bandwidth=80 * 128 * 1.53e9,
                                          latency=(28 / 1.53e9,) * 2,
                                          source="80 SMs x 32 banks x 4 B per cycle x 1.53 GHz [derived from "
                                                 "the Volta whitepaper]; 28-cycle L1 hit (Jia et al. 2018)"),
}

# The IPU side: GC2 tile SRAM.
IPU_SRAM = dict(marketed=45e12, loads=16 * 1216 * 1.6e9, latency=6 / 1.6e9,
                source="45 TB/s marketed; 16 B/cycle/tile loads x 1216 tiles x 1.6 GHz = 31.1 TB/s [derived]; "
                       "6-cycle load latency = 3.75 ns (Jia et al. 2019 §3, via apaperaday.com)")


# --- the claims -------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One claim of the interview, paraphrased (fact sheet §0b), and where notebook 10 decides it."""
    id: str
    text: str
    claimed: float | None = None     # the headline number, if the claim has one
    unit: str = ""
    anchor: str = ""                 # the id of the notebook cell that decides it


CLAIMS = (
    Claim("memory-wall", "Compute grows by multiples per generation, DRAM/HBM bandwidth only 30-40 %",
          0.40, "bandwidth growth per generation", "memory-wall"),
    Claim("dense-scaling", "Dense scaling from 1.5 billion to 1 trillion parameters is not sustainable",
          None, "", "memory-wall"),
    Claim("mimd", "MIMD cores: every tile runs its own program", None, "", "spec"),
    Claim("sram-300mb", "300 MB of SRAM on chip", 300e6, "bytes", "spec"),
    Claim("memory-10-320x", "10-320x the memory bandwidth of DDR, GDDR or HBM", 320, "x", "memory"),
    Claim("latency-1pct", "Memory latency about 1 % of an external access", 0.01, "of external latency",
          "memory"),
    Claim("transistors", "23.6 billion transistors", 23.6e9, "transistors", "spec"),
    Claim("peak-125", "125 TFLOPS in mixed precision", 125e12, "FLOP/s", "spec"),
    Claim("power-120w", "... at 120 W", 120, "W", "power"),
    Claim("tiles-threads", "1216 tiles, 7296 threads (6 per tile)", 7296, "threads", "spec"),
    Claim("bandwidth-45", "45 TB/s memory bandwidth", 45e12, "bytes/s", "memory"),
    Claim("exchange-8", "8 TB/s all-to-all exchange", 8e12, "bytes/s", "spec"),
    Claim("links-320", "80 IPU-Links, 2.5 Tbit/s = 320 GB/s chip to chip", 320e9, "bytes/s", "spec"),
    Claim("pcie-gen4", "Host link PCIe Gen4 x16 (31.5 GB/s each way)", 31.5e9, "bytes/s", "spec"),
    Claim("bsp", "Bulk-synchronous parallel: compute, sync, exchange", None, "", "spec"),
    Claim("poplar", "Poplar under TensorFlow, ONNX, PyTorch; 750 compute elements, 50+ optimised "
          "functions; Docker, Kubernetes", None, "", "tiles"),
    Claim("any-tile", "Users need not care which of the 1216 tiles / 7000+ threads runs what", None, "",
          "tiles"),
    Claim("nlp", "NLP 20-50 % faster than GPUs", 1.5, "x", "nlp"),
    Claim("image", "Image classification: 6x throughput at lower latency", 6, "x", "grouped"),
    Claim("finance", "Financial models: 26x+ faster training", 26, "x", "sequential"),
    Claim("lstm", "Time series (LSTM): 260x+", 260, "x", "lstm"),
    Claim("rl", "Reinforcement learning: up to 13x training throughput", 13, "x", "sequential"),
    Claim("bert", "BERT training time 25 %+ shorter", 1.25, "x", "nlp"),
    Claim("grouped", "Grouped convolutions (ResNeXt) made practical", None, "", "grouped"),
    Claim("cxr", "COVID-19 chest X-ray model: 30 minutes vs 5 hours on GPUs", 10, "x", "cxr"),
    Claim("price", "At 5x, 10x, 20x the price/performance question becomes simple", None, "", "cxr"),
)
CLAIM_IDS = tuple(c.id for c in CLAIMS)


def decide(claimed=None, measured=None, *, at_least: bool = False, tolerance: float = 0.25,
           mechanism: bool = False, depends_on: str = "", because: str = "") -> str:
    """A verdict from evidence, by one rule for every row of the ledger.

    - ``measured`` (a number the experiment produced, in the claim's unit) within
      ``tolerance`` of ``claimed`` (``|measured / claimed - 1| <= tolerance``; with
      ``at_least``, for a claim such as "260x+", ``measured >= claimed``)
      -> ``"reproduced on the emulator"``;
    - else, ``mechanism`` (the experiment shows the effect, in the claimed
      direction) -> ``"mechanism shown, size depends on <depends_on>"``;
    - else ``"cannot be settled here, because <because>"``.
    """
    if measured is not None and claimed is not None:
        if not np.isfinite(measured) or claimed == 0:
            raise ValueError(f"decide: measured ({measured!r}) must be finite and claimed non-zero")
        ratio = measured / claimed
        if (ratio >= 1) if at_least else abs(ratio - 1) <= tolerance:
            return REPRODUCED
    if mechanism:
        if not depends_on:
            raise ValueError("decide: say what the size depends on (depends_on=...) when the mechanism is shown")
        return f"{MECHANISM} {depends_on}"
    if not because:
        raise ValueError("decide: say why it cannot be settled (because=...)")
    return f"{UNSETTLED} {because}"


class Ledger:
    """One row per claim of :data:`CLAIMS`: a verdict, the evidence behind it, a link to the cell."""

    def __init__(self, claims=CLAIMS):
        self.claims = {c.id: c for c in claims}
        self.rows = {}

    def record(self, claim_id: str, verdict: str, evidence: str = "") -> str:
        if claim_id not in self.claims:
            raise KeyError(f"no claim {claim_id!r}; the claims are {', '.join(self.claims)}")
        if not verdict.startswith((REPRODUCED, MECHANISM, UNSETTLED)):
            raise ValueError(f"{claim_id}: a verdict comes from claims.decide(...), got {verdict!r}")
        self.rows[claim_id] = (verdict, evidence)
        return verdict

    def missing(self) -> list:
        return [cid for cid in self.claims if cid not in self.rows]

    def counts(self) -> dict:
        kinds = {REPRODUCED: 0, MECHANISM: 0, UNSETTLED: 0}
        for verdict, _ in self.rows.values():
            kinds[next(k for k in kinds if verdict.startswith(k))] += 1
        return kinds

    def to_markdown(self) -> str:
        """The ledger as a Markdown table; each claim links to the cell that decides it."""
        lines = ["| # | claim | verdict | evidence |", "|---|---|---|---|"]
        for i, (cid, claim) in enumerate(self.claims.items(), 1):
            verdict, evidence = self.rows.get(cid, ("*not decided yet*", ""))
            link = f"[{claim.text}](#{claim.anchor})" if claim.anchor else claim.text
            lines.append(f"| {i} | {link} | **{verdict}** | {evidence} |".replace("\n", " "))
        return "\n".join(lines)


# --- the LSTM experiment ------------------------------------------------------------------
@dataclass
class LSTMRun:
    """T steps of an LSTM on the emulator: the engine, its profile, and the check against NumPy."""
    engine: object
    hidden: int
    inputs: int
    batch: int
    steps: int
    layout: str
    error: float                      # largest |h - h_numpy| after the last step

    @property
    def profile(self):
        return self.engine.profile

    @property
    def cycles_per_step(self) -> float:
        return self.profile.total_cycles / self.steps

    @property
    def flops(self) -> int:
        """The gates' matmul: 2 x batch x (inputs + hidden) x 4 hidden FLOP per step."""
        return self.steps * 2 * self.batch * (self.inputs + self.hidden) * 4 * self.hidden


def lstm_numpy(xs, w, b, hidden):
    """The reference: h after running the steps ``xs`` (T, B, I) from zero state, in float64."""
    h = np.zeros((xs.shape[1], hidden))
    c = np.zeros_like(h)
    w, b = w.astype(np.float64), b.astype(np.float64)
    for x in xs:
        z = np.concatenate([x, h], axis=1) @ w + b
        i, f, g, o = np.split(z, 4, axis=1)
        c = c / (1 + np.exp(-f)) + np.tanh(g) / (1 + np.exp(-i))
        h = np.tanh(c) / (1 + np.exp(-o))
    return h


def lstm_run(spec, hidden: int, batch: int = 1, steps: int = 8, inputs: int = 32, layout: str = "planned",
             dtype="float32", seed: int = 0, backend: str = "numba") -> LSTMRun:
    """Run ``steps`` LSTM steps on the emulator, weights resident in SRAM; check h against NumPy.

    The input sequence (steps, batch, inputs) is on the chip too; each step
    copies its x_t into place, runs ``ops.lstm_cell`` and copies h', c' back.
    ``layout="planned"`` creates [x h] and the weights with
    ``ops.create_matmul_inputs`` (each block of weights on a tile that
    multiplies it: nothing but x and h moves); ``"linear"`` maps them with
    ``map_linearly`` and lets the matmul gather weight blocks every step.
    """
    from . import ops
    from .core.graph import Graph
    from .core.programs import Copy, Sequence
    from .run.engine import Engine
    if layout not in ("planned", "linear"):
        raise ValueError(f"lstm_run: layout must be 'planned' or 'linear', got {layout!r}")
    for label, v in (("hidden", hidden), ("batch", batch), ("steps", steps), ("inputs", inputs)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"lstm_run: {label} must be a positive int, got {v!r}")
    g = Graph(spec)
    if layout == "planned":
        a, w = ops.create_matmul_inputs(g, batch, inputs + hidden, 4 * hidden, dtype=dtype, name="lstm")
        x, h = a[:, :inputs], a[:, inputs:]
    else:
        x, h = g.add_variable((batch, inputs), dtype, name="x"), g.add_variable((batch, hidden), dtype, name="h")
        w = g.add_variable((inputs + hidden, 4 * hidden), dtype, name="w")
        for t in (x, h, w):
            g.map_linearly(t)
    c = g.add_variable((batch, hidden), dtype, name="c")
    b = g.add_variable(4 * hidden, dtype, name="b")
    xs = g.add_variable((steps, batch, inputs), dtype, name="sequence")
    for t in (c, b, xs):
        g.map_linearly(t)
    (h_new, c_new), cell = ops.lstm_cell(g, x, h, c, w, b)
    program = Sequence(*(Sequence(Copy(xs[t], x), cell, Copy(h_new, h), Copy(c_new, c)) for t in range(steps)))
    eng = Engine(g, program, backend=backend)
    rng = np.random.default_rng(seed)
    values = {"w": rng.standard_normal(w.shape) / np.sqrt(inputs + hidden), "b": 0.1 * rng.standard_normal(b.shape),
              "xs": rng.standard_normal(xs.shape)}
    values = {k: v.astype(dtype) for k, v in values.items()}
    for tensor, value in ((w, values["w"]), (b, values["b"]), (xs, values["xs"]),
                          (h, np.zeros(h.shape, dtype)), (c, np.zeros(c.shape, dtype))):
        eng.write(tensor, value)
    eng.run()
    error = float(np.abs(eng.read(h) - lstm_numpy(values["xs"], values["w"], values["b"], hidden)).max())
    return LSTMRun(eng, hidden, inputs, batch, steps, layout, error)


def lstm_lockstep(machine, spec, hidden: int, batch: int = 1, steps: int = 8, inputs: int = 32,
                  dtype="float32", weights_resident: bool = False):
    """The same steps on a lock-step machine, as a GPU library runs them (a model, nothing runs).

    Per step, two kernels.  **gates**: one lane per gate output (batch x 4
    hidden), each a dot product of inputs + hidden multiply-adds at ``spec``'s
    AMP rate (the arithmetic the IPU is charged), reading [x h] and, unless
    ``weights_resident``, the whole weight matrix and bias from memory, and
    writing the gates in float32.  **state**: one lane per hidden unit and
    sequence, at the cycles per element of ipukit's ``lstm_cell`` vertex,
    reading the gates and c, writing h and c.  Both run ``steps`` times.
    """
    from .core import cost
    from .ops import codelets as K
    from .simd import SIMDCost
    item = np.dtype(dtype).itemsize
    gates = batch * 4 * hidden
    weight_bytes = 0 if weights_resident else item * ((inputs + hidden) * 4 * hidden + 4 * hidden)
    matmul = machine.kernel(np.full(gates, 2 * (inputs + hidden) / spec.flops_per_cycle(dtype)), None,
                            weight_bytes + item * batch * (inputs + hidden) + 4 * gates, "gates: [x h] @ w + b")
    per_element = (5 * K.TRANSCENDENTAL_CYCLES_PER_VECTOR + 3 * cost.BINARY_CYCLES_PER_VECTOR) \
        / cost.vector_elements(spec, dtype)
    state = machine.kernel(np.full(batch * hidden, per_element), None,
                           4 * gates + item * 4 * batch * hidden, "state: c' and h'")
    return SIMDCost((matmul, state), (steps, steps))


def gpu_step_seconds(device: str, hidden: int, batch: int = 1, inputs: int | None = None, dtype="float16",
                     weights_resident: bool = False, launch_seconds: float = 0.0) -> float:
    """One LSTM step on a GPU of :data:`DEVICES`, by the roofline: a model, not a measurement.

    Two kernels (the gates' matmul, the state update), each ``launch_seconds +
    max(FLOPs / peak, bytes / bandwidth)`` at the device's published ``dtype``
    peak and memory bandwidth.  The matmul reads the weights (unless
    ``weights_resident``), [x h] and the bias and writes the gates; the update
    reads the gates and c and writes h and c.  Real kernels reach a fraction of
    both peaks, so this is the GPU's *best* case.
    """
    d = DEVICES[device]
    inputs = hidden if inputs is None else inputs
    item = np.dtype(dtype).itemsize
    peak, bandwidth = d["peak"][dtype], d["bandwidth"]
    gates = batch * 4 * hidden
    weights = 0 if weights_resident else (inputs + hidden) * 4 * hidden + 4 * hidden
    matmul = max(2 * gates * (inputs + hidden) / peak, item * (weights + batch * (inputs + hidden) + gates) / bandwidth)
    state = max(9 * batch * hidden / peak, item * (gates + 4 * batch * hidden) / bandwidth)
    return 2 * launch_seconds + matmul + state
