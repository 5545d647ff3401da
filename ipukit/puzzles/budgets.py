"""What each puzzle may cost: formulas for what a good solution costs on its case."""
from __future__ import annotations

import math

import numpy as np

from ipukit import cost

from .cases import CYCLE_SLACK, SPEC, SRAM_ROOM, Case, Limit

# --- budgets ------------------------------------------------------------------------------
# Each budget is what a good solution costs on the case, worked out from the cost model:
# supersteps and exchange bytes exactly, cycles with CYCLE_SLACK on top, and peak tile SRAM as
# the puzzle's own tensors plus the data a good solution must add, with SRAM_ROOM to spare
# (the state of a few more vertices fits in it; another copy of your data does not).
SYNC = SPEC.sync_cycles
WORKERS = SPEC.workers_per_tile


def _ceil(a, b) -> int:
    return -(-int(a) // int(b))


def _execute(compute: int, exchange: int = 0) -> int:
    """Cycles of one Execute: a sync, the exchange of its inputs (after its own sync), the compute."""
    return SYNC + (SYNC + exchange if exchange else 0) + compute


def _slack(cycles: int) -> int:
    return math.ceil(cycles * (1 + CYCLE_SLACK))


def _sram(case: Case, extra: int = 0) -> Limit:
    base = case.base_sram
    adds = f" + {extra:,} B a good solution adds" if extra else ""
    why = f"the puzzle's tensors: {base:,} B on the fullest tile{adds} + {SRAM_ROOM} B of room"
    return Limit("peak tile SRAM", base + extra + SRAM_ROOM, "B", why)


def _reduce_cycles(n: int) -> int:
    """codelets.reduce_sum over n float32."""
    return cost.elementwise_cycles(n, SPEC, np.float32, cost.UNARY_CYCLES_PER_VECTOR)


def _budget_map(c):
    n = c.params["n"]
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", 0, "B", "every element is already on the tile that needs it"),
            Limit("cycles", _slack(_execute(WORKERS * (10 + n))), "", "one add_ten vertex a tile, + 10 %"),
            _sram(c)]


def _budget_zip(c):
    piece = _ceil(c.params["n"], WORKERS)
    add = cost.elementwise_cycles(piece, SPEC, np.float32)
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", 0, "B", "every element is already on the tile that needs it"),
            Limit("cycles", _slack(_execute(WORKERS * add)), "",
                  "each tile's block cut in six, one add vertex a worker, + 10 %"),
            _sram(c)]


def _budget_broadcast(c):
    p = c.params
    tiles, cols = p["tiles"], p["cols"]
    moved = (tiles - 1) * cols * 4
    return [Limit("supersteps", 1, "", "one compute set: its exchange brings b along"),
            Limit("exchange bytes", moved, "B", "b reaches every other tile once"),
            Limit("cycles", _slack(_execute(WORKERS * (10 + p["rows"] * cols), cols if tiles > 1 else 0)), "",
                  "one outer_add vertex a tile, + 10 %"),
            _sram(c, cols * 4 if tiles > 1 else 0)]


def _budget_halo(c):
    tiles, n = c.params["tiles"], c.params["n"]
    moved = 8 * tiles if tiles > 1 else 0
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", moved, "B", "each tile receives one element from each neighbour"),
            Limit("cycles", _slack(_execute(WORKERS * (10 + 2 * n), 2 if tiles > 1 else 0)), "",
                  "one sum3 vertex a tile, + 10 %"),
            _sram(c, 16 if tiles > 1 else 0)]


def _rotation_moves(tiles, n, k):
    """(bytes each tile sends, receives, copies on itself) when out = roll(a, k), both in blocks of n."""
    total = tiles * n
    dst = np.arange(total)
    src = (dst - k) % total
    st, dt = src // n, dst // n
    remote = st != dt
    sent = np.bincount(st[remote], minlength=tiles) * 4
    received = np.bincount(dt[remote], minlength=tiles) * 4
    local = np.bincount(dt[~remote], minlength=tiles) * 4
    return sent, received, local


def _budget_rotate(c):
    p = c.params
    sent, received, local = _rotation_moves(p["tiles"], p["n"], p["k"])
    exchange = _ceil(np.maximum(sent, received).max(), SPEC.exchange_bytes_per_cycle)
    copy = _ceil(local.max(), SPEC.memory_write_bytes_per_cycle)
    return [Limit("supersteps", 1, "", "one Copy"),
            Limit("exchange bytes", int(received.sum()), "B", "only the elements that change tile cross"),
            Limit("cycles", _slack(SYNC + exchange + copy), "", "one Copy, + 10 %"),
            _sram(c)]


def _budget_tile_sum(c):
    n = c.params["n"]
    parts = min(WORKERS, n)
    first = WORKERS * _reduce_cycles(_ceil(n, parts))
    second = WORKERS * _reduce_cycles(parts)
    return [Limit("supersteps", 2, "", "partial sums, then their sum"),
            Limit("exchange bytes", 0, "B", "everything is on one tile"),
            Limit("cycles", _slack(_execute(first) + _execute(second)), "",
                  "six reduce_sum vertices, then one, + 10 %"),
            _sram(c)]


