"""`k3swiz upgrade` on lab nodes: the Traefik v2 -> v3 crossing with its values rewrite, drained
agents in batches, the answers file afterwards, and an upgrade stopped by a server that fails."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.apply_util import apply_file, lab_answers
from tests.day2_util import assert_secret_not_passed, call_times, edit, k3s_version, k3swiz, out, standin_bundle

pytestmark = pytest.mark.lab
V2_VALUES = {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}
V3_VALUES = {"ports": {"web": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https",
                                                                "permanent": True}}}}}


def kubectl_times(node, verb: str, name: str) -> list[float]:
    return [c["time"] for c in node.calls() if c["argv"][:3] == ["kubectl", verb, name]]


def test_upgrade_across_traefik_v3_rewrites_values_drains_agents_in_batches(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    n1, n2, n3, n4 = nodes
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="up", extra_cluster={
        "k3s": {"version": "v1.31.4+k3s1"}, "traefik": {"enabled": True, "values": V2_VALUES}})
    edit(path, lambda d: d["install"].update(airgap=standin_bundle(tmp_path / "b131", "v1.31.4+k3s1")))
    assert apply_file(path, tmp_path).ok
    edit(path, lambda d: d["install"].update(airgap=standin_bundle(tmp_path / "b133", "v1.33.6+k3s1")))

    refused = k3swiz(tmp_path, "upgrade", path, "--to", "v1.33.6+k3s1", "--yes")
    assert refused.returncode == 2, out(refused)
    assert ("ports.web.redirectTo: {port: websecure}  ->  ports.web.redirections.entryPoint: "
            "{to: websecure, scheme: https, permanent: true}") in refused.stdout
    assert "--rewrite-values" in refused.stderr
    assert all(k3s_version(n) == "v1.31.4+k3s1" for n in nodes)

    done = k3swiz(tmp_path, "upgrade", path, "--to", "v1.33.6+k3s1", "--batch", "2", "--drain",
                  "--rewrite-values", "--yes")
    assert done.returncode == 0, out(done)
    assert all(k3s_version(n) == "v1.33.6+k3s1" for n in nodes)
    installed = {n.name: [c["time"] for c in n.calls() if c["prog"] == "install.sh"][-1] for n in nodes}
    assert installed["n1"] < min(installed["n2"], installed["n3"])          # the server first
    assert max(installed["n2"], installed["n3"]) < installed["n4"]          # batches of 2: n2+n3, then n4
    for agent in (n2, n3, n4):                                               # drained around its upgrade
        assert kubectl_times(n1, "drain", agent.name)[0] < installed[agent.name] < \
            kubectl_times(n1, "uncordon", agent.name)[0]
        assert json.loads((lab.shared_dir / "nodes" / agent.name).read_text())["unschedulable"] is False

    doc = yaml.safe_load(path.read_text())
    assert doc["cluster"]["k3s"] == {"version": "v1.33.6+k3s1"}
    assert doc["cluster"]["traefik"]["values"] == V3_VALUES
    assert len(list(tmp_path.glob("up.k3swiz.yaml.before-upgrade-*"))) == 1
    manifest = n1.host_path("/var/lib/rancher/k3s/server/manifests/traefik-config.yaml").read_text()
    assert "redirections" in manifest and "redirectTo" not in manifest
    again = k3swiz(tmp_path, "replay", path, "--yes")
    assert again.returncode == 0 and "ok: 0 changed" in again.stdout, out(again)
    assert_secret_not_passed(nodes, (tmp_path / "up.token").read_text().strip())


def test_upgrade_stops_at_the_first_server_that_does_not_come_back(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    n1, n2, n3, agent = nodes
    path = lab_answers(lab, nodes, tmp_path, servers=3, name="stop")
    assert apply_file(path, tmp_path).ok
    older = k3swiz(tmp_path, "upgrade", path, "--to", "v1.32.0+k3s1", "--dry-run")
    assert older.returncode == 2 and "cannot be downgraded" in older.stderr, out(older)
    edit(path, lambda d: d["install"].update(airgap=standin_bundle(tmp_path / "b134", "v1.34.1+k3s1")))
    n2.write_file_inside("/etc/k3s-standin.fail-start", b"v1.34.1+k3s1\n")
    before = {n.name: len(n.calls()) for n in (n3, agent)}

    result = k3swiz(tmp_path, "upgrade", path, "--to", "v1.34.1+k3s1", "--yes")
    assert result.returncode == 1, out(result)
    assert k3s_version(n1) == "v1.34.1+k3s1"
    assert "systemctl restart k3s failed" in result.stdout     # the new k3s did not start on n2
    summary = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith(("n1 ", "n2 ", "n3 ", "n4 "))}
    assert " failed " in summary["n2"] and " skipped " in summary["n3"] and "n2 failed" in summary["n4"]
    assert k3s_version(n3) == k3s_version(agent) == "v1.33.6+k3s1"
    for node in (n3, agent):   # only the read-only probe ran there
        assert all(c["argv"][:1] in (["--version"], ["is-active"]) for c in node.calls()[before[node.name]:])
    assert yaml.safe_load(path.read_text())["cluster"]["k3s"] == {"version": "v1.33.6+k3s1"}
    assert call_times(n1, "systemctl", "restart") and not list(tmp_path.glob("stop.k3swiz.yaml.before-upgrade-*"))
