"""ipukit: an emulated Graphcore IPU you program like Poplar, for learning how it computes.

    import ipukit
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    x = g.add_variable(16, name="x"); g.map_linearly(x)
    ...
    eng = ipukit.Engine(g, program); eng.run(); print(eng.profile.summary())
"""
from . import codelets, collectives, errors, parallel
from .check import check
from .engine import Engine
from .errors import IPUError
from .graph import ComputeSet, Graph, HostStream, Vertex
from .programs import Copy, Execute, If, Program, Repeat, RepeatWhileTrue, Sequence
from .spec import GC2, GC200, IPUSpec
from .tensor import Tensor, concat
from .vertex import Codelet, codelet

__version__ = "0.1.0"

__all__ = [
    "Codelet", "ComputeSet", "Copy", "Engine", "Execute", "GC2", "GC200", "Graph", "HostStream", "IPUError",
    "IPUSpec", "If", "Program", "Repeat", "RepeatWhileTrue", "Sequence", "Tensor", "Vertex", "codelet",
    "check", "codelets", "collectives", "concat", "errors", "parallel",
]

_LAZY = ("viz", "widgets", "ops", "models", "sparse", "simd", "grade", "warmup")


def __getattr__(name):
    """``ipukit.viz``, ``ipukit.widgets``, ``ipukit.ops``, ``ipukit.models``: imported on first use,
    so ``import ipukit`` stays fast (no matplotlib, ipywidgets or numba until needed)."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ipukit' has no attribute {name!r}")
