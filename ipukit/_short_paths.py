"""Short module paths: ``ipukit.errors`` is ``ipukit/core/errors.py``, ``ipukit.grade`` is
``ipukit/course/grade.py``, and so on.

The package is laid out by layer (``core``, ``compile``, ``run``, ``lib``, ``course``), while
notebooks, exercises and learners write the short paths (``from ipukit.errors import
MappingError``, ``python -m ipukit.grade``).  A finder on ``sys.meta_path`` maps each short
path to the real module, imported only when asked for, so ``import ipukit`` stays fast.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

SHORT_PATHS = {
    # what learners import by name
    "errors": "core.errors", "programs": "core.programs", "cost": "core.cost", "memory": "compile.sram",
    "codelets": "lib.codelets", "collectives": "lib.collectives", "parallel": "lib.parallel",
    "check": "course.check", "exercise": "course.exercise", "grade": "course.grade",
    "widgets": "course.widgets", "warmup": "course.warmup",
}


class _ShortPathLoader(importlib.abc.Loader):
    def __init__(self, real: str):
        self.real = real

    def create_module(self, spec):
        return importlib.import_module(self.real)      # the one real module, under both names

    def exec_module(self, module):
        pass

    def get_code(self, fullname):
        """``python -m ipukit.grade``: run the real module as ``__main__``."""
        return compile(f"import runpy\nrunpy.run_module({self.real!r}, run_name='__main__', alter_sys=True)\n",
                       f"<{fullname} is {self.real}>", "exec")


class _ShortPathFinder(importlib.abc.MetaPathFinder):
    def __init__(self, package: str):
        self.prefix = package + "."
        self.package = package

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.prefix):
            return None
        real = SHORT_PATHS.get(fullname[len(self.prefix):])
        if real is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _ShortPathLoader(f"{self.package}.{real}"))


def install(package: str) -> None:
    if not any(isinstance(f, _ShortPathFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ShortPathFinder(package))


def register_loaded(package: str) -> None:
    """Give the modules already imported their short names now.

    Importing a short path later would set it as an attribute of the package,
    and ``ipukit.check`` must stay the function, not become its module.
    """
    for short, real in SHORT_PATHS.items():
        module = sys.modules.get(f"{package}.{real}")
        if module is not None:
            sys.modules.setdefault(f"{package}.{short}", module)
