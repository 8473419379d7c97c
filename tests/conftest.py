"""Shared pytest fixtures. The lab fixtures (real sshd nodes) come first;
other areas append their own fixtures below."""
from __future__ import annotations

import os

import pytest

from tests.lab import Lab, lab_prerequisites_missing, reset_node  # noqa: F401 (re-export)

_LAB_KW = ("subnet", "port", "install_seconds")


def require_lab() -> None:
    """Skip without the lab's prerequisites; in CI that is a failure instead."""
    reason = lab_prerequisites_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"lab prerequisites missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def lab_factory(tmp_path):
    """make(count, subnet=, port=, install_seconds=, names=, init=) -> (Lab, nodes).

    Each call makes a new lab (own subnet and folder); all stop at teardown.
    """
    require_lab()
    labs: list[Lab] = []

    def make(count: int, **kw):
        lab = Lab(tmp_path / f"lab{len(labs) + 1}", **{k: kw.pop(k) for k in _LAB_KW if k in kw})
        labs.append(lab)
        return lab, lab.start(count, **kw)

    yield make
    for lab in labs:
        lab.stop()


@pytest.fixture(scope="session")
def lab5(tmp_path_factory):
    """A started lab of 5 systemd nodes n1..n5, shared by the SSH tests.

    Tests that need clean nodes call reset_node(node) first.
    """
    require_lab()
    lab = Lab(tmp_path_factory.mktemp("lab5"))
    try:
        lab.start(5)
        yield lab
    finally:
        lab.stop()
