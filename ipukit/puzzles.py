"""IPU Puzzles (notebook 11): the cases, the costs and the budgets of each puzzle.

A puzzle is one small function written in ``exercises/ex11_puzzles.py``: it gets a
graph whose tensors are already mapped onto a few tiles and returns the program that
fills the output.  This module builds those cases (the notebook shows the fixed ones,
the grader also draws seeded random ones), runs a function on a case with the
reference backend, measures what it cost, and says what each puzzle may cost.  It
holds no answers: the budgets are formulas for what a good solution costs.

    case = puzzles.make_case(1)                  # puzzle 1 on 4 tiles, fixed data
    result = puzzles.run(case, ex.map_add_ten)   # the engine, the outputs, the costs
    puzzles.budget(case)                         # [Limit("supersteps", 1), ...]

The pictures (the target next to yours) are drawn by :mod:`ipukit.viz.puzzles`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ipukit import cost
from ipukit.core.graph import Graph
from ipukit.core.programs import Program
from ipukit.core.spec import GC2
from ipukit.run.engine import Engine

SPEC = GC2.replace(tiles=4)          # the teaching machine of the notebook: a 4-tile GC2
COSTS = (("supersteps", ""), ("exchange bytes", "B"), ("cycles", ""), ("compute cycles", ""),
         ("peak tile SRAM", "B"))
CYCLE_SLACK = 0.10                   # cycles may be up to 10 % above a good solution's
SRAM_ROOM = 256                      # bytes of room on the busiest tile beyond a good solution's


@dataclass
class Case:
    """One input of one puzzle: a graph with its tensors mapped, and the values to write."""
    puzzle: int
    label: str                       # names the case in messages: "4 tiles, 32 floats a tile, seed 0"
    graph: Graph
    args: tuple                      # what the puzzle's function gets after the graph
    inputs: dict                     # name -> (tensor, values written before the run)
    outputs: dict                    # name -> tensor read after the run
    params: dict = field(default_factory=dict)   # sizes the budget is computed from
    extras: dict = field(default_factory=dict)   # what the spec gets besides the input values (k, tiles, mask)
    base_sram: int = 0               # bytes of these tensors on their fullest tile, before anything is added

    @property
    def values(self) -> dict:
        """name -> the NumPy values of each input (what the spec is computed from)."""
        return {name: v for name, (_, v) in self.inputs.items()}

    @property
    def shown(self) -> dict:
        """name -> tensor, for the data row of the picture (inputs first, then outputs)."""
        out = {name: t for name, (t, _) in self.inputs.items()}
        out.update(self.outputs)
        return out


@dataclass(frozen=True)
class Limit:
    """A budget: cost ``name`` may be at most ``value`` (``why`` says where the number comes from)."""
    name: str
    value: int
    unit: str = ""
    why: str = ""


@dataclass
class Result:
    """What :func:`run` found: the engine after the run, the outputs read back, the costs."""
    engine: Engine
    outputs: dict
    costs: dict


class NotAProgram(TypeError):
    """The puzzle's function returned something that is not a program."""


# --- running a puzzle ----------------------------------------------------------------
def run(case: Case, fn, backend: str = "reference") -> Result:
    """Call ``fn(graph, *case.args)``, run the program it returns once, read the outputs.

    The reference backend runs every codelet as plain Python (``print`` works in
    a codelet); the costs are the same on both backends.
    """
    program = fn(case.graph, *case.args)
    if not isinstance(program, Program):
        raise NotAProgram(f"{getattr(fn, '__name__', 'the function')} should return a program (Execute, Copy, "
                          f"Sequence...), got {type(program).__name__}")
    eng = Engine(case.graph, program, backend=backend)
    for tensor, values in case.inputs.values():
        eng.write(tensor, values)
    eng.run()
    outputs = {name: eng.read(t) for name, t in case.outputs.items()}
    return Result(eng, outputs, measure(eng))


def measure(eng: Engine) -> dict:
    """The costs of a run: supersteps, bytes received over the exchange, cycles (all, and in compute
    phases), and the SRAM used on the fullest tile."""
    p = eng.profile
    return {"supersteps": p.num_supersteps, "exchange bytes": p.exchange_bytes, "cycles": p.total_cycles,
            "compute cycles": p.compute_cycles, "peak tile SRAM": eng.memory.peak_bytes}


