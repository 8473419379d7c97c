"""Pilot tests of looking at nodes from the wizard, with injected probe/look functions:
"test connection" on the Nodes step and "compare with nodes" on the Review step."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from k3swiz.facts import NodeFacts, preflight
from k3swiz.render import render_node
from k3swiz.secrets import Secret
from k3swiz.ssh_errors import HostKeyUnknown, Unreachable
from screens.app import build_app
from tests.test_ui_behaviour import SIZE, copy_fixture
from tests.ui_keys import focus, goto, send, until

pytestmark = pytest.mark.timeout(60)
CONFIG = "/etc/rancher/k3s/config.yaml"


def node_of(answers, name):
    return next(n for n in answers.nodes if n.name == name)


def fake_probe(answers, name, access):
    """debian 12 everywhere; nginx holds 6443 on cp2; w2 is down. Pre-flight is the core's own."""
    if name == "w2":
        raise Unreachable("w2", "connection refused", "is sshd running and listening on port 22?",
                          where="192.168.1.21:22")
    facts = NodeFacts(os_id="debian", os_version="12", init="systemd", ipv4=["192.168.1.1"], ipv6=["2001:db8::1"],
                      k3s_version="v1.33.6+k3s1" if name == "cp1" else None,
                      ports_taken={6443: "nginx"} if name == "cp2" else {})
    return facts, preflight(answers, node_of(answers, name), facts)


def rendered_now(answers, name) -> dict[str, str | None]:
    """What a node holds after an apply of `answers`: the rendered files (token not read back)."""
    return {f.path: f.content.decode() for f in render_node(answers, node_of(answers, name), Secret("-"))
            if not f.secret}


def cell(app, row: str) -> str:
    return str(app.screen.query_one("#nodes").get_cell(row, "checked"))


def detail(app) -> str:
    return str(app.screen.query_one("#probe-result").render())


def run(coro):
    return asyncio.run(coro)


def test_test_all_shows_os_init_k3s_port_conflicts_and_the_unreachable_line(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path), probe_fn=fake_probe)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await send(pilot, "T")                               # test every node
            await until(pilot, lambda: len(app.state.ui.get("probes", {})) == 5, "every node tested", rounds=300)
            await until(pilot, lambda: not app.screen.testing, "table refreshed")
            assert cell(app, "cp1") == "✓ debian 12, systemd" and cell(app, "w1") == "✓ debian 12, systemd"
            assert cell(app, "cp2") == "✗ 1 problem(s)" and cell(app, "w2") == "✗ unreachable"
            await until(pilot, lambda: "cp1:" in detail(app), "cp1's detail under the table")
            assert "OS debian 12, init systemd, k3s v1.33.6+k3s1" in detail(app)
            assert "nothing here stops an apply" in detail(app)
            await send(pilot, "down")                            # cp2: the port conflict, from pre-flight
            await until(pilot, lambda: "cp2:" in detail(app), "cp2's detail")
            assert "ports in use by others: 6443 (nginx)" in detail(app)
            assert "port 6443 is already taken by nginx" in detail(app)
            await send(pilot, "down", "down", "down")            # w2: the SshError's own line
            await until(pilot, lambda: "w2 (192.168.1.21:22): connection refused" in detail(app), "w2's error")
    run(journey())


def test_test_connection_asks_about_an_unknown_host_key_in_the_modal(tmp_path):
    answers_seen: list = []

    def probe_asking(answers, name, access):
        unknown = HostKeyUnknown(name, "the host is not in known_hosts; it presents the key "
                                       "256 SHA256:UHJvYmVGaW5nZXJwcmludA (ED25519)", "check it")
        answers_seen.append(access.ask_host_key(unknown))   # from the probe's pool thread, as the core does
        if not answers_seen[-1]:
            raise unknown
        return fake_probe(answers, name, access)

    async def journey():
        app = build_app(copy_fixture(tmp_path), probe_fn=probe_asking)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await send(pilot, "t")                               # the selected node: cp1
            await until(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", "host key modal", rounds=300)
            assert "SHA256:UHJvYmVGaW5nZXJwcmludA" in str(app.screen.query_one("#fingerprint").render())
            await focus(pilot, "#accept")
            await send(pilot, "enter")
            await until(pilot, lambda: "cp1" in app.state.ui.get("probes", {}), "cp1 tested", rounds=300)
            assert answers_seen == [True] and app.state.ui["probes"]["cp1"].reached
            await until(pilot, lambda: "OS debian 12" in detail(app), "facts shown")
    run(journey())


def review_pane(app, name: str):
    tabs = app.screen.query_one("#review-tabs")
    index = [n.name for n in app.state.answers.nodes].index(name)
    return tabs.query_one(f"#node-{index}")


def file_titles(pane) -> list[str]:
    return [str(label.render()) for label in pane.query(".file-title")]


def test_review_compares_tested_nodes_at_once_and_all_nodes_on_c(tmp_path):
    looked: list[list[str]] = []

    def fake_look(answers, name, access):
        looked.append(name)
        if name == "w2":
            raise Unreachable("w2", "connection refused", "", where="192.168.1.21:22")
        current = rendered_now(answers, name)
        if name == "cp1":   # someone edited cp1's config by hand: the review shows it
            current[CONFIG] = current[CONFIG].replace("node-name: cp1\n", "node-name: cp1\nnode-label: [x=y]\n")
        if name == "w1":
            current[CONFIG] = None  # not written there yet
        return SimpleNamespace(current=current)

    async def journey():
        app = build_app(copy_fixture(tmp_path), probe_fn=fake_probe, look_fn=fake_look)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await send(pilot, "T")
            await until(pilot, lambda: len(app.state.ui.get("probes", {})) == 5, "tested", rounds=300)
            await goto(pilot, "review")                          # the 4 reached nodes are compared at once
            await until(pilot, lambda: app.screen.compared == 1, "compared", rounds=300)
            assert sorted(looked) == ["cp1", "cp2", "cp3", "w1"]
            cp1 = review_pane(app, "cp1")
            assert f"{CONFIG}  (mode 0600, changes)" in file_titles(cp1)
            assert "/etc/rancher/k3s/cluster-token  (mode 0600, holds a secret: never read back)" in file_titles(cp1)
            diffs = [view.text for view in cp1.query("CodeView") if view.lexer == "diff"]
            assert len(diffs) == 1 and "-node-label: [x=y]" in diffs[0] and "+node-name" not in diffs[0]
            assert f"{CONFIG}  (mode 0600, unchanged)" in file_titles(review_pane(app, "cp2"))
            assert f"{CONFIG}  (mode 0600, new file)" in file_titles(review_pane(app, "w1"))
            assert f"{CONFIG}  (mode 0600, not compared with the node)" in file_titles(review_pane(app, "w2"))
            await send(pilot, "c")                               # every node, w2 too
            await until(pilot, lambda: app.screen.compared == 2, "compared again", rounds=300)
            reasons = " ".join(str(s.render()) for s in review_pane(app, "w2").query(".reason"))
            assert "not compared: w2 (192.168.1.21:22): connection refused" in reasons
            status = str(app.screen.query_one("#compare-status").render())
            assert "compared with 4 node(s)" in status and "not reached: w2" in status
    run(journey())
