"""Hostile values in every free-text field that reaches a node: refused by validation, or passed
as data that no shell ever runs. The lab test proves it on real nodes: no marker file appears.

Refused: node names, addresses, labels, taints, tls-san, cluster name, version, channel, join-url,
ssh user and proxy-jump, disabled components, snapshot cron. Passed as data (config.yaml,
registries.yaml, the Traefik manifest, the token file, quoted remote paths): extra k3s config
values, registries entries, Traefik values, the snapshot dir, the token, the airgap images' name.
"""

from __future__ import annotations

import copy
import subprocess

import pytest
import yaml

from k3swiz.answers import answers_from_text
from k3swiz.plan import Run, build_plan
from tests.answers_util import BASE, problems_of
from tests.apply_util import apply_file, lab_answers

# Each form would create a marker file if any shell ever evaluated it.
FORMS = ["$(touch /tmp/pwned-{m})", "`touch /tmp/pwned-{m}`", "; touch /tmp/pwned-{m};", "' ; touch /tmp/pwned-{m} ; '",
         "\" ; touch /tmp/pwned-{m} ; \"", "x\ntouch /tmp/pwned-{m}\n", "| touch /tmp/pwned-{m}", "&& touch /tmp/pwned-{m}"]


def hostile(marker: str) -> list[str]:
    return [form.format(m=f"{marker}{i}") for i, form in enumerate(FORMS)]