def over_budget(costs: dict, limits) -> list:
    """``"cycles is 900, over the budget of 800 by 100"`` for each cost over its limit."""
    out = []
    for lim in limits:
        value = costs[lim.name]
        if value > lim.value:
            unit = f" {lim.unit}" if lim.unit else ""
            out.append(f"{lim.name} is {value:,}{unit}, over the budget of {lim.value:,}{unit} by "
                       f"{value - lim.value:,}{unit}")
    return out


# --- building cases --------------------------------------------------------------------
def _graph(tiles: int) -> Graph:
    return Graph(SPEC.replace(tiles=tiles))


def _ints(rng, shape, lo=-9, hi=10, dtype=np.float32) -> np.ndarray:
    """Small whole numbers: every order of adding them up gives the same float32 result."""
    return rng.integers(lo, hi, shape).astype(dtype)


def _blocks(g, t, tiles) -> None:
    """Map ``t`` (1-D, or by rows) in equal blocks, block i on tile i."""
    rows = t.shape[0]
    for i in range(tiles):
        g.set_tile_mapping(t[i * rows // tiles:(i + 1) * rows // tiles], i)


def _grid(g, t, q) -> None:
    """Map a 2-D ``t`` as a q x q grid of blocks: block (i, j) on tile i * q + j."""
    r, c = t.shape[0] // q, t.shape[1] // q
    for i in range(q):
        for j in range(q):
            g.set_tile_mapping(t[i * r:(i + 1) * r, j * c:(j + 1) * c], i * q + j)


def _label(tiles, seed, *what) -> str:
    """``"4 tiles, 32 floats a tile, seed 0"``: names a case in messages and titles."""
    return ", ".join([f"{tiles} tile{'s' if tiles != 1 else ''}", *what, f"seed {seed}"])


def case_map(tiles=4, seed=0, n=32):
    """Puzzle 1: ``a`` and ``out`` of ``tiles * n`` floats, n a tile."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(tiles * n, name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    return Case(1, _label(tiles, seed, f"{n} floats a tile"), g, (a, out),
                {"a": (a, _ints(rng, tiles * n))}, {"out": out}, dict(tiles=tiles, n=n))


def case_zip(tiles=4, seed=0, n=96):
    """Puzzle 2: ``a``, ``b`` and ``out`` of ``tiles * n`` floats, n a tile."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, b, out = (g.add_variable(tiles * n, name=name) for name in ("a", "b", "out"))
    for t in (a, b, out):
        _blocks(g, t, tiles)
    return Case(2, _label(tiles, seed, f"{n} floats a tile"), g, (a, b, out),
                {"a": (a, _ints(rng, tiles * n)), "b": (b, _ints(rng, tiles * n))}, {"out": out},
                dict(tiles=tiles, n=n))


def case_broadcast(tiles=4, seed=0, rows=6, cols=16, b_tile=0):
    """Puzzle 3: ``a`` (tiles * rows,) by rows, ``b`` (cols,) on one tile, ``out`` (tiles * rows, cols)."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, b = g.add_variable(tiles * rows, name="a"), g.add_variable(cols, name="b")
    out = g.add_variable((tiles * rows, cols), name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    g.set_tile_mapping(b, b_tile)
    return Case(3, _label(tiles, seed, f"{rows} rows a tile", f"{cols} columns", f"b on tile {b_tile}"), g,
                (a, b, out), {"a": (a, _ints(rng, tiles * rows)), "b": (b, _ints(rng, cols))}, {"out": out},
                dict(tiles=tiles, rows=rows, cols=cols, b_tile=b_tile))


def case_halo(tiles=4, seed=0, n=128):
    """Puzzle 4: ``a`` and ``out`` of ``tiles * n`` floats in blocks (a ring: the ends are neighbours)."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(tiles * n, name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    return Case(4, _label(tiles, seed, f"{n} floats a tile"), g, (a, out),
                {"a": (a, _ints(rng, tiles * n))}, {"out": out}, dict(tiles=tiles, n=n))


def case_rotate(tiles=4, seed=0, n=8, k=3):
    """Puzzle 5: ``a`` and ``out`` of ``tiles * n`` floats in blocks, and the shift ``k``."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(tiles * n, name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    return Case(5, _label(tiles, seed, f"{n} floats a tile", f"k = {k}"), g, (a, out, k),
                {"a": (a, _ints(rng, tiles * n))}, {"out": out}, dict(tiles=tiles, n=n, k=k), {"k": k})


def case_tile_sum(tiles=4, seed=0, n=600, tile=0):
    """Puzzle 6: ``a`` (n,) and ``out`` (1,) both on one tile."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(n, name="a"), g.add_variable(1, name="out")
    g.set_tile_mapping(a, tile)
    g.set_tile_mapping(out, tile)
    return Case(6, _label(tiles, seed, f"{n} floats on tile {tile}"), g, (a, out),
                {"a": (a, _ints(rng, n))}, {"out": out}, dict(tiles=tiles, n=n, tile=tile))


def case_tiles_sum(tiles=4, seed=0, n=96, root=0):
    """Puzzle 7: ``a`` of ``tiles * n`` floats in blocks, ``out`` (1,) on tile ``root``."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(1, name="out")
    _blocks(g, a, tiles)
    g.set_tile_mapping(out, root)
    return Case(7, _label(tiles, seed, f"{n} floats a tile", f"out on tile {root}"), g, (a, out),
                {"a": (a, _ints(rng, tiles * n))}, {"out": out}, dict(tiles=tiles, n=n, root=root))


def case_all_reduce(tiles=4, seed=0, n=96):
    """Puzzle 8: ``a`` of ``tiles * n`` floats in blocks, ``out`` (tiles,): out[i] on tile i."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(tiles, name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    return Case(8, _label(tiles, seed, f"{n} floats a tile"), g, (a, out),
                {"a": (a, _ints(rng, tiles * n))}, {"out": out}, dict(tiles=tiles, n=n), {"tiles": tiles})


