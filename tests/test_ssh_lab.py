"""The SSH transport against real OpenSSH servers (the lab in tests/lab): users and sudo,
file transfers, where secrets may never go, broken nodes, and the TCP_NODELAY figures.
Connecting (ProxyJump, host keys, keys and agent) is in test_ssh_lab_connect.py."""

from __future__ import annotations

import os
import re
import shlex
import statistics
import threading
import time
import traceback

import pytest

from k3swiz.hostkeys import HostKeyPolicy
from k3swiz.remote_script import RemoteFile
from k3swiz.ssh import CommandTimeout, ConnectionLost, ConnectTimeout, SudoFailed, Transport, Unreachable
from k3swiz.ssh_channel import run_channel
from k3swiz.ssh_sudo import FIRST_SUDO, SudoGate
from k3swiz.ssh_sudo import SUDO_PASSWORD as SUDO_PASSWORD_COMMAND
from tests.lab import reset_node
from tests.ssh_lab_helpers import SUDO_PASSWORD, poll, target_for, transport_for

pytestmark = pytest.mark.lab

# ---------------------------------------------------------------------------------------------
# users, sudo, files


@pytest.mark.parametrize("user", ["root", "deploy", "sudoer"])
def test_every_login_runs_scripts_as_root(lab5, user):
    node = lab5.node("n1")
    password = lab5.users[user]
    with transport_for(lab5, node, user, password) as ssh:
        result = ssh.run("id -u; echo to-stderr >&2; exit 3")
        plain = ssh.run("id -un", sudo=False)
    assert (result.rc, result.stdout, result.stderr) == (3, "0\n", "to-stderr\n")
    assert plain.stdout == f"{user}\n"
    assert ssh.stats.connections == 1 and ssh.stats.commands >= 2


def test_wrong_sudo_password_is_refused(lab5):
    with transport_for(lab5, lab5.node("n1"), "sudoer", "not-the-password") as ssh:
        with pytest.raises(SudoFailed) as caught:
            ssh.run("true")
    assert "sudo refused the password for sudoer on n1" in str(caught.value)
    assert "not-the-password" not in str(caught.value)


def test_sudo_needing_a_password_without_one(lab5):
    with transport_for(lab5, lab5.node("n1"), "sudoer") as ssh:
        with pytest.raises(SudoFailed, match="needs a password for sudoer .*--sudo-password-env"):
            ssh.run("true")


def test_a_gate_that_is_never_answered_sends_eof_and_never_the_stdin(lab5):
    """What a PAM prompt other than sudo's password would do: nothing we know comes back, so after
    hold_seconds stdin gets EOF, not one byte of the script, and the gate says it expired."""
    gate = SudoGate(None)
    gate.hold_seconds = 0.5
    with transport_for(lab5, lab5.node("n1")) as ssh:
        started = time.monotonic()
        outcome = run_channel(ssh._ssh, "printf 'Verification code: ' >&2; read -r line; echo got:$line", [b"secret\n"],
                              10, open_timeout=5, gate=gate)
    assert gate.expired and not gate.opened and outcome.rc == 0
    assert outcome.stdout == b"got:\n" and outcome.bytes_sent == 0
    assert 0.5 <= time.monotonic() - started < 5
    with pytest.raises(SudoFailed, match="neither ran the script nor asked for deploy's password within 0.5 s"):
        gate.settle(outcome.rc, outcome.stderr, target_for(lab5, lab5.node("n1"), "deploy"))


@pytest.mark.parametrize("user", ["root", "deploy", "sudoer"])
def test_write_files_lands_with_modes_and_read_file_reads_back(lab5, user):
    node = lab5.node("n2")
    reset_node(node)
    config = b"token-file: /etc/rancher/k3s/cluster-token\nnode-label: ['a=$(b)', \"`c`\"]\n"
    token = b"K10-secret-token::server:abc\n"
    files = [RemoteFile("/etc/rancher/k3s/config.yaml", config, 0o600),
             RemoteFile("/etc/rancher/k3s/cluster-token", token, 0o600),
             RemoteFile("/var/lib/rancher/k3s/server/manifests/traefik-config.yaml", b"kind: X\n", 0o644)]
    with transport_for(lab5, node, user, lab5.users[user]) as ssh:
        result = ssh.write_files(files)
        assert result.rc == 0, result.stderr
        assert ssh.read_file("/etc/rancher/k3s/cluster-token") == token
        assert ssh.read_file("/etc/rancher/k3s/absent.yaml") is None
    for item in files:
        on_node = node.host_path(item.path)
        assert on_node.read_bytes() == item.content
        assert on_node.stat().st_mode & 0o7777 == item.mode and on_node.stat().st_uid == 0
    assert node.host_path("/var/lib/rancher/k3s/server").stat().st_mode & 0o777 == 0o755
    assert ssh.stats.files_written == 3
    assert not [p for p in node.host_path("/etc/rancher/k3s").iterdir() if ".k3swiz-" in p.name]


