"""Rendering and planning rules that golden files alone would not explain."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from k3swiz.answers import load_answers
from k3swiz.catalog import load_catalog
from k3swiz.facts import NodeFacts
from k3swiz.plan import Run, WriteFiles, build_plan
from k3swiz.render import CONFIG, TOKEN_FILE, render_node
from k3swiz.secrets import Secret
from k3swiz.token import create_token_file, generate_token

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "assets/examples").glob("*.yaml")) + sorted((ROOT / "tests/golden/inputs").glob("*.yaml"))


def config_of(answers, node) -> dict:
    files = {f.path: f for f in render_node(answers, node, Secret("tok"))}
    return yaml.safe_load(files[CONFIG].content)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_critical_keys_identical_on_all_servers(path):
    answers = load_answers(path).answers
    critical = load_catalog().critical_server_keys
    assert "cluster-cidr" in critical and "service-cidr" in critical
    seen = [{k: v for k, v in config_of(answers, n).items() if k in critical} for n in answers.servers]
    assert all(s == seen[0] for s in seen)


def test_init_server_and_joiners():
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    configs = {n.name: config_of(answers, n) for n in answers.nodes}
    assert configs["cp1"].get("cluster-init") is True and "server" not in configs["cp1"]
    for name in ("cp2", "cp3", "w1", "w2"):
        assert configs[name]["server"] == "https://192.168.1.10:6443" and "cluster-init" not in configs[name]
    assert all(c["token-file"] == TOKEN_FILE for c in configs.values())
    assert configs["w1"]["node-ip"] == "192.168.1.20,2001:db8::20"
    assert "cluster-cidr" not in configs["w1"]  # agents take no server keys


def test_token_only_in_token_file_never_in_config_or_scripts():
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    secret = Secret("s3cr3t-token-value")
    plan = build_plan(answers, token=secret)
    for np in plan.node_plans():
        for step in np.steps:
            if isinstance(step, Run):
                assert "s3cr3t" not in step.script
            if isinstance(step, WriteFiles):
                for f in step.files:
                    holds = b"s3cr3t" in (f.content if isinstance(f.content, bytes) else b"")
                    assert holds == (f.path == TOKEN_FILE) and (f.mode == 0o600 if holds else True)
                    assert f.secret == holds


def test_order_init_then_servers_alone_then_agents_together():
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    waves = build_plan(answers).waves
    assert [[np.node.name for np in w.nodes] for w in waves] == [["cp1"], ["cp2"], ["cp3"], ["w1", "w2"]]
    assert [w.parallel for w in waves] == [False, False, False, True]


def test_marked_init_server_goes_first():
    answers = load_answers(ROOT / "tests/golden/inputs/snapshots-disabled.yaml").answers
    assert [w.nodes[0].node.name for w in build_plan(answers).waves] == ["ns2", "ns1", "ns3"]


def test_rerun_with_matching_facts_plans_nothing():
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    token = Secret("tok")
    first = build_plan(answers, token=token)
    facts = {}
    for np in first.node_plans():
        hashes = {f.path: f.sha256 for s in np.steps if isinstance(s, WriteFiles) for f in s.files}
        facts[np.node.name] = NodeFacts(k3s_version="v1.33.6+k3s1", service_unit=True, file_hashes=hashes,
                                          service_active=True)
    again = build_plan(answers, token=token, facts=facts)
    assert again.changes == 0
    assert all(s.kind == "kubeconfig" for np in again.node_plans() for s in np.steps)


def test_changed_config_restarts_without_reinstall():
    answers = load_answers(ROOT / "assets/examples/single-server.yaml").answers
    facts = {"cp1": NodeFacts(k3s_version="v1.33.6+k3s1", service_unit=True, file_hashes={}, service_active=True)}
    kinds = [s.kind for s in build_plan(answers, token=Secret("t"), facts=facts).node_plans()[0].steps]
    assert kinds == ["write", "restart", "wait", "kubeconfig"]


def test_only_keeps_named_nodes():
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    plan = build_plan(answers, only=["w2", "cp3"])
    assert [np.node.name for np in plan.node_plans()] == ["cp3", "w2"]


def test_generated_tokens_differ_and_are_64_hex():
    tokens = {generate_token().reveal() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 64 for t in tokens)


def test_token_file_created_0600_from_the_start(tmp_path, monkeypatch):
    seen_modes = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *a, **kw):
        seen_modes.append(mode)
        return real_open(path, flags, mode, *a, **kw)

    monkeypatch.setattr(os, "open", spy)
    os.umask(0o022)
    token = create_token_file(tmp_path / "t.token")
    assert seen_modes == [0o600]
    assert stat.S_IMODE((tmp_path / "t.token").stat().st_mode) == 0o600
    assert (tmp_path / "t.token").read_text().strip() == token.reveal()
    with pytest.raises(FileExistsError):
        create_token_file(tmp_path / "t.token")


def test_group_readable_token_file_is_a_warning(tmp_path):
    from tests.answers_util import doc, messages
    (tmp_path / "t.token").write_text("abc\n")
    os.chmod(tmp_path / "t.token", 0o644)
    warnings = messages(doc(), severity="warning", base_dir=tmp_path)
    assert any("readable by group or others" in w for w in warnings)


def test_secret_never_prints():
    s = Secret("hunter2")
    assert "hunter2" not in f"{s} {s!r} {[s]} {s:>10}"
