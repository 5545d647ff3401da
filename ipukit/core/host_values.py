"""The one rule for numbers that come from the host: a value may not change on its way in.

``engine.write`` and ``graph.add_constant`` both convert host values to the
tensor's dtype, and both refuse a conversion that would change a value:
integers (and bools) must arrive exactly; a float rounds to the nearest value
of a float dtype, as ``np.float32(0.1)`` does, but must not overflow to
infinity; a float becomes an integer only if it is a whole number in range;
a bool only from 0 and 1.  NumPy's ``astype`` would truncate 0.5 to 0 and wrap
150000 to 18928 in int16 without a word: a silent wrong answer.
"""
from __future__ import annotations

import numpy as np

from .errors import HostValueError

# Candidates for "use a wider dtype", narrowest first.
_INTS = tuple(np.dtype(d) for d in ("int8", "uint8", "int16", "uint16", "int32", "uint32"))
_FLOATS = (np.dtype("float16"), np.dtype("float32"))


def first_changed(arr: np.ndarray, dtype) -> str | None:
    """Why converting ``arr`` to ``dtype`` would change a value (naming the first such value), or None."""
    dt = np.dtype(dtype)
    if arr.dtype == dt or arr.size == 0:
        return None
    if arr.dtype.kind not in "biuf":
        return f"{arr.dtype} values cannot become {dt}"
    with np.errstate(all="ignore"):
        converted = arr.astype(dt)
        if dt.kind == "b":
            bad, why = (arr != 0) & (arr != 1), "is neither 0 nor 1"
        elif dt.kind == "f" and arr.dtype.kind == "f":
            bad = np.isfinite(arr) & ~np.isfinite(converted)
            why = f"is too large for {dt} (at most {np.finfo(dt).max:g})"
        elif dt.kind == "f":
            bad = ~np.isfinite(converted) | (converted.astype(arr.dtype) != arr)
            why = f"cannot be stored exactly in {dt}"
        elif arr.dtype.kind == "f":
            info = np.iinfo(dt)
            whole = np.isfinite(arr) & (np.trunc(arr) == arr)
            bad = ~whole | (arr < info.min) | (arr > info.max)
            first = _first(bad)
            if first is None:
                return None
            value = arr.reshape(-1)[first]
            why = (f"does not fit in {dt} ({info.min} to {info.max})" if whole.reshape(-1)[first] else
                   f"is not a whole number, so it cannot be stored in {dt}" if np.isfinite(value) else
                   f"is not a finite number, so it cannot be stored in {dt}")
            return _describe(arr, first, why)
        else:
            info = np.iinfo(dt)
            bad, why = converted.astype(arr.dtype) != arr, f"does not fit in {dt} ({info.min} to {info.max})"
    first = _first(bad)
    return None if first is None else _describe(arr, first, why)


def wider_dtype(arr: np.ndarray, dtype) -> np.dtype | None:
    """The narrowest IPU dtype at least as wide as ``dtype`` that holds every value of ``arr`` exactly."""
    dt = np.dtype(dtype)
    for cand in _FLOATS if dt.kind == "f" else _INTS + _FLOATS:
        if cand != dt and cand.itemsize >= dt.itemsize and first_changed(arr, cand) is None:
            return cand
    return None


def advice(arr: np.ndarray, dtype) -> str:
    """What to do when ``arr`` does not fit ``dtype``."""
    wider = wider_dtype(arr, dtype)
    if wider is None:
        return "Change the values, or make the tensor a dtype that holds them."
    return f"Make the tensor {wider} (dtype=\"{wider}\") so every value fits, or change the values."


def host_values(values, dtype, what: str) -> np.ndarray:
    """``values`` as an array of ``dtype``, or a :class:`HostValueError` naming the value that would change."""
    arr = np.asarray(values)
    problem = first_changed(arr, dtype)
    if problem:
        raise HostValueError(f"{what}: {problem}. NumPy would silently change it. {advice(arr, dtype)}")
    return arr.astype(dtype, copy=False)


def _first(bad) -> int | None:
    hit = np.flatnonzero(bad.reshape(-1))
    return int(hit[0]) if hit.size else None


def _describe(arr, flat_index, why) -> str:
    index = np.unravel_index(flat_index, arr.shape) if arr.ndim else ()
    where = f" at [{', '.join(str(int(i)) for i in index)}]" if arr.ndim else ""
    return f"the value {arr.reshape(-1)[flat_index].item()!r}{where} {why}"