def case_transpose(tiles=4, seed=0, block=4):
    """Puzzle 9: ``x`` and ``out``, square, each a q x q grid of blocks (q * q = tiles), block (i, j) on tile i*q+j."""
    q = math.isqrt(tiles)
    if q * q != tiles:
        raise ValueError(f"puzzle 9 needs a square number of tiles (1, 4, 9...), got {tiles}")
    g, rng = _graph(tiles), np.random.default_rng(seed)
    x, out = g.add_variable((q * block, q * block), name="x"), g.add_variable((q * block, q * block), name="out")
    _grid(g, x, q)
    _grid(g, out, q)
    return Case(9, _label(tiles, seed, f"blocks of {block} x {block}"), g, (x, out),
                {"x": (x, _ints(rng, (q * block, q * block)))}, {"out": out}, dict(tiles=tiles, q=q, block=block))


def case_scan(tiles=4, seed=0, n=8):
    """Puzzle 10: ``a`` and ``out`` of ``tiles * n`` floats in blocks."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a, out = g.add_variable(tiles * n, name="a"), g.add_variable(tiles * n, name="out")
    _blocks(g, a, tiles)
    _blocks(g, out, tiles)
    return Case(10, _label(tiles, seed, f"{n} floats a tile"), g, (a, out),
                {"a": (a, _ints(rng, tiles * n, 0, 10))}, {"out": out}, dict(tiles=tiles, n=n))


def case_gather(tiles=4, seed=0, m=8, k=6):
    """Puzzle 11: ``table`` of ``tiles * m`` floats, ``idx`` (int32) and ``out`` of ``tiles * k``, all in blocks."""
    g, rng = _graph(tiles), np.random.default_rng(seed)
    table = g.add_variable(tiles * m, name="table")
    idx, out = g.add_variable(tiles * k, "int32", name="idx"), g.add_variable(tiles * k, name="out")
    for t in (table, idx, out):
        _blocks(g, t, tiles)
    values = np.arange(tiles * m, dtype=np.float32) * 10 + _ints(rng, tiles * m, 0, 10)
    return Case(11, _label(tiles, seed, f"{m} table entries and {k} indices a tile"), g, (table, idx, out),
                {"table": (table, values), "idx": (idx, rng.integers(0, tiles * m, tiles * k).astype(np.int32))},
                {"out": out}, dict(tiles=tiles, m=m, k=k))


def case_matmul(tiles=4, seed=0, m=4, k=4, n=4):
    """Puzzle 12: ``a`` (q*m, q*k), ``b`` (q*k, q*n), ``out`` (q*m, q*n), each a q x q grid of blocks."""
    q = math.isqrt(tiles)
    if q * q != tiles:
        raise ValueError(f"puzzle 12 needs a square number of tiles (1, 4, 9...), got {tiles}")
    g, rng = _graph(tiles), np.random.default_rng(seed)
    a = g.add_variable((q * m, q * k), name="a")
    b = g.add_variable((q * k, q * n), name="b")
    out = g.add_variable((q * m, q * n), name="out")
    for t in (a, b, out):
        _grid(g, t, q)
    return Case(12, _label(tiles, seed, f"blocks {m} x {k} @ {k} x {n}"), g, (a, b, out),
                {"a": (a, _ints(rng, (q * m, q * k), -4, 5)), "b": (b, _ints(rng, (q * k, q * n), -4, 5))},
                {"out": out}, dict(tiles=tiles, q=q, m=m, k=k, n=n))


# Puzzle 13's fixed rows: six long ones, placed so that neither equal counts of rows per worker
# nor one vertex per row dealt round-robin keeps the six workers even.
ROW_LENGTHS = [52, 60, 48, 3, 2, 5, 55, 4, 3, 2, 6, 1, 50, 3, 2, 4, 5, 2, 58, 3, 2, 4, 1, 3]


def case_rows(tiles=4, seed=0, lengths=None, tile=0):
    """Puzzle 13: ragged rows on one tile: ``values`` (all rows one after another), ``bounds`` (int32,
    row r is ``values[bounds[r]:bounds[r + 1]]``) and ``out`` (one sum per row), and the row lengths."""
    lengths = list(ROW_LENGTHS if lengths is None else lengths)
    g, rng = _graph(tiles), np.random.default_rng(seed)
    total = int(sum(lengths))
    values = g.add_variable(total, name="values")
    bounds = g.add_variable(len(lengths) + 1, "int32", name="bounds")
    out = g.add_variable(len(lengths), name="out")
    for t in (values, bounds, out):
        g.set_tile_mapping(t, tile)
    b = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    return Case(13, _label(tiles, seed, f"{len(lengths)} rows on tile {tile}"), g, (values, bounds, out, lengths),
                {"values": (values, _ints(rng, total)), "bounds": (bounds, b)}, {"out": out},
                dict(tiles=tiles, lengths=lengths, tile=tile))


# Puzzle 14's fixed mask: 16 rows of blocks, 6 block columns; the dense rows sit where taking rows
# in turns (row i on tile i % 4) or in runs (4 rows a tile) piles them up.
BLOCK_MASK = np.array([[int(c) for c in row] for row in (
    "111111", "111110", "111101", "000100", "111011", "010000", "001000", "000010",
    "110111", "100000", "000001", "010000", "101111", "001000", "000100", "100000")], bool)


def case_block_rows(tiles=4, seed=0, mask=None, bs=8, vectors=6):
    """Puzzle 14: y = A @ x for ``vectors`` vectors and a block-sparse A of ``bs`` x ``bs`` blocks where ``mask`` is
    true.  ``a`` holds the non-zero blocks row by row (unmapped), ``x`` (vectors, K) is mapped by block columns,
    ``y`` (vectors, M) is unmapped."""
    mask = BLOCK_MASK if mask is None else np.asarray(mask, bool)
    g, rng = _graph(tiles), np.random.default_rng(seed)
    rows, cols = mask.shape
    nnz = int(mask.sum())
    a = g.add_variable((nnz, bs, bs), name="a")
    x = g.add_variable((vectors, cols * bs), name="x")
    y = g.add_variable((vectors, rows * bs), name="y")
    for k in range(cols):
        g.set_tile_mapping(x[:, k * bs:(k + 1) * bs], k * tiles // cols)
    label = _label(tiles, seed, f"{rows} rows of blocks", f"{nnz} non-zero blocks of {bs} x {bs}")
    return Case(14, label, g, (mask, a, x, y),
                {"a": (a, _ints(rng, (nnz, bs, bs), -3, 4)), "x": (x, _ints(rng, (vectors, cols * bs), -3, 4))},
                {"y": y}, dict(tiles=tiles, mask=mask, bs=bs, vectors=vectors), {"mask": mask})


CASES = {1: case_map, 2: case_zip, 3: case_broadcast, 4: case_halo, 5: case_rotate, 6: case_tile_sum,
         7: case_tiles_sum, 8: case_all_reduce, 9: case_transpose, 10: case_scan, 11: case_gather,
         12: case_matmul, 13: case_rows, 14: case_block_rows}


def make_case(puzzle: int, **kwargs) -> Case:
    """The case of ``puzzle`` (1-14); with no keywords, the fixed one the notebook shows."""
    if puzzle not in CASES:
        raise ValueError(f"there is no puzzle {puzzle}: the puzzles are numbered 1 to {len(CASES)}")
    case = CASES[puzzle](**kwargs)
    case.base_sram = case.graph.memory_report().peak_bytes
    return case


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


# --- the puzzles, their target pictures, and showing a puzzle in the notebook ---------------------
@dataclass(frozen=True)
class Puzzle:
    number: int
    function: str        # its name in exercises/ex11_puzzles.py
    title: str


PUZZLES = {p.number: p for p in (
    Puzzle(1, "map_add_ten", "Map"), Puzzle(2, "zip_add", "Zip"), Puzzle(3, "broadcast_add", "Broadcast"),
    Puzzle(4, "halo_sum", "Halo"), Puzzle(5, "rotate", "Rotate"), Puzzle(6, "tile_sum", "Sum on a tile"),
    Puzzle(7, "tiles_sum", "Sum across tiles"), Puzzle(8, "all_reduce_sum", "All-reduce"),
    Puzzle(9, "transpose_blocks", "Transpose"), Puzzle(10, "prefix_sum", "Prefix sum"),
    Puzzle(11, "gather_by_index", "Gather by index"), Puzzle(12, "matmul_blocks", "A matmul block"),
    Puzzle(13, "balance_rows", "Six workers, uneven rows"),
    Puzzle(14, "balance_block_rows", "Block-sparse rows over tiles"))}
MODULE = "ex11_puzzles"
TARGETS = "notebooks/11_ipu_puzzles.targets.json"


def trace_of(case: Case, result: Result) -> dict:
    """The picture data of a run of ``case`` (see :func:`ipukit.viz.puzzles.puzzle_trace`)."""
    from ipukit.viz.puzzles import puzzle_trace
    return puzzle_trace(result.engine, case.shown, result.costs)


def picture(case: Case, result: Result, title: str = ""):
    """The picture of one run of ``case`` alone (a matplotlib Figure)."""
    from ipukit.viz.puzzles import plot_run
    return plot_run(trace_of(case, result), title, {lim.name: lim.value for lim in budget(case)})


def _targets_path():
    from pathlib import Path

    from ipukit.exercise import repo_root
    return Path(repo_root()) / TARGETS


def record_targets(module, path=None) -> dict:
    """Run every puzzle's fixed case with ``module`` (the solutions) and write the target pictures as JSON."""
    import json
    traces = {}
    for number, puzzle in PUZZLES.items():
        case = make_case(number)
        traces[str(number)] = trace_of(case, run(case, getattr(module, puzzle.function)))
    path = path or _targets_path()
    lines = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in traces.items())
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + lines + "\n}\n")
    return traces


