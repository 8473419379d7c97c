"""`k3swiz replay` as a user runs it (a subprocess, no terminal) against real lab nodes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.apply_util import lab_answers

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent


def replay(path: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    environment = {**os.environ, "XDG_STATE_HOME": str(path.parent / "state"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "k3swiz.cli", "replay", str(path), *args],
                          capture_output=True, text=True, cwd=path.parent, env=environment,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_replay_plain_output_exit_0_then_0_changed(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="plain")
    first = replay(path, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ok: " in first.stdout and "journal: " in first.stdout and "kubeconfig: " in first.stdout
    assert (tmp_path / "plain.kubeconfig").exists()
    lines = [line for line in first.stdout.splitlines() if nodes[1].name in line]
    assert any("install k3s" in line for line in lines)
    second = replay(path, "--yes")
    assert second.returncode == 0 and "ok: 0 changed" in second.stdout


def test_replay_without_yes_and_no_terminal_is_bad_input(lab_factory, tmp_path):
    lab, nodes = lab_factory(1)
    path = lab_answers(lab, nodes, tmp_path, name="ask")
    result = replay(path)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert not nodes[0].host_path("/etc/rancher/k3s/config.yaml").exists()


def test_non_root_users_with_sudo(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="sudo", user="deploy",
                       node_extra={nodes[1].name: {"ssh": {"user": "sudoer"}}})
    refused = replay(path, "--yes")
    assert refused.returncode == 1 and "password" in refused.stdout + refused.stderr
    assert not nodes[0].host_path("/etc/rancher/k3s/config.yaml").exists()  # nothing changed anywhere
    password = lab.users["sudoer"]
    ok = replay(path, "--yes", "--sudo-password-env", "LAB_SUDO", env={"LAB_SUDO": password})
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert password not in ok.stdout + ok.stderr
    journal = Path(ok.stdout.split("journal: ")[1].split()[0])
    assert all(password not in p.read_text() for p in journal.rglob("*") if p.is_file())
    for node in nodes:
        for call in node.calls():
            assert password not in str(call["argv"]) and password not in str(call["env"])


def test_unknown_host_refused_then_accepted_then_changed_refused(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="keys")
    known = tmp_path / "known_hosts"
    edit(path, lambda d: d["ssh"].update({"known-hosts": str(known)}))
    refused = replay(path, "--yes")
    assert refused.returncode == 1
    assert "--accept-new-hosts" in refused.stdout and "SHA256:" in refused.stdout
    accepted = replay(path, "--yes", "--accept-new-hosts")
    assert accepted.returncode == 0, accepted.stdout
    assert all(n.address in known.read_text() for n in nodes)
    nodes[1].restart()  # a new host key
    changed = replay(path, "--yes", "--accept-new-hosts")
    assert changed.returncode == 1
    assert "ssh-keygen -R" in changed.stdout and nodes[1].name in changed.stdout


def test_proxy_jump_through_another_node(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="jump",
                       node_extra={nodes[1].name: {"ssh": {"proxy-jump": f"root@{nodes[0].address}"}}})
    result = replay(path, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    sshd_log = nodes[1].exec("cat /proc/1/cmdline; ss -tn state established 2>/dev/null").stdout
    assert "sshd" in sshd_log
    assert nodes[1].host_path("/etc/rancher/k3s/config.yaml").exists()


def test_failing_agent_others_finish_exit_1_rerun_touches_only_it(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="fail")
    broken = nodes[2]
    broken.write_file_inside("/etc/k3s-standin.fail-install", b"1\n")
    result = replay(path, "--yes")
    assert result.returncode == 1
    summary = {line.split()[0]: line for line in result.stdout.splitlines() if line.split() and
               line.split()[0] in {n.name for n in nodes}}
    assert "failed" in summary[broken.name] and "install k3s" in summary[broken.name]
    for node in (nodes[0], nodes[1], nodes[3]):
        assert " done " in summary[node.name] + " ", summary[node.name]
    broken.exec("rm -f /etc/k3s-standin.fail-install")
    installs_before = {n.name: sum(c["prog"] == "install.sh" for c in n.calls()) for n in nodes}
    again = replay(path, "--yes")
    assert again.returncode == 0, again.stdout
    installs_after = {n.name: sum(c["prog"] == "install.sh" for c in n.calls()) for n in nodes}
    assert {n for n in installs_after if installs_after[n] != installs_before[n]} == {broken.name}


def test_failing_first_server_skips_everyone_else(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=2, name="nofirst")
    nodes[0].write_file_inside("/etc/k3s-standin.fail-install", b"1\n")
    result = replay(path, "--yes")
    assert result.returncode == 1
    for node in nodes[1:]:
        assert not node.host_path("/etc/rancher/k3s/config.yaml").exists()
    assert result.stdout.count("skipped") >= 2 and f"the first server {nodes[0].name} failed" in result.stdout


def test_merge_kubeconfig_keeps_current_context(lab_factory, tmp_path):
    lab, nodes = lab_factory(1)
    path = lab_answers(lab, nodes, tmp_path, name="merged")
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    existing = {"apiVersion": "v1", "kind": "Config", "current-context": "other",
                "clusters": [{"name": "other", "cluster": {"server": "https://other:6443"}}],
                "users": [{"name": "other", "user": {}}],
                "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}]}
    (home / ".kube/config").write_text(yaml.safe_dump(existing))
    result = replay(path, "--yes", "--merge-kubeconfig", env={"HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    merged = yaml.safe_load((home / ".kube/config").read_text())
    assert merged["current-context"] == "other"
    assert {c["name"] for c in merged["contexts"]} == {"other", "merged"}
    assert list((home / ".kube").glob("config.k3swiz-backup-*"))
