"""Small builders for answers documents in tests."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from k3swiz.answers import answers_from_text
from k3swiz.validate import validate

BASE = {
    "apiVersion": "k3swiz/v1",
    "cluster": {"name": "t", "k3s": {"version": "v1.33.6+k3s1"}, "token": {"file": "./t.token"}},
    "nodes": [
        {"name": "cp1", "address": "192.168.1.10", "role": "server"},
        {"name": "w1", "address": "192.168.1.20", "role": "agent"},
    ],
}


def doc(**changes) -> dict:
    """BASE with dotted-path changes: doc(**{"cluster.datastore": "sqlite"})."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split(".")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target.setdefault(key, {})
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return data


def problems_of(data: dict | str, base_dir: Path | None = None) -> list:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    return validate(answers_from_text(text, "t.yaml", base_dir))


def messages(data, severity: str | None = "error", base_dir: Path | None = None) -> list[str]:
    return [f"{p.path}: {p.message} | {p.fix}" for p in problems_of(data, base_dir)
            if severity is None or p.severity == severity]
