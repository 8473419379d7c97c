"""Find Traefik chart values written for another chart generation than the one k3s ships.

k3s <= 1.20 ships the Traefik v1 chart, 1.21 .. 1.32.1 the v2 chart, 1.32.2+ the v3
chart; their value keys differ, and Helm ignores or rejects keys of the wrong one,
so a user's HelmChartConfig silently does nothing or breaks the Traefik install.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from k3swiz.catalog_model import ForeignKey, K3sVersion, TraefikKey

REDIRECT_TO = "ports.web.redirectTo"


def leaf_paths(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every dotted key path that ends at a non-mapping value (or an empty mapping)."""
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, path)
        else:
            yield path, value


def _is_within(path: str, marker: str) -> bool:
    return path == marker or path.startswith(marker + ".")


def _most_specific(path: str, keys: Sequence[TraefikKey]) -> TraefikKey | None:
    matches = [key for key in keys if _is_within(path, key.path)]
    return max(matches, key=lambda key: len(key.path), default=None)


def _message(key: TraefikKey, version: K3sVersion, generation: str) -> tuple[str, str | None]:
    owners = "/".join(key.generations)
    replacement = key.equivalents.get(generation)
    text = (f"`{key.path}` is a Traefik {owners} chart key; k3s {version} ships the "
            f"Traefik {generation} chart")
    if replacement:
        text += f": use `{replacement}`"
    else:
        text += ", which has no direct equivalent"
    if key.note:
        text += f" ({key.note})"
    return text, replacement


def foreign_keys(values: Mapping[str, Any], keys: Sequence[TraefikKey], version: K3sVersion,
                 generation: str) -> list[ForeignKey]:
    """Keys in `values` that only other generations accept, once per marked key."""
    found: dict[str, ForeignKey] = {}
    for path, _value in leaf_paths(values):
        key = _most_specific(path, keys)
        if key is None or generation in key.generations or key.path in found:
            continue
        message, replacement = _message(key, version, generation)
        found[key.path] = ForeignKey(key.path, key.generations[0], message, replacement)
    return list(found.values())


def redirect_form_problem(values: Mapping[str, Any], version: K3sVersion,
                          port_form: bool) -> ForeignKey | None:
    """Within the v2 chart, `redirectTo` changed shape at chart v25 (a string, then `.port`)."""
    node: Any = values
    for part in REDIRECT_TO.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if port_form and isinstance(node, str):
        return ForeignKey(REDIRECT_TO, "v2", (
            f"`{REDIRECT_TO}: {node}` is the Traefik chart <25 form; k3s {version} ships chart 25+, "
            f"which fails with 'Syntax of ports.web.redirectTo has changed': "
            f"use `{REDIRECT_TO}.port: {node}`"), f"{REDIRECT_TO}.port")
    if not port_form and isinstance(node, Mapping):
        target = node.get("port", "websecure")
        return ForeignKey(f"{REDIRECT_TO}.port", "v2", (
            f"`{REDIRECT_TO}.port` is the Traefik chart 25+ form; k3s {version} ships an older "
            f"chart that takes a string: use `{REDIRECT_TO}: {target}`"), REDIRECT_TO)
    return None
