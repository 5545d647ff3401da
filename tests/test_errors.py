"""Every error the emulator promises: raised, of the right class, and saying what and where."""
import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, RepeatWhileTrue, Sequence
from ipukit import codelets as C
from ipukit.errors import (CodeletError, CopyOverlapError, HostTransferError, HostValueError, IPUError,
                           MappingError, ProgramError, StepBudgetError, TileMemoryError, VertexFieldError,
                           WriteConflictError)


def test_all_errors_are_ipu_errors():
    for cls in (CodeletError, CopyOverlapError, HostTransferError, HostValueError, MappingError, ProgramError,
                StepBudgetError, TileMemoryError, VertexFieldError, WriteConflictError):
        assert issubclass(cls, IPUError)


def test_unmapped_tensor(spec):
    g = ipukit.Graph(spec)
    g.add_variable((4, 4), name="weights")
    cs = g.add_compute_set()
    with pytest.raises(MappingError, match=r"'weights' \(4, 4\) is not mapped.*map_linearly"):
        Engine(g, Execute(cs))


def test_partly_mapped_tensor_names_the_first_unmapped_element(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable((4, 4), name="w")
    g.set_tile_mapping(x[:2], 0)
    g.set_tile_mapping(x[3], 1)
    with pytest.raises(MappingError, match=r"partly mapped: 4 of 16 elements .* 'w'\[2, 0\]"):
        Engine(g, Sequence())


@pytest.mark.parametrize("tile", [8, -1, 10_000])
def test_tile_out_of_range(spec, tile):
    g = ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    with pytest.raises(MappingError, match=rf"tile {tile} is out of range.*8 tiles \(0 to 7\)"):
        g.set_tile_mapping(x, tile)
    g.set_tile_mapping(x, 0)
    with pytest.raises(MappingError, match=rf"tile {tile} is out of range"):
        g.add_vertex(g.add_compute_set(), C.fill, tile=tile, out=x, value=0.0)


def test_tile_out_of_memory_names_tile_tensors_and_bytes(spec):
    g = ipukit.Graph(spec)
    big = g.add_variable(60_000, name="big")          # 240,000 B
    more = g.add_variable(10_000, name="more")        # 40,000 B
    g.set_tile_mapping(big, 3)
    g.set_tile_mapping(more, 3)
    with pytest.raises(TileMemoryError) as info:
        Engine(g, Sequence())
    msg = str(info.value)
    assert "tile 3 needs 280,000 B but has 262,144 B" in msg
    assert "17,856 B too many" in msg
    assert "'big' 240,000 B" in msg and "'more' 40,000 B" in msg
    assert info.value.report.over_tiles.tolist() == [3]


def test_exchange_buffers_count_against_memory(spec):
    """Data fits, but the buffer to receive a remote field does not."""
    g = ipukit.Graph(spec)
    x = g.add_variable(40_000, name="x")
    y = g.add_variable(40_000, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 1)
    cs = g.add_compute_set()
    g.add_vertex(cs, C.add, tile=0, a=x, b=y, out=x)   # y (160 kB) must be buffered on tile 0
    with pytest.raises(TileMemoryError, match="exchange buffers 160,000 B"):
        Engine(g, Execute(cs))


@pytest.mark.parametrize("fields, pattern", [
    (dict(a="A", b="B", out="O"), r"field 'b' has n = 5 .* but field 'a' has n = 4"),
    (dict(a="A", b="A", out="I"), r"field 'out' \('i'\) is int32 but field 'a' is float32"),
    (dict(a="A", b="A"), r"missing 'out'"),
    (dict(a="A", b="A", out="O", extra=1), r"unknown 'extra'"),
    (dict(a="A", b="A", out=2.0), r"field 'out' is an output and needs a tensor"),
    (dict(a="M", b="M", out="M"), r"field 'a' must be 1-D"),
])
def test_vertex_field_mismatch(spec, fields, pattern):
    g = ipukit.Graph(spec)
    tensors = {"A": g.add_variable(4, name="a4"), "B": g.add_variable(5, name="b5"),
               "O": g.add_variable(4, name="o4"), "I": g.add_variable(4, "int32", name="i"),
               "M": g.add_variable((2, 2), name="m")}
    values = {k: tensors[v] if isinstance(v, str) else v for k, v in fields.items()}
    with pytest.raises(VertexFieldError, match=pattern):
        g.add_vertex(g.add_compute_set("cs"), C.add, tile=2, **values)


def test_fixed_dtype_field_and_scalar_misuse(spec):
    g = ipukit.Graph(spec)
    a = g.add_variable((2, 3), "float16", name="a")
    b = g.add_variable((3, 2), name="b")
    cs = g.add_compute_set()
    with pytest.raises(VertexFieldError, match="field 'a' must be float32, but 'a' is float16"):
        g.add_vertex(cs, C.matmul_partial, tile=0, a=a, b=b, out=g.add_variable((2, 2)))
    with pytest.raises(VertexFieldError, match="'factor' is a scalar parameter"):
        g.add_vertex(cs, C.scale, tile=0, a=b.flatten(), out=b.flatten(), factor=b)
    with pytest.raises(VertexFieldError, match="not a codelet"):
        g.add_vertex(cs, lambda a: None, tile=0, a=b)


def test_codelet_writing_its_input_is_refused_when_defined():
    with pytest.raises(VertexFieldError, match="writes to its input field 'a'"):
        @ipukit.codelet(inputs=("a",), outputs=("b",))
        def bad(a, b):
            a[0] = 1


def test_two_vertices_writing_one_element(spec):
    g = ipukit.Graph(spec)
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    cs = g.add_compute_set("cs")
    g.add_vertex(cs, C.copy, tile=0, a=x[:4], out=y[:4])
    g.add_vertex(cs, C.copy, tile=1, a=x[4:], out=y[3:7])
    with pytest.raises(WriteConflictError, match=r"copy#0 .*tile 0.* and vertex copy#1 .*tile 1.* both write 'y'\[3\]"):
        Engine(g, Execute(cs))


def test_reading_what_another_vertex_writes(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(8, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("cs")
    g.add_vertex(cs, C.copy, tile=0, a=x[:4], out=x[4:])
    g.add_vertex(cs, C.copy, tile=1, a=x[4:], out=x[:4])
    with pytest.raises(WriteConflictError, match=r"copy#0 .*reads 'x'\[0\] .* which vertex copy#1"):
        Engine(g, Execute(cs))


def test_one_vertex_may_read_and_write_the_same_elements(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(8, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("cs")
    g.add_vertex(cs, C.add, tile=0, a=x, b=x, out=x)
    Engine(g, Execute(cs))       # no error


def test_overlapping_copy(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(8, name="x")
    g.map_linearly(x)
    with pytest.raises(CopyOverlapError, match=r"share elements, e.g. 'x'\[2\]"):
        Engine(g, Copy(x[:4], x[2:6]))


def test_write_with_wrong_dtype_or_shape(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable((2, 3), name="x")
    g.map_linearly(x)
    eng = Engine(g, Sequence())
    with pytest.raises(HostTransferError, match=r"'x' is float32 but the array is float64; convert it with \.astype"):
        eng.write(x, np.zeros((2, 3)))
    with pytest.raises(HostTransferError, match=r"shape \(2, 3\) but the array has shape \(3, 2\)"):
        eng.write(x, np.zeros((3, 2), np.float32))
    eng.write(x, [[1, 2, 3], [4, 5, 6]])       # lists are converted when no value changes
    with pytest.raises(HostValueError, match=r"1e\+40 at \[0, 0\] is too large for float32"):
        eng.write(x, [[1e40, 2, 3], [4, 5, 6]])


def make_constant(g, values, dtype):
    return g.add_constant(values, dtype=dtype, name="k")


def write_variable(g, values, dtype):
    x = g.add_variable(np.shape(values), dtype, name="k")
    g.map_linearly(x)
    Engine(g, Sequence()).write(x, values)


@pytest.mark.parametrize("put", [make_constant, write_variable])
@pytest.mark.parametrize("values, dtype, pattern", [
    ([0.1, 0.5], "int32", r"0.1 at \[0\] is not a whole number.*Make the tensor float32"),
    ([3, 150000], "int16", r"150000 at \[1\] does not fit in int16 \(-32768 to 32767\).*Make the tensor int32"),
    ([[0, -1]], "uint8", r"-1 at \[0, 1\] does not fit in uint8"),
    ([1.0, 70000.0], "float16", r"70000.0 at \[1\] is too large for float16.*Make the tensor float32"),
    ([0, 2], "bool", r"2 at \[1\] is neither 0 nor 1"),
])
def test_one_rule_for_host_values(spec, put, values, dtype, pattern):
    """engine.write and add_constant refuse the same conversions: none may change a value."""
    with pytest.raises(HostValueError, match=pattern):
        put(ipukit.Graph(spec), values, dtype)


@pytest.mark.parametrize("put", [make_constant, write_variable])
def test_host_values_that_keep_their_value_are_converted(spec, put):
    put(ipukit.Graph(spec), [1.0, -2.0], "int8")
    put(ipukit.Graph(spec), [0.1, 1e30], "float32")        # floats round to the nearest float32
    put(ipukit.Graph(spec), [True, 0], "bool")


def test_astype_hint_only_when_every_value_fits(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(3, "int16", name="x")
    g.map_linearly(x)
    eng = Engine(g, Sequence())
    with pytest.raises(HostTransferError, match=r"'x' is int16 but the array is int64; convert it with "
                                                r"\.astype\(np\.int16\)$"):
        eng.write(x, np.array([1, -2, 300]))
    with pytest.raises(HostTransferError) as info:
        eng.write(x, np.array([1, 150000, 3]))
    msg = str(info.value)
    assert "convert it with" not in msg
    assert "150000 at [1] does not fit in int16" in msg and 'Make the tensor int32' in msg


def test_writing_a_constant_or_a_foreign_tensor(spec):
    g, other = ipukit.Graph(spec), ipukit.Graph(spec)
    c = g.add_constant([1.0, 2.0], name="c")
    g.map_linearly(c)
    z = other.add_variable(2, name="z")
    eng = Engine(g, Sequence())
    with pytest.raises(HostTransferError, match="'c' is a constant"):
        eng.write(c, np.zeros(2, np.float32))
    with pytest.raises(HostTransferError, match="belongs to another graph"):
        eng.read(z)


def test_a_host_write_may_not_pass_through_a_constant(spec, backend):
    """concat([x, c, y]) is one run of ids: every element is checked, not just the ends."""
    g = ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    c = g.add_constant([7.0, 8.0], name="c")
    y = g.add_variable(4, name="y")
    for t in (x, c, y):
        g.map_linearly(t)
    eng = Engine(g, Sequence(), backend=backend)
    with pytest.raises(HostTransferError, match=r"'c' is a constant \(tensor .* covers 'c'\[0\]\).*add_variable"):
        eng.write(ipukit.concat([x, c, y]), np.zeros(10, np.float32))
    with pytest.raises(HostTransferError, match=r"covers 'c'\[1\]"):
        eng.write(ipukit.concat([x, c[1:], y]), np.zeros(9, np.float32))
    np.testing.assert_array_equal(eng.read(c), [7.0, 8.0])
    eng.write(ipukit.concat([x, y]), np.ones(8, np.float32))      # around the constant is fine
    np.testing.assert_array_equal(eng.read(c), [7.0, 8.0])


def test_no_program_writes_through_a_constant(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    c = g.add_constant([7.0, 8.0], name="c")
    y = g.add_variable(4, name="y")
    src = g.add_variable(10, name="src")
    for t in (x, c, y, src):
        g.set_tile_mapping(t, 0)
    through = ipukit.concat([x, c, y])
    with pytest.raises(ProgramError, match=r"destination is constant 'c'\[0\]"):
        Engine(g, Copy(src, through))
    cs = g.add_compute_set("fill")
    g.add_vertex(cs, C.fill, tile=0, out=through, value=1.0)
    with pytest.raises(VertexFieldError, match=r"writes to constant 'c'\[0\]"):
        Engine(g, Execute(cs))
    feed = g.add_host_stream("feed", 10)
    with pytest.raises(ProgramError, match=r"Copy\('feed' -> .*destination is constant 'c'\[0\]"):
        Engine(g, Copy(feed, through))


def test_stream_misuse(spec):
    g = ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    g.map_linearly(x)
    s = g.add_host_stream("feed", 4)
    eng = Engine(g, Copy(s, x))
    with pytest.raises(HostTransferError, match=r"stream 'feed' is not connected; call engine.connect_stream"):
        eng.run()
    with pytest.raises(HostTransferError, match="multiple of 4; got 6"):
        eng.connect_stream("feed", np.zeros(6, np.float32))
    with pytest.raises(HostTransferError, match="carries float32, got int32"):
        eng.connect_stream("feed", np.zeros(4, np.int32))
    with pytest.raises(HostTransferError, match="no stream named 'food'"):
        eng.connect_stream("food", np.zeros(4, np.float32))
    with pytest.raises(ProgramError, match="goes to device"):
        Engine(g, Copy(x, s))


def test_step_budget_stops_a_runaway_loop(spec):
    g = ipukit.Graph(spec)
    go = g.add_variable(1, "int32", name="go")
    g.set_tile_mapping(go, 0)
    cs = g.add_compute_set("spin")
    g.add_vertex(cs, C.fill, tile=0, out=go, value=1)
    eng = Engine(g, RepeatWhileTrue(Execute(cs), go, Execute(cs)), max_steps=500)
    with pytest.raises(StepBudgetError, match=r"max_steps=500 .*predicate never becomes false"):
        eng.run()
    assert eng.profile.num_supersteps > 0      # the profile of the stopped run is kept


def test_codelet_raising_is_wrapped_with_vertex_and_tile(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"}, cycles=5)
    def picky(a, out):
        for i in range(a.size):
            if a[i] < 0:
                raise ValueError("negative input")
            out[i] = a[i]

    g = ipukit.Graph(spec)
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    cs = g.add_compute_set("check")
    for t in range(4):
        g.add_vertex(cs, picky, tile=t, a=x[2 * t:2 * t + 2], out=y[2 * t:2 * t + 2])
    eng = Engine(g, Execute(cs), backend=backend)
    eng.write(x, np.array([1, 2, 3, 4, 5, -6, 7, 8], np.float32))
    with pytest.raises(CodeletError, match=r"vertex picky#2 \(compute set 'check', tile 2\).*negative input"):
        eng.run()


def test_out_of_bounds_index_in_a_codelet_raises(spec, backend):
    @ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"}, cycles=5)
    def off_by_one(a, out):
        for i in range(a.size + 1):
            out[i] = a[i]

    g = ipukit.Graph(spec)
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 0)
    cs = g.add_compute_set("c")
    g.add_vertex(cs, off_by_one, tile=0, a=x[:4], out=y[:4])
    with pytest.raises(CodeletError, match=r"off_by_one#0 .*IndexError"):
        Engine(g, Execute(cs), backend=backend).run()


def test_codelet_numba_cannot_compile(spec):
    @ipukit.codelet(inputs=("a",), outputs=("out",))
    def uses_a_dict(a, out):
        d = {"x": object()}  # noqa: F841  (a dict: what numba cannot compile)
        out[0] = a[0]

    g = ipukit.Graph(spec)
    x = g.add_variable(2, name="x")
    g.set_tile_mapping(x, 0)
    cs = g.add_compute_set()
    g.add_vertex(cs, uses_a_dict, tile=0, a=x[:1], out=x[1:])
    with pytest.raises(CodeletError, match="does not compile with numba"):
        Engine(g, Execute(cs), backend="numba")


def test_bad_programs(spec):
    g, other = ipukit.Graph(spec), ipukit.Graph(spec)
    x = g.add_variable(4, name="x")
    g.map_linearly(x)
    with pytest.raises(ProgramError, match="not a compute set of this graph"):
        Engine(g, Execute(other.add_compute_set("elsewhere")))
    with pytest.raises(ProgramError, match="got int"):
        Engine(g, Sequence(Copy(x[:2], x[2:]), 3))
    with pytest.raises(ProgramError, match="predicate 'x' has 4 elements"):
        Engine(g, ipukit.If(x, Sequence()))
    with pytest.raises(ProgramError, match=r"shapes and dtypes must match"):
        Engine(g, Copy(x[:2], x[1:4]))


def test_no_64_bit_dtypes(spec):
    g = ipukit.Graph(spec)
    with pytest.raises(TypeError, match="no 64-bit arithmetic"):
        g.add_variable(4, "float64")


def test_constants_are_read_only_on_the_tiles_too(spec):
    g = ipukit.Graph(spec)
    c = g.add_constant(np.ones(4, np.float32), name="c")
    x = g.add_variable(4, name="x")
    g.set_tile_mapping(c, 0)
    g.set_tile_mapping(x, 1)
    cs = g.add_compute_set("overwrite")
    g.add_vertex(cs, C.fill, tile=0, out=c[1:], value=5.0)
    with pytest.raises(VertexFieldError, match=r"field 'out' writes to constant 'c'\[1\]"):
        Engine(g, Execute(cs))
    with pytest.raises(ProgramError, match=r"destination is constant 'c'\[0\]"):
        Engine(g, Copy(x, c))
    Engine(g, Copy(c, x))                      # reading a constant is fine