def put(data: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data[int(key)] if isinstance(data, list) else data.setdefault(key, {})
    data[int(last) if isinstance(data, list) else last] = value


REFUSED = {
    "nodes[0].name": ("nodes.0.name", lambda v: v),
    "nodes[0].address": ("nodes.0.address", lambda v: v),
    "nodes[0].ipv6": ("nodes.0.ipv6", lambda v: v),
    "nodes[0].labels[0]": ("nodes.0.labels", lambda v: [f"a={v}"]),
    "nodes[0].taints[0]": ("nodes.0.taints", lambda v: [f"a={v}:NoSchedule"]),
    "cluster.tls-san[0]": ("cluster.tls-san", lambda v: [v]),
    "cluster.name": ("cluster.name", lambda v: v),
    "cluster.k3s.version": ("cluster.k3s", lambda v: {"version": "v1.33.6+k3s1" + v}),
    "cluster.k3s.channel": ("cluster.k3s", lambda v: {"channel": "stable" + v}),
    "cluster.disable[0]": ("cluster.disable", lambda v: [v]),
    "cluster.etcd-snapshots.schedule-cron": ("cluster.etcd-snapshots", lambda v: {"schedule-cron": "0 * * * *" + v}),
    "cluster.join-url": ("cluster.join-url", lambda v: f"https://a{v}:6443"),
    "ssh.user": ("ssh.user", lambda v: "root" + v),
    "nodes[0].ssh.user": ("nodes.0.ssh", lambda v: {"user": "deploy" + v}),
    "ssh.proxy-jump": ("ssh.proxy-jump", lambda v: "jump" + v),
}


@pytest.mark.parametrize("field", sorted(REFUSED))
@pytest.mark.parametrize("form", range(len(FORMS)))
def test_hostile_text_is_refused_in(field, form):
    dotted, shape = REFUSED[field]
    data = copy.deepcopy(BASE)
    if field == "cluster.join-url":
        data["cluster"]["mode"] = "join"
        data["nodes"][0]["role"] = "agent"
    put(data, dotted, shape(hostile("unit")[form]))
    errors = [p for p in problems_of(data) if p.is_error]
    assert any(p.path == field for p in errors), [f"{p.path}: {p.message}" for p in errors]


def hostile_answers(lab, nodes, folder, marker: str = "lab"):
    """Lab answers with hostile text in every field that validation passes on as data."""
    values = hostile(marker)
    images = folder / "bundle" / f"images{values[0].replace('/', '_')}{values[1].replace('/', '_')}.tar"
    extra = {
        "server-config": {"kubelet-arg": [f"v={v}" for v in values], "node-external-ip": values[2]},
        "agent-config": {"kube-proxy-arg": [f"w={v}" for v in values]},
        "registries": {"mirrors": {"docker.io": {"endpoint": [f"https://m.example/{v}" for v in values]}},
                       "configs": {"m.example": {"auth": {"username": values[3], "password": values[4]}}}},
        "traefik": {"enabled": True, "values": {"additionalArguments": values}},
        "etcd-snapshots": {"enabled": True, "dir": f"/var/lib/rancher/snaps{values[0]}"},
    }
    path = lab_answers(lab, nodes, folder, servers=1, name="hostile", extra_cluster=extra)
    images.write_bytes(b"images with a hostile name\n")
    doc = yaml.safe_load(path.read_text())
    doc["install"]["airgap"]["images"] = str(images)
    (folder / "hostile.token").write_text("tok$(touch${IFS}/tmp/pwned-token)`id`;x\n")
    (folder / "hostile.token").chmod(0o600)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, values, images


def test_hostile_data_never_reaches_a_script(tmp_path):
    """Without a lab: the Run steps' scripts (install, restart, wait) hold none of the hostile text."""
    class Fake:
        client_key, known_hosts = tmp_path / "key", tmp_path / "known_hosts"

    class FakeNode:
        def __init__(self, i):
            self.name, self.address, self.port = f"n{i}", f"10.9.0.{i}", 22
    Fake.client_key.write_text("not a key\n")
    path, values, _ = hostile_answers(Fake, [FakeNode(1), FakeNode(2)], tmp_path, "plan")
    answers = answers_from_text(path.read_text(), str(path), path.parent).answers
    scripts = [s.script for np in build_plan(answers).node_plans() for s in np.steps if isinstance(s, Run)]
    assert scripts and not any("pwned" in script for script in scripts)


@pytest.mark.lab
def test_no_injected_command_runs_on_a_node(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path, values, images = hostile_answers(lab, nodes, tmp_path)
    result = apply_file(path, tmp_path)
    assert result.ok, [(o.node, o.phase, o.message) for o in result.outcomes.values()]
    for node in nodes:
        found = node.exec("ls -a /tmp /root / /var/lib/rancher /var/lib/rancher/k3s/agent/images 2>/dev/null")
        assert "pwned" not in found.stdout.replace(images.name, "")
        assert not list((node.dir / "tmp").glob("pwned*"))
        config = yaml.safe_load(node.host_path("/etc/rancher/k3s/config.yaml").read_text())
        args = config.get("kubelet-arg") or config.get("kube-proxy-arg")
        assert [a.split("=", 1)[1] for a in args] == values  # arrived byte for byte, as data
        registries = yaml.safe_load(node.host_path("/etc/rancher/k3s/registries.yaml").read_text())
        assert registries["configs"]["m.example"]["auth"]["password"] == values[4]
        assert node.host_path(f"/var/lib/rancher/k3s/agent/images/{images.name}").exists()
        assert "tok$(touch" in node.host_path("/etc/rancher/k3s/cluster-token").read_text()
    local = subprocess.run("ls -a /tmp /root", shell=True, capture_output=True, text=True).stdout
    assert "pwned-lab" not in local and "pwned-token" not in local


def test_an_airgap_file_name_that_cannot_be_a_remote_name_is_refused(tmp_path):
    images = tmp_path / "images\ntouch /tmp/pwned-name\n.tar".replace("/tmp/", "_tmp_")
    images.write_bytes(b"x")
    data = copy.deepcopy(BASE)
    data["install"] = {"method": "airgap", "airgap": {"k3s-binary": str(images), "images": str(images),
                                                      "install-script": str(images)}}
    errors = [p for p in problems_of(data, tmp_path) if p.is_error]
    assert [p.path for p in errors] == ["install.airgap.images"], [p.message for p in errors]
    assert "line break" in errors[0].message
