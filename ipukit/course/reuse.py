"""Exercises that build on each other: a later notebook uses what the learner wrote earlier.

``learner_or_library("ex03_3", "ex03_exchange", "all_reduce_doubling", all_reduce)``
grades exercise 03.3 quietly (the same grading tests as ``ipukit.check`` and
``python -m ipukit.grade``, in a fresh process) and returns the learner's
``all_reduce_doubling`` when it passes, else the library's ``all_reduce``.  It
prints one line saying which one is used, and why.

The check here is only a question, not an attempt: it shows no panel and reveals
no hint level (``ipukit.check`` reveals one after each failed check).  Under
``IPUKIT_TARGET=solutions`` (as when the test suite runs the notebooks) the
solution's version passes and is used.
"""
from __future__ import annotations

from . import exercise as X


def _label(exercise_id: str) -> str:
    """``"ex03_3"`` -> ``"03.3"``."""
    return exercise_id[2:].replace("_", ".")


def _name(fn) -> str:
    module = getattr(fn, "__module__", "") or ""
    if module.startswith("ipukit."):                  # ipukit.lib.collectives -> ipukit.collectives
        module = "ipukit." + module.rsplit(".", 1)[-1]
    qualname = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{qualname}" if module else qualname


def learner_or_library(exercise_id: str, module: str, function: str, fallback, target=None,
                       timeout: float = 60.0, say=print):
    """The learner's ``function`` from ``module`` if exercise ``exercise_id`` passes its check, else ``fallback``.

    Args:
        exercise_id: the exercise whose grading tests decide, e.g. ``"ex03_3"``.
        module: the learner module that holds the function, e.g. ``"ex03_exchange"``.
        function: the function's name in that module, e.g. ``"all_reduce_doubling"``.
        fallback: what to use when the exercise has not passed (the library's version,
            called the same way).
        target: ``"exercises"``, ``"solutions"`` or a folder; default ``IPUKIT_TARGET``,
            else ``"exercises"``.
        timeout: seconds before the check is stopped (it then counts as not passed).
        say: where the one line saying which is used goes (``print``; ``None`` for silence).
    """
    from .grade import run_exercise
    table = X.load_table()
    if exercise_id not in table:
        raise ValueError(f"learner_or_library({exercise_id!r}): no such exercise; ids look like 'ex03_3' "
                         f"(known: {', '.join(table) or 'none'})")
    if not callable(fallback):
        raise TypeError(f"learner_or_library({exercise_id!r}): fallback must be a function (the library's "
                        f"version), got {type(fallback).__name__}")
    ex = table[exercise_id]
    tgt = X.resolve_target(target)
    label = _label(exercise_id)
    result = run_exercise(ex, tgt, timeout)
    chosen, line = fallback, None
    if result.status == "passed":
        try:
            chosen = getattr(X.load(module, tgt), function)
        except (X.TargetImportError, AttributeError) as e:
            line = (f"Using the library's {_name(fallback)}: exercise {label} passed, but {module}.{function} "
                    f"could not be loaded ({e}).")
        else:
            whose = "the solution's" if tgt.is_solutions else "your"
            line = (f"Using {whose} {function} from exercise {label} ({ex.title}): its check passed. "
                    f"The library's {_name(fallback)} is not used here.")
    if line is None:
        why = result.message.strip().splitlines()[0] if result.message and result.message.strip() else ""
        why = f": {why[:160]}" if why else ""
        line = (f"Using the library's {_name(fallback)}: exercise {label} ({ex.title}) is {result.status}{why}. "
                f"Once ipukit.check({exercise_id!r}) passes, re-run this cell to use your {function}.")
    if say is not None:
        say(line)
    return chosen
