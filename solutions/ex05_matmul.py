"""Notebook 05, mapping a matmul: solutions.

C = A @ B is cut over tiles by splitting M (rows of A), N (columns of B) and K
(the inner dimension).  Each split has its price: operand blocks broadcast over
the exchange, partial sums to reduce, and memory on every tile.  These three
exercises price one step by the rules, choose a split under a memory cap, and
build a K split whose reduction is shared by all its tiles.
"""
import ipukit
from ipukit import codelets, cost, ops
from ipukit.memory import align_up


def product_step_costs(spec, m, k, n, splits):
    """Exercise 05.1: price the partial-products step of a split by the rules.

    The layout is the notebook's ``blocked_matmul``: ``splits = (m_parts,
    n_parts, k_parts)`` divide m, n and k exactly; tile ``(i, j, d)`` multiplies
    A block ``(i, d)`` by B block ``(d, j)`` into a float32 output block, with
    ``min(6, rows)`` ``matmul_partial`` vertices cutting the block's rows as evenly
    as possible.  A block ``(i, d)`` lives on tile ``(i, 0, d)`` and B block
    ``(d, j)`` on tile ``(0, j, d)``.  Return ``{"compute": cycles, "exchange":
    cycles, "memory": bytes}`` for the busiest tile.
    """
    m_parts, n_parts, k_parts = splits
    rows, depth, cols = m // m_parts, k // k_parts, n // n_parts
    workers = spec.workers_per_tile
    vertices = min(workers, rows)
    panel = -(-rows // vertices)                     # rows of the biggest vertex
    compute = workers * cost.amp_cycles(panel, depth, cols, spec, "float32")
    a_bytes, b_bytes, out_bytes = 4 * rows * depth, 4 * depth * cols, 4 * rows * cols
    # a tile receives the A block unless it is in column 0 (n_parts > 1), and the
    # B block unless it is in row 0 (m_parts > 1); the hosts send as much, once each
    received = a_bytes * (n_parts > 1) + b_bytes * (m_parts > 1)
    exchange = -(-received // spec.exchange_bytes_per_cycle)
    state = align_up(vertices * cost.vertex_state_bytes(3, 0), spec.alignment)
    memory = a_bytes + b_bytes + out_bytes + state    # held or received, every tile has all three
    return {"compute": compute, "exchange": exchange, "memory": memory}


def choose_split(spec, m, k, n, cap_bytes):
    """Exercise 05.2: the fastest split whose busiest tile stays within ``cap_bytes``.

    Returns ``(m_parts, n_parts, k_parts)``; raises ValueError when no split fits.
    """
    tiles = spec.total_tiles
    best = None
    for m_parts in range(1, min(m, tiles) + 1):
        for n_parts in range(1, min(n, tiles // m_parts) + 1):
            for k_parts in range(1, min(k, tiles // (m_parts * n_parts)) + 1):
                plan = ops.plan_matmul(spec, m, k, n, splits=(m_parts, n_parts, k_parts),
                                       check_memory=False, available_memory_proportion=1.0)
                if plan.peak_tile_bytes <= cap_bytes and (best is None or plan.cycles < best.cycles):
                    best = plan
    if best is None:
        raise ValueError(f"no split of ({m} x {k}) @ ({k} x {n}) keeps every tile of the {spec.name} "
                         f"({tiles} tiles) within {cap_bytes:,} B; allow more memory or use more tiles")
    return best.splits


def _pieces(size, count):
    """``(lo, hi)`` bounds cutting ``size`` into ``min(count, size)`` nearly equal pieces."""
    count = min(count, size)
    return [(i * size // count, (i + 1) * size // count) for i in range(count)]


def k_split_matmul(g, a, b):
    """Exercise 05.3: C = sum over d of a[d] @ b[d], with K split over P tiles.

    ``a`` is (P, M, kb) and ``b`` is (P, kb, N); a[d] and b[d] live on tile d.
    Returns ``(c, program)`` with c a new (M, N) float32 variable.
    """
    p, m, _ = a.shape
    n = b.shape[2]
    workers = g.spec.workers_per_tile
    # 1. each tile multiplies its own slices of A and B: nothing moves
    partials = g.add_variable((p, m, n), name="partials")
    products = g.add_compute_set("partial products")
    for d in range(p):
        g.set_tile_mapping(partials[d], d)
        for lo, hi in _pieces(m, workers):                       # one vertex per worker
            g.add_vertex(products, codelets.matmul_partial, tile=d,
                         a=a[d, lo:hi], b=b[d], out=partials[d, lo:hi])
    # 2. each tile sums one slice of C: the slice it holds (a reduce-scatter)
    c = g.add_variable((m, n), name="C")
    g.map_linearly(c, tiles=range(p))
    flat, out = partials.reshape(p, m * n), c.flatten()
    reduction = g.add_compute_set("reduction")
    for tile, intervals in enumerate(g.tile_mapping(c)):
        for start, end in intervals:
            for lo, hi in _pieces(end - start, workers):
                g.add_vertex(reduction, codelets.reduce_rows, tile=tile,
                             a=flat[:, start + lo:start + hi], out=out[start + lo:start + hi])
    return c, ipukit.Sequence(ipukit.Execute(products), ipukit.Execute(reduction))
