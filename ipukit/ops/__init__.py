"""ipukit.ops: a small PopLibs: ops built from vertices, each returning ``(result, program)``.

    out, prog = ops.matmul(g, a, b)
    y, prog2 = ops.gelu(g, out)
    eng = ipukit.Engine(g, ipukit.Sequence(prog, prog2))

Ops only build: they add variables, compute sets and vertices to the graph; the
program they return does the work when an Engine runs it.  Work goes where the
data is, and results are mapped like their inputs (see :mod:`ipukit.ops.layout`).

=====================================  ======================================
ipukit.ops                             PopLibs
=====================================  ======================================
matmul, plan_matmul,                   poplin::matMul, the matmul planner,
create_matmul_inputs                   poplin::createMatMulInputLHS / RHS
conv2d                                 poplin::convolution
add, sub, mul, div, scale, exp,        popops::add, sub, mul, div, scale,
map_elementwise                        exp, popops::map
reduce_sum, reduce_mean, reduce_max    popops::reduce
relu, gelu, sigmoid, tanh, softmax,    popnn::nonLinearity, popnn::softmax
layer_norm, map_rows                   popnn layer norm
lstm_cell, attention                   popnn::lstm (one step); attention
=====================================  ======================================
"""
from .attention import attention
from .conv import conv2d
from .elementwise import add, div, exp, map_elementwise, mul, scale, sub
from .lstm import lstm_cell
from .matmul import create_matmul_inputs, matmul
from .nn import gelu, layer_norm, map_rows, relu, sigmoid, softmax, tanh
from .planner import MatmulPlan, plan_matmul
from .plot import plot_matmul_plan
from .reduce import reduce, reduce_max, reduce_mean, reduce_sum

__all__ = [
    "MatmulPlan", "add", "attention", "conv2d", "create_matmul_inputs", "div", "exp", "gelu", "layer_norm",
    "lstm_cell", "map_elementwise", "map_rows", "matmul", "mul", "plan_matmul", "plot_matmul_plan", "reduce",
    "reduce_max", "reduce_mean", "reduce_sum", "relu", "scale", "sigmoid", "softmax", "sub", "tanh",
]
