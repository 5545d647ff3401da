"""ops.matmul(..., rearrange=True) from linearly mapped inputs: NumPy's result, one extra superstep
that moves only the elements whose tile changes, then the planned matmul's own exchange."""
import numpy as np
import pytest

import ipukit
from ipukit import ops

SPEC = ipukit.GC2.replace(tiles=16)


def build(m, k, n, linear=True, rearrange=True, batch=None):
    g = ipukit.Graph(SPEC)
    plan = ops.plan_matmul(SPEC, m, k, n, batch=batch or 1)
    if linear:
        shape_a, shape_b = ((batch,) if batch else ()) + (m, k), ((batch,) if batch else ()) + (k, n)
        a, b = g.add_variable(shape_a, name="A"), g.add_variable(shape_b, name="B")
        g.map_linearly(a)
        g.map_linearly(b)
    else:
        a, b = ops.create_matmul_inputs(g, m, k, n, plan=plan, batch=batch)
    c, prog = ops.matmul(g, a, b, plan=plan, rearrange=rearrange)
    return g, plan, (a, b, c), prog


def run(g, tensors, prog, backend, rng):
    a, b, c = tensors
    A, B = (rng.standard_normal(t.shape).astype(np.float32) for t in (a, b))
    eng = ipukit.Engine(g, prog, backend=backend)
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    return eng, A, B


@pytest.mark.parametrize("m, k, n, batch", [(48, 40, 36, None), (33, 70, 17, None), (10, 24, 12, 3)])
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_from_linear_layouts_equals_numpy_and_moves_only_what_changes_tile(m, k, n, batch, backend, rng):
    g, plan, tensors, prog = build(m, k, n, batch=batch)
    eng, A, B = run(g, tensors, prog, backend, rng)
    np.testing.assert_allclose(eng.read(tensors[2]), np.matmul(A.astype(np.float64), B), rtol=1e-5, atol=1e-5)

    # independently: the planned layout in a graph of its own; elements whose tile differs move once
    g2 = ipukit.Graph(SPEC)
    a2, b2 = ops.create_matmul_inputs(g2, m, k, n, plan=plan, batch=batch)
    moved = sum(int((g.element_tiles(t) != g2.element_tiles(p)).sum()) * 4
                for t, p in ((tensors[0], a2), (tensors[1], b2)))
    assert moved > 0
    _, _, planned_tensors, planned_prog = build(m, k, n, linear=False, rearrange=False, batch=batch)
    g3 = planned_tensors[0].graph
    planned, _, _ = run(g3, planned_tensors, planned_prog, backend, rng)
    assert eng.profile.exchange_bytes == moved + planned.profile.exchange_bytes
    assert eng.profile.num_supersteps == planned.profile.num_supersteps + 1


def test_inputs_already_planned_get_no_copy(rng):
    g, _, tensors, prog = build(48, 40, 36, linear=False, rearrange=True)
    eng, _, _ = run(g, tensors, prog, "numba", rng)
    g2, _, tensors2, prog2 = build(48, 40, 36, linear=False, rearrange=False)
    eng2, _, _ = run(g2, tensors2, prog2, "numba", rng)
    assert eng.profile.num_supersteps == eng2.profile.num_supersteps
    assert eng.profile.exchange_bytes == eng2.profile.exchange_bytes
