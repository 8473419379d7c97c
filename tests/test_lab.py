"""The SSH test lab and the k3s stand-ins behave as the other tests assume."""
from __future__ import annotations

import fcntl
import os
import socket
import struct
import time
from pathlib import Path

import paramiko
import pytest

from tests.lab import Lab, reset_node
from tests.lab.client import connect, run

pytestmark = pytest.mark.lab
STANDINS = Path(__file__).parent / "standins"
TOKEN = "lab-test-token-1"
AIRGAP = "INSTALL_K3S_SKIP_DOWNLOAD=true"


# ---- helpers ---------------------------------------------------------------------
def prepare_k3s(lab, node, config: str, token: str = TOKEN) -> paramiko.SSHClient:
    """Upload the stand-in binary + install script and write config + token file."""
    client = connect(lab, node)
    sftp = client.open_sftp()
    sftp.put(str(STANDINS / "k3s"), "/usr/local/bin/k3s")
    sftp.chmod("/usr/local/bin/k3s", 0o755)
    sftp.put(str(STANDINS / "install.sh"), "/root/install.sh")
    sftp.close()
    node.write_file_inside("/etc/rancher/k3s/cluster-token", token.encode(), 0o600)
    node.write_file_inside("/etc/rancher/k3s/config.yaml", config.encode(), 0o600)
    return client


def server_config() -> str:
    return "cluster-init: true\ntoken-file: /etc/rancher/k3s/cluster-token\n"


def join_config(server) -> str:
    return f"server: https://{server.address}:6443\ntoken-file: /etc/rancher/k3s/cluster-token\n"


def lab_listeners(addresses: set[str]) -> list[str]:
    """/proc/net/tcp LISTEN lines (state 0A) whose local address is one of `addresses`."""
    wanted = {"%08X" % struct.unpack("<I", socket.inet_aton(a))[0] for a in addresses}
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return [line for line in lines
            if line.split()[1].split(":")[0] in wanted and line.split()[3] == "0A"]


# ---- nodes, users, folders ----------------------------------------------------------
def test_users_log_in_and_sudo_rules_hold(lab_factory):
    lab, nodes = lab_factory(3)
    for node in nodes:
        for user in ("root", "deploy", "sudoer"):
            with connect(lab, node, user) as client:
                assert run(client, "id -un; hostname") == (0, f"{user}\n{node.name}\n", "")
    with connect(lab, nodes[0], "deploy") as client:
        assert run(client, "sudo -n true")[0] == 0
    with connect(lab, nodes[0], "sudoer") as client:
        status, _, err = run(client, "sudo -n true")
        assert status != 0 and "password is required" in err
        password = lab.users["sudoer"]
        assert run(client, f"echo {password} | sudo -S -p '' id -u") == (0, "0\n", "")


def test_per_node_folders_are_private_and_host_visible(lab_factory):
    lab, (n1, n2, _) = lab_factory(3)
    with connect(lab, n1) as client:
        assert run(client, "mkdir -p /etc/rancher/k3s && echo one > /etc/rancher/k3s/mark")[0] == 0
    with connect(lab, n2) as client:
        assert run(client, "test -e /etc/rancher/k3s/mark")[0] == 1
    assert n1.host_path("/etc/rancher/k3s/mark").read_text() == "one\n"
    assert not n2.host_path("/etc/rancher/k3s/mark").exists()
    n2.write_file_inside("/var/lib/rancher/seed", b"two", 0o600)
    assert n2.exec("stat -c %a /var/lib/rancher/seed; cat /var/lib/rancher/seed").stdout == "600\ntwo"
    with pytest.raises(ValueError, match="not in a host-visible folder"):
        n1.host_path("/etc/passwd")


