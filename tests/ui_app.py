"""The wizard built from fixture files, for the snapshot tests (tests/test_ui_snapshots.py).

pytest-textual-snapshot imports this file and takes the app named after the colon,
e.g. "ui_app.py:homelab". Building an app does not run it, so each is cheap.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from screens.app import build_app

FIXTURES = Path(__file__).parent / "ui_fixtures"


def finished_apply(answers, options, on_event):
    """A deterministic stand-in for the engine: every node connects, installs and is ready."""
    for node in answers.nodes:
        for phase, state, elapsed in (("connect", "running", 0.4), ("install k3s", "running", 3.0),
                                      ("wait until ready", "done", 21.5)):
            on_event(SimpleNamespace(node=node.name, phase=phase, state=state, message="", elapsed=elapsed))
    return SimpleNamespace(ok=True, failed=[], kubeconfig="./homelab.kubeconfig",
                           journal="~/.local/state/k3swiz/runs/homelab-1")


def compared_look(answers, name, access):
    """cp1's config was edited by hand; the other nodes hold what the plan writes."""
    from tests.test_ui_looks import CONFIG, rendered_now
    current = rendered_now(answers, name)
    if name == "cp1":
        current[CONFIG] = current[CONFIG].replace("node-name: cp1\n", "node-name: cp1\nnode-label: [x=y]\n")
    return SimpleNamespace(current=current)


def looks(**kwargs):
    from tests.test_ui_looks import fake_probe
    return build_app(FIXTURES / "homelab.k3swiz.yaml", probe_fn=fake_probe, look_fn=compared_look, **kwargs)


new = build_app(None)
homelab = build_app(FIXTURES / "homelab.k3swiz.yaml", apply_fn=finished_apply)
edge = build_app(FIXTURES / "journey_sqlite.k3swiz.yaml")
looked = looks()
managed = looks(offer_day2=True)   # the start screen: a complete, valid file
