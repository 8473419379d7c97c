"""Multi-node apply over real SSH (lab nodes + stand-ins): order, files, secrets, rerun."""

from __future__ import annotations

import json
import socket
import stat

import pytest
import yaml

from k3swiz.journal import read_events
from tests.apply_util import apply_file, lab_answers

pytestmark = pytest.mark.lab


def install_time(node) -> float:
    calls = [c for c in node.calls() if c["prog"] == "install.sh"]
    assert calls, f"install.sh never ran on {node.name}"
    return calls[0]["time"]


@pytest.fixture
def ha(lab_factory, tmp_path):
    lab, nodes = lab_factory(5)
    path = lab_answers(lab, nodes, tmp_path, servers=3, name="ha")
    return lab, nodes, path


def test_ha_3_servers_2_agents(ha, tmp_path):
    lab, nodes, path = ha
    events: list = []
    result = apply_file(path, tmp_path, events=events)
    assert result.ok, [(o.node, o.phase, o.message) for o in result.outcomes.values()]
    n1, n2, n3, a1, a2 = nodes
    # order: first server, then each server alone, then the agents
    assert install_time(n1) < install_time(n2) < install_time(n3) < min(install_time(a1), install_time(a2))
    # files and modes
    for node in nodes:
        config = node.host_path("/etc/rancher/k3s/config.yaml")
        token_file = node.host_path("/etc/rancher/k3s/cluster-token")
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(node.host_path("/usr/local/bin/k3s").stat().st_mode) == 0o755
        data = yaml.safe_load(config.read_text())
        assert data["token-file"] == "/etc/rancher/k3s/cluster-token"
        if node is n1:
            assert data["cluster-init"] is True
        else:
            assert data["server"] == f"https://{n1.address}:6443"
    assert n1.host_path("/var/lib/rancher/k3s/server/manifests/traefik-config.yaml").exists()
    assert not a1.host_path("/var/lib/rancher/k3s/server/manifests/traefik-config.yaml").exists()
    # install used the airgap rules, agents as agents
    env = [c for c in a1.calls() if c["prog"] == "install.sh"][0]["env"]
    assert env["INSTALL_K3S_SKIP_DOWNLOAD"] == "true" and env["INSTALL_K3S_EXEC"] == "agent"
    # kubeconfig fetched and rewritten
    kube = yaml.safe_load(result.kubeconfig.read_text())
    assert kube["clusters"][0]["cluster"]["server"] == f"https://{n1.address}:6443"
    assert kube["current-context"] == "ha" and kube["users"][0]["name"] == "ha"
    assert stat.S_IMODE(result.kubeconfig.stat().st_mode) == 0o600
    # the token never appears in argv or environment of anything run on the nodes, nor in the journal
    token = (tmp_path / "ha.token").read_text().strip()
    assert stat.S_IMODE((tmp_path / "ha.token").stat().st_mode) == 0o600
    for node in nodes:
        for call in node.calls():
            assert token not in json.dumps(call["argv"]) and token not in json.dumps(call["env"])
    journal_text = "".join(p.read_text() for p in result.journal.rglob("*") if p.is_file())
    assert token not in journal_text and "install k3s" in journal_text
    assert {e["node"] for e in read_events(result.journal)} >= {n.name for n in nodes}
    # one connection per node; facts in one command
    assert all(o.stats["connections"] == 1 for o in result.outcomes.values())
    # on a bare node the probe asks the init system nothing: there is no k3s unit to ask about
    for node in nodes:
        calls = node.calls()
        first_install = next(i for i, c in enumerate(calls) if c["prog"] == "install.sh")
        assert [c for c in calls[:first_install] if c["prog"] == "systemctl"] == []


def test_rerun_changes_nothing(ha, tmp_path):
    lab, nodes, path = ha
    assert apply_file(path, tmp_path).ok
    watched = ["/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/cluster-token", "/usr/local/bin/k3s"]
    before = {(n.name, p): n.host_path(p).stat().st_mtime_ns for n in nodes for p in watched}
    calls_before = {n.name: len(n.calls()) for n in nodes}
    again = apply_file(path, tmp_path)
    assert again.ok and again.changes == 0
    after = {(n.name, p): n.host_path(p).stat().st_mtime_ns for n in nodes for p in watched}
    assert before == after
    for node in nodes:  # no install, no restart: only read-only `k3s --version` / status probes
        new = node.calls()[calls_before[node.name]:]
        assert all(c["prog"] in ("k3s", "systemctl") and c["argv"][:1] in (["--version"], ["is-active"], ["kubectl"])
                   for c in new), new
    assert all(o.stats["commands"] <= 2 for o in again.outcomes.values())


