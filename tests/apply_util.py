"""Answers files for lab nodes, and helpers to apply them for real over SSH."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from k3swiz.answers import load_answers
from k3swiz.apply import ApplyOptions, apply_plan
from k3swiz.connect import Access
from k3swiz.validate import validate

STANDINS = Path(__file__).resolve().parent / "standins"


def airgap_bundle(folder: Path) -> dict:
    """The stand-in airgap bundle (k3s + install.sh are TEST STAND-INS, not k3s)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(STANDINS / "k3s", folder / "k3s")
    shutil.copy(STANDINS / "install.sh", folder / "install.sh")
    (folder / "k3s-airgap-images-amd64.tar.zst").write_bytes(b"stand-in images archive\n")
    return {"k3s-binary": str(folder / "k3s"), "images": str(folder / "k3s-airgap-images-amd64.tar.zst"),
            "install-script": str(folder / "install.sh")}


def lab_answers(lab, nodes, folder: Path, *, servers: int = 1, name: str = "lab", user: str = "root",
                extra_cluster: dict | None = None, node_extra: dict | None = None) -> Path:
    """An answers file for `nodes` (the first `servers` are servers) using the stand-in bundle."""
    cluster = {"name": name, "k3s": {"version": "v1.33.6+k3s1"}, "token": {"file": str(folder / f"{name}.token")},
               "tls-san": [nodes[0].address], **(extra_cluster or {})}
    doc = {
        "apiVersion": "k3swiz/v1",
        "cluster": cluster,
        "install": {"method": "airgap", "airgap": airgap_bundle(folder / "bundle")},
        "ssh": {"user": user, "port": nodes[0].port, "identity-file": str(lab.client_key),
                "known-hosts": str(lab.known_hosts), "connect-timeout": 5},
        "nodes": [{"name": n.name, "address": n.address, "role": "server" if i < servers else "agent",
                   **((node_extra or {}).get(n.name, {}))} for i, n in enumerate(nodes)],
    }
    path = folder / f"{name}.k3swiz.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    loaded = load_answers(path)
    errors = [p.format() for p in validate(loaded) if p.is_error]
    assert errors == [], errors
    return path


def apply_file(path: Path, folder: Path, *, events: list | None = None, **options):
    answers = load_answers(path).answers
    access = options.pop("access", None) or Access(ssh_config_path=folder / "no-ssh-config")
    opts = ApplyOptions(journal_root=folder / "journal", kubeconfig_path=folder / f"{answers.cluster.name}.kubeconfig",
                        access=access, wait_timeout=options.pop("wait_timeout", 30.0), **options)
    return apply_plan(answers, opts, events.append if events is not None else None)