def test_failed_write_names_the_path_and_keeps_the_old_files(lab5):
    node = lab5.node("n2")
    reset_node(node)
    with transport_for(lab5, node) as ssh:
        assert ssh.write_files([RemoteFile("/etc/rancher/k3s/config.yaml", b"old\n", 0o600)]).rc == 0
        result = ssh.write_files([RemoteFile("/etc/rancher/k3s/config.yaml", b"new\n", 0o600),
                                  RemoteFile("/etc/rancher/k3s/config.yaml/inside", b"x", 0o600)])
    assert result.rc == 1
    assert "cannot write /etc/rancher/k3s/config.yaml/inside" in result.stderr
    assert node.host_path("/etc/rancher/k3s/config.yaml").read_bytes() == b"old\n"


class UnreadableHalfWay(RemoteFile):
    """A local file whose reading fails after the first chunk (a disk error, a vanished file)."""

    def chunks(self):
        yield self.content[:1000]
        raise OSError("disk read error (simulated)")


def test_local_read_error_mid_transfer_changes_nothing_remote(lab5):
    node = lab5.node("n2")
    reset_node(node)
    with transport_for(lab5, node) as ssh:
        assert ssh.write_files([RemoteFile("/etc/rancher/k3s/config.yaml", b"old\n", 0o600)]).rc == 0
        with pytest.raises(OSError, match="simulated"):
            ssh.write_files([RemoteFile("/etc/rancher/k3s/registries.yaml", b"new\n", 0o600),
                             UnreadableHalfWay("/etc/rancher/k3s/config.yaml", b"x" * 5000, 0o600)])
        assert ssh.run("echo usable").stdout == "usable\n"
    folder = node.host_path("/etc/rancher/k3s")
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml"]  # no temp, no half commit
    assert (folder / "config.yaml").read_bytes() == b"old\n"


def test_a_70_mb_binary(lab5, tmp_path):
    node = lab5.node("n3")
    reset_node(node)
    binary = tmp_path / "k3s"
    binary.write_bytes(os.urandom(1 << 20) * 70)
    with transport_for(lab5, node, "deploy") as ssh:
        started = time.monotonic()
        result = ssh.write_files([RemoteFile("/usr/local/bin/k3s", binary, 0o755)])
        elapsed = time.monotonic() - started
        assert result.rc == 0, result.stderr
        assert ssh.read_file("/usr/local/bin/k3s") == binary.read_bytes()
    print(f"\n70 MiB upload: {elapsed:.2f} s ({70 / elapsed:.0f} MiB/s); {ssh.stats}")
    assert node.host_path("/usr/local/bin/k3s").stat().st_mode & 0o777 == 0o755


def test_stdin_extra_reaches_the_script(lab5):
    data = bytes(range(256)) * 100
    with transport_for(lab5, lab5.node("n1"), "deploy") as ssh:
        result = ssh.run("od -An -v -tx1 | tr -d ' \\n' | head -c 64", stdin_extra=data)
    assert result.stdout == data[:32].hex()


# ---------------------------------------------------------------------------------------------
# what a secret may never reach: the remote argv and environment


