"""Tensors: views onto graph variables that know where every element lives.

As in Poplar, a tensor is a *view*: slicing, reshaping or transposing creates no
storage.  ipukit represents a view by an integer array ``ids`` of the view's
shape; ``ids[i, j]`` is the global id of the element (each variable owns a block
of consecutive ids).  NumPy does the view algebra; the graph maps ids to tiles.
"""
from __future__ import annotations

import numpy as np

# The IPU computes in 32-bit and 16-bit types: no 64-bit floats or integers.
IPU_DTYPES = tuple(np.dtype(d) for d in (
    "float32", "float16", "int32", "uint32", "int16", "uint16", "int8", "uint8", "bool"))


def ipu_dtype(dtype) -> np.dtype:
    """Check that ``dtype`` exists on the IPU and return it as a NumPy dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; use one of {_names()}") from None
    if dt not in IPU_DTYPES:
        hint = " The IPU has no 64-bit arithmetic: use float32 or int32." if dt.itemsize == 8 else ""
        raise TypeError(f"dtype {dt} is not supported on the IPU.{hint} Supported: {_names()}")
    return dt


def _names() -> str:
    return ", ".join(str(d) for d in IPU_DTYPES)


class Tensor:
    """A view of elements of one or more variables of a :class:`~ipukit.Graph`.

    Supports NumPy-style indexing (``t[2:5]``, ``t[:, 0]``), ``reshape``,
    ``transpose``/``T``, ``flatten`` and :func:`concat`.  Tensors hold no data:
    read them with ``engine.read(t)``.
    """

    __slots__ = ("graph", "ids", "dtype", "name")

    def __init__(self, graph, ids: np.ndarray, dtype: np.dtype, name: str):
        self.graph = graph
        self.ids = ids      # (shape) int64 global element ids
        self.dtype = dtype
        self.name = name

    # --- shape -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.ids.shape

    @property
    def ndim(self) -> int:
        return self.ids.ndim

    @property
    def size(self) -> int:
        return self.ids.size

    @property
    def nbytes(self) -> int:
        return self.ids.size * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.ids)

    # --- views -------------------------------------------------------------
    def _view(self, ids, name) -> "Tensor":
        return Tensor(self.graph, ids, self.dtype, name)

    def __getitem__(self, index) -> "Tensor":
        if isinstance(index, Tensor):
            raise TypeError(f"cannot index tensor '{self.name}' with a tensor; "
                            "indices must be Python ints, slices or NumPy arrays")
        try:
            ids = self.ids[index]
        except IndexError as e:
            raise IndexError(f"tensor '{self.name}' of shape {self.shape}: {e}") from None
        if not isinstance(ids, np.ndarray):     # a single element: keep it a 0-d view
            ids = np.asarray(ids)
        return self._view(ids, f"{self.name}[{_index_text(index)}]")

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            ids = self.ids.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape tensor '{self.name}' of shape {self.shape} "
                             f"({self.size} elements) to {shape}") from None
        return self._view(ids, f"{self.name}.reshape{tuple(ids.shape)}")

    def flatten(self) -> "Tensor":
        return self._view(self.ids.reshape(-1), f"{self.name}.flatten()")

    def transpose(self, *axes) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ids = self.ids.transpose(*axes) if axes else self.ids.T
        suffix = f".transpose{axes}" if axes else ".T"
        return self._view(ids, self.name + suffix)

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __repr__(self) -> str:
        return f"Tensor('{self.name}', shape={self.shape}, dtype={self.dtype})"

    # A tensor is a view, not a value: Python truth and equality would mislead.
    def __bool__(self):
        raise TypeError(f"tensor '{self.name}' has no value on the host; read it with engine.read()")

    __hash__ = object.__hash__


def concat(tensors, axis: int = 0) -> Tensor:
    """Join tensor views along ``axis`` (like ``np.concatenate``); no data moves."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    first = tensors[0]
    for t in tensors[1:]:
        if not isinstance(t, Tensor):
            raise TypeError(f"concat takes tensors, got {type(t).__name__}")
        if t.graph is not first.graph:
            raise ValueError(f"cannot concat '{first.name}' and '{t.name}': they belong to different graphs")
        if t.dtype != first.dtype:
            raise TypeError(f"cannot concat '{first.name}' ({first.dtype}) and '{t.name}' ({t.dtype}): "
                            "all tensors must have the same dtype")
    try:
        ids = np.concatenate([t.ids for t in tensors], axis=axis)
    except ValueError as e:
        shapes = ", ".join(f"'{t.name}' {t.shape}" for t in tensors)
        raise ValueError(f"cannot concat {shapes} along axis {axis}: {e}") from None
    return Tensor(first.graph, ids, first.dtype, "concat(" + ", ".join(t.name for t in tensors) + ")")


def _index_text(index) -> str:
    parts = index if isinstance(index, tuple) else (index,)
    return ", ".join(_one_index_text(p) for p in parts)


def _one_index_text(p) -> str:
    if isinstance(p, slice):
        text = ("" if p.start is None else str(p.start)) + ":" + ("" if p.stop is None else str(p.stop))
        return text + (f":{p.step}" if p.step is not None else "")
    if p is Ellipsis:
        return "..."
    if p is None:
        return "None"
    if isinstance(p, np.ndarray):
        return f"<array {p.shape}>"
    return str(p)
