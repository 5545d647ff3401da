import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import ipukit

# The first numba compile can take seconds: no per-example deadline.
settings.register_profile("ipukit", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ipukit")
os.environ.setdefault("IPUKIT_QUIET", "1")

BACKENDS = ("reference", "numba")


@pytest.fixture
def spec():
    """A teaching-size GC2: 8 tiles of 256 KiB."""
    return ipukit.GC2.replace(tiles=8)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def committed_stubs(tmp_path_factory):
    """The exercise stubs as committed (not a learner's half-done exercises/)."""
    from helpers import pristine_exercises
    return pristine_exercises(tmp_path_factory.mktemp("stubs"))
