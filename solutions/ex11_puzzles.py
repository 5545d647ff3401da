"""Notebook 11, IPU Puzzles: solutions.

Fourteen short puzzles on an emulated IPU of a few tiles.  Each function gets a
graph ``g`` whose tensors are already mapped onto tiles, adds what it needs
(compute sets, vertices, variables) and returns the program that fills the output.
"""
import numpy as np

import ipukit
from ipukit import Copy, Execute, Sequence, codelets, concat, cost
from ipukit.sparse import block_row_product


# --- Puzzle 1 · Map ---------------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[n]"}, outputs={"out": "T[n]"}, cycles=lambda n: cost.VERTEX_OVERHEAD + n)
def add_ten(a, out):
    """Exercise 11.1 (part 1): out[i] = a[i] + 10."""
    for i in range(out.size):
        out[i] = a[i] + 10


def map_add_ten(g, a, out):
    """Exercise 11.1: out = a + 10, one vertex on each tile, where its elements are."""
    cs = g.add_compute_set("add ten")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            g.add_vertex(cs, add_ten, tile=tile, a=a[lo:hi], out=out[lo:hi])
    return Execute(cs)


# --- Puzzle 2 · Zip ---------------------------------------------------------------------
def zip_add(g, a, b, out):
    """Exercise 11.2: out = a + b with all six workers of every tile busy."""
    cs = g.add_compute_set("zip")
    workers = g.spec.workers_per_tile
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            cuts = [lo + w * (hi - lo) // workers for w in range(workers + 1)]
            for s, e in zip(cuts[:-1], cuts[1:]):
                if e > s:
                    g.add_vertex(cs, codelets.add, tile=tile, a=a[s:e], b=b[s:e], out=out[s:e])
    return Execute(cs)


# --- Puzzle 3 · Broadcast ---------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[m]", "b": "T[n]"}, outputs={"out": "T[m,n]"},
                cycles=lambda m, n: cost.VERTEX_OVERHEAD + m * n)
def outer_add(a, b, out):
    """Exercise 11.3 (part 1): out[i, j] = a[i] + b[j]."""
    for i in range(a.size):
        for j in range(b.size):
            out[i, j] = a[i] + b[j]


def broadcast_add(g, a, b, out):
    """Exercise 11.3: out[i, j] = a[i] + b[j]; b lives on one tile and every tile needs all of it."""
    cs = g.add_compute_set("broadcast add")
    for tile, runs in enumerate(g.tile_mapping(a)):
        for lo, hi in runs:
            g.add_vertex(cs, outer_add, tile=tile, a=a[lo:hi], b=b, out=out[lo:hi])
    return Execute(cs)


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
    """Exercise 11.4: out[i] = a[i - 1] + a[i] + a[i + 1] around a ring, each tile fetching one neighbour a side."""
    n = a.shape[0]
    cs = g.add_compute_set("halo sum")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            left, right = (lo - 1) % n, hi % n
            g.add_vertex(cs, sum3, tile=tile, left=a[left:left + 1], mid=a[lo:hi], right=a[right:right + 1],
                         out=out[lo:hi])
    return Execute(cs)


# --- Puzzle 5 · Rotate --------------------------------------------------------------------
def rotate(g, a, out, k):
    """Exercise 11.5: out = np.roll(a, k) in one Copy."""
    n = a.shape[0]
    k %= n
    if k == 0:
        return Copy(a, out)
    return Copy(concat([a[n - k:], a[:n - k]]), out)


