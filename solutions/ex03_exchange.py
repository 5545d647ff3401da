"""Notebook 03, exchange and collectives: solutions.

Tiles share no memory: every byte a tile needs from another tile crosses the
exchange, between two syncs.  These three exercises predict what an exchange
costs, move a whole matrix in one exchange, and build an all-reduce from supersteps.
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
    """
    sent = np.zeros(num_tiles, np.int64)
    received = np.zeros(num_tiles, np.int64)
    for src, dsts, nbytes in messages:
        others = [d for d in dsts if d != src]        # a copy to its own tile stays off the exchange
        if others:
            sent[src] += nbytes                       # a broadcast goes out once, however many listen
            received[others] += nbytes
    tile_cycles = -(-np.maximum(sent, received) // bytes_per_cycle)   # send and receive at once; round up
    return tile_cycles, int(tile_cycles.max(initial=0))


def transpose(g, x, tiles):
    """Exercise 03.2: a transpose with one exchange.

    ``x`` has shape ``(R, C)``; its rows are cut into ``P = len(tiles)`` equal
    blocks and block i lives on ``tiles[i]``.  Return ``(xt, program)``: a new
    ``(C, R)`` variable holding ``x.T``, cut by rows into P equal blocks with
    block j on ``tiles[j]``, and a program that fills it in one superstep.
    Budgets: each block that changes tile crosses once, and the exchange lasts
    P - 1 blocks' bytes / 4 B per cycle (every tile sends and receives at once).
    """
    p = len(tiles)
    cols, rows = x.shape[1], x.shape[0]
    xt = g.add_variable((cols, rows), x.dtype, name=f"{x.name}.T")
    block = cols // p
    for j, tile in enumerate(tiles):
        g.set_tile_mapping(xt[j * block:(j + 1) * block], tile)
    # x.T is only a view: the Copy reads each element where it lives, and block (i, j)
    # of x crosses from tiles[i] to tiles[j] in the same exchange as every other block.
    return xt, ipukit.Copy(x.T, xt)


def all_reduce_doubling(g, parts):
    """Exercise 03.3: an all-reduce by recursive doubling.

    ``parts`` has shape ``(P, N)`` and row i lives on one tile.  Return
    ``(totals, program)``: a new ``(P, N)`` variable mapped like ``parts`` whose
    every row ends up holding ``parts.sum(axis=0)``, and the program, using at
    most ceil(log2 P) + 1 supersteps in which no tile moves more than one row.
    """
    p = parts.shape[0]
    totals = variable_like(g, parts, "totals")
    if p == 1:
        return totals, ipukit.Sequence(ipukit.Copy(parts[0], totals[0]))
    q = 1 << (p.bit_length() - 1)             # the largest power of two <= P
    extra = p - q                             # parts q.. fold into parts 0.. first
    ping, pong = variable_like(g, parts[:q], "ping"), variable_like(g, parts[:q], "pong")
    steps = []
    current = [parts[i] for i in range(q)]    # where row i's running sum is

    if extra:                                 # fold: part q+j is added into part j
        cs = g.add_compute_set("fold the extra parts in")
        for j in range(extra):
            add_elementwise(g, cs, codelets.add, ping[j], a=parts[j], b=parts[q + j], out=ping[j])
            current[j] = ping[j]
        steps.append(ipukit.Execute(cs))

    levels = q.bit_length() - 1               # log2 q butterfly steps
    for k in range(levels):
        # step k: tile i adds its partner's running sum, the partner i XOR 2^k does the same.
        # Read one buffer, write the other, so no vertex writes what another one reads.
        out = totals if k == levels - 1 else (pong if k % 2 == 0 else ping)
        cs = g.add_compute_set(f"doubling step {k + 1}: partners {2 ** k} apart")
        for i in range(q):
            add_elementwise(g, cs, codelets.add, out[i], a=current[i], b=current[i ^ (1 << k)], out=out[i])
        current = [out[i] for i in range(q)]
        steps.append(ipukit.Execute(cs))

    if extra:                                 # unfold: the folded parts get the total back
        src = ipukit.concat([totals[j] for j in range(extra)])
        dst = ipukit.concat([totals[q + j] for j in range(extra)])
        steps.append(ipukit.Copy(src, dst))
    return totals, ipukit.Sequence(*steps)
