"""`k3swiz etcd` on lab nodes: snapshots with their token recorded, list/prune/delete, members, env,
and a restore that ends with the other servers rejoining one at a time."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest

from tests.apply_util import STANDINS, apply_file, lab_answers
from tests.day2_util import assert_secret_not_passed, call_times, k3swiz, out

pytestmark = pytest.mark.lab
SNAPSHOTS = "/var/lib/rancher/k3s/server/db/snapshots"


def saved_name(result) -> str:
    assert result.returncode == 0, out(result)
    return re.search(r"saved (\S+) on ", result.stdout).group(1)


def token_sha(path) -> str:
    return hashlib.sha256(path.read_text().strip().encode()).hexdigest()


def test_snapshots_save_list_prune_delete_members_and_env(lab_factory, tmp_path):
    lab, (node,) = lab_factory(1)
    path = lab_answers(lab, [node], tmp_path, servers=1, name="snap")
    assert apply_file(path, tmp_path).ok

    assert k3swiz(tmp_path, "etcd", "snapshot", "save", path).returncode == 2     # no terminal, no --yes
    first, second = (saved_name(k3swiz(tmp_path, "etcd", "snapshot", "save", path, "--yes")) for _ in range(2))
    assert sorted(p.name for p in node.host_path(SNAPSHOTS).iterdir()) == sorted([first, second])
    index = json.loads((tmp_path / "state/k3swiz/snapshots/snap.json").read_text())
    assert {index[n]["token_sha256"] for n in (first, second)} == {token_sha(tmp_path / "snap.token")}
    summary = json.loads(next((tmp_path / "state/k3swiz/runs").glob("snap-snapshot-save-*/summary.json")).read_text())
    assert summary["snapshots"][0]["token_sha256"] == token_sha(tmp_path / "snap.token")

    listing = k3swiz(tmp_path, "etcd", "snapshot", "list", path)
    assert listing.returncode == 0, out(listing)
    for name in (first, second):
        assert re.search(rf"^{name} .*\[taken with the current token\]$", listing.stdout, re.M), listing.stdout

    pruned = k3swiz(tmp_path, "etcd", "snapshot", "prune", path, "--retention", "1", "--yes")
    assert pruned.returncode == 0, out(pruned)
    assert [p.name for p in node.host_path(SNAPSHOTS).iterdir()] == [second]
    missing = k3swiz(tmp_path, "etcd", "snapshot", "delete", path, "no-such-snapshot", "--yes")
    assert missing.returncode == 1 and "no server has no-such-snapshot" in out(missing)
    deleted = k3swiz(tmp_path, "etcd", "snapshot", "delete", path, second, "--yes")
    assert deleted.returncode == 0 and list(node.host_path(SNAPSHOTS).iterdir()) == [], out(deleted)

    without = k3swiz(tmp_path, "etcd", "members", path)
    assert without.returncode == 1 and "etcdctl is not installed on n1" in without.stdout, out(without)
    assert "etcd-v3.5.21-linux-amd64.tar.gz" in without.stdout            # the etcd of k3s v1.33
    shutil.copy2(STANDINS / "etcdctl", node.host_path("/usr/local/bin/etcdctl"))
    members = k3swiz(tmp_path, "etcd", "members", path)
    assert members.returncode == 0 and re.search(r"\| +started +\| +n1 +\|", members.stdout), out(members)

    env = k3swiz(tmp_path, "etcd", "env", path)
    variables = dict(re.findall(r"^export (ETCDCTL_\w+)=(\S+)$", env.stdout, re.M))
    assert variables["ETCDCTL_ENDPOINTS"] == "https://127.0.0.1:2379"
    for key in ("ETCDCTL_CACERT", "ETCDCTL_CERT", "ETCDCTL_KEY"):
        assert node.host_path(variables[key]).is_file()                  # where k3s keeps them


def test_restore_resets_the_first_server_and_the_others_rejoin_in_order(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    n1, n2, n3, agent = nodes
    path = lab_answers(lab, nodes, tmp_path, servers=3, name="rt")
    assert apply_file(path, tmp_path).ok
    name = saved_name(k3swiz(tmp_path, "etcd", "snapshot", "save", path, "--yes"))
    assert n1.exec("k3s kubectl delete node n4").returncode == 0       # a change the restore undoes
    assert not (lab.shared_dir / "nodes/n4").exists()

    token_file = tmp_path / "rt.token"
    token = token_file.read_text()
    token_file.write_text("another-token-than-the-snapshots\n")
    refused = k3swiz(tmp_path, "etcd", "snapshot", "restore", path, name, "--yes", "--confirm-name", "rt")
    assert refused.returncode == 2 and "taken with another token" in out(refused), out(refused)
    token_file.write_text(token)
    assert k3swiz(tmp_path, "etcd", "snapshot", "restore", path, name, "--yes").returncode == 2   # not confirmed
    assert not any(call_times(n, "systemctl", "stop") for n in nodes)   # nothing changed so far
    agent_calls = len(agent.calls())

    done = k3swiz(tmp_path, "etcd", "snapshot", "restore", path, name, "--yes", "--confirm-name", "rt")
    assert done.returncode == 0, out(done)
    reset = [c for c in n1.calls() if c["prog"] == "k3s" and "--cluster-reset" in c["argv"]]
    assert [c["argv"] for c in reset] == [["server", "--cluster-reset", f"--cluster-reset-restore-path={SNAPSHOTS}/{name}"]]
    assert max(call_times(n, "systemctl", "stop")[-1] for n in (n1, n2, n3)) < reset[0]["time"]
    started = [call_times(n, "systemctl", "restart")[-1] for n in (n1, n2, n3)]
    assert reset[0]["time"] < started[0] < started[1] < started[2]     # the others rejoin one at a time
    for node in (n2, n3):
        assert list(node.host_path("/var/lib/rancher/k3s/server").glob("db.k3swiz-*")), node.name
    assert not list(n1.host_path("/var/lib/rancher/k3s/server").glob("db.k3swiz-*"))
    assert not n1.host_path("/var/lib/rancher/k3s/server/db/reset-flag").exists()
    cluster = json.loads(next((lab.shared_dir / "clusters").glob("*.json")).read_text())
    assert sorted(m["name"] for m in cluster["members"] if m["role"] == "server") == ["n1", "n2", "n3"]
    registry = {p.name: json.loads(p.read_text())["status"] for p in (lab.shared_dir / "nodes").iterdir()}
    assert registry["n1"] == registry["n2"] == registry["n3"] == "Ready" and "n4" in registry   # n4 is back
    assert len(agent.calls()) == agent_calls                          # agents keep running untouched
    assert_secret_not_passed(nodes, token.strip())
    assert token.strip() not in done.stdout + done.stderr
