"""Notebook 11, IPU Puzzles: exercises.

Fourteen short puzzles on an emulated IPU of a few tiles.  Each function gets a
graph ``g`` whose tensors are already mapped onto tiles, adds what it needs
(compute sets, vertices, variables) and returns the program that fills the
output.  Each has a budget: what a good solution costs (supersteps and exchange
bytes exactly, cycles with 10 % to spare, peak tile SRAM with 256 B to spare).
A right answer over budget does not pass.

Work on a function, then look at it in the notebook with ``show(M)`` and check it
with ``ipukit.check("ex11_M")`` (or in JupyterLab's terminal:
``python -m ipukit.grade ex11``).  The puzzles run on the reference backend:
``print`` works inside a codelet.
"""
import numpy as np

import ipukit
from ipukit import Copy, Execute, Sequence, codelets, concat, cost
from ipukit.sparse import block_row_product


# --- Puzzle 1 · Map ---------------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=lambda n: cost.VERTEX_OVERHEAD + n)
def add_ten(a, out):
    """Exercise 11.1 (part 1): out[i] = a[i] + 10 for every i.

    About 2 lines.  Useful: ``for i in range(out.size):``.
    """
    raise NotImplementedError("Exercise 11.1: write the body of add_ten")


def map_add_ten(g, a, out):
    """Exercise 11.1: out = a + 10.

    ``a`` and ``out`` are 1-D float32 tensors cut into equal blocks, block i of
    both on tile i.  Add one ``add_ten`` vertex on each tile, on that tile's
    block, all in one compute set, and return ``Execute`` of it.

    Budget: 1 superstep, 0 bytes over the exchange, cycles of one add_ten vertex
    a tile + 10 %.

    About 5 lines.  Useful: ``g.add_compute_set(name)``, ``g.tile_mapping(out)``
    (for each tile, a list of ``(lo, hi)`` intervals), ``g.add_vertex(cs,
    add_ten, tile=..., a=a[lo:hi], out=out[lo:hi])``, ``Execute(cs)``.
    """
    raise NotImplementedError("Exercise 11.1: return a program that computes out = a + 10 on every tile")


# --- Puzzle 2 · Zip ---------------------------------------------------------------------
def zip_add(g, a, b, out):
    """Exercise 11.2: out = a + b, with all six workers of every tile busy.

    ``a``, ``b`` and ``out`` are 1-D float32 tensors in equal blocks, block i of
    each on tile i.  Use the built-in ``codelets.add``.  A tile runs its
    vertices on six workers that take turns, so one vertex a tile uses a sixth
    of it: cut each block into six pieces, one vertex each.

    Budget: 1 superstep, 0 bytes over the exchange, cycles of six add vertices
    a tile on a sixth of the block each + 10 %.

    About 7 lines.  Useful: ``g.spec.workers_per_tile`` (6), ``lo + w * (hi - lo) // 6``,
    ``codelets.add`` (fields ``a``, ``b``, ``out``).
    """
    raise NotImplementedError("Exercise 11.2: return a program that adds a and b on six workers a tile")


# --- Puzzle 3 · Broadcast ---------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[m]", "b": "T[n]"}, outputs={"out": "T[m,n]"},
                cycles=lambda m, n: cost.VERTEX_OVERHEAD + m * n)
def outer_add(a, b, out):
    """Exercise 11.3 (part 1): out[i, j] = a[i] + b[j] for every i and j.

    About 3 lines: two loops.
    """
    raise NotImplementedError("Exercise 11.3: write the body of outer_add")


def broadcast_add(g, a, b, out):
    """Exercise 11.3: out[i, j] = a[i] + b[j].

    ``a`` (R,) and ``out`` (R, C) are cut into equal blocks of rows, block i of
    both on tile i; ``b`` (C,) lives on one tile only.  Every tile needs all of
    ``b``: connect it to a field, and the exchange brings it before the compute
    phase, sent once however many tiles listen.

    Budget: 1 superstep, (tiles - 1) x C x 4 bytes over the exchange (b reaches
    every other tile once), cycles of one outer_add vertex a tile + 10 %.

    About 5 lines.  Useful: ``g.tile_mapping(a)``, ``a[lo:hi]``, ``out[lo:hi]`` (rows lo to hi).
    """
    raise NotImplementedError("Exercise 11.3: return a program that computes out[i, j] = a[i] + b[j]")


