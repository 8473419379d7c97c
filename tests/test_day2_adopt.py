"""`k3swiz adopt` on lab nodes: a cluster built by replay, adopted into a new file, replays with
"0 changed"; a hand-installed node (token in the service env, flags, a drop-in) is read right and
its token stays out of the answers file."""

from __future__ import annotations

import shutil
import stat

import pytest
import yaml

from k3swiz.answers import load_answers
from tests.apply_util import STANDINS, apply_file, lab_answers
from tests.day2_util import k3swiz, out

pytestmark = pytest.mark.lab


def adopt(tmp_path, lab, nodes, out_file, *extra):
    args = ["adopt", "-o", out_file, "--ssh-user", "root", "--ssh-port", str(nodes[0].port),
            "--identity-file", lab.client_key, "--known-hosts", lab.known_hosts, *extra]
    for node in nodes:
        args += ["--node", node.address]
    return k3swiz(tmp_path, *args)


def test_adopt_a_replayed_cluster_and_its_replay_changes_nothing(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    original = lab_answers(lab, nodes, tmp_path, servers=3, name="orig", extra_cluster={
        "disable": ["servicelb"], "registries": {"mirrors": {"docker.io": {"endpoint": ["https://mirror.lab:5000"]}}},
        "traefik": {"enabled": True, "values": {"logs": {"general": {"level": "DEBUG"}}}},
        "etcd-snapshots": {"enabled": True, "schedule-cron": "0 3 * * *", "retention": 3},
        "server-config": {"kubelet-arg": ["max-pods=50"], "write-kubeconfig-mode": "0600"},
        "agent-config": {"kubelet-arg": ["max-pods=30"]}},
        node_extra={"n4": {"labels": ["disk=ssd"], "taints": ["gpu=true:NoSchedule"]}})
    assert apply_file(original, tmp_path).ok
    target = tmp_path / "adopted" / "new.k3swiz.yaml"
    target.parent.mkdir()

    dry = adopt(tmp_path, lab, nodes, target, "--dry-run")
    assert dry.returncode == 0 and "apiVersion: k3swiz/v1" in dry.stdout, out(dry)
    assert not target.exists() and not (target.parent / "orig.token").exists()

    result = adopt(tmp_path, lab, nodes[::-1], target)          # any order: the init server comes first
    assert result.returncode == 0, out(result)
    assert "changes nothing on these nodes" in result.stdout, out(result)
    doc = yaml.safe_load(target.read_text())
    assert doc["cluster"]["name"] == "orig"
    assert [(n["name"], n["role"]) for n in doc["nodes"]] == [("n1", "server"), ("n3", "server"), ("n2", "server"),
                                                               ("n4", "agent")]
    assert doc["nodes"][3]["labels"] == ["disk=ssd"] and doc["nodes"][3]["taints"] == ["gpu=true:NoSchedule"]
    adopted, wanted = load_answers(target).answers.cluster, load_answers(original).answers.cluster
    for key in ("registries", "traefik", "etcd_snapshots", "server_config", "agent_config", "disable", "tls_san",
                "network", "datastore", "k3s"):
        assert getattr(adopted, key) == getattr(wanted, key), key
    token = target.parent / "orig.token"
    assert token.read_text() == (tmp_path / "orig.token").read_text()
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert token.read_text().strip() not in target.read_text() + result.stdout + result.stderr

    replay = k3swiz(tmp_path, "replay", target, "--yes")
    assert replay.returncode == 0 and "ok: 0 changed" in replay.stdout, out(replay)
    assert adopt(tmp_path, lab, nodes, target).returncode == 2      # exists: --force needed


def test_adopt_a_hand_installed_server_keeps_its_token_out_and_reads_flags_env_and_dropins(lab_factory, tmp_path):
    lab, (node,) = lab_factory(1)
    for name in ("k3s", "install.sh"):
        shutil.copy2(STANDINS / name, node.host_path(f"/usr/local/bin/{name}"))
    node.write_file_inside("/etc/rancher/k3s/config.yaml.d/50-kubelet.yaml", b"kubelet-arg+: [max-pods=40]\n")
    node.write_file_inside("/etc/rancher/k3s/config.yaml", b"kubelet-arg: [v=2]\ntls-san: [k3s.lab]\n", 0o600)
    installed = node.exec("K3S_TOKEN=hand-made-secret INSTALL_K3S_SKIP_DOWNLOAD=true "
                          "INSTALL_K3S_EXEC='server --cluster-init --node-label=zone=a' sh /usr/local/bin/install.sh")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    target = tmp_path / "hand.k3swiz.yaml"

    result = adopt(tmp_path, lab, [node], target, "--name", "hand")
    assert result.returncode == 0, out(result)
    doc = yaml.safe_load(target.read_text())
    assert doc["cluster"]["datastore"] == "etcd" and doc["cluster"]["tls-san"] == ["k3s.lab"]
    assert doc["cluster"]["server-config"] == {"kubelet-arg": ["v=2", "max-pods=40"]}
    assert doc["nodes"] == [{"name": "n1", "address": node.address, "role": "server", "labels": ["zone=a"]}]
    assert (tmp_path / "hand.token").read_text() == "hand-made-secret\n"
    assert "hand-made-secret" not in target.read_text() + result.stdout + result.stderr
    assert "drop-ins /etc/rancher/k3s/config.yaml.d/50-kubelet.yaml are folded" in result.stdout
    assert "would still change on n1: /etc/rancher/k3s/config.yaml" in result.stdout   # not k3swiz's layout
    assert k3swiz(tmp_path, "validate", target).returncode == 0
