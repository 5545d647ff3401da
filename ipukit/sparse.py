"""Irregular work on MIMD tiles: block-sparse matrix products, and the lock-step machine they are compared with.

**Block-sparse matmul.**  ``C = A @ B`` where A (M x K) is cut into square blocks
of ``block_size`` and only the blocks marked in a boolean ``mask`` (Mb x Kb) are
stored, row by row (the BSR order); B (K x N) and C are dense.  Row of blocks i
of C is the sum, over the non-zero blocks (i, k) of A, of ``A[i, k] @ B[k]``.
:func:`block_sparse_matmul` places that work on tiles in one of two ways:

- ``"rows"``: row of blocks i goes to tile ``i % tiles``, all of it.  Simple, no
  reduction, but a tile with a dense row waits for nobody while the others wait
  for it: clustered blocks make the tiles uneven.
- ``"balanced"``: the non-zero blocks, in BSR order, are cut into one run of
  equal length per tile (lengths differ by one at most).  A row cut between
  tiles gives partial sums, added up in a second superstep on the row's home tile.

Either way each tile's share of a row (a *piece*) is split over the six workers
by columns of B: six ``block_row_product`` vertices, one per worker, each
summing ``a[r] @ b[r]`` over the piece's blocks.  So the work lands only where
blocks are, and a tile's cycles follow the number of blocks it got.

**A lock-step (SIMD) machine, as a model.**  :class:`SIMDMachine` prices the
same work on a GPU-like machine, under stated assumptions (see its docstring):
items are dealt to lanes in order; a group of ``lanes`` items runs in lock-step
and lasts as long as its longest item (shorter lanes are masked off: padding);
items of different kinds in one group run one kind after another (divergence);
each kernel pays a launch, and reads and writes its data from a memory with a
V100's ratio of bandwidth to compute.  It is a model, not an emulator: only the
IPU side of a comparison is run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import cost
from .codelets import fill, reduce_rows
from .programs import Execute, Sequence
from .tensor import Tensor
from .vertex import Codelet

PLACEMENTS = ("balanced", "rows")


# --- the vertex --------------------------------------------------------------------------
def _block_row_cycles(r, p, q, n, spec):
    """The r products of a piece as one AMP product of depth r * q (cost.amp_cycles)."""
    return cost.amp_cycles(p, r * q, n, spec, np.float32)


def _builtin(**kwargs):
    return lambda fn: Codelet(fn, builtin=True, **kwargs)


@_builtin(inputs={"a": "float32[r,p,q]", "b": "float32[r,q,n]"}, outputs={"out": "float32[p,n]"},
          cycles=_block_row_cycles)
def block_row_product(a, b, out):
    """out = a[0] @ b[0] + a[1] @ b[1] + ...: one piece of a row of blocks, at the AMP rate.

    Matrix-matrix products go to BLAS ``sgemm`` (NumPy and numba call it alike)
    and are added in order; a single row or column is summed in a fixed order
    instead, so that the compiled and the reference paths agree bit for bit.
    """
    if out.shape[0] > 1 and out.shape[1] > 1:
        out[:] = np.dot(a[0], b[0])
        for r in range(1, a.shape[0]):
            out += np.dot(a[r], b[r])
    else:
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = 0
                for r in range(a.shape[0]):
                    for t in range(a.shape[2]):
                        out[i, j] += a[r, i, t] * b[r, t, j]


# --- masks ------------------------------------------------------------------------------
def random_block_mask(rows: int, cols: int, density: float, clustering: float = 0.0, seed: int = 0) -> np.ndarray:
    """A ``(rows, cols)`` boolean mask with ``round(density * rows * cols)`` non-zero blocks.

    ``clustering`` (0 to 1) is the share of those blocks packed into whole rows,
    chosen at random and filled one after another; the rest are scattered
    uniformly over the other positions.  0 gives a uniform random mask, 1 a few
    dense rows and empty ones elsewhere.  The same arguments give the same mask.
    """
    for label, v in (("rows", rows), ("cols", cols)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"random_block_mask: {label} must be a positive int, got {v!r}")
    for label, v in (("density", density), ("clustering", clustering)):
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"random_block_mask: {label} must be between 0 and 1, got {v!r}")
    rng = np.random.default_rng(seed)
    total = rows * cols
    nnz = int(round(float(density) * total))
    packed = int(round(float(clustering) * nnz))
    flat = np.zeros(total, bool)
    order = rng.permutation(rows)
    full, rest = divmod(packed, cols)
    for r in order[:full]:
        flat[r * cols:(r + 1) * cols] = True
    if rest:
        r = order[full]
        flat[r * cols + rng.choice(cols, rest, replace=False)] = True
    free = np.flatnonzero(~flat)
    flat[rng.choice(free, nnz - packed, replace=False)] = True
    return flat.reshape(rows, cols)


def expand_mask(mask, block_size: int) -> np.ndarray:
    """The element mask of a block mask: each entry becomes a ``block_size`` square."""
    mask = np.asarray(mask, bool)
    return np.kron(mask, np.ones((block_size, block_size), bool))


# --- the block-sparse product on tiles ------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """The blocks ``[start, stop)`` (in BSR order) of row of blocks ``row``, multiplied on ``tile``."""
    row: int
    start: int
    stop: int
    tile: int

    @property
    def blocks(self) -> int:
        return self.stop - self.start


@dataclass(eq=False)
class BlockSparseMatmul:
    """``out = A @ b`` for a block-sparse A, built on a graph (see :func:`block_sparse_matmul`).

    ``values`` holds A's non-zero blocks, shape ``(nnz, block_size, block_size)``,
    in BSR order (row by row, left to right); ``b`` is (K, N) and ``out`` (M, N).
    """
    graph: object
    mask: np.ndarray = field(repr=False)
    block_size: int
    n: int
    placement: str
    values: Tensor = field(repr=False)
    b: Tensor = field(repr=False)
    out: Tensor = field(repr=False)
    pieces: list = field(repr=False)        # Piece, one per (row, tile) share of the work
    home: np.ndarray = field(repr=False)    # (Mb,) the tile that holds each row of blocks of out
    program: Sequence = field(repr=False)

    @property
    def shape(self) -> tuple:
        """(M, K, N)."""
        mb, kb = self.mask.shape
        return mb * self.block_size, kb * self.block_size, self.n

    @property
    def nnz(self) -> int:
        return int(self.mask.sum())

    @property
    def density(self) -> float:
        return self.nnz / self.mask.size

    @property
    def flops(self) -> int:
        """Useful FLOPs: 2 x block_size^2 x N per non-zero block."""
        return 2 * self.nnz * self.block_size ** 2 * self.n

    @property
    def split_rows(self) -> int:
        """Rows of blocks cut between tiles, whose partial sums a reduction step adds."""
        pieces_per_row = np.bincount([p.row for p in self.pieces], minlength=self.mask.shape[0])
        return int((pieces_per_row > 1).sum())

    def tile_blocks(self) -> np.ndarray:
        """Non-zero blocks multiplied on each tile."""
        out = np.zeros(self.graph.num_tiles, np.int64)
        for p in self.pieces:
            out[p.tile] += p.blocks
        return out

    def block_tiles(self) -> np.ndarray:
        """(Mb, Kb): the tile that multiplies each non-zero block, -1 where the mask is empty."""
        where = np.full(self.mask.shape, -1, np.int64)
        rows, cols = np.nonzero(self.mask)
        for p in self.pieces:
            where[rows[p.start:p.stop], cols[p.start:p.stop]] = p.tile
        return where

    def blocks_of(self, a) -> np.ndarray:
        """The non-zero blocks of a dense (M, K) array, in BSR order: what ``values`` holds."""
        m, k, _ = self.shape
        a = np.asarray(a, np.float32)
        if a.shape != (m, k):
            raise ValueError(f"the block-sparse matrix is {m} x {k} ({self.mask.shape[0]} x {self.mask.shape[1]} "
                             f"blocks of {self.block_size}); got an array of shape {a.shape}")
        bs = self.block_size
        mb, kb = self.mask.shape
        return a.reshape(mb, bs, kb, bs).transpose(0, 2, 1, 3)[self.mask]

    def write(self, engine, a, b) -> None:
        """Write A (dense, M x K: blocks outside the mask are not stored) and B (K x N)."""
        engine.write(self.values, self.blocks_of(a))
        engine.write(self.b, np.asarray(b, np.float32))

    def read(self, engine) -> np.ndarray:
        return engine.read(self.out)


def block_sparse_matmul(g, mask, block_size: int, n: int, placement: str = "balanced",
                        name: str = "spmm") -> BlockSparseMatmul:
    """Build ``out = A @ B`` for a block-sparse A (non-zero blocks where ``mask`` is true).

    Makes the tensors (``values`` for A's non-zero blocks, ``b``, ``out``) and a
    program of one or two supersteps: the block products, and, when
    ``placement="balanced"`` cuts a row between tiles, the reduction of its
    partial sums.  ``placement`` is ``"balanced"`` or ``"rows"`` (module docstring).
    Only non-zero blocks are stored and multiplied.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0 or mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
        raise ValueError(f"{name}: mask must be a non-empty 2-D array of booleans (True where A has a "
                         f"non-zero block; 0s and 1s work too), got {mask.dtype} of shape {mask.shape}")
    mask = mask.astype(bool)
    for label, v in (("block_size", block_size), ("n", n)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name}: {label} must be a positive int, got {v!r}")
    if placement not in PLACEMENTS:
        raise ValueError(f"{name}: placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
    spec, tiles = g.spec, g.num_tiles
    bs, (mb, kb) = int(block_size), mask.shape
    nnz = int(mask.sum())
    row_start = np.concatenate(([0], np.cumsum(mask.sum(axis=1))))
    cols = np.nonzero(mask)[1]
    panels = _bounds(n, min(spec.workers_per_tile, n))
    pieces, home = _place(mask, row_start, tiles, placement)
    pieces_per_row = np.bincount([p.row for p in pieces], minlength=mb)
    split = set(np.flatnonzero(pieces_per_row > 1).tolist())

    values = g.add_variable((nnz, bs, bs), name=f"{name}/A blocks")
    for p in pieces:
        g.set_tile_mapping(values[p.start:p.stop], p.tile)
    b_store, b = _panel_store(g, kb, bs, panels, f"{name}/B")
    for k in range(kb):
        g.set_tile_mapping(b_store[k * bs * n:(k + 1) * bs * n], k * tiles // kb)
    out_store, out = _panel_store(g, mb, bs, panels, f"{name}/out")
    for i in range(mb):
        g.set_tile_mapping(out_store[i * bs * n:(i + 1) * bs * n], int(home[i]))
    slot = {}                                              # piece index -> its block of partial sums
    for x, p in enumerate(pieces):
        if p.row in split:
            slot[x] = len(slot)
    partials = g.add_variable(len(slot) * bs * n, name=f"{name}/partial sums") if slot else None
    for x, j in slot.items():
        g.set_tile_mapping(partials[j * bs * n:(j + 1) * bs * n], pieces[x].tile)

    b_ids = b.ids.reshape(kb, bs, n)
    products = g.add_compute_set(f"{name}/block products")
    for x, p in enumerate(pieces):
        a_view = values[p.start:p.stop]
        ks = cols[p.start:p.stop]
        store, base = (partials, slot[x] * bs * n) if x in slot else (out_store, p.row * bs * n)
        for c0, c1 in panels:
            b_view = Tensor(g, b_ids[ks][:, :, c0:c1], b.dtype, f"{name}/B[rows of blocks {_list(ks)}, {c0}:{c1}]")
            o = store[base + bs * c0:base + bs * c1].reshape(bs, c1 - c0)
            g.add_vertex(products, block_row_product, tile=p.tile, a=a_view, b=b_view, out=o)
    for i in np.flatnonzero(mask.sum(axis=1) == 0):
        for c0, c1 in panels:
            g.add_vertex(products, fill, tile=int(home[i]),
                         out=out_store[i * bs * n + bs * c0:i * bs * n + bs * c1], value=0.0)
    steps = [Execute(products)]
    if split:
        reduction = g.add_compute_set(f"{name}/add partial sums")
        for i in sorted(split):
            mine = [j for x, j in slot.items() if pieces[x].row == i]
            for c0, c1 in panels:
                ids = np.stack([partials.ids[j * bs * n + bs * c0:j * bs * n + bs * c1] for j in mine])
                g.add_vertex(reduction, reduce_rows, tile=int(home[i]),
                             a=Tensor(g, ids, partials.dtype, f"{name}/partial sums of row {i}"),
                             out=out_store[i * bs * n + bs * c0:i * bs * n + bs * c1])
        steps.append(Execute(reduction))
    return BlockSparseMatmul(g, mask, bs, int(n), placement, values, b, out, pieces, home, Sequence(*steps))


def _bounds(size: int, parts: int) -> list:
    """``parts`` near-equal ``(start, stop)`` ranges of ``range(size)``, the bigger ones first."""
    base, extra = divmod(size, parts)
    edges = np.concatenate(([0], np.cumsum(base + (np.arange(parts) < extra))))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _list(ks) -> str:
    return ",".join(str(int(k)) for k in ks[:4]) + (",..." if len(ks) > 4 else "")


def _place(mask, row_start, tiles, placement):
    """The pieces of work and the home tile of each row of blocks."""
    mb = mask.shape[0]
    home = np.arange(mb, dtype=np.int64) % tiles
    pieces = []
    if placement == "rows":
        for i in range(mb):
            if row_start[i + 1] > row_start[i]:
                pieces.append(Piece(i, int(row_start[i]), int(row_start[i + 1]), int(home[i])))
        return pieces, home
    nnz = int(row_start[-1])
    cuts = (np.arange(tiles + 1) * nnz) // tiles          # tile t multiplies blocks cuts[t] .. cuts[t+1]
    for t in range(tiles):
        lo, hi = int(cuts[t]), int(cuts[t + 1])
        while lo < hi:
            row = int(np.searchsorted(row_start, lo, side="right") - 1)
            stop = min(hi, int(row_start[row + 1]))
            pieces.append(Piece(row, lo, stop, t))
            lo = stop
    for p in reversed(pieces):                             # a row's first piece is its home
        home[p.row] = p.tile
    return pieces, home


def _panel_store(g, row_blocks, bs, panels, name):
    """A (row_blocks * bs, N) matrix stored row of blocks by row of blocks, each as column panels.

    Every (row of blocks, panel) piece is then one contiguous run of memory, so a
    vertex reads or writes it in place.  Returns the flat store and the matrix view.
    """
    n = panels[-1][1]
    store = g.add_variable(row_blocks * bs * n, name=name)
    r = np.arange(row_blocks * bs)
    c = np.arange(n)
    c0 = np.array([a for a, b in panels for _ in range(b - a)])
    w = np.array([b - a for a, b in panels for _ in range(b - a)])
    pos = (r // bs * bs * n)[:, None] + (bs * c0 + (r % bs)[:, None] * w + (c - c0))
    return store, Tensor(g, store.ids[pos], store.dtype, name)


# --- the lock-step comparison machine ----------------------------------------------------
@dataclass(frozen=True)
class KernelCost:
    """One kernel on a :class:`SIMDMachine`, in the machine's cycles."""
    name: str
    items: int
    compute_cycles: float     # lock-step: every group as long as its longest item (per kind)
    useful_cycles: float      # the same work with no lane ever waiting: sum of work / lanes
    memory_cycles: float      # bytes to and from memory / bandwidth
    launch_cycles: int

    @property
    def cycles(self) -> float:
        """Launch, then compute and memory overlapped: whichever is longer (the roofline)."""
        return self.launch_cycles + max(self.compute_cycles, self.memory_cycles)

    @property
    def utilisation(self) -> float:
        """Share of the lanes' compute time spent on real work (1.0 = no padding)."""
        return self.useful_cycles / self.compute_cycles if self.compute_cycles else 1.0


@dataclass(frozen=True)
class SIMDCost:
    """What a sequence of kernels costs on a :class:`SIMDMachine`; kernel i runs ``runs[i]`` times."""
    kernels: tuple
    runs: tuple = ()

    def __post_init__(self):
        if not self.runs:
            object.__setattr__(self, "runs", (1,) * len(self.kernels))
        if len(self.runs) != len(self.kernels):
            raise ValueError(f"SIMDCost: {len(self.kernels)} kernels but {len(self.runs)} run counts")

    @property
    def cycles(self) -> int:
        return int(np.ceil(sum(r * k.cycles for k, r in zip(self.kernels, self.runs))))

    def total(self, part: str) -> float:
        """Summed ``"compute_cycles"``, ``"useful_cycles"``, ``"memory_cycles"`` or ``"launch_cycles"``."""
        return float(sum(r * getattr(k, part) for k, r in zip(self.kernels, self.runs)))

    @property
    def utilisation(self) -> float:
        compute = self.total("compute_cycles")
        return self.total("useful_cycles") / compute if compute else 1.0

    def describe(self) -> str:
        lines = [f"{'kernel (cycles of one run)':40}{'runs':>6}{'items':>7}{'compute':>10}{'of it padding':>15}"
                 f"{'memory':>9}{'launch':>8}{'cycles':>9}"]
        for k, r in zip(self.kernels, self.runs):
            lines.append(f"{k.name[:39]:40}{r:>6,}{k.items:>7,}{k.compute_cycles:>10,.0f}"
                         f"{k.compute_cycles - k.useful_cycles:>15,.0f}{k.memory_cycles:>9,.0f}"
                         f"{k.launch_cycles:>8,}{k.cycles:>9,.0f}")
        lines.append(f"{'total of all runs':40}{'':13}{self.total('compute_cycles'):>10,.0f}"
                     f"{self.total('compute_cycles') - self.total('useful_cycles'):>15,.0f}"
                     f"{self.total('memory_cycles'):>9,.0f}{self.total('launch_cycles'):>8,.0f}{self.cycles:>9,}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SIMDMachine:
    """A GPU-like lock-step machine, priced by a model (nothing runs on it).

    Assumptions, all stated so they can be argued with:

    - One instruction stream drives ``lanes`` lanes.  A kernel's work items are
      dealt to lanes in order, ``lanes`` at a time: a *group* (a warp, or a wave
      of thread blocks).  A group lasts as long as its longest item; lanes that
      finish early are masked off and wait.  Items of different ``kinds`` (code
      paths) in one group run one kind after another (branch divergence).
    - Work is counted in instructions of one lane, the unit of a vertex's
      ``cycles`` estimate; a lane issues one every ``issue_cycles`` cycles.
    - Each kernel starts with ``launch_cycles``, and moves its data to and from
      a memory of ``memory_bytes_per_cycle`` (None: memory is free), overlapped
      with compute: a kernel lasts launch + max(compute, memory).  Caches are
      perfect: every distinct byte moves once.

    :meth:`like` builds one with the same peak as an IPU, so a comparison
    isolates the execution model from the size of the chip.
    """
    name: str
    lanes: int
    issue_cycles: int = 1
    launch_cycles: int = 0
    memory_bytes_per_cycle: float | None = None

    def __post_init__(self):
        for label in ("lanes", "issue_cycles"):
            v = getattr(self, label)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"SIMDMachine.{label} must be a positive int, got {v!r}")
        if self.launch_cycles < 0:
            raise ValueError(f"SIMDMachine.launch_cycles must be >= 0, got {self.launch_cycles!r}")
        if self.memory_bytes_per_cycle is not None and self.memory_bytes_per_cycle <= 0:
            raise ValueError("SIMDMachine.memory_bytes_per_cycle must be positive, or None for free memory")

    @classmethod
    def like(cls, spec, launch_cycles: int | None = None, memory: str | None = "V100") -> "SIMDMachine":
        """A lock-step machine with ``spec``'s peak: one lane per worker of every tile.

        A lane issues one instruction every ``workers_per_tile`` cycles, as a worker
        does, so lanes x rate equals the IPU's issue rate.  ``launch_cycles``
        defaults to ``spec.sync_cycles``: ASSUMPTION, starting a kernel costs what
        the IPU pays to start a superstep, so neither side is charged more for it.
        ``memory`` names a device of :data:`ipukit.viz.HARDWARE` whose ratio of
        float32 peak to memory bandwidth the machine keeps (the V100 datasheet:
        15.7 TFLOPS, 900 GB/s, 17.4 FLOP per byte); None makes memory free.
        """
        bandwidth = None
        if memory is not None:
            from .viz.roofline import ridge_point
            peak_per_cycle = spec.flops_per_cycle("float32") * spec.total_tiles
            bandwidth = peak_per_cycle / ridge_point(memory, "float32")
        w = spec.workers_per_tile
        return cls(f"lock-step machine like {spec.total_tiles} {spec.name} tiles", spec.total_tiles * w, w,
                   spec.sync_cycles if launch_cycles is None else int(launch_cycles), bandwidth)

    def kernel(self, work, kinds=None, nbytes: int = 0, name: str = "kernel") -> KernelCost:
        """Price one kernel: ``work[i]`` instructions for item i (of kind ``kinds[i]``)."""
        work = np.asarray(work, float).reshape(-1)
        if (work < 0).any() or not np.isfinite(work).all():
            raise ValueError(f"{name}: work must be finite and >= 0 for every item")
        kinds = np.zeros(work.size, np.int64) if kinds is None else np.unique(np.asarray(kinds),
                                                                               return_inverse=True)[1].reshape(-1)
        if kinds.size != work.size:
            raise ValueError(f"{name}: {work.size} work items but {kinds.size} kinds; give one kind per item")
        group = np.arange(work.size) // self.lanes
        longest = np.zeros(int(group[-1] + 1) * (int(kinds.max()) + 1) if work.size else 0)
        np.maximum.at(longest, group * (int(kinds.max(initial=0)) + 1) + kinds, work)
        compute = self.issue_cycles * longest.sum()
        useful = self.issue_cycles * work.sum() / self.lanes
        memory = nbytes / self.memory_bytes_per_cycle if self.memory_bytes_per_cycle else 0.0
        return KernelCost(name, int(work.size), float(compute), float(useful), float(memory), self.launch_cycles)

    def run(self, kernels) -> SIMDCost:
        """``kernels``: KernelCost objects, or ``(work, kinds, nbytes, name)`` tuples to price."""
        priced = [k if isinstance(k, KernelCost) else self.kernel(*k) for k in kernels]
        return SIMDCost(tuple(priced))

    def price(self, engine) -> SIMDCost:
        """The same vertices the engine's last run executed, as lock-step kernels.

        Each executed compute set is one kernel per execution: its vertices are the
        items, in the order they were added, each costing its ``cycles`` estimate,
        of the kind of its codelet; its memory traffic is every distinct element
        its vertices read or write.  A ``Copy`` is a kernel that only moves bytes
        (read and written once).  Host transfers are left out.
        """
        profile = engine.profile
        if profile is None:
            raise ValueError("SIMDMachine.price: run the engine first (engine.run()); the run decides which "
                             "steps execute and how often")
        kernels, runs = [], []
        for record in profile.steps:
            step = engine.steps[record.index]
            if not record.count or step.kind not in ("execute", "copy"):
                continue
            if step.kind == "execute":
                plan = step.compute
                verts = plan.compute_set.vertices
                ids = [v.tensors[f.name].ids.reshape(-1) for v in verts for f in v.codelet.fields]
                unique = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
                nbytes = int(engine.graph.itemsize_of(unique).sum()) if unique.size else 0
                one = self.kernel(plan.vertex_cycles, [v.codelet.name for v in verts], nbytes, record.name)
            else:
                one = self.kernel([], None, 2 * int(step.plan.nbytes.sum()), record.name)
            kernels.append(one)
            runs.append(record.count)
        return SIMDCost(tuple(kernels), tuple(runs))

    def grouped_conv(self, spec, batch: int, channels: int, size: int, out_channels: int, kernel: int = 3,
                     groups: int = 1, per_group: bool = True) -> SIMDCost:
        """A 'same'-padded, stride-1 convolution, one lane per output element.

        Each output element is a dot product of ``channels // groups * kernel**2``
        pairs: 2 FLOP each, at ``spec``'s float32 FLOP per instruction (the AMP rate
        the emulator charges).  ``per_group=True`` launches one kernel per group,
        as a library does that loops over groups; False runs every group in one
        kernel.  Memory: each group's inputs, weights and outputs, once, in float32.
        """
        for label, v in (("batch", batch), ("channels", channels), ("size", size),
                         ("out_channels", out_channels), ("kernel", kernel), ("groups", groups)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"grouped_conv: {label} must be a positive int, got {v!r}")
        if channels % groups or out_channels % groups:
            raise ValueError(f"grouped_conv: groups={groups} must divide channels ({channels}) and out_channels "
                             f"({out_channels})")
        cg, og = channels // groups, out_channels // groups
        items = batch * size * size * og
        per_item = 2 * cg * kernel * kernel / spec.flops_per_cycle("float32")
        nbytes = 4 * (batch * cg * size * size + og * cg * kernel * kernel + items)
        if per_group:
            one = self.kernel(np.full(items, per_item), None, nbytes, f"one group of {og} filters")
            return SIMDCost((one,), (groups,))
        return SIMDCost((self.kernel(np.full(items * groups, per_item), None, nbytes * groups,
                                     f"all {groups} groups"),))


# --- pictures ------------------------------------------------------------------------
def draw_placement(ax, sp: BlockSparseMatmul) -> None:
    """Draw the block mask on ``ax``, each non-zero block in the colour of the tile that multiplies it."""
    from matplotlib.colors import to_rgb
    from matplotlib.ticker import MaxNLocator

    from .palette import SERIES
    where = sp.block_tiles()
    rgba = np.ones(where.shape + (3,))
    for t in np.unique(where[where >= 0]):
        rgba[where == t] = to_rgb(SERIES[t % len(SERIES)])
    ax.imshow(rgba, interpolation="nearest")
    if where.size <= 400:
        for (i, k), t in np.ndenumerate(where):
            if t >= 0:
                r, g, b = rgba[i, k]
                ax.text(k, i, str(t), ha="center", va="center", fontsize=6,
                        color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.6 else "white")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    mb, kb = where.shape
    ax.set_xlabel(f"column of blocks ({kb} blocks of {sp.block_size} columns)")
    ax.set_ylabel(f"row of blocks ({mb} of {sp.block_size} rows)")


def plot_placement(sp: BlockSparseMatmul, title: str | None = None):
    """Left: the block mask, each non-zero block coloured by the tile that multiplies it.
    Right: non-zero blocks per tile, against the even share (dashed)."""
    from matplotlib.ticker import MaxNLocator

    from .palette import OKABE_ITO, PHASE_COLORS, SERIES
    from .viz._common import new_figure
    tiles = sp.graph.num_tiles
    fig = new_figure(10, 4)
    grid, bars = fig.subplots(1, 2, width_ratios=[1, 1.4])
    draw_placement(grid, sp)
    grid.set_title(f"{sp.nnz} non-zero blocks ({sp.density:.0%}), coloured by tile", fontsize=9)
    counts = sp.tile_blocks()
    bars.bar(range(tiles), counts, color=[SERIES[t % len(SERIES)] for t in range(tiles)], edgecolor="white")
    bars.axhline(sp.nnz / tiles, color=OKABE_ITO["black"], ls="--", lw=1)
    bars.set_facecolor(PHASE_COLORS["idle"])
    bars.set_xlabel("tile")
    bars.set_ylabel("non-zero blocks multiplied")
    bars.set_xticks(range(0, tiles, max(1, tiles // 16)))
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_title(f"busiest tile {counts.max()} blocks; dashed: the even share, {sp.nnz / tiles:.1f}", fontsize=9)
    fig.suptitle(title or f"Placement '{sp.placement}': {sp.shape[0]} x {sp.shape[1]} block-sparse A times "
                 f"{sp.shape[1]} x {sp.n} B on {tiles} tiles")
    return fig


def plot_lockstep(machine: SIMDMachine, work, kinds=None, title: str | None = None):
    """Each lane of the lock-step machine over time: its work (blue) and its padding (pale).

    Groups of ``machine.lanes`` items run one after another; a vertical line
    marks where each group ends, when its longest item does.
    """
    from .palette import OKABE_ITO, PHASE_COLORS, SERIES
    from .viz._common import new_figure
    work = np.asarray(work, float).reshape(-1)
    kind_ids = np.zeros(work.size, np.int64) if kinds is None else np.unique(np.asarray(kinds), return_inverse=True)[1]
    names = [None] if kinds is None else list(np.unique(np.asarray(kinds)))
    lanes, issue = machine.lanes, machine.issue_cycles
    fig = new_figure(10, 1.4 + min(lanes, 96) * 0.035 + 0.6)
    ax = fig.subplots()
    start = 0.0
    groups = -(-work.size // lanes)
    for g in range(groups):
        items = work[g * lanes:(g + 1) * lanes]
        ks = kind_ids[g * lanes:(g + 1) * lanes]
        t = start
        for k in np.unique(ks):
            mine = ks == k
            span = issue * items[mine].max()
            lane_ids = np.flatnonzero(mine)
            color = PHASE_COLORS["compute"] if kinds is None else SERIES[int(k) % len(SERIES)]
            ax.barh(lane_ids, issue * items[mine], left=t, height=1.0, color=color, linewidth=0)
            t += span
        start = t
        ax.axvline(start, color=OKABE_ITO["black"], lw=0.6)
    ax.set_facecolor(PHASE_COLORS["idle"])
    ax.set_xlim(0, max(start, 1))
    ax.set_ylim(lanes - 0.5, -0.5)
    ax.set_ylabel("lane")
    ax.set_xlabel("cycles")
    useful = issue * work.sum() / lanes
    if kinds is not None:
        from matplotlib.patches import Patch
        ax.legend([Patch(color=SERIES[i % len(SERIES)]) for i in range(len(names))], [str(n) for n in names],
                  fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.suptitle(title or f"{work.size} items on {lanes} lanes in lock-step, {groups} group(s): "
                 f"{start:,.0f} cycles, of which {useful / start if start else 1:.0%} useful work")
    return fig