def load_targets(path=None) -> dict:
    """The target picture of every puzzle, recorded from a reference run of the model solutions."""
    import json
    with open(path or _targets_path(), encoding="utf-8") as f:
        return json.load(f)


def compare(expected, got, case: Case) -> str:
    """"" when ``got`` equals ``expected``, else what differs first, naming the case."""
    name = next(iter(case.outputs))
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        return f"for case '{case.label}': expected {name} of shape {expected.shape}, got shape {got.shape}"
    wrong = np.argwhere(~np.isclose(got, expected, rtol=1e-6, atol=1e-6))
    if len(wrong) == 0:
        return ""
    at = tuple(int(i) for i in wrong[0])
    where = ", ".join(map(str, at))
    return (f"for case '{case.label}': expected {name}[{where}] = {expected[at]:g}, got {got[at]:g} "
            f"({len(wrong)} of {got.size} elements differ)")


def show(number: int, spec=None, target=None):
    """Puzzle ``number``: the target picture next to yours, whether yours matches ``spec``, and the costs.

    ``spec(**input values, **extras)`` is the NumPy statement of the puzzle; your
    function comes from ``exercises/ex11_puzzles.py`` (``IPUKIT_TARGET`` or
    ``target`` may point elsewhere), loaded afresh, so save the file and run again.
    """
    from ipukit.exercise import load
    from ipukit.viz.puzzles import plot_puzzle
    puzzle = PUZZLES[number]
    case = make_case(number)
    limits = budget(case)
    target_trace = load_targets().get(str(number))
    verdict, yours = "", None
    try:
        fn = getattr(load(MODULE, target), puzzle.function)
        result = run(case, fn)
    except NotImplementedError as e:
        yours = f"not written yet:\n{_clip(str(e))}"
        verdict = f"· not written yet: {e}"
    except Exception as e:                            # shown, not raised: the picture of the target still helps
        yours = f"your function raised {type(e).__name__}:\n{_clip(str(e))}"
        verdict = f"✗ your function raised {type(e).__name__}: {e}"
    else:
        yours = trace_of(case, result)
        if spec is not None:
            out = next(iter(result.outputs.values()))
            wrong = compare(spec(**case.values, **case.extras), out, case)
            verdict = f"✗ {wrong}" if wrong else "✓ your output matches the spec"
    fig = plot_puzzle(target_trace, yours, f"Puzzle {number} · {puzzle.title}  ({case.label})",
                      {lim.name: lim.value for lim in limits})
    table = cost_table(target_trace, yours if isinstance(yours, dict) else None, limits)
    _display(fig, verdict, table)


