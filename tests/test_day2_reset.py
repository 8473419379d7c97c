"""`k3swiz reset` on lab nodes: order, typed confirmation, what is removed, what is left, rerun."""

from __future__ import annotations

import pytest

from tests.apply_util import apply_file, lab_answers
from tests.day2_util import call_times, files_under, k3swiz, out

pytestmark = pytest.mark.lab


def test_full_reset_asks_for_the_name_goes_agents_first_and_leaves_nothing(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    n1, n2, n3 = nodes
    path = lab_answers(lab, nodes, tmp_path, servers=2, name="rs")
    assert apply_file(path, tmp_path).ok

    dry = k3swiz(tmp_path, "reset", path, "--dry-run")
    assert dry.returncode == 0, out(dry)
    waves = [line for line in dry.stdout.splitlines() if line.strip().startswith("wave")]
    assert waves == ["  wave 1: agents (in parallel)", "  wave 2: n2: server (one at a time)",
                     "  wave 3: n1: server (one at a time)"]
    for refused in (k3swiz(tmp_path, "reset", path, "--yes"),
                    k3swiz(tmp_path, "reset", path, "--yes", "--confirm-name", "other"),
                    k3swiz(tmp_path, "reset", path)):            # no terminal, no --yes
        assert refused.returncode == 2, out(refused)
    assert "--confirm-name rs" in out(k3swiz(tmp_path, "reset", path, "--yes"))
    assert n1.host_path("/etc/rancher/k3s/config.yaml").exists()   # nothing changed so far

    done = k3swiz(tmp_path, "reset", path, "--yes", "--confirm-name", "rs")
    assert done.returncode == 0, out(done)
    # agents first, then the other server, the first server last (the uninstall disables each service)
    disabled = {n.name: call_times(n, "systemctl", "disable")[-1] for n in nodes}
    assert disabled["n3"] < disabled["n2"] < disabled["n1"]
    for node in nodes:
        assert f"{node.name}: nothing left" in done.stdout
        assert files_under(node, "/usr/local/bin") == ["/usr/local/bin/systemctl"]   # the lab's own tool
        assert files_under(node, "/etc/rancher") == [] and files_under(node, "/var/lib/rancher") == []
        assert not [f for f in files_under(node, "/etc/systemd/system") if "k3s" in f]
    assert "-reset-" in done.stdout.split("journal: ")[1]

    again = k3swiz(tmp_path, "reset", path, "--yes", "--confirm-name", "rs")
    assert again.returncode == 0 and "ok: 0 changed" in again.stdout, out(again)


def test_reset_only_an_agent_deletes_its_node_object_and_reports_what_stays(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    server, agent = nodes
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="part")
    assert apply_file(path, tmp_path).ok
    assert (lab.shared_dir / "nodes" / "n2").exists()
    # another k3s service on the agent: the uninstall script stops early and leaves k3s there
    agent.host_path("/etc/systemd/system/k3s-extra.service").write_text("[Service]\nExecStart=/bin/true\n")
    server_files = files_under(server, "/etc/rancher")

    result = k3swiz(tmp_path, "reset", path, "--only", "n2", "--yes")
    assert result.returncode == 0, out(result)
    assert not (lab.shared_dir / "nodes" / "n2").exists()          # kubectl delete node ran on n1
    deletes = [c["argv"] for c in server.calls() if c["argv"][:2] == ["kubectl", "delete"]]
    assert deletes == [["kubectl", "delete", "node", "n2", "--ignore-not-found"]]
    assert not agent.host_path("/etc/rancher/k3s/config.yaml").exists()   # k3swiz's files went
    assert not agent.host_path("/etc/rancher/k3s/cluster-token").exists()
    assert agent.host_path("/usr/local/bin/k3s").exists()                 # kept for the other service
    left = next(line for line in result.stdout.splitlines() if line.startswith("n2: left: "))
    assert "/usr/local/bin/k3s" in left and "/etc/rancher/k3s/config.yaml" not in left
    assert files_under(server, "/etc/rancher") == server_files            # the server is untouched
    assert server.host_path("/etc/systemd/system/k3s.service").exists()
