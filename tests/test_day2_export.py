"""`k3swiz export`: cloud-init user-data that sets lab nodes up with no SSH from k3swiz (a replay
afterwards finds nothing to do), and a k3s-ansible inventory with the token by reference."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest
import yaml

from tests.apply_util import lab_answers
from tests.day2_util import k3swiz, out

LOCAL_INSTALLER = "/var/lib/rancher/k3s/k3swiz/install.sh"


def boot_with_cloud_init(node, user_data: str, bundle: dict, token: str) -> None:
    """What a machine does with the user-data: an image with the airgap bundle baked in, the token from
    its secret store, then cloud-init's write_files and runcmd (interpreted here, run inside the node)."""
    node.write_file_inside("/usr/local/bin/k3s", Path(bundle["k3s-binary"]).read_bytes(), 0o755)
    node.write_file_inside(LOCAL_INSTALLER, Path(bundle["install-script"]).read_bytes(), 0o755)
    node.write_file_inside("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst",
                           Path(bundle["images"]).read_bytes())
    node.write_file_inside("/etc/rancher/k3s/cluster-token", (token + "\n").encode(), 0o600)
    doc = yaml.safe_load(user_data)
    for entry in doc["write_files"]:
        node.write_file_inside(entry["path"], entry["content"].encode(), int(entry["permissions"], 8))
    for command in doc["runcmd"]:
        ran = node.exec(" ".join(shlex.quote(word) for word in command))
        assert ran.returncode == 0, f"{node.name}: {command}: {ran.stdout}{ran.stderr}"


@pytest.mark.lab
def test_cloud_init_user_data_sets_nodes_up_by_themselves(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="fleet",
                       node_extra={"n3": {"labels": ["disk=ssd"]}})
    seeds = tmp_path / "seeds"
    dry = k3swiz(tmp_path, "export", path, "--format", "cloud-init", "-o", seeds, "--dry-run")
    assert dry.returncode == 0 and "n1/user-data" in dry.stdout and not seeds.exists(), out(dry)
    result = k3swiz(tmp_path, "export", path, "--format", "cloud-init", "-o", seeds)
    assert result.returncode == 0, out(result)
    token = (tmp_path / "fleet.token").read_text().strip()
    for node in nodes:
        for name in ("user-data", "meta-data"):
            written = seeds / node.name / name
            assert stat.S_IMODE(written.stat().st_mode) == 0o600 and token not in written.read_text()
        assert (seeds / node.name / "user-data").read_text().startswith("#cloud-config\n")

    bundle = yaml.safe_load(path.read_text())["install"]["airgap"]
    for node in nodes:     # the first server first: the stand-in does not retry a join like k3s does
        boot_with_cloud_init(node, (seeds / node.name / "user-data").read_text(), bundle, token)
    registered = {p.name: yaml.safe_load(p.read_text()) for p in (lab.shared_dir / "nodes").iterdir()}
    assert {name: n["status"] for name, n in registered.items()} == {"n1": "Ready", "n2": "Ready", "n3": "Ready"}
    assert registered["n3"]["labels"] == ["disk=ssd"]
    replay = k3swiz(tmp_path, "replay", path, "--yes")          # the same files and install as replay's
    assert replay.returncode == 0 and "ok: 0 changed" in replay.stdout, out(replay)


def test_ansible_inventory_has_groups_version_token_reference_and_extra_args(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    token_file = tmp_path / "inv.token"
    token_file.write_text("inventory-token-value\n")
    token_file.chmod(0o600)
    answers = {"apiVersion": "k3swiz/v1",
               "cluster": {"name": "inv", "k3s": {"version": "v1.33.6+k3s1"}, "token": {"file": "./inv.token"},
                           "traefik": {"values": {"logs": {"general": {"level": "DEBUG"}}}},
                           "registries": {"mirrors": {"docker.io": {"endpoint": ["https://mirror:5000"]}}},
                           "server-config": {"kubelet-arg": ["max-pods=50"], "secrets-encryption": True},
                           "agent-config": {"kubelet-arg": ["max-pods=30"]}},
               "ssh": {"user": "ubuntu", "identity-file": str(key)},
               "nodes": [{"name": "cp1", "address": "10.0.0.5", "role": "server"},
                         {"name": "cp2", "address": "10.0.0.6", "role": "server", "ssh": {"port": 2222}},
                         {"name": "cp3", "address": "10.0.0.7", "role": "server"},
                         {"name": "w1", "address": "10.0.0.20", "role": "agent", "labels": ["disk=ssd"]}]}
    path = tmp_path / "inv.k3swiz.yaml"
    path.write_text(yaml.safe_dump(answers, sort_keys=False))
    result = k3swiz(tmp_path, "export", path, "--format", "ansible", "-o", tmp_path / "ansible")
    assert result.returncode == 0, out(result)
    text = (tmp_path / "ansible/inventory.yml").read_text()
    assert "inventory-token-value" not in text
    doc = yaml.safe_load(text)["k3s_cluster"]
    servers, agents, variables = doc["children"]["server"]["hosts"], doc["children"]["agent"]["hosts"], doc["vars"]
    assert list(servers) == ["cp1", "cp2", "cp3"] and list(agents) == ["w1"]
    assert servers["cp2"] == {"ansible_host": "10.0.0.6", "ansible_port": 2222,
                              "server_config_yaml": servers["cp2"]["server_config_yaml"]}
    assert variables["k3s_version"] == "v1.33.6+k3s1" and variables["api_endpoint"] == "10.0.0.5"
    assert variables["token"] == f"{{{{ lookup('ansible.builtin.file', '{token_file.resolve()}') }}}}"
    assert variables["extra_server_args"] == "--kubelet-arg=max-pods=50 --secrets-encryption"
    assert variables["extra_agent_args"] == "--kubelet-arg=max-pods=30"
    first = yaml.safe_load(servers["cp1"]["server_config_yaml"])
    assert first["cluster-init"] is True and "token-file" not in first and "kubelet-arg" not in first
    assert "server" not in yaml.safe_load(servers["cp2"]["server_config_yaml"])
    assert yaml.safe_load(agents["w1"]["agent_config_yaml"])["node-label"] == ["disk=ssd"]
    manifest = Path(variables["extra_manifests"][0])
    assert manifest.is_file() and "DEBUG" in manifest.read_text()
    assert yaml.safe_load(variables["registries_config_yaml"]) == answers["cluster"]["registries"]

    joining = dict(answers, cluster={**answers["cluster"], "mode": "join", "join-url": "https://10.0.0.5:6443"})
    path.write_text(yaml.safe_dump(joining, sort_keys=False))
    refused = k3swiz(tmp_path, "export", path, "--format", "ansible", "-o", tmp_path / "again")
    assert refused.returncode == 2 and "cloud-init" in refused.stderr and not (tmp_path / "again").exists()
