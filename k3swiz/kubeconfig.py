"""The kubeconfig fetched from the first server: rewritten, renamed, saved, optionally merged."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from .answers import Answers
from .localfiles import write_atomic
from .render import supervisor_url


def reachable_server(answers: Answers) -> str:
    """The first tls-san, else the first server's address (k3s writes 127.0.0.1)."""
    host = answers.cluster.tls_san[0] if answers.cluster.tls_san else (
        answers.init_server or answers.servers[0]).address
    return supervisor_url(host)


def rewrite(raw: bytes, answers: Answers) -> dict:
    """k3s's kubeconfig with `server:` reachable and `default` renamed to the cluster name."""
    config = yaml.safe_load(raw)
    name = answers.cluster.name
    for entry in config.get("clusters", []):
        entry["name"] = name
        entry["cluster"]["server"] = reachable_server(answers)
    for entry in config.get("users", []):
        entry["name"] = name
    for entry in config.get("contexts", []):
        entry["name"] = name
        entry["context"]["cluster"] = name
        entry["context"]["user"] = name
    config["current-context"] = name
    return config


def write_private(path: Path, config: dict) -> None:
    """0600 from creation (it holds client keys), atomic."""
    write_atomic(path, yaml.safe_dump(config, sort_keys=False).encode(), 0o600)


def merge_into(target: Path, config: dict, *, use_context: bool) -> Path | None:
    """Merge into target (e.g. ~/.kube/config) after a backup; returns the backup's path."""
    backup = None
    existing: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    if target.exists():
        backup = target.with_name(f"{target.name}.k3swiz-backup-{time.strftime('%Y%m%d-%H%M%S')}")
        write_atomic(backup, target.read_bytes(), 0o600)   # it holds client keys: private from the start
        existing = yaml.safe_load(target.read_text()) or existing
    for section in ("clusters", "users", "contexts"):
        names = {e["name"] for e in config.get(section, [])}
        kept = [e for e in existing.get(section) or [] if e.get("name") not in names]
        existing[section] = kept + config.get(section, [])
    if use_context or not existing.get("current-context"):
        existing["current-context"] = config["current-context"]
    write_private(target, existing)
    return backup
