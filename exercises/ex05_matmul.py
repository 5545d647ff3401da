"""Notebook 05, mapping a matmul: exercises.

C = A @ B is cut over tiles by splitting M (rows of A), N (columns of B) and K
(the inner dimension).  Each split has its price: operand blocks broadcast over
the exchange, partial sums to reduce, and memory on every tile.  These three
exercises price one step by the rules, choose a split under a memory cap, and
build a K split whose reduction is shared by all its tiles.

Work on a function, then check it from the notebook with ``ipukit.check("ex05_1")``
(or in JupyterLab's terminal: ``python -m ipukit.grade ex05``).
"""
import ipukit
from ipukit import codelets, cost, ops
from ipukit.memory import align_up


def product_step_costs(spec, m, k, n, splits):
    """Exercise 05.1: price the partial-products step of a split by the rules.

    The layout is the notebook's ``blocked_matmul``, float32 throughout.
    ``splits = (m_parts, n_parts, k_parts)`` divide m, n and k exactly, so every
    block has the same shape: A blocks are (m/m_parts x k/k_parts), B blocks
    (k/k_parts x n/n_parts), output blocks (m/m_parts x n/n_parts).  Tile
    ``(i, j, d)`` multiplies A block ``(i, d)`` by B block ``(d, j)`` into its own
    output block, with ``min(6, rows)`` ``codelets.matmul_partial`` vertices that
    cut the block's rows as evenly as possible (one vertex per worker).  A block
    ``(i, d)`` lives on tile ``(i, 0, d)`` and B block ``(d, j)`` on tile
    ``(0, j, d)``; every other tile that multiplies a block receives it in the
    step's exchange (a broadcast: its host sends it once).

    Return a dict for the busiest tile:

    - ``"compute"``: the compute phase, in cycles: 6 x the cycles of the vertex
      with the most rows (the worker rule; ``cost.amp_cycles``);
    - ``"exchange"``: the exchange phase, in cycles: the bytes a tile receives
      (its A block if ``n_parts > 1``, its B block if ``m_parts > 1``) divided by
      ``spec.exchange_bytes_per_cycle``, rounded up; 0 if nothing moves;
    - ``"memory"``: the bytes on a tile: its A block, B block and output block
      (held there or received into exchange buffers), plus the state of its
      vertices, ``cost.vertex_state_bytes(3, 0)`` each, rounded up to a multiple
      of ``spec.alignment``.  In the tests every block is a whole number of
      8-byte words.

    About 10 lines.  Useful: ``spec.workers_per_tile``,
    ``cost.amp_cycles(rows, k, n, spec, "float32")`` (one vertex's worker cycles),
    ``spec.exchange_bytes_per_cycle``, ``align_up(nbytes, spec.alignment)``,
    ``-(-a // b)`` (division rounded up).
    """
    raise NotImplementedError("Exercise 05.1: return {'compute', 'exchange', 'memory'} of the partial-products step")


def choose_split(spec, m, k, n, cap_bytes):
    """Exercise 05.2: choose a split under a memory cap.

    Return ``(m_parts, n_parts, k_parts)``: the split of the float32 product
    ``(m x k) @ (k x n)`` on ``spec``'s tiles that the planner's estimate says is
    fastest, among those that keep every tile within ``cap_bytes`` (the rest of
    the SRAM holds other tensors).  A split is valid when ``1 <= m_parts <= m``,
    ``1 <= n_parts <= n``, ``1 <= k_parts <= k`` and ``m_parts * n_parts *
    k_parts <= spec.total_tiles``.  Raise ValueError when no split fits.

    Price a split with ``plan = ops.plan_matmul(spec, m, k, n, splits=(m_parts,
    n_parts, k_parts), check_memory=False, available_memory_proportion=1.0)``:
    ``plan.cycles`` is its estimated cycles and ``plan.peak_tile_bytes`` what its
    busiest tile holds.  The grader blocks the planner's own search (a call
    without ``splits``), since that is what you are writing; your split must
    fit and be within 5 % of the fastest one that does.

    About 12 lines.  Useful: ``spec.total_tiles``, three nested ``for`` loops
    (or ``itertools.product``), ``plan.cycles``, ``plan.peak_tile_bytes``,
    ``plan.splits``.
    """
    raise NotImplementedError("Exercise 05.2: return the fastest (m_parts, n_parts, k_parts) within cap_bytes")


def k_split_matmul(g, a, b):
    """Exercise 05.3: a K split with a shared reduction.

    ``a`` has shape (P, M, kb) and ``b`` shape (P, kb, N), float32: the K
    dimension of C = A @ B is cut into P slices, and slice d of A (``a[d]``, M x kb)
    and of B (``b[d]``, kb x N) live on tile d.  Return ``(c, program)``: a new
    (M, N) float32 variable ``c`` and a program that fills it with
    ``sum over d of a[d] @ b[d]``, in two steps:

    1. **partial products**: each tile d computes ``a[d] @ b[d]`` into a
       partials tensor of its own, with ``codelets.matmul_partial`` vertices,
       one per worker (cut the rows of ``a[d]``); nothing needs to move;
    2. **reduction**: every tile sums one slice of C, the slice of ``c`` it
       holds, over the P partials, with ``codelets.reduce_rows`` vertices, again
       one per worker.  So each tile receives only (P - 1) / P of one partial,
       not all P - 1 partials (as a reduction on one tile would).

    Budgets: at most 2 supersteps; exchange cycles at most (P - 1) x
    ceil(M x N / P) (the bytes of the shared reduction); compute cycles within
    15 % of six workers busy in both steps.  The grader blocks ``ops.matmul``.

    About 20 lines.  Useful: ``g.add_variable((P, M, N), name=...)``,
    ``g.set_tile_mapping(view, tile)``, ``g.map_linearly(c, tiles=range(P))`` and
    ``g.tile_mapping(c)`` (which tile holds which slice of ``c`` flattened),
    ``partials.reshape(P, M * N)[:, lo:hi]`` (a P x len field for ``reduce_rows``),
    ``c.flatten()[lo:hi]``, ``g.add_compute_set``, ``g.add_vertex(cs, codelet,
    tile=..., a=..., b=..., out=...)``, ``ipukit.Sequence(ipukit.Execute(cs1),
    ipukit.Execute(cs2))``.
    """
    raise NotImplementedError("Exercise 05.3: return (c, program), a K-split matmul with a shared reduction")
