"""ipukit.ops: a small PopLibs: ops built from vertices, each returning ``(result, program)``.

    out, prog = ops.matmul(g, a, b)
    y, prog2 = ops.gelu(g, out)
    eng = ipukit.Engine(g, ipukit.Sequence(prog, prog2))

Ops only build: they add variables, compute sets and vertices to the graph; the
program they return does the work when an Engine runs it.  Work goes where the
data is (see :mod:`ipukit.ops.layout`); results are mapped like their inputs.
"""
from .matmul import create_matmul_inputs, matmul
from .planner import MatmulPlan, plan_matmul
from .plot import plot_matmul_plan

__all__ = ["MatmulPlan", "create_matmul_inputs", "matmul", "plan_matmul", "plot_matmul_plan"]