def test_remote_argv_and_environment_never_hold_the_password(lab5):
    node = lab5.node("n4")
    with transport_for(lab5, node, "sudoer", SUDO_PASSWORD) as ssh:
        worker = threading.Thread(target=ssh.run, args=("sleep 1.5 # k3swiz-argv-probe",))
        worker.start()
        processes = poll(lambda: _process_list_with(node, "sleep 1.5"), what="the remote sleep to show in ps")
        environments = node.exec("cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'").stdout
        worker.join(timeout=10)
    ours = [line for line in processes.splitlines() if line.endswith(("sh -s", "sh -s'"))]
    print("\nremote processes of the run:", ours)
    assert ours, processes
    # each of our command lines as ps shows it (no quotes), or as the login shell got it
    allowed = {"sh -s", *(" ".join(shlex.split(c)) for c in (SUDO_PASSWORD_COMMAND, FIRST_SUDO))}
    assert all(line in allowed or re.fullmatch(r"\S*sh -c (" + "|".join(map(re.escape, (SUDO_PASSWORD_COMMAND, FIRST_SUDO)))
                                               + ")", line) for line in ours), ours
    assert SUDO_PASSWORD not in processes and "k3swiz-argv-probe" not in processes
    assert SUDO_PASSWORD not in environments


def test_a_traceback_with_locals_does_not_show_the_password(lab5):
    with transport_for(lab5, lab5.node("n4"), "sudoer", SUDO_PASSWORD) as ssh:
        with pytest.raises(CommandTimeout) as caught:
            ssh.run("sleep 5", timeout=0.3)
    report = "".join(traceback.TracebackException.from_exception(caught.value, capture_locals=True).format())
    assert "ssh.run" in report and "stdin" in report  # the frames and their locals are there
    assert SUDO_PASSWORD not in report


def _process_list_with(node, needle: str) -> str | None:
    listing = node.exec("ps -eo args").stdout
    return listing if needle in listing else None


# ---------------------------------------------------------------------------------------------
# broken nodes and slow commands


def test_killed_node_loses_the_command_then_is_unreachable(lab_factory):
    lab, (node,) = lab_factory(1)
    ssh = transport_for(lab, node)
    ssh.connect()
    outcome = {}

    def long_command():
        try:
            outcome["result"] = ssh.run("touch /root/started; sleep 30")
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    worker = threading.Thread(target=long_command)
    worker.start()
    poll(lambda: node.host_path("/root/started").exists(), what="the command to start")
    node.kill()
    worker.join(timeout=10)
    assert isinstance(outcome.get("error"), ConnectionLost), outcome
    with pytest.raises(Unreachable, match="connection refused"):
        ssh.run("true")  # the next command reconnects first, and says why it cannot
    node.restart()
    lab.rekey_known_hosts()
    assert ssh.run("echo back").stdout == "back\n"  # the same Transport, reconnected
    assert ssh.stats.connections == 2


def test_frozen_node_times_out_within_connect_timeout(lab_factory):
    lab, (node,) = lab_factory(1)
    node.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(ConnectTimeout, match=f"{node.name} \\({node.address}:22\\)"):
            transport_for(lab, node, connect_timeout=2.0).connect()
        elapsed = time.monotonic() - started
    finally:
        node.thaw()
    assert 1.9 <= elapsed < 2.5


def test_command_timeout_and_death_by_signal(lab5):
    with transport_for(lab5, lab5.node("n5")) as ssh:
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="did not finish within 0.5 s"):
            ssh.run("sleep 5", timeout=0.5)
        assert time.monotonic() - started < 1.5
        with pytest.raises(ConnectionLost, match="without an exit status"):
            ssh.run("kill -9 $$")
        assert ssh.run("echo still usable").stdout == "still usable\n"


# ---------------------------------------------------------------------------------------------
# the figure TCP_NODELAY is there for


def test_tcp_nodelay_cuts_connect_and_round_trip(lab5):
    node = lab5.node("n5")
    figures = {}
    for nodelay in (True, False):
        connects, runs = [], []
        for _ in range(5):
            ssh = Transport(target_for(lab5, node), host_keys=HostKeyPolicy(), agent=False, tcp_nodelay=nodelay)
            started = time.monotonic()
            ssh.connect()
            connects.append(time.monotonic() - started)
            for _ in range(3):
                runs.append(ssh.run("true", sudo=False).elapsed)
            ssh.close()
        figures[nodelay] = (statistics.median(connects) * 1000, statistics.median(runs) * 1000)
    print(f"\nconnect+auth / run `true`, median ms: TCP_NODELAY {figures[True][0]:.1f} / {figures[True][1]:.1f}"
          f"; without {figures[False][0]:.1f} / {figures[False][1]:.1f}")
    assert figures[True][1] < figures[False][1]
