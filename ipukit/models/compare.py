"""Several models side by side: does each fit one IPU, and how many IPUs does it need?"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..core.spec import GC2, GC200
from . import _format as fmt
from .fit import fit
from .pipeline import pipeline
from .setup import RESERVED_FRACTION, Setup, make_setup


@dataclass(frozen=True)
class Comparison:
    """One row per model, with a FitReport and a PipelinePlan per IPU type."""

    setup: Setup
    ipus: tuple              # IPU type names, in column order
    rows: tuple              # (model name, params, (FitReport, ...), (PipelinePlan, ...))

    def describe(self) -> str:
        head = f"{'model':<24}{'params':>10}{'memory':>14}"
        for name in self.ipus:
            head += f"{'one ' + name:>12}{'pipelined':>11}"
        lines = [f"Models on IPUs: {self.setup.describe()}", head]
        for name, params, fits, plans in self.rows:
            line = f"{name:<24}{fmt.count(params):>10}{fmt.mib(fits[0].memory.total):>14}"
            for report, plan in zip(fits, plans):
                ipus = (f"{plan.ipus} IPU{'s' if plan.ipus > 1 else ''}" if plan.feasible
                        else "no fit")
                line += f"{'fits' if report.fits else 'no':>12}{ipus:>11}"
            lines.append(line)
        reserve = self.rows[0][2][0].reserve if self.rows else RESERVED_FRACTION
        lines.append(f"({reserve:.0%} of each IPU's SRAM reserved for code, exchange and "
                     f"stacks; 'no fit': no split into whole layers fits, see the plan's reason)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"setup": asdict(self.setup), "ipus": list(self.ipus),
                "rows": [{"model": name, "params": params,
                          "fits": {r.ipu: r.to_dict() for r in fits},
                          "pipelines": {p.ipu: p.to_dict() for p in plans}}
                         for name, params, fits, plans in self.rows]}


def compare(models=None, ipus=(GC2, GC200), *, reserve: float = RESERVED_FRACTION,
            micro_batches: int = 16, setup: Setup | None = None, **options) -> Comparison:
    """Fit and pipeline every model (default: the catalogue) on each IPU type."""
    from . import catalogue
    models = catalogue() if models is None else list(models)
    setup = make_setup(setup, **options)
    rows = []
    for model in models:
        fits = tuple(fit(model, ipu, reserve=reserve, setup=setup) for ipu in ipus)
        plans = tuple(pipeline(model, ipu, reserve=reserve, micro_batches=micro_batches,
                               setup=setup) for ipu in ipus)
        rows.append((model.name, model.params, fits, plans))
    return Comparison(setup, tuple(ipu.name for ipu in ipus), tuple(rows))
