"""Traefik values written for one chart generation, rewritten for the one a new k3s ships.

An upgrade across v1.32.2+k3s1 moves k3s from the Traefik v2 chart to v3 (and 1.21 from v1 to
v2): keys the old chart took fail or do nothing in the new one (k3s-facts §5). The catalog
says which keys belong to which generation and what replaces them; this module moves the
user's values to those keys and says what changed. The HTTP -> HTTPS redirect is special: its
shape changes (`ssl.enforced: true`, `redirectTo: websecure`, `redirectTo.port: websecure`,
`redirections.entryPoint: {to, scheme, permanent}`), so it is rebuilt, not moved.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .catalog import Catalog, K3sVersion

REDIRECT_KEYS = ("ssl.enforced", "ports.web.redirectTo", "ports.web.redirectTo.port", "ports.web.redirections")


@dataclass(frozen=True)
class Change:
    old_path: str
    old_value: Any
    new_path: str | None        # None: nothing takes it in the new chart (left for the user)
    new_value: Any = None
    note: str = ""

    def describe(self) -> str:
        old = f"{self.old_path}: {_short(self.old_value)}"
        if self.note:
            return f"{old}  ({self.note})"
        if self.new_path is None:
            return f"{old}  (no equivalent in the new chart: remove or replace it by hand)"
        return f"{old}  ->  {self.new_path}: {_short(self.new_value)}"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _pop(values: dict, path: str) -> Any:
    """Remove and return the value at a dotted path; empty parents go too."""
    parts = path.split(".")
    trail = [values]
    for part in parts[:-1]:
        trail.append(trail[-1][part])
    value = trail[-1].pop(parts[-1])
    for parent, part in zip(reversed(trail[:-1]), reversed(parts[:-1])):
        if parent[part] == {}:
            del parent[part]
    return value


def _put(values: dict, path: str, value: Any) -> None:
    node = values
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
        node[parts[-1]].update(value)
    else:
        node[parts[-1]] = value


def _redirect_target(value: Any) -> str | None:
    """The entry point an old redirect setting sends HTTP to (None: no redirect)."""
    if isinstance(value, dict):
        value = value.get("port", value.get("entryPoint", {}).get("to") if isinstance(value.get("entryPoint"), dict)
                          else None)
    if value is True:
        return "websecure"
    return value if isinstance(value, str) and value else None


def _redirect(new: dict, catalog: Catalog, target: K3sVersion, entry_point: str) -> tuple[str, Any]:
    key = catalog.traefik_redirect_key(target)
    if key.endswith("entryPoint.to"):     # v3: a mapping with the scheme and permanence beside it
        block = {"to": entry_point, "scheme": "https", "permanent": True}
        path = key.rsplit(".", 1)[0]
        _put(new, path, block)
        return path, block
    _put(new, key, True if key == "ssl.enforced" else entry_point)
    return key, True if key == "ssl.enforced" else entry_point


def rewrite_values(values: dict, catalog: Catalog, target: K3sVersion) -> tuple[dict, list[Change]]:
    """(values for the target's chart, what changed). Keys with no equivalent stay, reported."""
    new = copy.deepcopy(values)
    changes: list[Change] = []
    for foreign in catalog.traefik_foreign_keys(values, target):
        if foreign.path in REDIRECT_KEYS:
            old = _pop(new, foreign.path)
            entry_point = _redirect_target(old)
            if entry_point is None:
                changes.append(Change(foreign.path, old, "", note="dropped: it turned no redirect on"))
                continue
            path, value = _redirect(new, catalog, target, entry_point)
            changes.append(Change(foreign.path, old, path, value))
        elif foreign.replacement:
            old = _pop(new, foreign.path)
            _put(new, foreign.replacement, old)
            changes.append(Change(foreign.path, old, foreign.replacement, old))
        else:
            changes.append(Change(foreign.path, _get(values, foreign.path), None))
    return new, changes


def _get(values: dict, path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node