def _clip(text: str, width: int = 70, lines: int = 6) -> str:
    import textwrap
    out = []
    for para in text.splitlines():
        out += textwrap.wrap(para, width) or [""]
    return "\n".join(out[:lines] + (["…"] if len(out) > lines else []))


def cost_table(target: dict | None, yours: dict | None, limits) -> list:
    """Rows ``(cost, target's, budget, yours, over?)`` for every cost."""
    limit = {lim.name: lim for lim in limits}
    rows = []
    for name, unit in COSTS:
        t = (target or {}).get("costs", {}).get(name)
        y = (yours or {}).get("costs", {}).get(name)
        lim = limit.get(name)
        over = lim is not None and y is not None and y > lim.value
        rows.append((name, unit, t, lim, y, over))
    return rows


def _fmt(value, unit) -> str:
    return "" if value is None else f"{value:,}" + (f" {unit}" if unit else "")


def _display(fig, verdict: str, table: list) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
        print(verdict)
        print(f"  {'cost':<16}{'target':>12}{'budget':>12}{'yours':>12}")
        for name, unit, t, lim, y, over in table:
            print(f"  {name:<16}{_fmt(t, unit):>12}{_fmt(lim.value if lim else None, unit):>12}"
                  f"{_fmt(y, unit):>12}{'  OVER' if over else ''}")
        return
    import html
    display(fig)
    head = ('<table style="font-size:12px;margin:2px 0"><tr><th style="text-align:left">cost</th><th>target</th>'
            '<th>budget</th><th>yours</th><th style="text-align:left">budget: where it comes from</th></tr>')
    body = "".join(
        f'<tr><td style="text-align:left">{name}</td><td>{_fmt(t, unit)}</td>'
        f'<td>{_fmt(lim.value, unit) if lim else "(shown)"}</td>'
        f'<td style="color:{"#D55E00" if over else "inherit"}">{_fmt(y, unit)}{" ✗ over" if over else ""}</td>'
        f'<td style="text-align:left;color:#555">{html.escape(lim.why) if lim else ""}</td></tr>'
        for name, unit, t, lim, y, over in table)
    colour = {"✓": "#009E73", "·": "#777777"}.get(verdict[:1], "#D55E00")
    line = f'<div style="color:{colour};font-weight:bold">{html.escape(verdict)}</div>' if verdict else ""
    display(HTML(line + head + body + "</table>"))
