"""The fast tier: pure tests. A test here that starts a process fails (``no_processes``): it belongs in ``tests/``."""

import _posixsubprocess
import os
import subprocess

import pytest


@pytest.fixture(scope="package", autouse=True)
def no_processes():
    """subprocess, multiprocessing and os.fork refuse to start anything while this tier's tests and fixtures run."""

    def refused(*args, **kwargs):
        raise AssertionError("a test of tests/unit started a process: it belongs in tests/ (the slow tier)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_posixsubprocess, "fork_exec", refused)  # multiprocessing's spawn
        patch.setattr(subprocess, "_fork_exec", refused)  # bound when subprocess was imported
        patch.setattr(os, "fork", refused)
        patch.setattr(os, "posix_spawn", refused)
        patch.setattr(os, "posix_spawnp", refused)
        yield
