"""Whole wizard journeys driven by keys; each saves its answers, and the saved file must plan
exactly like a hand-written answers file for the same cluster (every node's steps.sh and files)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from k3swiz.answers import load_answers
from k3swiz.validate import validate_answers
from screens.app import build_app
from tests.ui_keys import FIXTURES, add_node, choose, fill, focus, next_step, plan_texts, until

SIZE = (100, 32)


async def save_as(pilot, path: Path) -> None:
    """ctrl+s, type the file name in the dialog, Enter."""
    await pilot.press("ctrl+s")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "SaveAsDialog", "save dialog")
    await fill(pilot, "#save-path", str(path))
    await pilot.press("enter")
    await until(pilot, path.exists, f"{path} written")


def assert_same_plan(saved: Path, expected_file: str, replace: dict[str, str] | None = None,
                     tmp_path: Path | None = None) -> None:
    loaded = load_answers(saved)
    assert not loaded.report.problems
    assert not validate_answers(loaded.answers).errors
    expected_path = FIXTURES / expected_file
    if replace:
        text = expected_path.read_text()
        for old, new in replace.items():
            text = text.replace(old, new)
        expected_path = tmp_path / expected_file
        expected_path.write_text(text)
    expected = load_answers(expected_path).answers
    got, want = plan_texts(loaded.answers), plan_texts(expected)
    assert list(got) == list(want)            # same nodes, same order
    for node in want:
        assert got[node][0] == want[node][0], f"steps.sh of {node} differs"
        assert got[node][1] == want[node][1], f"files of {node} differ"


@pytest.mark.timeout(60)
def test_new_ha_dual_stack_cluster(tmp_path):
    asyncio.run(_new_ha_dual_stack_cluster(tmp_path))


async def _new_ha_dual_stack_cluster(tmp_path):
    app = build_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "#name", "homelab")
        await next_step(pilot, "version")
        await pilot.press("down", "space")                 # "an exact release"
        await fill(pilot, "#exact", "v1.33.6+k3s1")
        await next_step(pilot, "nodes")
        for i, name in enumerate(("cp1", "cp2", "cp3")):
            await add_node(pilot, f"192.168.1.1{i}", name, server=True, ipv6=f"2001:db8::1{i}")
        await add_node(pilot, "192.168.1.20", "w1", server=False, ipv6="2001:db8::20", labels="disk=ssd")
        await add_node(pilot, "192.168.1.21", "w2", server=False, ipv6="2001:db8::21")
        await next_step(pilot, "network")
        await focus(pilot, "#dual-stack")
        await pilot.press("space")
        await fill(pilot, "#cluster-cidr", "10.42.0.0/16, 2001:db8:42::/56")
        await fill(pilot, "#service-cidr", "10.43.0.0/16, 2001:db8:43::/112")
        await next_step(pilot, "datastore")
        await next_step(pilot, "token")
        await next_step(pilot, "traefik")
        await focus(pilot, "#redirect")
        await pilot.press("space")
        await next_step(pilot, "extras")
        await fill(pilot, "#tls-san", "k3s.example.com")
        await next_step(pilot, "review")
        await save_as(pilot, tmp_path / "homelab.k3swiz.yaml")
    assert_same_plan(tmp_path / "homelab.k3swiz.yaml", "journey_ha.k3swiz.yaml")
    token_file = tmp_path / "homelab.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) == 64 and token not in (tmp_path / "homelab.k3swiz.yaml").read_text()


@pytest.mark.timeout(60)
def test_join_two_agents(tmp_path):
    asyncio.run(_join_two_agents(tmp_path))


async def _join_two_agents(tmp_path):
    token_file = tmp_path / "existing.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"0123456789abcdef0123456789abcdef\n")
    os.close(fd)
    app = build_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "#name", "prod")
        await focus(pilot, "#mode")
        await pilot.press("down", "space")                 # "Join an existing cluster"
        await fill(pilot, "#join-url", "https://10.0.0.5:6443")
        await fill(pilot, "#token-file", str(token_file))
        await next_step(pilot, "version")
        await next_step(pilot, "nodes")
        await add_node(pilot, "10.0.0.21", "w1", server=False)
        await add_node(pilot, "10.0.0.22", "w2", server=False)
        for step in ("network", "datastore", "token", "traefik", "extras", "review"):
            await next_step(pilot, step)
        assert app.state.ui["token_mode"] == "file"
        await save_as(pilot, tmp_path / "prod.k3swiz.yaml")
    assert_same_plan(tmp_path / "prod.k3swiz.yaml", "journey_join.k3swiz.yaml",
                     {"TOKEN_FILE": str(token_file)}, tmp_path)
    assert "0123456789abcdef" not in (tmp_path / "prod.k3swiz.yaml").read_text()


@pytest.mark.timeout(60)
def test_single_sqlite_server_with_traefik_v1_values(tmp_path):
    asyncio.run(_single_sqlite_server_with_traefik_v1_values(tmp_path))


async def _single_sqlite_server_with_traefik_v1_values(tmp_path):
    app = build_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "#name", "edge")
        await next_step(pilot, "version")
        await pilot.press("down", "space")
        await fill(pilot, "#exact", "v1.20.15+k3s1")
        await next_step(pilot, "nodes")
        await add_node(pilot, "192.168.7.10", "edge1", server=True)
        await next_step(pilot, "network")
        await next_step(pilot, "datastore")
        await focus(pilot, "#datastore")
        await pilot.press("down", "space")                 # SQLite
        await next_step(pilot, "token")
        await next_step(pilot, "traefik")
        for box in ("#redirect", "#access-logs", "#dashboard"):
            await focus(pilot, box)
            await pilot.press("space")
        await choose(pilot, "#service-type", "NodePort")
        assert app.state.answers.cluster.traefik.values == {
            "ssl": {"enforced": True}, "accessLogs": {"enabled": True},
            "dashboard": {"enabled": True}, "serviceType": "NodePort"}
        await next_step(pilot, "extras")
        await next_step(pilot, "review")
        await save_as(pilot, tmp_path / "edge.k3swiz.yaml")
    assert_same_plan(tmp_path / "edge.k3swiz.yaml", "journey_sqlite.k3swiz.yaml")
