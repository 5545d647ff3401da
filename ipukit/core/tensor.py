"""Tensors: views onto graph variables that know where every element lives.

As in Poplar, a tensor is a *view*: slicing, reshaping or transposing creates no
storage.  ipukit represents a view by an integer array ``ids`` of the view's
shape; ``ids[i, j]`` is the global id of the element (each variable owns a block
of consecutive ids).  NumPy does the view algebra; the graph maps ids to tiles.
"""
from __future__ import annotations

import math

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

    A view made by slicing, transposing or reshaping is kept *strided*: element
    ``i`` has id ``base + sum(i[k] * strides[k])``, so even a huge view costs a few
    numbers.  Other views (concat, indexing with arrays) keep an explicit array of
    ids.  ``t.ids`` gives the ids either way (building the array when needed).
    """

    __slots__ = ("graph", "dtype", "name", "_ids", "_strided")

    def __init__(self, graph, ids, dtype: np.dtype, name: str):
        self.graph = graph
        self.dtype = dtype
        self.name = name
        self._ids = np.asarray(ids)        # explicit ids (any shape), or None when strided
        self._strided = None               # (base, shape, strides) in element ids

    @classmethod
    def strided(cls, graph, base: int, shape: tuple, strides: tuple, dtype, name: str) -> "Tensor":
        return cls._make(graph, (int(base), tuple(int(n) for n in shape), tuple(int(s) for s in strides)),
                         dtype, name)

    @classmethod
    def _make(cls, graph, strided, dtype, name) -> "Tensor":
        t = cls.__new__(cls)
        t.graph, t.dtype, t.name, t._ids, t._strided = graph, dtype, name, None, strided
        return t

    # --- shape -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._strided[1] if self._strided else self._ids.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"tensor '{self.name}' is a single element and has no length")
        return self.shape[0]

    @property
    def ids(self) -> np.ndarray:
        """Global id of every element (same shape as the tensor)."""
        if self._strided is None:
            return self._ids
        base, shape, strides = self._strided
        ids = np.full(shape, base, np.int64)
        for axis, (n, s) in enumerate(zip(shape, strides)):
            ids += (np.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - axis - 1))
        return ids

    def key(self) -> tuple:
        """Equal for two views of exactly the same elements in the same order."""
        if self._strided is not None:
            return ("strided",) + self._strided
        return ("ids", self._ids.shape, self._ids.tobytes())

    # --- views -------------------------------------------------------------
    def _view(self, ids, name) -> "Tensor":
        return Tensor(self.graph, ids, self.dtype, name)

    def __getitem__(self, index) -> "Tensor":
        if isinstance(index, Tensor):
            raise TypeError(f"cannot index tensor '{self.name}' with a tensor; "
                            "indices must be Python ints, slices or NumPy arrays")
        name = f"{self.name}[{_index_text(index)}]"
        if self._strided is not None and _is_basic(index):
            return Tensor._make(self.graph, _basic_index(self._strided, index, self.name), self.dtype, name)
        try:
            ids = self.ids[index]
        except IndexError as e:
            raise IndexError(f"tensor '{self.name}' of shape {self.shape}: {e}") from None
        return self._view(np.asarray(ids), name)

    def reshape(self, *shape) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            new_shape = _check_reshape(self.shape, shape)
        except ValueError:
            raise ValueError(f"cannot reshape tensor '{self.name}' of shape {self.shape} "
                             f"({self.size} elements) to {shape}") from None
        name = f"{self.name}.reshape{tuple(new_shape)}"
        if self._strided is not None and _c_contiguous(self._strided):
            return Tensor.strided(self.graph, self._strided[0], new_shape, _c_strides(new_shape), self.dtype, name)
        return self._view(self.ids.reshape(new_shape), name)

    def flatten(self) -> "Tensor":
        flat = self.reshape(-1)
        flat.name = f"{self.name}.flatten()"
        return flat

    def transpose(self, *axes) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        suffix = f".transpose{axes}" if axes else ".T"
        axes = axes or tuple(reversed(range(self.ndim)))
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"transpose of tensor '{self.name}' ({self.ndim}-D): axes {axes} are not a "
                             f"permutation of 0..{self.ndim - 1}")
        if self._strided is not None:
            base, shape, strides = self._strided
            return Tensor.strided(self.graph, base, tuple(shape[a] for a in axes),
                                  tuple(strides[a] for a in axes), self.dtype, self.name + suffix)
        return self._view(self._ids.transpose(axes), self.name + suffix)

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __repr__(self) -> str:
        return f"Tensor('{self.name}', shape={self.shape}, dtype={self.dtype})"

    # A tensor is a view, not a value: Python truth and equality would mislead.
    def __bool__(self):
        raise TypeError(f"tensor '{self.name}' has no value on the host; read it with engine.read()")

    __hash__ = object.__hash__


def _c_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _c_contiguous(strided) -> bool:
    _, shape, strides = strided
    return all(s == c for n, s, c in zip(shape, strides, _c_strides(shape)) if n != 1)


def _check_reshape(old, new) -> tuple:
    """The shape ``new`` (which may hold one -1) resolves to, for a tensor of shape ``old``."""
    size = int(np.prod(old, dtype=np.int64))
    new = tuple(int(n) for n in new)
    if new.count(-1) > 1 or any(n < -1 for n in new):
        raise ValueError
    known = int(np.prod([n for n in new if n != -1], dtype=np.int64))
    if -1 in new:
        if known == 0 or size % known:
            raise ValueError
        new = tuple(size // known if n == -1 else n for n in new)
    if int(np.prod(new, dtype=np.int64)) != size:
        raise ValueError
    return new


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice)
               or (isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))) for p in parts)


def _basic_index(strided, index, name):
    """NumPy's basic indexing (ints, slices, Ellipsis, None) on a strided view."""
    base, shape, strides = strided
    if isinstance(index, slice) and len(shape) == 1:      # the common case, quickly
        start, stop, step = index.indices(shape[0])
        length = len(range(start, stop, step))
        return base + start * strides[0] * (length > 0), (length,), (strides[0] * step,)
    parts = list(index) if isinstance(index, tuple) else [index]
    real = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if parts.count(Ellipsis) > 1:
        raise IndexError(f"tensor '{name}': an index can only have a single ellipsis ('...')")
    if real > len(shape):
        raise IndexError(f"tensor '{name}' of shape {shape}: too many indices ({real} for {len(shape)} axes)")
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        parts[at:at + 1] = [slice(None)] * (len(shape) - real)
    else:
        parts += [slice(None)] * (len(shape) - real)
    new_shape, new_strides, axis = [], [], 0
    for p in parts:
        if p is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        n, s = shape[axis], strides[axis]
        if isinstance(p, slice):
            start, stop, step = p.indices(n)
            length = len(range(start, stop, step))
            if length:
                base += start * s
            new_shape.append(length)
            new_strides.append(s * step)
        else:
            k = int(p)
            if not -n <= k < n:
                raise IndexError(f"tensor '{name}' of shape {shape}: index {k} is out of bounds for axis "
                                 f"{axis} with size {n}")
            base += (k % n) * s
        axis += 1
    return base, tuple(new_shape), tuple(new_strides)


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
