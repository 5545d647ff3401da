"""ipukit: an emulated Graphcore IPU you program like Poplar, for learning how it computes.

    import ipukit
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    x = g.add_variable(16, name="x"); g.map_linearly(x)
    ...
    eng = ipukit.Engine(g, program); eng.run(); print(eng.profile.summary())
"""
from . import _env, _short_paths

_env.default_numba_cache()               # before numba is imported: kit.py and plain python share one cache
_short_paths.install(__name__)           # ipukit.errors, ipukit.grade, ...: see _short_paths.py

from .core import errors  # noqa: E402
from .core.codelet import Codelet, codelet  # noqa: E402
from .core.errors import IPUError  # noqa: E402
from .core.graph import ComputeSet, Graph, HostStream, Vertex  # noqa: E402
from .core.programs import Copy, Execute, If, Program, Repeat, RepeatWhileTrue, Sequence  # noqa: E402
from .core.spec import GC2, GC200, IPUSpec  # noqa: E402
from .core.tensor import Tensor, concat  # noqa: E402
from .course.check import check  # noqa: E402
from .lib import codelets, collectives, parallel  # noqa: E402
from .run.engine import Engine  # noqa: E402

_short_paths.register_loaded(__name__)

__version__ = "0.1.0"

__all__ = [
    "Codelet", "ComputeSet", "Copy", "Engine", "Execute", "GC2", "GC200", "Graph", "HostStream", "IPUError",
    "IPUSpec", "If", "Program", "Repeat", "RepeatWhileTrue", "Sequence", "Tensor", "Vertex", "codelet",
    "check", "codelets", "collectives", "concat", "errors", "parallel",
]

_LAZY = ("viz", "widgets", "ops", "models", "sparse", "simd", "grade", "warmup")


def __getattr__(name):
    """``ipukit.viz``, ``ipukit.widgets``, ``ipukit.ops``, ``ipukit.models``, ``ipukit.cost``...: imported
    on first use, so ``import ipukit`` stays fast (no matplotlib, ipywidgets or numba until needed)."""
    if name in _LAZY or name in _short_paths.SHORT_PATHS:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'ipukit' has no attribute {name!r}")