# --- Puzzle 4 · Halo ----------------------------------------------------------------------
# Given: the vertex of the stencil. left and right are the neighbours of mid's first and last element.
@ipukit.codelet(inputs={"left": "T[1]", "mid": "T[n]", "right": "T[1]"}, outputs={"out": "T[n]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 2 * n)
def sum3(left, mid, right, out):
    """Given: out[i] = mid[i - 1] + mid[i] + mid[i + 1], with left[0] before mid[0] and right[0] after mid[-1]."""
    n = mid.size
    for i in range(n):
        before = left[0] if i == 0 else mid[i - 1]
        after = right[0] if i == n - 1 else mid[i + 1]
        out[i] = before + mid[i] + after


def halo_sum(g, a, out):
    """Exercise 11.4: out[i] = a[i - 1] + a[i] + a[i + 1] around a ring.

    ``a`` and ``out`` (N,) are in equal blocks, block i on tile i.  The ends
    are neighbours: a[-1] comes before a[0] and a[0] after a[-1].  Each tile
    needs one element from each neighbouring tile (its *halo*).  Use the given
    ``sum3``, one vertex a tile.

    Budget: 1 superstep, 8 bytes received by each tile (none with one tile),
    cycles of one sum3 vertex a tile + 10 %, peak tile SRAM of a good solution
    + 256 B.  A field that mixes local and remote elements is gathered into a
    new buffer, local ones included: that costs a copy of the block.

    About 6 lines.  Useful: ``a.shape[0]``, ``(lo - 1) % n``, ``a[i:i + 1]``
    (a one-element view).
    """
    raise NotImplementedError("Exercise 11.4: return a program that sums each element and its two neighbours")


# --- Puzzle 5 · Rotate --------------------------------------------------------------------
def rotate(g, a, out, k):
    """Exercise 11.5: out = np.roll(a, k) in one Copy.

    ``a`` and ``out`` (N,) are in equal blocks, block i on tile i; ``k`` is any
    int, negative or larger than N too.  out[i] = a[(i - k) % N].  No vertex is
    needed: a ``Copy`` moves any view into any tensor, and only the elements
    that change tile cross the exchange.

    Budget: 1 superstep, 4 bytes for each element whose tile changes, cycles of
    one Copy + 10 %.

    About 4 lines.  Useful: ``k % n``, ``a[n - k:]``, ``concat([...])``, ``Copy(src, dst)``.
    """
    raise NotImplementedError("Exercise 11.5: return a Copy that rotates a by k into out")


# --- Puzzle 6 · Sum on a tile -------------------------------------------------------------
def tile_sum(g, a, out):
    """Exercise 11.6: out[0] = a.sum(), where a and out both live on one tile.

    One ``codelets.reduce_sum`` vertex would run on one worker of six.  Sum six
    pieces of ``a`` at once into six partial sums (a new variable on the same
    tile), then sum those in a second compute set: no vertex may read what
    another writes in the same compute set.

    Budget: 2 supersteps, 0 bytes over the exchange, cycles of six reduce_sum
    vertices and then one + 10 %.

    About 12 lines.  Useful: ``g.element_tiles(a)`` (the tile of each element),
    ``g.add_variable(6, a.dtype, name=...)``, ``g.set_tile_mapping(t, tile)``,
    ``codelets.reduce_sum`` (fields ``a``, ``out`` of one element),
    ``Sequence(Execute(first), Execute(second))``.
    """
    raise NotImplementedError("Exercise 11.6: return a program that sums a on its tile with six workers")


# --- Puzzle 7 · Sum across tiles ------------------------------------------------------------
def tiles_sum(g, a, out):
    """Exercise 11.7: out[0] = a.sum(), a spread over the tiles, out on one tile.

    ``a`` is in equal blocks, block i on tile i.  Moving all of ``a`` to out's
    tile would send almost every element over the exchange.  Sum each block on
    its own tile first, then move only the partial sums.

    Budget: 2 supersteps, at most 6 partial sums (24 bytes) from each other tile,
    cycles of one reduce_sum vertex a tile and then one on out's tile + 10 %.

    About 12 lines.  Useful: ``g.tile_mapping(a)``, a variable of partial sums
    with ``partial[i:i + 1]`` mapped to tile i, ``codelets.reduce_sum``,
    ``g.element_tiles(out)``, ``Sequence``.
    """
    raise NotImplementedError("Exercise 11.7: return a program that sums a over all tiles into out")


# --- Puzzle 8 · All-reduce ------------------------------------------------------------------
def all_reduce_sum(g, a, out):
    """Exercise 11.8: every out[i] = a.sum(); out[i] lives on tile i.

    Like puzzle 7, but every tile must end with the total.  Reducing onto one
    tile and broadcasting back takes three supersteps; there is a way in two,
    because a value sent over the exchange can be received by every tile at once.

    Budget: 2 supersteps, at most 6 partial sums (24 bytes) from each tile to
    each other tile, cycles of one reduce_sum vertex a tile, twice, + 10 %.

    About 14 lines.  Useful: as for puzzle 7; ``g.tile_mapping(out)``.
    """
    raise NotImplementedError("Exercise 11.8: return a program that leaves a.sum() in every element of out")


# --- Puzzle 9 · Transpose -------------------------------------------------------------------
def transpose_blocks(g, x, out):
    """Exercise 11.9: out = x.T in one exchange.

    ``x`` and ``out`` are square and cut into a q x q grid of blocks on q * q
    tiles: block (i, j) of each on tile i * q + j.  Block (i, j) of out is
    block (j, i) of x, transposed: it must come from the tile across the
    diagonal.

    Budget: 1 superstep, every block off the diagonal crosses once
    ((q * q - q) blocks of 4-byte elements), cycles of one Copy + 10 %.

    About 1 line.  Useful: ``x.T`` (a view: nothing moves until a program runs), ``Copy``.
    """
    raise NotImplementedError("Exercise 11.9: return a program that transposes x into out in one exchange")


# --- Puzzle 10 · Prefix sum -------------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[n]"}, outputs={"out": "T[n]", "total": "T[1]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 2 * n)
def local_scan(a, out, total):
    """Exercise 11.10 (part 1): out[i] = a[0] + ... + a[i]; total[0] = the sum of all of a.

    About 4 lines.  Useful: ``out[i - 1]``.
    """
    raise NotImplementedError("Exercise 11.10: write the body of local_scan")


# Given: add the sum of some totals to every element of out.
@ipukit.codelet(inputs={"totals": "T[k]"}, inouts={"out": "T[n]"},
                cycles=lambda k, n: cost.VERTEX_OVERHEAD + k + n)
def add_offset(totals, out):
    """Given: out[i] += totals[0] + totals[1] + ... for every i."""
    offset = totals[0]
    for j in range(1, totals.size):
        offset += totals[j]
    for i in range(out.size):
        out[i] += offset


def prefix_sum(g, a, out):
    """Exercise 11.10: out = np.cumsum(a) in two supersteps.

    ``a`` and ``out`` are in equal blocks, block i on tile i.  First each tile
    scans its own block (``local_scan``) and keeps its block's total in a
    variable of totals, one on each tile.  Then tile i adds the totals of the
    blocks before it (the given ``add_offset``).  The totals must be a tensor of
    their own: out's last elements are written in the second step, and no vertex
    may read what another one writes in the same compute set.

    Budget: 2 supersteps, tile i receives the i totals before its own
    (4 bytes each), cycles of one local_scan and one add_offset vertex a tile + 10 %.

    About 14 lines.  Useful: ``g.tile_mapping(a)``, ``g.add_variable``,
    ``g.set_tile_mapping``, ``totals[:i]``, two compute sets, ``Sequence``.
    """
    raise NotImplementedError("Exercise 11.10: return a program that computes the prefix sums of a into out")


# --- Puzzle 11 · Gather by index -------------------------------------------------------------
@ipukit.codelet(inputs={"table": "T[m]", "idx": "int32[k]"}, outputs={"out": "T[k]"},
                cycles=lambda k: cost.VERTEX_OVERHEAD + 3 * k)
def lookup(table, idx, out):
    """Exercise 11.11 (part 1): out[i] = table[idx[i]] for every i.

    About 2 lines.
    """
    raise NotImplementedError("Exercise 11.11: write the body of lookup")


def gather_by_index(g, table, idx, out):
    """Exercise 11.11: out = table[idx], for indices known only when the program runs.

    ``table``, ``idx`` (int32) and ``out`` are each in equal blocks, block i on
    tile i.  The exchange is planned when the graph is compiled, before any
    index is known, so no tile can fetch just the entries it will need.  Bring
    the whole table to every tile, then let each tile look its indices up in its
    own memory: each worker follows its own data (MIMD).

    Budget: 1 superstep, every tile receives the parts of the table it does not
    hold, once; cycles of one lookup vertex a tile + 10 %; peak tile SRAM of a
    good solution + 256 B (one copy of the table a tile).

    About 5 lines.  Useful: ``g.tile_mapping(out)``, ``table`` itself as a field.
    """
    raise NotImplementedError("Exercise 11.11: return a program that gathers table[idx] into out")


# --- Puzzle 12 · Matmul block --------------------------------------------------------------------
def matmul_blocks(g, a, b, out):
    """Exercise 11.12: out = a @ b, each tile computing the block of out it holds.

    ``a`` (M, K), ``b`` (K, N) and ``out`` (M, N) are each cut into a q x q grid
    of blocks on q * q tiles, block (i, j) on tile i * q + j.  Block (i, j) of
    out needs row of blocks i of a and column of blocks j of b.  Use the built-in
    ``codelets.matmul_partial`` (fields ``a`` (m, k), ``b`` (k, n), ``out`` (m, n)),
    one vertex a tile, in one compute set.

    Budget: 1 superstep, each tile receives the other q - 1 blocks of its row of a
    and of its column of b, cycles of one matmul_partial vertex a tile + 10 %.

    About 7 lines.  Useful: ``g.num_tiles``, ``a[i * m:(i + 1) * m, :]``,
    ``b[:, j * n:(j + 1) * n]``.
    """
    raise NotImplementedError("Exercise 11.12: return a program that computes out = a @ b block by block")


# --- Puzzle 13 · Balance the workers -----------------------------------------------------------
# Given: sums of consecutive rows. Row j is a[bounds[j] - bounds[0]:bounds[j + 1] - bounds[0]].
@ipukit.codelet(inputs={"a": "T[n]", "bounds": "int32[r1]"}, outputs={"out": "T[r]"},
                cycles=lambda n, r: cost.VERTEX_OVERHEAD + n + 4 * r)
def segment_sums(a, bounds, out):
    """Given: out[j] = the sum of row j of a, for consecutive rows (bounds has one entry more than out)."""
    base = bounds[0]
    for j in range(out.size):
        out[j] = 0
        for p in range(bounds[j] - base, bounds[j + 1] - base):
            out[j] += a[p]


def balance_rows(g, values, bounds, out, lengths):
    """Exercise 11.13: the sum of every row of a ragged matrix, on one tile's six workers.

    All on one tile: ``values`` holds the rows one after another, row r being
    ``values[bounds[r]:bounds[r + 1]]`` (``bounds`` is an int32 tensor of
    ``len(lengths) + 1`` entries) and ``out[r]`` is its sum.  ``lengths[r]``
    (a Python list) is the length of row r.  A ``segment_sums`` vertex on rows
    r0 to r1 costs 10 + (their elements) + 4 x (their number) worker cycles.
    The rows are uneven: cut them into at most six runs of consecutive rows of
    about equal work, one vertex each.

    Budget: 1 superstep, 0 bytes over the exchange, compute cycles at most
    6 x (10 + a sixth of all the work + the work of the longest row).

    About 15 lines.  Useful: ``g.element_tiles(out)``, ``np.cumsum``,
    ``values[s:e]``, ``bounds[r0:r1 + 1]``, ``out[r0:r1]``.
    """
    raise NotImplementedError("Exercise 11.13: return a program that sums the rows with six balanced vertices")


# --- Puzzle 14 · Block-sparse rows over tiles ---------------------------------------------------
def add_block_row(g, cs, mask, a, x, y, row, tile):
    """Given: put row of blocks ``row`` of A on ``tile``.

    Its non-zero blocks (in ``a``) and its part of every vector of ``y`` are mapped
    to ``tile``, and one vertex per vector (six vectors: one per worker) computes
    that part, reading the blocks of x under the row's non-zero blocks.
    """
    bs = a.shape[1]
    first = int(mask[:row].sum())
    cols = np.flatnonzero(mask[row])
    g.set_tile_mapping(y[:, row * bs:(row + 1) * bs], tile)
    if cols.size:
        g.set_tile_mapping(a[first:first + cols.size], tile)
    for v in range(y.shape[0]):
        part = y[v, row * bs:(row + 1) * bs]
        if cols.size == 0:
            g.add_vertex(cs, codelets.fill, tile=tile, out=part, value=0.0)
            continue
        xs = concat([x[v, k * bs:(k + 1) * bs].reshape(1, bs, 1) for k in cols])
        g.add_vertex(cs, block_row_product, tile=tile, a=a[first:first + cols.size], b=xs, out=part.reshape(bs, 1))


def balance_block_rows(g, mask, a, x, y):
    """Exercise 11.14: y = A @ x for a block-sparse A, its rows of blocks spread evenly over the tiles.

    A is cut into square blocks; ``mask`` (rows x columns of blocks, NumPy
    booleans) marks the non-zero ones, and ``a`` holds those, row by row.  ``x``
    holds six vectors (one per worker) and is already mapped; ``a`` and ``y`` are
    not.  Choose a tile for every row of blocks and call the given
    ``add_block_row`` for it (it maps the row's data and adds its vertices), all
    in one compute set.  A row costs its tile about 10 + 8 x (its blocks) cycles
    on every worker.  Row i on tile i % tiles piles dense rows onto one tile
    here: give each row to the tile that has the least work so far, the rows
    with the most blocks first.

    Budget: 1 superstep, at most each block's part of x once a vector (A never
    moves), compute cycles at most 6 x (a tile's share of all the work + the
    biggest row) + 10 %.

    About 8 lines.  Useful: ``mask.sum(axis=1)``, ``np.argsort``, a NumPy array of
    loads, ``np.argmin``, ``g.num_tiles``.
    """
    raise NotImplementedError("Exercise 11.14: return a program with every row of blocks on a balanced tile")
