"""The graph: variables mapped onto tiles, compute sets of vertices, host streams.

Mirrors ``poplar::Graph`` with PEP 8 names: ``add_variable``, ``add_constant``,
``set_tile_mapping``, ``map_linearly`` (poputil::mapTensorLinearly),
``tile_mapping``, ``add_compute_set``, ``add_vertex``, ``add_host_stream``.
Building a graph moves no data; ``Engine(graph, program)`` compiles it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MappingError, VertexFieldError
from .host_values import host_values
from .intervals import first_overlap, id_runs, sorted_unique, split_runs
from .spec import GC2, IPUSpec
from .tensor import Tensor, ipu_dtype
from .tilemap import TileLookup, TileMap
from .codelet import Codelet


@dataclass(eq=False)
class Variable:
    name: str
    shape: tuple
    dtype: np.dtype
    base: int                          # first global element id
    values: np.ndarray | None = None   # initial values of a constant

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_constant(self) -> bool:
        return self.values is not None


@dataclass(eq=False)
class ComputeSet:
    """A set of vertices that run in parallel in one compute phase."""
    name: str
    graph: "Graph" = field(repr=False)
    vertices: list = field(default_factory=list, repr=False)

    def __repr__(self):
        return f"ComputeSet('{self.name}', {len(self.vertices)} vertices)"


@dataclass(eq=False)
class Vertex:
    """One instance of a codelet on one tile (what ``add_vertex`` returns)."""
    compute_set: ComputeSet = field(repr=False)
    codelet: Codelet
    tile: int
    tensors: dict = field(repr=False)   # field name -> Tensor
    scalars: dict = field(repr=False)   # scalar parameter -> value
    dims: dict = field(repr=False)      # dimension name -> size
    index: int = 0                      # position in its compute set

    @property
    def name(self) -> str:
        return f"{self.codelet.name}#{self.index}"

    def where(self) -> str:
        return f"vertex {self.name} (compute set '{self.compute_set.name}', tile {self.tile})"

    def __repr__(self):
        return f"<{self.where()}>"


@dataclass(eq=False)
class HostStream:
    """A FIFO between host and IPU (Poplar's addHostToDeviceFIFO / addDeviceToHostFIFO)."""
    name: str
    shape: tuple
    dtype: np.dtype
    direction: str    # "to_device" or "from_device"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        arrow = "host -> IPU" if self.direction == "to_device" else "IPU -> host"
        return f"HostStream('{self.name}', {self.shape}, {self.dtype}, {arrow})"


@dataclass(eq=False)
class RemoteBuffer:
    """A buffer in Streaming Memory, the DRAM of an IPU-M2000 (Poplar's addRemoteBuffer).

    Programs copy whole buffers to and from tensors: ``Copy(buffer, tensor)`` and
    ``Copy(tensor, buffer)``; ``engine.write_remote`` / ``engine.read_remote`` give the host
    access. A copy costs a ``"remote"`` phase (``spec.streaming_memory_bytes_per_cycle``, an
    ASSUMPTION, or each tile's 4 B/cycle port, whichever is slower).
    """
    name: str
    shape: tuple
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __repr__(self):
        return f"RemoteBuffer('{self.name}', {self.shape}, {self.dtype})"


class Graph:
    """A Poplar-style graph for an :class:`~ipukit.IPUSpec` (default: ``GC2``)."""

    def __init__(self, spec: IPUSpec = GC2):
        if not isinstance(spec, IPUSpec):
            raise TypeError(f"Graph(spec) needs an IPUSpec such as ipukit.GC2, got {type(spec).__name__}")
        self.spec = spec
        self.num_tiles = spec.total_tiles
        self.variables: list[Variable] = []
        self.compute_sets: list[ComputeSet] = []
        self.streams: dict[str, HostStream] = {}
        self.remote_buffers: dict[str, RemoteBuffer] = {}
        self._next_id = 0
        self.tile_map = TileMap()                        # global element id -> tile, as runs
        self._bases = np.zeros(0, np.int64)
        self._itemsizes = np.zeros(0, np.int64)
        self._constant = np.zeros(0, bool)               # per variable: is it a constant?

    def __repr__(self):
        return (f"<Graph on {self.spec.describe()}: {len(self.variables)} tensors, "
                f"{len(self.compute_sets)} compute sets>")

    # --- tensors ------------------------------------------------------------------
    def add_variable(self, shape, dtype="float32", name: str | None = None) -> Tensor:
        """A new tensor of ``shape``; map it to tiles before compiling."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"add_variable: negative dimension in shape {shape}")
        dt = ipu_dtype(dtype)
        name = name or f"v{len(self.variables)}"
        var = Variable(name, shape, dt, self._next_id)
        self._register(var)
        return self.variable_tensor(var)

    def variable_tensor(self, var: Variable) -> Tensor:
        """The whole of ``var`` as a tensor."""
        strides = []
        step = 1
        for n in reversed(var.shape):
            strides.append(step)
            step *= max(n, 1)
        return Tensor.strided(self, var.base, var.shape, tuple(reversed(strides)), var.dtype, var.name)

    def add_constant(self, values, dtype=None, name: str | None = None) -> Tensor:
        """A tensor whose values are fixed when the engine is built (``graph.addConstant``)."""
        arr = np.asarray(values)
        if dtype is None:    # Python floats become float32 and ints int32, as in Poplar's FLOAT / INT
            dtype = {"f": "float32", "i": "int32", "u": "uint32", "b": "bool"}.get(arr.dtype.kind, arr.dtype)
            if arr.dtype.itemsize < 4 and arr.dtype.kind in "fiu":
                dtype = arr.dtype
        dt = ipu_dtype(dtype)
        converted = host_values(arr, dt, f"add_constant({'' if name is None else repr(name) + ', '}dtype={dt})")
        t = self.add_variable(arr.shape, dt, name or f"c{len(self.variables)}")
        self.variables[-1].values = np.ascontiguousarray(converted)
        self._constant[-1] = True
        return t

    def _register(self, var: Variable) -> None:
        self.variables.append(var)
        self._bases = np.append(self._bases, var.base)
        self._itemsizes = np.append(self._itemsizes, var.dtype.itemsize)
        self._constant = np.append(self._constant, var.is_constant)
        self._next_id += var.size
        self.tile_map.extend(var.size)

    @property
    def elem_tile(self) -> TileLookup:
        """``graph.elem_tile[ids]``: the tile of each global element id (-1: unmapped)."""
        return TileLookup(self.tile_map)

    @property
    def num_ids(self) -> int:
        return self._next_id

    def variable_of(self, ids) -> np.ndarray:
        """Index in ``self.variables`` of each global element id."""
        return np.searchsorted(self._bases, ids, side="right") - 1

    def itemsize_of(self, ids) -> np.ndarray:
        """Bytes per element for each global element id."""
        return self._itemsizes[self.variable_of(ids)]

    def first_constant(self, starts, lengths):
        """The first run of ids ``[starts[k], starts[k] + lengths[k])`` that holds an element of a
        constant, as ``(k, id of that element)``; None if no run does.

        Every element counts, not just the ends of each run: a run may cross
        from a variable through a constant into another variable.  The one
        check behind every "constants are read-only" error.
        """
        const = np.flatnonzero(self._constant)
        starts = np.asarray(starts, np.int64)
        if not const.size or not starts.size:
            return None
        ends = np.append(self._bases[1:], self._next_id)
        pair = first_overlap(starts, starts + np.asarray(lengths, np.int64), self._bases[const], ends[const])
        if pair is None:
            return None
        k, j = pair
        return k, int(max(starts[k], self._bases[const[j]]))

    def describe_element(self, gid: int) -> str:
        """``'x'[3, 1]``: which variable element a global id is, for error messages."""
        var = self.variables[int(self.variable_of(gid))]
        idx = np.unravel_index(int(gid) - var.base, var.shape) if var.shape else ()
        return f"'{var.name}'[{', '.join(str(int(i)) for i in idx)}]"

    def _own(self, t, what="tensor") -> Tensor:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected a {what} (ipukit.Tensor), got {type(t).__name__}")
        if t.graph is not self:
            raise ValueError(f"tensor '{t.name}' belongs to another graph")
        return t

    # --- tile mapping ----------------------------------------------------------
    def check_tile(self, tile, what: str) -> int:
        if not isinstance(tile, (int, np.integer)) or isinstance(tile, bool):
            raise MappingError(f"{what}: tile must be an int, got {tile!r}")
        if not 0 <= tile < self.num_tiles:
            raise MappingError(f"{what}: tile {tile} is out of range; this {self.spec.name} target has "
                               f"{self.num_tiles} tiles (0 to {self.num_tiles - 1})")
        return int(tile)

    def set_tile_mapping(self, t: Tensor, tile) -> None:
        """Put every element of ``t`` on ``tile``.

        ``tile`` may also be a mapping as returned by :meth:`tile_mapping` (a list,
        indexed by tile, of ``(start, end)`` intervals of ``t`` flattened).
        """
        self._own(t)
        if isinstance(tile, (list, tuple)):
            if len(tile) > self.num_tiles:
                raise MappingError(f"set_tile_mapping('{t.name}'): the mapping lists {len(tile)} tiles, "
                                   f"this target has {self.num_tiles}")
            bounds, tiles = [], []
            for tl, intervals in enumerate(tile):
                for start, end in intervals:
                    if not 0 <= start <= end <= t.size:
                        raise MappingError(f"set_tile_mapping('{t.name}'): interval ({start}, {end}) on tile "
                                           f"{tl} is outside 0..{t.size}")
                    bounds.append((start, end))
                    tiles.append(tl)
            self._assign_by_position(t, np.array(bounds, np.int64).reshape(-1, 2), np.array(tiles, np.int64))
            return
        tile = self.check_tile(tile, f"set_tile_mapping('{t.name}')")
        starts, lengths = id_runs(t)
        self.tile_map.assign(starts, lengths, tile)

    def _assign_by_position(self, t: Tensor, intervals, tiles) -> None:
        """Map positions ``[s, e)`` of ``t`` flattened to the given tiles."""
        if len(intervals) == 0:
            return
        starts, lengths = id_runs(t)
        pos = np.cumsum(lengths) - lengths
        cuts = sorted_unique(intervals)
        piece_pos, piece_len, run = split_runs(pos, lengths, cuts)
        piece_start = starts[run] + (piece_pos - pos[run])
        order = np.argsort(intervals[:, 0], kind="stable")
        which = np.searchsorted(intervals[order, 0], piece_pos, side="right") - 1
        inside = (which >= 0) & (piece_pos < intervals[order, 1][np.maximum(which, 0)])
        self.tile_map.assign(piece_start[inside], piece_len[inside], tiles[order][which[inside]])

    def map_linearly(self, t: Tensor, grain_size: int = 1, min_elements_per_tile: int = 0,
                     tiles=None) -> None:
        """Spread ``t`` evenly over tiles in grains, like ``poputil::mapTensorLinearly``.

        Tile ``tiles[i]`` gets elements ``[i*per_tile, (i+1)*per_tile)`` of ``t``
        flattened, where ``per_tile`` is a whole number of grains; trailing tiles
        may get nothing.  ``tiles`` defaults to every tile of the target.
        """
        self._own(t)
        if grain_size < 1:
            raise ValueError(f"map_linearly('{t.name}'): grain_size must be >= 1, got {grain_size}")
        tiles = np.arange(self.num_tiles) if tiles is None else np.asarray(list(tiles), dtype=np.int64)
        if tiles.size == 0:
            raise MappingError(f"map_linearly('{t.name}'): no tiles given")
        for tl in (tiles.min(), tiles.max()):
            self.check_tile(int(tl), f"map_linearly('{t.name}')")
        n = t.size
        grains = -(-n // grain_size)
        per_tile = max(-(-grains // tiles.size), -(-min_elements_per_tile // grain_size), 1) * grain_size
        used = -(-n // per_tile)
        bounds = np.minimum(np.arange(used + 1) * per_tile, n)
        self._assign_by_position(t, np.stack([bounds[:-1], bounds[1:]], axis=1), tiles[:used])

    def element_tiles(self, t: Tensor) -> np.ndarray:
        """The tile of each element of ``t`` (same shape as ``t``; -1 where unmapped)."""
        self._own(t)
        return self.tile_map.lookup(t.ids)

    def tile_runs(self, t: Tensor):
        """``t`` flattened, cut where the tile changes: (positions, lengths, tiles)."""
        starts, lengths = id_runs(t)
        pos = np.cumsum(lengths) - lengths
        piece_start, piece_len, run = split_runs(starts, lengths, self.tile_map.starts)
        piece_pos = pos[run] + (piece_start - starts[run])
        return piece_pos, piece_len, self.tile_map.lookup(piece_start)

    def tile_mapping(self, t: Tensor) -> list:
        """Poplar's ``getTileMapping``: for each tile, ``(start, end)`` intervals of ``t`` flattened."""
        self._own(t)
        pos, length, tiles = self.tile_runs(t)
        mapping = [[] for _ in range(self.num_tiles)]
        for s, n, tl in zip(pos.tolist(), length.tolist(), tiles.tolist()):
            if tl < 0:
                continue
            if mapping[tl] and mapping[tl][-1][1] == s:
                mapping[tl][-1] = (mapping[tl][-1][0], s + n)
            else:
                mapping[tl].append((s, s + n))
        return mapping

    # --- compute ------------------------------------------------------------------
    def add_compute_set(self, name: str | None = None) -> ComputeSet:
        cs = ComputeSet(name or f"cs{len(self.compute_sets)}", self)
        self.compute_sets.append(cs)
        return cs

    def add_vertex(self, compute_set: ComputeSet, codelet: Codelet, tile=None, **fields) -> Vertex:
        """Add one vertex of ``codelet`` on ``tile`` to ``compute_set``.

        Keyword arguments connect fields to tensor views (inputs, outputs, inouts)
        or give scalar parameters.  A field whose elements are not all on ``tile``,
        in order, is gathered into a buffer on ``tile`` by the exchange before the
        compute phase, and written back after it, as Poplar does.
        """
        if not isinstance(compute_set, ComputeSet) or compute_set.graph is not self:
            raise VertexFieldError(f"add_vertex: {compute_set!r} is not a compute set of this graph; "
                                   "create one with graph.add_compute_set(name)")
        if not isinstance(codelet, Codelet):
            raise VertexFieldError(f"add_vertex: {getattr(codelet, '__name__', codelet)!r} is not a codelet; "
                                   "decorate the function with @ipukit.codelet(inputs=..., outputs=...)")
        label = f"vertex {codelet.name}#{len(compute_set.vertices)} (compute set '{compute_set.name}')"
        if tile is None:
            raise MappingError(f"{label}: every vertex needs a tile; pass tile=...")
        tile = self.check_tile(tile, label)
        where = f"vertex {codelet.name}#{len(compute_set.vertices)} (compute set '{compute_set.name}', tile {tile})"
        for name, value in fields.items():
            if isinstance(value, Tensor) and value.graph is not self:
                raise VertexFieldError(f"{where}: field '{name}' is connected to '{value.name}' of another graph")
        tensors, scalars, dims = codelet.bind(fields, where)
        v = Vertex(compute_set, codelet, tile, tensors, scalars, dims, len(compute_set.vertices))
        compute_set.vertices.append(v)
        return v

    # --- host streams -----------------------------------------------------------------
    def add_host_stream(self, name: str, shape, dtype="float32", direction: str = "to_device") -> HostStream:
        """A FIFO the host feeds (``"to_device"``) or drains (``"from_device"``).

        ``Copy(stream, tensor)`` moves one ``shape``-sized chunk per execution; the
        engine reads the connected host array as a circular buffer.
        """
        if direction not in ("to_device", "from_device"):
            raise ValueError(f"add_host_stream('{name}'): direction must be 'to_device' or 'from_device'")
        if name in self.streams:
            raise ValueError(f"add_host_stream: a stream named '{name}' already exists")
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        stream = HostStream(name, shape, ipu_dtype(dtype), direction)
        self.streams[name] = stream
        return stream

    # --- Streaming Memory -------------------------------------------------------------
    def add_remote_buffer(self, name: str, shape, dtype="float32") -> RemoteBuffer:
        """A buffer of ``shape`` in Streaming Memory (GC200 systems: DRAM of the IPU-M2000).

        ``Copy(buffer, tensor)`` / ``Copy(tensor, buffer)`` move it whole, in a ``"remote"``
        phase of the profile. A GC2 (C2 card) has no Streaming Memory.
        """
        spec = self.spec
        if spec.streaming_memory_bytes <= 0 or spec.streaming_memory_bytes_per_second <= 0:
            raise ValueError(f"add_remote_buffer('{name}'): a {spec.name} has no Streaming Memory "
                             "(only IPU-M2000 systems do); build the graph for ipukit.GC200")
        if name in self.remote_buffers:
            raise ValueError(f"add_remote_buffer: a remote buffer named '{name}' already exists")
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"add_remote_buffer('{name}'): shape must be positive sizes, got {shape}")
        buffer = RemoteBuffer(name, shape, ipu_dtype(dtype))
        used = sum(b.nbytes for b in self.remote_buffers.values()) + buffer.nbytes
        capacity = spec.streaming_memory_bytes * spec.num_ipus
        if used > capacity:
            raise ValueError(f"add_remote_buffer('{name}'): {used:,} B of remote buffers exceed the "
                             f"{capacity:,} B of Streaming Memory of {spec.num_ipus} {spec.name}(s)")
        self.remote_buffers[name] = buffer
        return buffer

    # --- memory -------------------------------------------------------------------
    def memory_report(self, programs=None):
        """Plan SRAM for this graph (and ``programs``) without building an engine.

        Unlike ``Engine``, this does not raise when a tile is over its SRAM, so
        the over-full tiles can be looked at (``ipukit.viz.plot_memory``).
        """
        from ..compile.lowering import plan_layout
        return plan_layout(self, programs, strict=False).report
