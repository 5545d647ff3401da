"""The puzzles' cases: the teaching machine, what a case holds, and how each puzzle's case is built."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ipukit.core.graph import Graph
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


