"""Both backends against the element-by-element oracle (tests/oracle.py), on generated programs.

The oracle shares no code with the compiler or the executors: if the
reference path (the definition) and the numba path (the fast one) both equal
it on random mappings, vertex splits, copies and loops, neither has invented
its own semantics.
"""
import numpy as np
from hypothesis import given, strategies as st

import ipukit
from ipukit import Copy, Execute, Repeat, Sequence
from ipukit import codelets as C

from oracle import Oracle

SPEC = ipukit.GC2.replace(tiles=6)
BINARY = (C.add, C.sub, C.mul)
UNARY = (C.relu, C.copy, C.scale)
NAMES = ("x", "y", "z")


def random_mapping(draw, g, t):
    """Each element on a random tile, in a few contiguous runs (or the linear map)."""
    if draw(st.booleans()):
        g.map_linearly(t, grain_size=draw(st.integers(1, 4)))
        return
    cuts = sorted(set(draw(st.lists(st.integers(1, t.size - 1), max_size=4)))) if t.size > 1 else []
    bounds = [0, *cuts, t.size]
    mapping = [[] for _ in range(SPEC.tiles)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        mapping[draw(st.integers(0, SPEC.tiles - 1))].append((lo, hi))
    g.set_tile_mapping(t, mapping)


def compute_step(draw, g, tensors, n):
    """A compute set of one elementwise codelet, its vertices over random slices on random tiles."""
    codelet = draw(st.sampled_from(BINARY + UNARY))
    ins = draw(st.permutations(NAMES))
    out, sources = ins[0], ins[1:1 + (2 if codelet in BINARY else 1)]
    cs = g.add_compute_set(codelet.name)
    cuts = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=3)))) if n > 1 else []
    bounds = [0, *cuts, n]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        fields = dict(zip(("a", "b"), (tensors[s][lo:hi] for s in sources)))
        scalars = {"factor": draw(st.sampled_from([0.5, -2.0, 3.0]))} if codelet is C.scale else {}
        g.add_vertex(cs, codelet, tile=draw(st.integers(0, SPEC.tiles - 1)), out=tensors[out][lo:hi],
                     **fields, **scalars)
    return Execute(cs)


def copy_step(draw, tensors, n):
    src, dst = draw(st.permutations(NAMES))[:2]
    length = draw(st.integers(1, n))
    a, b = draw(st.integers(0, n - length)), draw(st.integers(0, n - length))
    return Copy(tensors[src][a:a + length], tensors[dst][b:b + length])


@given(data=st.data())
def test_both_backends_equal_the_oracle(data):
    draw = data.draw
    n = draw(st.integers(1, 40), label="n")
    g = ipukit.Graph(SPEC)
    tensors = {name: g.add_variable(n, name=name) for name in NAMES}
    for t in tensors.values():
        random_mapping(draw, g, t)
    steps = []
    for _ in range(draw(st.integers(1, 4), label="steps")):
        kind = draw(st.sampled_from(["compute", "copy", "repeat"]))
        if kind == "copy":
            steps.append(copy_step(draw, tensors, n))
        else:
            step = compute_step(draw, g, tensors, n)
            steps.append(Repeat(draw(st.integers(1, 3)), step) if kind == "repeat" else step)
    program = Sequence(*steps)

    rng = np.random.default_rng(draw(st.integers(0, 2**31), label="seed"))
    start = {name: rng.standard_normal(n).astype(np.float32) for name in NAMES}
    oracle = Oracle(max(int(t.ids.max()) for t in tensors.values()) + 1)
    for name, t in tensors.items():
        oracle.write(t, start[name])
    oracle.run(program)
    for backend in ("reference", "numba"):
        engine = ipukit.Engine(g, program, backend=backend)
        for name, t in tensors.items():
            engine.write(t, start[name])
        engine.run()
        for name, t in tensors.items():
            np.testing.assert_array_equal(engine.read(t), oracle.read(t), err_msg=f"{backend}: tensor {name}")
