"""Notebook 03, exchange and collectives: exercises.

Tiles share no memory: every byte a tile needs from another tile crosses the
exchange, between two syncs.  These three exercises predict what an exchange
costs, move a whole matrix in one exchange, and build an all-reduce from supersteps.

Work on a function, then check it from the notebook with ``ipukit.check("ex03_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex03``).
"""
import numpy as np

import ipukit
from ipukit import codelets
from ipukit.collectives import add_elementwise, variable_like


def exchange_cycles(messages, num_tiles, bytes_per_cycle=4):
    """Exercise 03.1: predict an exchange phase by the rule.

    ``messages`` is a list of ``(src, dsts, nbytes)``: tile ``src`` sends one
    value of ``nbytes`` bytes to every tile in the list ``dsts``.  Return
    ``(tile_cycles, phase_cycles)``: each tile's exchange cycles as a NumPy
    array of ``num_tiles`` ints, and the length of the phase.

    The rule: a tile sends each value once, however many tiles receive it (a
    broadcast), and receives every value sent to it; it sends and receives
    ``bytes_per_cycle`` bytes per cycle at the same time, so its cycles are
    max(bytes sent, bytes received) / bytes_per_cycle, rounded up.  A value sent
    to its own tile does not cross the exchange.  The phase lasts as long as
    its busiest tile.

    About 10 lines.  Useful: ``np.zeros(num_tiles, np.int64)``, ``np.maximum``,
    ``-(-a // b)`` (integer division rounded up), ``.max(initial=0)``.
    """
    raise NotImplementedError("Exercise 03.1: return (cycles of each tile, cycles of the phase) for the messages")


def transpose(g, x, tiles):
    """Exercise 03.2: a transpose with one exchange.

    ``x`` has shape ``(R, C)``; its rows are cut into ``P = len(tiles)`` equal
    blocks and block i lives on ``tiles[i]``.  Return ``(xt, program)``: a new
    ``(C, R)`` variable of ``x``'s dtype holding ``x.T``, cut by rows into P
    equal blocks with block j on ``tiles[j]``, and a program that fills it in
    one superstep.  Only the blocks that change tiles may cross the exchange.

    Budgets: 1 superstep; at most P x (P - 1) blocks of (R/P x C/P) elements
    exchanged (each block that changes tile, once); and exchange cycles at most
    the bytes of P - 1 blocks / 4 B per cycle, rounded up, since every tile sends
    and receives its P - 1 blocks in the same exchange.

    About 6 lines.  Useful: ``g.add_variable(shape, dtype, name=...)``,
    ``g.set_tile_mapping(view, tile)``, ``x.T`` (a view: nothing moves until a
    program runs), ``ipukit.Copy(src, dst)``.
    """
    raise NotImplementedError("Exercise 03.2: return (xt, program) that transposes x in one exchange")


def all_reduce_doubling(g, parts):
    """Exercise 03.3: an all-reduce by recursive doubling.

    ``parts`` has shape ``(P, N)`` and row i lives on one tile.  Return
    ``(totals, program)``: a new ``(P, N)`` variable mapped like ``parts`` whose
    every row ends up holding ``parts.sum(axis=0)``, and the program.  Leave
    ``parts`` unchanged.  Budgets: at most ceil(log2 P) + 1 supersteps, and in
    no exchange may a tile send or receive more than one row (N x 4 bytes).

    Recursive doubling, for P a power of two: in step k, tile i and its partner
    i XOR 2^k swap running sums and both add (after log2 P steps every tile has
    the total).  Each step reads one buffer and writes another, because no
    vertex may write what another vertex reads in the same compute set.  For
    other P, first fold the parts beyond the largest power of two into the first
    ones (one superstep), and at the end copy the total back to them (one more).
    Build it yourself from ``Execute`` and ``Copy``: ``ipukit.collectives.all_reduce``
    and ``reduce`` are blocked by the grader.

    About 30 lines.  Useful: ``variable_like(g, parts, name)`` (a variable
    mapped like ``parts``), ``g.add_compute_set(name)``,
    ``add_elementwise(g, cs, codelets.add, out_row, a=x_row, b=y_row, out=out_row)``
    (adds vertices on ``out_row``'s tile, one per worker; the inputs come over
    the exchange), ``ipukit.Execute``, ``ipukit.Copy``, ``ipukit.concat``,
    ``ipukit.Sequence(*steps)``, ``i ^ (1 << k)``.
    """
    raise NotImplementedError("Exercise 03.3: return (totals, program), an all-reduce by recursive doubling")
