"""The read-only probe of k3swiz.facts, run locally by dash (GNU tools) and by busybox sh with
busybox applets only (as on an Alpine node), then parsed; and the pre-flight port rule."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
import yaml

from k3swiz.answers import answers_from_text
from k3swiz.facts import NodeFacts, parse_facts, preflight, probe_script
from tests.answers_util import doc

SHELLS = ["dash"] + (["busybox"] if shutil.which("busybox") else [])
APPLETS = ("sh", "uname", "awk", "sed", "sha256sum", "cat")


@pytest.fixture(params=SHELLS)
def shell(request, tmp_path_factory) -> tuple[str, dict | None]:
    if request.param == "dash":
        return "sh", None
    applets = tmp_path_factory.mktemp("probe-applets")
    for name in APPLETS:
        (applets / name).symlink_to(shutil.which("busybox"))
    return str(applets / "sh"), {"PATH": str(applets)}


def run_probe(script: str, shell) -> subprocess.CompletedProcess:
    program, env = shell
    return subprocess.run([program, "-s"], input=script.encode(), capture_output=True, env=env, timeout=60)


def test_probe_hashes_exactly_the_files_that_exist(tmp_path, shell):
    present = {tmp_path / "etc/rancher/k3s/config.yaml": b"token-file: x\n",
               tmp_path / "a dir/it's here.yaml": b"odd name\n",
               tmp_path / "empty": b""}
    for path, content in present.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    missing = tmp_path / "usr/local/bin/k3s"
    (tmp_path / "a folder").mkdir()
    paths = [str(p) for p in present] + [str(missing), str(tmp_path / "a folder")]
    result = run_probe(probe_script(paths, "k3s"), shell)
    assert result.returncode == 0, result.stderr
    facts = parse_facts(result.stdout.decode())
    assert facts.file_hashes == {str(p): hashlib.sha256(c).hexdigest() for p, c in present.items()}
    assert facts.arch and facts.init in ("systemd", "openrc", "unknown")


def test_probe_with_no_file_present_reports_no_hash(tmp_path, shell):
    result = run_probe(probe_script([str(tmp_path / "nothing-here")], "k3s"), shell)
    assert result.returncode == 0, result.stderr
    assert parse_facts(result.stdout.decode()).file_hashes == {}


def test_parse_keeps_only_listeners_that_are_not_k3s():
    facts = parse_facts('listen=0.0.0.0:6443 users:(("nginx",pid=1,fd=3))\n'
                        'listen=[::]:10250 users:(("k3s-server",pid=2,fd=9))\n'
                        "k3s_version=v1.33.6+k3s1\nservice_unit=1\nservice_active=1\n"
                        "hash=" + "a" * 64 + "  /etc/rancher/k3s/config.yaml\n"
                        "hash=" + "b" * 64 + " */usr/local/bin/k3s\n")
    assert facts.ports_taken == {6443: "nginx"}
    assert facts.k3s_version == "v1.33.6+k3s1" and facts.service_unit and facts.service_active
    assert facts.file_hashes == {"/etc/rancher/k3s/config.yaml": "a" * 64, "/usr/local/bin/k3s": "b" * 64}


@pytest.mark.parametrize("datastore, role, refused, allowed", [
    ("etcd", "server", {6443, 6444, 2379, 2380, 2381, 10250}, set()),
    ("sqlite", "server", {6443, 6444, 10250}, {2379, 2380, 2381}),
    ("etcd", "agent", {6444, 10250}, {6443, 2379, 2380, 2381}),
])
def test_preflight_refuses_exactly_the_ports_k3s_will_listen_on(datastore, role, refused, allowed):
    text = yaml.safe_dump(doc(**{"cluster.datastore": datastore}), sort_keys=False)
    answers = answers_from_text(text, "t.yaml").answers
    node = next(n for n in answers.nodes if n.role == role)
    facts = NodeFacts(init="systemd", ports_taken={port: "nginx" for port in refused | allowed})
    messages = [p.message for p in preflight(answers, node, facts)]
    assert {int(m.split("port ")[1].split()[0]) for m in messages} == refused, messages
    assert all("is already taken by nginx (k3s needs it for " in m for m in messages)