def _budget_tiles_sum(c, everyone=False):
    tiles, n = c.params["tiles"], c.params["n"]
    receivers = tiles if everyone else 1
    moved = WORKERS * 4 * (tiles - 1) * receivers
    exchange = tiles - 1
    local = 1 if tiles > 1 else 0        # the receiving tile's own partial sum is copied next to the others
    cycles = _execute(WORKERS * _reduce_cycles(n)) + _execute(WORKERS * _reduce_cycles(tiles) + local, exchange)
    what = "every tile" if everyone else "out's tile"
    return [Limit("supersteps", 2, "", f"partial sums, then {what} adds them up"),
            Limit("exchange bytes", moved, "B", f"at most six partial sums from each tile to {what}"),
            Limit("cycles", _slack(cycles), "", "one reduce_sum vertex a tile, then one on " + what + ", + 10 %"),
            _sram(c, 8 + 4 * WORKERS * tiles)]


def _budget_transpose(c):
    q, b = c.params["q"], c.params["block"]
    block = b * b * 4
    moved = (q * q - q) * block
    cycles = SYNC + (_ceil(block, SPEC.exchange_bytes_per_cycle) if q > 1 else 0) + \
        _ceil(block, SPEC.memory_write_bytes_per_cycle)
    return [Limit("supersteps", 1, "", "one Copy"),
            Limit("exchange bytes", moved, "B", "every block off the diagonal crosses once"),
            Limit("cycles", _slack(cycles), "", "one Copy, + 10 %"),
            _sram(c)]


def _budget_scan(c):
    tiles, n = c.params["tiles"], c.params["n"]
    moved = 4 * tiles * (tiles - 1) // 2
    cycles = _execute(WORKERS * (10 + 2 * n))
    if tiles > 1:
        cycles += _execute(WORKERS * (10 + (tiles - 1) + n), tiles - 1)
    else:
        cycles += SYNC                       # with one block, the second compute set may be empty
    return [Limit("supersteps", 2, "", "scan each block, then add what came before"),
            Limit("exchange bytes", moved, "B", "tile i receives the totals of the i blocks before its own"),
            Limit("cycles", _slack(cycles), "", "one local_scan and one add_offset vertex a tile, + 10 %"),
            _sram(c, 8 + 4 * tiles)]


def _budget_gather(c):
    tiles, m, k = c.params["tiles"], c.params["m"], c.params["k"]
    moved = tiles * (tiles - 1) * m * 4
    local = _ceil(4 * m, SPEC.memory_write_bytes_per_cycle) if tiles > 1 else 0
    cycles = _execute(WORKERS * (10 + 3 * k) + local, (tiles - 1) * m)
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", moved, "B", "every tile receives the parts of the table it lacks, once"),
            Limit("cycles", _slack(cycles), "", "one lookup vertex a tile, + 10 %"),
            _sram(c, 4 * tiles * m if tiles > 1 else 0)]


def _budget_matmul(c):
    p = c.params
    q, m, k, n = p["q"], p["m"], p["k"], p["n"]
    blocks = m * k + k * n
    moved = q * q * (q - 1) * blocks * 4
    local = _ceil(4 * blocks, SPEC.memory_write_bytes_per_cycle) if q > 1 else 0
    compute = WORKERS * cost.amp_cycles(m, q * k, n, SPEC, np.float32) + local
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", moved, "B", "each tile receives the other blocks of its row of a and column of b"),
            Limit("cycles", _slack(_execute(compute, (q - 1) * blocks if q > 1 else 0)), "",
                  "one matmul_partial vertex a tile, + 10 %"),
            _sram(c, 4 * q * blocks if q > 1 else 0)]


def _budget_rows(c):
    work = [n + 4 for n in c.params["lengths"]]          # segment_sums: a cycle an element, 4 a row
    busiest = 10 + _ceil(sum(work), WORKERS) + max(work)
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", 0, "B", "everything is on one tile"),
            Limit("compute cycles", WORKERS * busiest, "",
                  "6 x (a vertex's start + a sixth of all the work + the longest row)")]


def block_row_cycles(blocks: int, bs: int) -> int:
    """One vertex of row of blocks: block_row_product over its blocks for one vector, or a fill of an empty row."""
    if blocks == 0:
        return cost.copy_cycles(bs * 4, SPEC)
    return cost.amp_cycles(bs, blocks * bs, 1, SPEC, np.float32)


def _budget_block_rows(c):
    p = c.params
    mask, bs, vectors, tiles = p["mask"], p["bs"], p["vectors"], p["tiles"]
    work = [block_row_cycles(int(r), bs) for r in mask.sum(axis=1)]
    busiest = _ceil(sum(work), tiles) + max(work)
    return [Limit("supersteps", 1, "", "one compute set"),
            Limit("exchange bytes", int(mask.sum()) * vectors * bs * 4, "B",
                  "each non-zero block reads its blocks of x, once a vector; A never moves"),
            Limit("compute cycles", _slack(WORKERS * busiest), "",
                  "6 x (a tile's share of all the rows' work + the biggest row), + 10 %")]


BUDGETS = {1: _budget_map, 2: _budget_zip, 3: _budget_broadcast, 4: _budget_halo, 5: _budget_rotate,
           6: _budget_tile_sum, 7: _budget_tiles_sum, 8: lambda c: _budget_tiles_sum(c, everyone=True),
           9: _budget_transpose, 10: _budget_scan, 11: _budget_gather, 12: _budget_matmul, 13: _budget_rows,
           14: _budget_block_rows}


def budget(case: Case) -> list:
    """The :class:`Limit` of each budgeted cost of ``case`` (costs not listed are shown for information)."""
    return BUDGETS[case.puzzle](case)


