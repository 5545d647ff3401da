"""Running a puzzle: call the learner's function, run its program once, measure what it cost."""
from __future__ import annotations

from ipukit.core.programs import Program
from ipukit.run.engine import Engine

from .cases import Case, NotAProgram, Result


# --- running a puzzle ----------------------------------------------------------------
def run(case: Case, fn, backend: str = "reference") -> Result:
    """Call ``fn(graph, *case.args)``, run the program it returns once, read the outputs.

    The reference backend runs every codelet as plain Python (``print`` works in
    a codelet); the costs are the same on both backends.
    """
    program = fn(case.graph, *case.args)
    if not isinstance(program, Program):
        raise NotAProgram(f"{getattr(fn, '__name__', 'the function')} should return a program (Execute, Copy, "
                          f"Sequence...), got {type(program).__name__}")
    eng = Engine(case.graph, program, backend=backend)
    for tensor, values in case.inputs.values():
        eng.write(tensor, values)
    eng.run()
    outputs = {name: eng.read(t) for name, t in case.outputs.items()}
    return Result(eng, outputs, measure(eng))


def measure(eng: Engine) -> dict:
    """The costs of a run: supersteps, bytes received over the exchange, cycles (all, and in compute
    phases), and the SRAM used on the fullest tile."""
    p = eng.profile
    return {"supersteps": p.num_supersteps, "exchange bytes": p.exchange_bytes, "cycles": p.total_cycles,
            "compute cycles": p.compute_cycles, "peak tile SRAM": eng.memory.peak_bytes}


def over_budget(costs: dict, limits) -> list:
    """``"cycles is 900, over the budget of 800 by 100"`` for each cost over its limit."""
    out = []
    for lim in limits:
        value = costs[lim.name]
        if value > lim.value:
            unit = f" {lim.unit}" if lim.unit else ""
            out.append(f"{lim.name} is {value:,}{unit}, over the budget of {lim.value:,}{unit} by "
                       f"{value - lim.value:,}{unit}")
    return out