def test_known_hosts_follow_restarts_only_when_asked(lab_factory):
    lab, (n1, n2) = lab_factory(2, port=2222)
    entries = lab.known_hosts.read_text()
    assert f"[{n1.address}]:2222 ssh-ed25519 " in entries and f"[{n2.address}]:2222 " in entries
    n1.restart()
    with pytest.raises(paramiko.BadHostKeyException):
        connect(lab, n1)
    lab.rekey_known_hosts()
    with connect(lab, n1) as client:
        assert run(client, "true")[0] == 0


def test_faults_kill_freeze_thaw(lab_factory):
    lab, (n1,) = lab_factory(1)
    n1.freeze()
    with pytest.raises(paramiko.SSHException):
        connect(lab, n1, timeout=0.5)
    n1.thaw()
    connect(lab, n1).close()
    n1.kill()
    with pytest.raises(ConnectionRefusedError):  # our own socket: paramiko would wrap it
        connect(lab, n1)


def _subnet_is_free(subnet: str) -> bool:
    fd = os.open(f"/tmp/k3swiz-lab-locks/{subnet.split('.')[2]}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_two_labs_get_different_subnets_until_stopped(tmp_path):
    with Lab(tmp_path / "a") as first, Lab(tmp_path / "b") as second:
        assert first.subnet != second.subnet
        assert not _subnet_is_free(first.subnet)
    assert _subnet_is_free(first.subnet) and _subnet_is_free(second.subnet)


def test_reset_node_wipes_k3s_traces_but_keeps_tools(lab5):
    node = lab5.node("n4")
    node.write_file_inside("/usr/local/bin/k3s", b"#!/bin/sh\n", 0o755)
    node.write_file_inside("/var/lib/rancher/k3s/server/token", b"x", 0o600)
    node.write_file_inside("/etc/systemd/system/k3s.service", b"[Service]\n", 0o644)
    node.exec("systemctl daemon-reload")
    assert node.calls()
    reset_node(node)
    for folder, kept in (("/usr/local/bin", "systemctl\n"), ("/var/lib/rancher", ""),
                         ("/etc/systemd/system", "")):
        assert node.exec(f"ls -A {folder}").stdout == kept
    assert node.calls() == []


# ---- stand-ins ------------------------------------------------------------------------
def test_server_then_agent_join_and_a_wrong_token_fails(lab_factory):
    lab, (n1, n2, n3) = lab_factory(3)
    with prepare_k3s(lab, n1, server_config()) as c1:
        status, out, err = run(c1, f"{AIRGAP} INSTALL_K3S_EXEC=server sh /root/install.sh")
        assert status == 0, err
        assert run(c1, "systemctl is-active k3s; kubectl get --raw=/readyz")[1] == "active\nok\n"
        token = run(c1, "cat /var/lib/rancher/k3s/server/node-token")[1].strip()
        assert token.startswith("K10") and token.endswith(f"::server:{TOKEN}")
        assert n1.exec("stat -c %a /etc/rancher/k3s/k3s.yaml").stdout == "600\n"
    with prepare_k3s(lab, n2, join_config(n1)) as c2:
        assert run(c2, f"{AIRGAP} INSTALL_K3S_EXEC=agent sh /root/install.sh")[0] == 0
        assert run(c2, "systemctl is-active k3s-agent")[1] == "active\n"
    with prepare_k3s(lab, n3, join_config(n1), token="not-the-token") as c3:
        status, _, err = run(c3, f"{AIRGAP} INSTALL_K3S_EXEC=agent sh /root/install.sh")
        assert status != 0 and "k3s-agent.service failed" in err
        assert run(c3, "systemctl is-active k3s-agent")[1] == "failed\n"
    assert "401 Unauthorized" in n3.host_path("/var/log/k3s-standin/k3s.log").read_text()
    with connect(lab, n1) as c1:
        table = run(c1, "kubectl get nodes")[1]
    assert [line.split()[:2] for line in table.splitlines()[1:]] == [["n1", "Ready"], ["n2", "Ready"]]


def test_records_hold_argv_and_env_but_never_the_token(lab_factory):
    lab, (n1,) = lab_factory(1)
    with prepare_k3s(lab, n1, server_config()) as client:
        assert run(client, f"{AIRGAP} INSTALL_K3S_EXEC='server --node-label=a=b' sh /root/install.sh")[0] == 0
    calls = n1.calls()
    install = next(c for c in calls if c["prog"] == "install.sh")
    assert install["env"]["INSTALL_K3S_EXEC"] == "server --node-label=a=b" and install["uid"] == 0
    service = next(c for c in calls if c["prog"] == "k3s")
    assert service["argv"] == ["server", "--node-label=a=b"]
    assert service["env"]["K3S_STANDIN_SERVICE"] == "k3s"
    assert ["restart", "k3s"] in [c["argv"] for c in calls if c["prog"] == "systemctl"]
    assert TOKEN not in n1.host_path("/var/log/k3s-standin/calls.jsonl").read_text()


def test_full_token_checks_the_ca_hash(lab_factory):
    lab, (n1, n2, n3) = lab_factory(3)
    with prepare_k3s(lab, n1, server_config()) as c1:
        assert run(c1, f"{AIRGAP} sh /root/install.sh")[0] == 0
    full = n1.host_path("/var/lib/rancher/k3s/server/token").read_text().strip()
    with prepare_k3s(lab, n2, join_config(n1), token=full) as c2:
        assert run(c2, f"{AIRGAP} INSTALL_K3S_EXEC=agent sh /root/install.sh")[0] == 0
    forged = "K10" + "0" * 64 + full[67:]
    with prepare_k3s(lab, n3, join_config(n1), token=forged) as c3:
        assert run(c3, f"{AIRGAP} INSTALL_K3S_EXEC=agent sh /root/install.sh")[0] != 0
    assert "CA hash does not match" in n3.host_path("/var/log/k3s-standin/k3s.log").read_text()


def test_install_script_rules(lab_factory):
    lab, (n1,) = lab_factory(1)
    with prepare_k3s(lab, n1, server_config()) as client:
        status, _, err = run(client, "sh /root/install.sh")
        assert status == 1 and "cannot download" in err
        status, _, err = run(client, f"{AIRGAP} K3S_URL=http://x:6443 K3S_TOKEN=t sh /root/install.sh")
        assert status == 1 and "Only https:// URLs" in err
        n1.write_file_inside("/etc/k3s-standin.fail-install", b"disk full (injected)\n")
        assert run(client, f"{AIRGAP} sh /root/install.sh")[:3:2] == (1, "[ERROR]  disk full (injected)\n")
        n1.exec("rm /etc/k3s-standin.fail-install")
        assert run(client, f"{AIRGAP} sh /root/install.sh")[0] == 0
        assert "No change detected" in run(client, f"{AIRGAP} sh /root/install.sh")[1]
        assert run(client, f"{AIRGAP} INSTALL_K3S_FORCE_RESTART=true sh /root/install.sh")[0] == 0
        assert run(client, "stat -c %a /etc/systemd/system/k3s.service.env")[1] == "600\n"
        assert run(client, "/usr/local/bin/k3s-uninstall.sh")[0] == 0
        assert run(client, "ls -A /var/lib/rancher; ls -A /usr/local/bin")[1] == "systemctl\n"
    starts = [c for c in n1.calls() if c["prog"] == "k3s" and c["argv"] == ["server"]]
    assert len(starts) == 2  # the unchanged rerun did not restart


def test_openrc_node_uses_init_script(lab_factory):
    lab, (node,) = lab_factory(1, init="openrc", names=["alpine1"])
    with prepare_k3s(lab, node, server_config()) as client:
        assert run(client, "command -v systemctl")[0] != 0
        assert run(client, f"{AIRGAP} sh /root/install.sh")[0] == 0
        assert run(client, "rc-service k3s status")[1] == " * status: started\n"
        assert run(client, "stat -c %a /etc/rancher/k3s/k3s.env")[1] == "600\n"
    progs = [(c["prog"], c["argv"][:2]) for c in node.calls()]
    assert ("rc-update", ["add", "k3s"]) in progs and ("openrc-run", ["/etc/init.d/k3s", "restart"]) in progs


# ---- clean stop, timing ---------------------------------------------------------------
def test_stop_leaves_no_process_listener_or_mount(tmp_path):
    lab = Lab(tmp_path / "lab")
    nodes = lab.start(3)
    pids = [n.pid for n in nodes]
    addresses = {n.address for n in nodes}
    assert len(lab_listeners(addresses)) == 3
    lab.stop()
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
    assert lab_listeners(addresses) == []
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
    assert [p for p in Path("/proc").glob("[0-9]*/cmdline")
            if str(tmp_path).encode() in _read(p)] == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_twenty_nodes_start_and_stop_quickly(tmp_path, record_property):
    lab = Lab(tmp_path / "lab20")
    started = time.monotonic()
    nodes = lab.start(20)
    start_seconds = time.monotonic() - started
    with connect(lab, nodes[-1]) as client:
        assert run(client, "hostname")[1] == "n20\n"
    stopping = time.monotonic()
    lab.stop()
    stop_seconds = time.monotonic() - stopping
    record_property("start_20_s", round(start_seconds, 3))
    record_property("stop_20_s", round(stop_seconds, 3))
    print(f"\n20 nodes: start {start_seconds:.3f} s, stop {stop_seconds:.3f} s")
    assert start_seconds < 10 and stop_seconds < 5


def test_second_server_joins_and_critical_mismatch_fails(lab_factory):
    lab, (n1, n2, n3) = lab_factory(3)
    with prepare_k3s(lab, n1, server_config() + "cluster-cidr: 10.42.0.0/16\n") as c1:
        assert run(c1, f"{AIRGAP} sh /root/install.sh")[0] == 0
        assert run(c1, "k3s etcd-snapshot save && k3s etcd-snapshot ls | grep -c on-demand-n1")[1].endswith("1\n")
    with prepare_k3s(lab, n2, join_config(n1) + "cluster-cidr: 10.42.0.0/16\n") as c2:
        assert run(c2, f"{AIRGAP} INSTALL_K3S_EXEC=server sh /root/install.sh")[0] == 0
        assert run(c2, "kubectl get nodes -o name")[1] == "node/n1\nnode/n2\n"
    assert (n1.host_path("/var/lib/rancher/k3s/server/token").read_text()
            == n2.host_path("/var/lib/rancher/k3s/server/token").read_text())
    with prepare_k3s(lab, n3, join_config(n1) + "cluster-cidr: 10.99.0.0/16\n") as c3:
        assert run(c3, f"{AIRGAP} INSTALL_K3S_EXEC=server sh /root/install.sh")[0] != 0
    assert "critical configuration value mismatch" in n3.host_path(
        "/var/log/k3s-standin/k3s.log").read_text()


def test_version_override_and_non_root_calls(lab_factory):
    lab, (n1,) = lab_factory(1)
    prepare_k3s(lab, n1, server_config()).close()
    n1.write_file_inside("/etc/k3s-standin.version", b"v1.30.2+k3s1\n")
    with connect(lab, n1, "deploy") as client:
        assert run(client, "k3s --version")[1].startswith("k3s version v1.30.2+k3s1 ")
        status, _, err = run(client, "systemctl restart k3s")
        assert status == 1 and "Access denied" in err
        n1.exec("cp /root/install.sh /tmp/install.sh")
        status, _, err = run(client, f"{AIRGAP} sh /tmp/install.sh")
        assert status == 1 and "needs root" in err
        assert run(client, f"sudo {AIRGAP} sh /tmp/install.sh")[0] == 0
    deploy_uid = int(n1.exec("id -u deploy").stdout)
    version_call = next(c for c in n1.calls() if c["argv"] == ["--version"])
    assert version_call["uid"] == deploy_uid and version_call["env"]["USER"] == "deploy"
