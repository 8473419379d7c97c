"""Connecting to real OpenSSH servers (the lab): ProxyJump, the known_hosts policy,
identity files and ssh-agent."""

from __future__ import annotations

import subprocess

import paramiko
import pytest

from k3swiz.hostkeys import HostKeyPolicy
from k3swiz.ssh import AuthFailed, HostKeyChanged, HostKeyUnknown, Transport, Unreachable
from tests.ssh_lab_helpers import poll, ssh_keygen_fingerprint, target_for, transport_for

pytestmark = pytest.mark.lab


def test_proxy_jump_through_n1_to_n2(lab_factory, tmp_path):
    lab, (n1, n2) = lab_factory(2)
    # A name only n1 can resolve: reaching it proves the tunnel goes through n1.
    assert node_exec_ok(n1, f"echo '{n2.address} n2-behind-n1' >> /etc/hosts")
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(lab.known_hosts.read_text() + f"n2-behind-n1 {n2.host_public_key}\n")
    jump = target_for(lab, n1, "deploy", known_hosts=known_hosts)
    behind = target_for(lab, n2, host="n2-behind-n1", proxy_jump=jump, known_hosts=known_hosts)
    with Transport(behind, host_keys=HostKeyPolicy(), agent=False) as ssh:
        assert ssh.run("hostname").stdout.strip() == "n2"
    with pytest.raises(Unreachable, match="cannot resolve"):
        Transport(target_for(lab, n2, host="n2-behind-n1", known_hosts=known_hosts),
                  host_keys=HostKeyPolicy(), agent=False).connect()


def node_exec_ok(node, command: str) -> bool:
    result = node.exec(command)
    assert result.returncode == 0, result.stderr
    return True


def test_unknown_host_is_refused_then_accept_new_records_it(lab5, tmp_path):
    node = lab5.node("n1")
    empty = tmp_path / "ssh" / "known_hosts"
    with pytest.raises(HostKeyUnknown) as caught:
        transport_for(lab5, node, known_hosts=empty).connect()
    text = str(caught.value)
    assert ssh_keygen_fingerprint(node.host_public_key, tmp_path) in text
    assert f"ssh-keyscan -p 22 {node.address} >> {empty}" in text
    with transport_for(lab5, node, known_hosts=empty, policy=HostKeyPolicy(accept_new=True)) as ssh:
        assert ssh.run("true").rc == 0
    assert empty.read_text() == f"{node.address} {node.host_public_key}\n"
    assert empty.stat().st_mode & 0o777 == 0o600
    with transport_for(lab5, node, known_hosts=empty) as ssh:  # strict now trusts it
        assert ssh.run("true").rc == 0


def test_changed_host_key_is_refused_with_both_fingerprints(lab_factory, tmp_path):
    lab, (node,) = lab_factory(1)
    old = ssh_keygen_fingerprint(node.host_public_key, tmp_path)
    node.restart()  # new host key; the lab's known_hosts still has the old one
    new = ssh_keygen_fingerprint(node.host_public_key, tmp_path)
    for policy in (HostKeyPolicy(), HostKeyPolicy(accept_new=True)):
        with pytest.raises(HostKeyChanged) as caught:
            transport_for(lab, node, policy=policy).connect()
        assert old in str(caught.value) and new in str(caught.value)
        assert f"ssh-keygen -R '{node.address}' -f {lab.known_hosts}" in str(caught.value)


def test_wrong_key_is_an_auth_failure_naming_user_and_key(lab5, tmp_path):
    stranger = tmp_path / "stranger"
    paramiko.ECDSAKey.generate().write_private_key_file(str(stranger))
    with pytest.raises(AuthFailed) as caught:
        transport_for(lab5, lab5.node("n1"), "deploy", identity_files=(stranger,)).connect()
    text = str(caught.value)
    assert "refused every key for user deploy" in text and str(stranger) in text and "SHA256:" in text


def test_ssh_agent_keys_are_used_and_no_key_at_all_is_explained(lab5, tmp_path, monkeypatch):
    node = lab5.node("n1")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    no_keys = Transport(target_for(lab5, node, identity_files=()), host_keys=HostKeyPolicy(), agent=True)
    with pytest.raises(AuthFailed, match="no key to log in as root"):
        no_keys.connect()
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        poll(socket_path.exists, what="ssh-agent's socket")
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        subprocess.run(["ssh-add", "-q", str(lab5.client_key)], check=True, capture_output=True)
        with Transport(target_for(lab5, node, identity_files=()), host_keys=HostKeyPolicy(), agent=True) as ssh:
            assert ssh.run("echo via-agent").stdout == "via-agent\n"
    finally:
        agent.terminate()
        agent.wait(timeout=10)
