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

**A lock-step (SIMD) machine, as a model**, prices the same work for comparison:
:class:`~ipukit.simd.SIMDMachine` (re-exported here).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core import cost
from .core.intervals import split_ranges
from .lib.codelets import builtin, fill, reduce_rows
from .core.programs import Execute, Sequence
from .core.tensor import Tensor
from .simd import KernelCost, SIMDCost, SIMDMachine  # noqa: F401  (part of this module's API)

PLACEMENTS = ("balanced", "rows")


# --- the vertex --------------------------------------------------------------------------
def _block_row_cycles(r, p, q, n, spec):
    """The r products of a piece as one AMP product of depth r * q (cost.amp_cycles)."""
    return cost.amp_cycles(p, r * q, n, spec, np.float32)


@builtin(inputs={"a": "float32[r,p,q]", "b": "float32[r,q,n]"}, outputs={"out": "float32[p,n]"},
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
    panels = split_ranges(n, min(spec.workers_per_tile, n))
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