# --- Puzzle 6 · Sum on a tile -------------------------------------------------------------
def tile_sum(g, a, out):
    """Exercise 11.6: out[0] = a.sum() on a's tile: six partial sums, then their sum."""
    tile = int(g.element_tiles(a)[0])
    workers = g.spec.workers_per_tile
    n = a.shape[0]
    parts = min(workers, n)
    partial = g.add_variable(parts, a.dtype, name="partial sums")
    g.set_tile_mapping(partial, tile)
    first = g.add_compute_set("six partial sums")
    for w in range(parts):
        g.add_vertex(first, codelets.reduce_sum, tile=tile, a=a[w * n // parts:(w + 1) * n // parts],
                     out=partial[w:w + 1])
    second = g.add_compute_set("sum of the partial sums")
    g.add_vertex(second, codelets.reduce_sum, tile=tile, a=partial, out=out)
    return Sequence(Execute(first), Execute(second))


# --- Puzzle 7 · Sum across tiles ------------------------------------------------------------
def tiles_sum(g, a, out):
    """Exercise 11.7: out[0] = a.sum(): each tile sums its block, then out's tile sums the partial sums."""
    mapping = g.tile_mapping(a)
    tiles = [t for t, runs in enumerate(mapping) if runs]
    partial = g.add_variable(len(tiles), a.dtype, name="partial sums")
    local = g.add_compute_set("sum each block")
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(partial[i:i + 1], tile)
        (lo, hi), = mapping[tile]
        g.add_vertex(local, codelets.reduce_sum, tile=tile, a=a[lo:hi], out=partial[i:i + 1])
    root = int(g.element_tiles(out)[0])
    total = g.add_compute_set("sum the partial sums")
    g.add_vertex(total, codelets.reduce_sum, tile=root, a=partial, out=out)
    return Sequence(Execute(local), Execute(total))


# --- Puzzle 8 · All-reduce ------------------------------------------------------------------
def all_reduce_sum(g, a, out):
    """Exercise 11.8: every out[i] = a.sum(): partial sums, then every tile adds all of them."""
    mapping = g.tile_mapping(a)
    tiles = [t for t, runs in enumerate(mapping) if runs]
    partial = g.add_variable(len(tiles), a.dtype, name="partial sums")
    local = g.add_compute_set("sum each block")
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(partial[i:i + 1], tile)
        (lo, hi), = mapping[tile]
        g.add_vertex(local, codelets.reduce_sum, tile=tile, a=a[lo:hi], out=partial[i:i + 1])
    everyone = g.add_compute_set("every tile sums the partial sums")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            for i in range(lo, hi):
                g.add_vertex(everyone, codelets.reduce_sum, tile=tile, a=partial, out=out[i:i + 1])
    return Sequence(Execute(local), Execute(everyone))


# --- Puzzle 9 · Transpose -------------------------------------------------------------------
def transpose_blocks(g, x, out):
    """Exercise 11.9: out = x.T in one exchange."""
    return Copy(x.T, out)


# --- Puzzle 10 · Prefix sum -------------------------------------------------------------------
@ipukit.codelet(inputs={"a": "T[n]"}, outputs={"out": "T[n]", "total": "T[1]"},
                cycles=lambda n: cost.VERTEX_OVERHEAD + 2 * n)
def local_scan(a, out, total):
    """Exercise 11.10 (part 1): out[i] = a[0] + ... + a[i]; total[0] = the sum of all of a."""
    out[0] = a[0]
    for i in range(1, a.size):
        out[i] = out[i - 1] + a[i]
    total[0] = out[a.size - 1]


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
    """Exercise 11.10: out = np.cumsum(a) in two supersteps: scan each block, then add what came before."""
    mapping = g.tile_mapping(a)
    tiles = [t for t, runs in enumerate(mapping) if runs]
    totals = g.add_variable(len(tiles), a.dtype, name="block totals")
    scan = g.add_compute_set("scan each block")
    shift = g.add_compute_set("add the blocks before")
    for i, tile in enumerate(tiles):
        g.set_tile_mapping(totals[i:i + 1], tile)
        (lo, hi), = mapping[tile]
        g.add_vertex(scan, local_scan, tile=tile, a=a[lo:hi], out=out[lo:hi], total=totals[i:i + 1])
        if i > 0:
            g.add_vertex(shift, add_offset, tile=tile, totals=totals[:i], out=out[lo:hi])
    return Sequence(Execute(scan), Execute(shift))


# --- Puzzle 11 · Gather by index -------------------------------------------------------------
@ipukit.codelet(inputs={"table": "T[m]", "idx": "int32[k]"}, outputs={"out": "T[k]"},
                cycles=lambda k: cost.VERTEX_OVERHEAD + 3 * k)
def lookup(table, idx, out):
    """Exercise 11.11 (part 1): out[i] = table[idx[i]]."""
    for i in range(idx.size):
        out[i] = table[idx[i]]


def gather_by_index(g, table, idx, out):
    """Exercise 11.11: out = table[idx] for indices known only when the program runs."""
    cs = g.add_compute_set("look up")
    for tile, runs in enumerate(g.tile_mapping(out)):
        for lo, hi in runs:
            g.add_vertex(cs, lookup, tile=tile, table=table, idx=idx[lo:hi], out=out[lo:hi])
    return Execute(cs)


# --- Puzzle 12 · Matmul block --------------------------------------------------------------------
def matmul_blocks(g, a, b, out):
    """Exercise 11.12: out = a @ b, each tile computing the block of out it holds, in one superstep."""
    q = int(round(g.num_tiles ** 0.5))
    m, n = out.shape[0] // q, out.shape[1] // q
    cs = g.add_compute_set("matmul blocks")
    for i in range(q):
        for j in range(q):
            g.add_vertex(cs, codelets.matmul_partial, tile=i * q + j, a=a[i * m:(i + 1) * m, :],
                         b=b[:, j * n:(j + 1) * n], out=out[i * m:(i + 1) * m, j * n:(j + 1) * n])
    return Execute(cs)


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
    """Exercise 11.13: one segment_sums vertex per worker, each a run of rows of about equal work.

    The runs are the best cut into consecutive runs: a binary search on the work of
    the busiest run, each try cutting greedily (close a run before it would exceed
    the try).  Closing a run once it reaches a sixth of the work also meets the budget.
    """
    tile = int(g.element_tiles(out)[0])
    workers = g.spec.workers_per_tile
    work = [n + 4 for n in lengths]                   # what segment_sums spends on each row

    def runs_within(cap):
        cuts, load = [0], 0
        for r, w in enumerate(work):
            if load and load + w > cap:
                cuts.append(r)
                load = 0
            load += w
        return cuts + [len(work)]

    lo, hi = max(work), sum(work)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(runs_within(mid)) - 1 <= workers:
            hi = mid
        else:
            lo = mid + 1
    cuts = runs_within(lo)
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(int)
    cs = g.add_compute_set("row sums")
    for r0, r1 in zip(cuts[:-1], cuts[1:]):
        g.add_vertex(cs, segment_sums, tile=tile, a=values[starts[r0]:starts[r1]], bounds=bounds[r0:r1 + 1],
                     out=out[r0:r1])
    return Execute(cs)


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
    """Exercise 11.14: whole rows of blocks to tiles, the biggest first, each to the least loaded tile."""
    cs = g.add_compute_set("block rows")
    load = np.zeros(g.num_tiles)
    blocks = mask.sum(axis=1)
    for row in np.argsort(-blocks, kind="stable"):
        tile = int(np.argmin(load))
        load[tile] += blocks[row] + 1                     # a row costs its blocks, and a start even when empty
        add_block_row(g, cs, mask, a, x, y, int(row), tile)
    return Execute(cs)
