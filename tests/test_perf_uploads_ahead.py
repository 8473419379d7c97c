"""The airgap bundle is uploaded ahead, while the server waves run (k3swiz.uploads_ahead):
agents do not upload on the critical path, a skipped node keeps no temp, and the counts of
issue 7 hold (one connection, one SFTP transfer, at most 4 commands per agent)."""

from __future__ import annotations

import time

import pytest

from k3swiz.connect import Access
from k3swiz.journal import DONE, FAILED, SKIPPED
from k3swiz.ssh import Transport
from k3swiz.ssh_upload import STAGING_PARENT, STAGING_PREFIX
from tests.apply_util import apply_file, lab_answers
from tests.faults_util import leftovers

pytestmark = pytest.mark.lab


class TimedTransport(Transport):
    """Records when each node's upload ended (the transport of a real run, otherwise unchanged)."""

    ended: dict[str, float] = {}

    def upload(self, files, *, sudo=True):
        uploaded = super().upload(files, sudo=sudo)
        TimedTransport.ended[self.target.node] = time.time()
        return uploaded


def first_install(node) -> float:
    return min(c["time"] for c in node.calls() if c["prog"] == "install.sh")


def test_agents_bundles_travel_while_the_servers_install(lab_factory, tmp_path):
    lab, nodes = lab_factory(5, install_seconds=0.5)
    path = lab_answers(lab, nodes, tmp_path, servers=3, name="ahead")
    TimedTransport.ended = {}
    access = Access(ssh_config_path=tmp_path / "none", transport_factory=TimedTransport)
    result = apply_file(path, tmp_path, access=access)
    assert result.ok, [(o.node, o.phase, o.message) for o in result.outcomes.values()]
    servers, agents = nodes[:3], nodes[3:]
    assert set(TimedTransport.ended) == {n.name for n in nodes}  # one upload per node, no second one
    # every bundle had arrived before the last server even started installing
    assert max(TimedTransport.ended.values()) < first_install(servers[2])
    for node in agents:
        stats = result.outcomes[node.name].stats
        assert (stats["connections"], stats["transfers"]) == (1, 1) and stats["commands"] <= 4, stats
        log = (result.journal / "nodes" / f"{node.name}.log").read_text()
        assert "uploaded ahead: /usr/local/bin/k3s" in log
    assert [leftovers(n) for n in nodes] == [[]] * len(nodes)


@pytest.mark.parametrize("user", ["root", "deploy"])
def test_a_skipped_node_keeps_no_uploaded_temp(lab_factory, tmp_path, user):
    lab, nodes = lab_factory(4)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="skipped", user=user)
    nodes[0].write_file_inside("/etc/k3s-standin.fail-install", b"injected by the test\n")
    TimedTransport.ended = {}
    access = Access(ssh_config_path=tmp_path / "none", transport_factory=TimedTransport)
    result = apply_file(path, tmp_path, access=access)
    states = {name: o.state for name, o in result.outcomes.items()}
    assert states == {nodes[0].name: FAILED, **{n.name: SKIPPED for n in nodes[1:]}}
    assert set(TimedTransport.ended) >= {n.name for n in nodes[1:]}  # their bundles had been sent
    for node in nodes:
        assert leftovers(node) == [], node.name
        assert node is nodes[0] or not node.host_path("/usr/local/bin/k3s").exists()
        listing = node.exec(f"ls -A {STAGING_PARENT}").stdout
        assert STAGING_PREFIX not in listing, (node.name, listing)


def test_one_node_at_a_time_uploads_nothing_ahead(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="serial")
    events: list = []
    result = apply_file(path, tmp_path, events=events, concurrency=1)
    assert result.ok and all(o.state == DONE for o in result.outcomes.values())
    log = (result.journal / "nodes" / f"{nodes[1].name}.log").read_text()
    assert "uploaded ahead" not in log and result.outcomes[nodes[1].name].stats["transfers"] == 1
