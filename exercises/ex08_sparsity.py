"""Notebook 08, sparsity and MIMD: exercises.

Irregular work, uneven in size or in kind, is where a machine of independent
tiles differs from one that runs many lanes in lock-step.  These three
exercises price lock-step padding, balance uneven work over tiles and workers,
and build a block-sparse matrix-vector product that works only where blocks are.

Work on a function, then check it from the notebook with ``ipukit.check("ex08_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex08``).
"""
import numpy as np

from ipukit import Execute, codelets
from ipukit.sparse import block_row_product


def lockstep_cycles(work, lanes, kinds=None):
    """Exercise 08.1: the padding cost of a lock-step machine.

    ``work[i]`` is the cycles item i needs on one lane.  The items are dealt to
    ``lanes`` lanes in order, ``lanes`` at a time: items 0 .. lanes-1 form the
    first group, the next ``lanes`` items the second, and so on (the last group
    may be partly empty).  The lanes of a group run in lock-step, so a group
    lasts as long as its longest item.  If ``kinds`` is given (``kinds[i]`` names
    item i's code path), the kinds present in a group run one after another,
    each for as long as its own longest item.  Groups run one after another.

    Return ``(cycles, utilisation)``: the total cycles, and the share of all
    lane-cycles spent on real work, ``sum(work) / (lanes * cycles)``.  With no
    work at all, return ``(0.0, 1.0)``.

    About 8 lines.  Useful: ``np.asarray``, slicing ``work[start:start + lanes]``,
    ``np.unique``, a boolean mask ``group[group_kinds == kind]``, ``.max()``.
    """
    raise NotImplementedError("Exercise 08.1: return (cycles, utilisation) of the items run in lock-step groups")


def balance_items(costs, tiles, workers=6):
    """Exercise 08.2: balance uneven work over tiles and workers.

    ``costs[i]`` is the cycles of work item i on one worker.  Give every item to
    one worker of one tile.  Each worker runs its items one after another (as one
    vertex that loops over its list), and a tile is busy for ``workers`` x the
    summed costs of its busiest worker, since its workers share the pipeline in
    turn.  The slowest tile sets the time of the superstep.

    Return ``assignment``: a list of ``tiles`` lists, each of ``workers`` lists of
    item indices, ``assignment[t][w]`` being what worker w of tile t runs.  Every
    item must appear exactly once.  The grader compares your slowest tile with
    the *largest-first greedy* rule: take the items from the biggest to the
    smallest, and give each to the worker, over all tiles x workers, whose load
    is smallest so far.  Yours must be as fast or faster.

    About 8 lines.  Useful: ``sorted(range(len(costs)), key=lambda i: -costs[i])``,
    a NumPy array of ``tiles * workers`` loads, ``np.argmin``, ``divmod``.
    """
    raise NotImplementedError("Exercise 08.2: give every item to a worker of a tile so the slowest tile is fast")


def block_sparse_matvec(graph, mask, a, x, y):
    """Exercise 08.3: a block-sparse matrix-vector product, y = A @ x.

    A is cut into square blocks of ``bs = a.shape[1]``; ``mask`` (rows x cols of
    blocks, booleans) marks its non-zero blocks.  ``a`` holds only those, in BSR
    order: row of blocks 0 from left to right, then row 1, and so on, ``a[q]``
    being one (bs, bs) block.  ``x`` has ``cols * bs`` elements and ``y`` has
    ``rows * bs``.  Row of blocks i of A (its blocks in ``a``) lives on the tile
    that holds ``y[i * bs]``.

    Add vertices to a new compute set so that running it computes ``y = A @ x``,
    and return the program (``Execute(cs)``).  Work only where blocks are: a row
    of blocks needs the blocks of x under its non-zero blocks, nothing else, and
    should run on its own tile so that A never moves.  A row with no non-zero
    block gives zeros.  The grader compares with NumPy, counts the bytes
    exchanged, and compares your cycles with those of a matrix with every block.

    Budgets: exchange bytes at most one bs-element block of x (4 B each) per
    non-zero block of A; and for a matrix with one block in eight, compute
    cycles at most 30 % of those of the same matrix with every block.

    About 12 lines.  Useful: ``np.nonzero(mask)[1]`` (the block column of every
    non-zero block, in BSR order), ``np.cumsum(mask.sum(axis=1))`` (where each row
    starts in ``a``), ``graph.element_tiles(y)``, ``a[q0:q1]`` (a row's blocks),
    ``x.reshape(cols, bs, 1)[block_columns]`` (the blocks of x a row needs, shape
    (r, bs, 1)), ``y[i * bs:(i + 1) * bs].reshape(bs, 1)``,
    ``block_row_product`` (out = a[0] @ b[0] + a[1] @ b[1] + ...) and
    ``codelets.fill(out=..., value=0.0)``.
    """
    raise NotImplementedError("Exercise 08.3: build y = A @ x from the non-zero blocks of A, row by row on their tiles")