def test_changed_config_restarts_only_that_node(ha, tmp_path):
    lab, nodes, path = ha
    assert apply_file(path, tmp_path).ok
    doc = yaml.safe_load(path.read_text())
    doc["nodes"][4]["labels"] = ["disk=ssd"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    again = apply_file(path, tmp_path)
    assert again.ok
    changed = {name for name, o in again.outcomes.items() if o.changes}
    assert changed == {nodes[4].name}
    restarts = [c for c in nodes[4].calls() if c["prog"] == "systemctl" and c["argv"][:1] == ["restart"]]
    assert restarts


def test_join_existing_cluster(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    first = lab_answers(lab, nodes[:1], tmp_path, servers=1, name="base")
    assert apply_file(first, tmp_path).ok
    token = nodes[0].host_path("/var/lib/rancher/k3s/server/token").read_text().strip()
    (tmp_path / "join.token").write_text(token + "\n")
    (tmp_path / "join.token").chmod(0o600)
    join = lab_answers(lab, nodes[1:], tmp_path, servers=0, name="join",
                       extra_cluster={"mode": "join", "join-url": f"https://{nodes[0].address}:6443",
                                      "token": {"file": str(tmp_path / "join.token")}, "tls-san": []})
    result = apply_file(join, tmp_path)
    assert result.ok, [(o.node, o.message) for o in result.outcomes.values()]
    for node in nodes[1:]:
        config = yaml.safe_load(node.host_path("/etc/rancher/k3s/config.yaml").read_text())
        assert config["server"] == f"https://{nodes[0].address}:6443"
    registered = sorted(p.name for p in (lab.shared_dir / "nodes").iterdir())
    assert registered == sorted(n.name for n in nodes)


def test_look_at_node_reads_facts_and_current_files_but_not_the_token(ha, tmp_path):
    from k3swiz.answers import load_answers
    from k3swiz.connect import Access
    from k3swiz.probe import look_at_node, probe_node
    lab, nodes, path = ha
    answers = load_answers(path).answers
    access = Access(ssh_config_path=tmp_path / "none")
    before = look_at_node(answers, nodes[0].name, access)
    assert before.facts.k3s_version is None and before.problems == []
    assert before.current["/etc/rancher/k3s/config.yaml"] is None
    assert apply_file(path, tmp_path).ok
    after = look_at_node(answers, nodes[0].name, access)
    assert after.facts.k3s_version == "v1.33.6+k3s1" and after.facts.service_active
    assert "cluster-init: true" in after.current["/etc/rancher/k3s/config.yaml"]
    assert "/etc/rancher/k3s/cluster-token" not in after.current
    facts, problems = probe_node(answers, nodes[3].name, access)
    assert facts.init == "systemd" and problems == []


def test_port_6443_taken_on_a_server_stops_the_run_before_any_change(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=2, name="taken")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind((nodes[1].address, 6443))
    blocker.listen()
    try:
        result = apply_file(path, tmp_path)
    finally:
        blocker.close()
    assert not result.ok
    failed = result.outcomes[nodes[1].name]
    assert failed.phase == "pre-flight" and "port 6443 is already taken" in failed.message, failed
    # lab nodes share one network namespace, so the other node sees the listener too
    assert {o.state for o in result.outcomes.values()} <= {"failed", "skipped"}
    for node in nodes:  # pre-flight failed: nothing was written or installed anywhere
        assert not node.host_path("/etc/rancher/k3s/config.yaml").exists()
        assert [c for c in node.calls() if c["prog"] == "install.sh"] == []
    assert apply_file(path, tmp_path).ok  # the port is free again: the rerun goes through


def test_sudo_password_asked_once_for_the_run_when_none_was_given(lab_factory, tmp_path):
    """No password up front: each node's probe meets sudo's prompt, the run asks once, and
    every node then settles sudo and runs its probe in one command."""
    from k3swiz.connect import Access
    from k3swiz.secrets import Secret
    from k3swiz.ssh import Transport
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="asked", user="sudoer")
    asked: list[str] = []

    def ask(prompt: str):
        asked.append(prompt)
        return Secret(lab.users["sudoer"])
    made: list = []

    def counting_transport(*args, **kwargs):
        made.append(Transport(*args, **kwargs))
        return made[-1]
    access = Access(ask_sudo_password=ask, ssh_config_path=tmp_path / "no-ssh-config",
                    transport_factory=counting_transport)
    result = apply_file(path, tmp_path, access=access)
    assert result.ok, [(o.node, o.message) for o in result.outcomes.values()]
    assert asked == ["sudo password for sudoer on the nodes"]
    # one connection per node: the prompt met with no password, then the password and the steps
    assert len(made) == len(nodes) and all(t.stats.connections == 1 for t in made)
    token = (tmp_path / "asked.token").read_text().strip()
    for node in nodes:
        assert all(lab.users["sudoer"] not in json.dumps(c) and token not in json.dumps(c) for c in node.calls())
