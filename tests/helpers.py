"""Small graph builders and course copies shared by the library tests."""
import importlib.util
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

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


# --- copies of the course ------------------------------------------------------------
COURSE_ROOT = Path(__file__).resolve().parents[1]
_NOT_COURSE = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", ".ipynb_checkpoints",
                                     ".pytest_cache", ".hypothesis", "build", "*.egg-info")


def pristine_exercises(dest: Path, root: Path = COURSE_ROOT) -> Path:
    """The exercise stubs as committed (git HEAD), written to ``dest/exercises``.

    Tests that need untouched stubs grade this copy, so a learner's half-done
    ``exercises/`` never turns the suite red.  A stub that git does not know
    yet (a new exercise) comes from the working tree; outside a git checkout
    every stub does.
    """
    target = Path(dest) / "exercises"
    shutil.copytree(root / "exercises", target, ignore=_NOT_COURSE, dirs_exist_ok=True)
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", "HEAD", "exercises"],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return target
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}   # Python >= 3.11.4
        tar.extractall(dest, **safe)
    return target


def load_kit():
    """The course's kit.py as a module (it is a script at the repository root, not in a package)."""
    spec = importlib.util.spec_from_file_location("kit", COURSE_ROOT / "kit.py")
    kit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kit)
    return kit


def course_copy(dest: Path, root: Path = COURSE_ROOT) -> Path:
    """A copy of the course (README, notebooks, tests, solutions) with pristine exercise stubs."""
    dest = Path(dest)
    shutil.copytree(root, dest, ignore=_NOT_COURSE, dirs_exist_ok=True)
    shutil.rmtree(dest / "exercises")
    pristine_exercises(dest, root)
    return dest
