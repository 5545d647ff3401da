"""Small graph builders shared by the library tests."""
import numpy as np

import ipukit


def elementwise_graph(spec, codelet, n, chunks, mapping=None, **scalars):
    """``out = codelet(a[, b])`` over ``chunks`` vertices on consecutive tiles."""
    g = ipukit.Graph(spec)
    names = [f.name for f in codelet.fields if f.kind == "in"]
    ins = {name: g.add_variable(n, name=name) for name in names}
    out = g.add_variable(n, name="out")
    for t in (*ins.values(), out):
        if mapping is None:
            g.map_linearly(t)
        else:
            g.set_tile_mapping(t, mapping(t.name))
    cs = g.add_compute_set(codelet.name)
    bounds = np.linspace(0, n, chunks + 1).astype(int)
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        fields = {k: v[lo:hi] for k, v in ins.items()}
        g.add_vertex(cs, codelet, tile=i % g.num_tiles, out=out[lo:hi], **fields, **scalars)
    return g, ins, out, ipukit.Execute(cs)


def counter_loop(spec, limit):
    """A RepeatWhileTrue that counts i up to ``limit`` and adds i to a total each step."""

    @ipukit.codelet(inouts={"i": "int32[1]", "total": "int32[1]"}, outputs={"go": "int32[1]"},
                    cycles=12)
    def step(i, total, go, limit):
        i[0] += 1
        total[0] += i[0]
        go[0] = 1 if i[0] < limit else 0

    @ipukit.codelet(inputs={"i": "int32[1]"}, outputs={"go": "int32[1]"}, cycles=4)
    def check(i, go, limit):
        go[0] = 1 if i[0] < limit else 0

    g = ipukit.Graph(spec)
    i, total, go = (g.add_variable(1, "int32", name=n) for n in ("i", "total", "go"))
    for t in (i, total, go):
        g.set_tile_mapping(t, 0)
    body, cond = g.add_compute_set("body"), g.add_compute_set("cond")
    g.add_vertex(body, step, tile=0, i=i, total=total, go=go, limit=limit)
    g.add_vertex(cond, check, tile=0, i=i, go=go, limit=limit)
    prog = ipukit.RepeatWhileTrue(ipukit.Execute(cond), go, ipukit.Execute(body))
    return g, i, total, prog


def engine_pair(graph, program, **kwargs):
    return [ipukit.Engine(graph, program, backend=b, **kwargs) for b in ("reference", "numba")]


def write_all(engines, tensor, values):
    for e in engines:
        e.write(tensor, values)


def run_both(g, prog, inputs):
    """Run on both backends (requiring identical SRAM bytes); return the numba engine."""
    engines = []
    for backend in ("reference", "numba"):
        eng = ipukit.Engine(g, prog, backend=backend)
        for t, v in inputs.items():
            eng.write(t, v)
        eng.run()
        engines.append(eng)
    np.testing.assert_array_equal(engines[0].sram, engines[1].sram)
    return engines[1]
