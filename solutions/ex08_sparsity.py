"""Notebook 08, sparsity and MIMD: solutions.

Irregular work, uneven in size or in kind, is where a machine of independent
tiles differs from one that runs many lanes in lock-step.  These three
exercises price lock-step padding, balance uneven work over tiles and workers,
and build a block-sparse matrix-vector product that works only where blocks are.
"""
import numpy as np

from ipukit import Execute, codelets
from ipukit.sparse import block_row_product


def lockstep_cycles(work, lanes, kinds=None):
    """Exercise 08.1: the padding cost of a lock-step machine.

    Items are dealt to ``lanes`` lanes in order, ``lanes`` at a time (a group);
    a group lasts as long as its longest item, and items of different kinds in
    one group run one kind after another.  Return ``(cycles, utilisation)``:
    the total cycles and the share of lane-cycles spent on real work.
    """
    work = np.asarray(work, float)
    kinds = np.zeros(work.size, int) if kinds is None else np.asarray(kinds)
    cycles = 0.0
    for start in range(0, work.size, lanes):
        group, group_kinds = work[start:start + lanes], kinds[start:start + lanes]
        for kind in np.unique(group_kinds):                 # one code path after another
            cycles += group[group_kinds == kind].max()
    utilisation = work.sum() / (lanes * cycles) if cycles else 1.0
    return float(cycles), float(utilisation)


def balance_items(costs, tiles, workers=6):
    """Exercise 08.2: balance uneven work over tiles and workers.

    Return ``assignment`` with ``assignment[t][w]`` the list of item indices that
    worker ``w`` of tile ``t`` runs, every item exactly once, so that the slowest
    tile (``workers`` x its busiest worker's summed costs) is as fast as the
    largest-first greedy rule makes it, or faster.
    """
    loads = np.zeros(tiles * workers)
    assignment = [[[] for _ in range(workers)] for _ in range(tiles)]
    for item in sorted(range(len(costs)), key=lambda i: -costs[i]):    # biggest first
        slot = int(np.argmin(loads))                                  # to the least loaded worker
        loads[slot] += costs[item]
        assignment[slot // workers][slot % workers].append(item)
    return assignment


def block_sparse_matvec(graph, mask, a, x, y):
    """Exercise 08.3: a block-sparse matrix-vector product, y = A @ x.

    ``a`` holds A's non-zero blocks in BSR order (row of blocks by row of blocks,
    left to right), ``a[q]`` of shape (bs, bs); row of blocks i of A lives on the
    tile that holds ``y[i * bs]``.  Return a program that computes y, moving only
    the blocks of x that each row needs.  Budgets: one block of x exchanged per
    non-zero block at most; with one block in eight, at most 30 % of the compute
    cycles of every block.
    """
    mask = np.asarray(mask, bool)
    bs = a.shape[1]
    row_start = np.concatenate(([0], np.cumsum(mask.sum(axis=1))))
    cols = np.nonzero(mask)[1]                           # block column of every non-zero block
    x_blocks = x.reshape(mask.shape[1], bs, 1)
    y_tiles = graph.element_tiles(y)
    cs = graph.add_compute_set("block-sparse matvec")
    for i in range(mask.shape[0]):
        tile, out = int(y_tiles[i * bs]), y[i * bs:(i + 1) * bs]
        q0, q1 = row_start[i], row_start[i + 1]
        if q0 == q1:                                     # an empty row of blocks: y is zero there
            graph.add_vertex(cs, codelets.fill, tile=tile, out=out, value=0.0)
        else:
            graph.add_vertex(cs, block_row_product, tile=tile, a=a[q0:q1], b=x_blocks[cols[q0:q1]],
                             out=out.reshape(bs, 1))
    return Execute(cs)
