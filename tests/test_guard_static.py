"""Which learner codelets skip the input check: only those whose source shows that no input can be
written (every input read one element at a time or measured); any view, alias or call keeps it."""
from types import SimpleNamespace

import numpy as np
import pytest

import ipukit
from ipukit.run.guard import needs_guard

VEC = {"a": "float32[n]", "b": "float32[n]"}
MAT = {"a": "float32[n, m]", "b": "float32[n]"}
OUT = {"out": "float32[n]"}


def judged(fn, inputs=VEC, ndims=(1, 1, 1)):
    codelet = ipukit.Codelet(fn, inputs=inputs, outputs=OUT)
    return needs_guard(SimpleNamespace(codelet=codelet, ndims=ndims))


def elementwise(a, b, out):
    for i in range(out.size):
        out[i] = a[i] + b[i] * 2


def measured(a, b, out):
    n = len(a)
    if a.shape[0] == n and b.ndim == 1:
        out[0] = a[n - 1] + b[-1]


def gathered(a, b, out):
    for i in range(out.size):
        out[i] = a[int(b[i])]


def matrix_rows(a, b, out):
    for i in range(out.size):
        for j in range(a.shape[1]):
            out[i] += a[i, j] * b[j]


def aliased(a, b, out):
    c = a
    out[0] = c[0]


def sliced(a, b, out):
    out[:2] = a[0:2]


def passed_on(a, b, out):
    np.add(a, b, out)


def transposed(a, b, out):
    out[0] = a.T[0]


def new_axis(a, b, out):
    out[0] = a[None][0, 0]


def slice_object(a, b, out):
    s = slice(0, 2)
    out[0] = a[s][0]


def walked(a, b, out):
    for x in a:
        out[0] += x


def row_of_matrix(a, b, out):
    out[0] = a[0][0]


@pytest.mark.parametrize("fn", [elementwise, measured, gathered])
def test_element_reads_skip_the_check(fn):
    assert not judged(fn)


def test_a_matrix_read_element_by_element_skips_the_check():
    assert not judged(matrix_rows, MAT, (2, 1, 1))


@pytest.mark.parametrize("fn", [aliased, sliced, passed_on, transposed, new_axis, slice_object, walked])
def test_a_view_an_alias_or_a_call_keeps_the_check(fn):
    assert judged(fn)


def test_a_row_of_a_matrix_is_a_view_and_keeps_the_check():
    assert judged(row_of_matrix, MAT, (2, 1, 1))
