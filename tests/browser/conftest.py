"""A real JupyterLab server, started as ``kit.py lab`` starts it, and a real Chromium.

The server serves a *copy* of the course with the exercise stubs as committed,
so a browser test can edit exercises and save notebooks without touching the
repository or a learner's work.
"""
import os

import pytest
from driver import open_browser
from helpers import course_copy
from lab_server import chromium_path, serve


@pytest.fixture(scope="session")
def browser_executable():
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (kit.py test installs it with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI the browser test must run")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    """A copy of the course for the server to serve (README, notebooks, pristine exercises...)."""
    return course_copy(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory, course):
    with serve(tmp_path_factory.mktemp("jupyterlab"), course) as server:
        yield server


@pytest.fixture
def lab(jupyterlab, browser_executable, tmp_path):
    """A fresh Chromium page on the server; evidence of a failed step goes under ``tmp_path``."""
    with open_browser(jupyterlab, browser_executable, tmp_path) as page:
        yield page
