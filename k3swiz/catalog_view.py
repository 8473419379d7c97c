"""`k3swiz versions`: the version catalog as rich tables, or as one stable JSON document.

The JSON mirrors assets/catalog.yaml key for key, so a script can read it the same way
k3swiz reads the YAML (`Catalog.from_dict(json.loads(text), path)` rebuilds the catalog).
"""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from k3swiz.catalog import Catalog, K3sVersion, PerMinor
from k3swiz.catalog_model import Gate

UNVERIFIED_MARK = "?"


def print_versions(console: Console, catalog: Catalog, as_json: bool) -> None:
    """Print the catalog: tables readable at 80 columns, or JSON with sorted keys."""
    if as_json:
        console.out(json.dumps(catalog_document(catalog), indent=2, sort_keys=True), highlight=False)
        return
    console.print(f"Channels: stable = {catalog.channels['stable']}, latest = {catalog.channels['latest']},"
                  " testing = as latest", highlight=False)
    for table in (minors_table(catalog), notes_table(catalog), features_table(catalog),
                  alpine_table(catalog), ports_table(catalog)):
        console.print(table)
    if catalog.apk:
        apk = catalog.apk
        console.print(f"Alpine package layout: binary {apk.binary}, settings {apk.conf_file} "
                      f"({', '.join(apk.conf_keys)}), service {apk.init_script}, log {apk.log_file}",
                      highlight=False)
    console.print("Must match on every server: " + ", ".join(catalog.critical_server_keys), highlight=False)
    console.print(f"{UNVERIFIED_MARK} = best guess, not confirmed by a source", style="dim", highlight=False)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def minors_table(catalog: Catalog) -> Table:
    table = _table("k3s minors", "k3s", "first release", "newest known", "Traefik", "CoreDNS", "etcd")
    for minor in catalog.minors:
        newest = str(minor.newest) + ("" if minor.newest_verified else UNVERIFIED_MARK)
        first = str(minor.first_release) + ("" if minor.first_verified else UNVERIFIED_MARK)
        traefik = " ".join(filter(None, (minor.traefik, minor.components.get("traefik"))))
        table.add_row(minor.line, first, newest, traefik,
                      minor.components.get("coredns", ""), minor.components.get("etcd", ""))
    return table


def notes_table(catalog: Catalog) -> Table:
    table = _table("What each minor changed", "k3s", "notes")
    for minor in catalog.minors:
        table.add_row(minor.line, "\n".join(minor.notes))
    return table


def _gate_text(gate: Gate, separator: str = "\n") -> str:
    if gate is None:
        return ""
    if isinstance(gate, PerMinor):
        return separator.join(str(first) for first in sorted(gate.firsts))
    return str(gate)


def features_table(catalog: Catalog) -> Table:
    table = _table("Features by version (a list: first release in each line)",
                   "feature", "since", "stable since", "removed in")
    for feature in sorted(catalog.features.values(), key=lambda item: item.name):
        table.add_row(feature.name, _gate_text(feature.since), _gate_text(feature.stable_since),
                      _gate_text(feature.until))
    return table


def alpine_table(catalog: Catalog) -> Table:
    table = _table("Alpine k3s packages (+k3sN is written .N)", "Alpine", "k3s", "package", "release")
    for row in catalog.alpine:
        release = str(row.k3s_version) if row.k3s_version else ""
        table.add_row(row.alpine, row.k3s_line or UNVERIFIED_MARK, row.package_version or UNVERIFIED_MARK,
                      release)
    return table


def ports_table(catalog: Catalog) -> Table:
    table = _table("Ports (local = loopback only, never open these)", "proto", "port", "between", "purpose")
    for port in catalog.ports:
        table.add_row(port.proto, port.label, port.direction, port.purpose)
    return table


# --- JSON: the same shape as assets/catalog.yaml ------------------------------------


def _version(version: K3sVersion | None) -> str | None:
    return None if version is None else str(version)


def _gate(gate: Gate) -> str | list[str] | None:
    if isinstance(gate, PerMinor):
        return [str(first) for first in gate.firsts]
    return _version(gate)


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain data in the YAML file's shape."""
    return {
        "channels": {name: str(version) for name, version in catalog.channels.items()},
        "minors": {minor.line: {
            "first_release": str(minor.first_release), "date": minor.date, "newest": str(minor.newest),
            "newest_verified": minor.newest_verified, "first_verified": minor.first_verified,
            "traefik": minor.traefik,
            "components": dict(minor.components), "components_release": _version(minor.components_release),
            "notes": list(minor.notes), "source": minor.source,
        } for minor in catalog.minors},
        "features": {feature.name: {
            "description": feature.description, "source": feature.source, "since": _gate(feature.since),
            "until": _version(feature.until), "stable_since": _gate(feature.stable_since),
            "instead": feature.instead,
        } for feature in catalog.features.values()},
        "traefik": _traefik_document(catalog),
        "alpine": {
            "releases": [{"alpine": row.alpine, "k3s_line": row.k3s_line, "package_version": row.package_version,
                          "source": row.source, "verified": row.verified} for row in catalog.alpine],
            "apk": _apk_document(catalog),
        },
        "ports": [{"proto": port.proto, "port": port.label, "direction": port.direction, "purpose": port.purpose,
                   "loopback_only": port.loopback_only, "source": port.source} for port in catalog.ports],
        "critical_server_keys": list(catalog.critical_server_keys),
    }


def _traefik_document(catalog: Catalog) -> dict[str, Any]:
    generations = {gen.name: {
        "charts": gen.charts, "redirect_key": gen.redirect_key, "top_level_keys": list(gen.top_level_keys),
        "source": gen.source, "later_redirect_key": gen.later_redirect_key,
        "later_redirect_since": _gate(gen.later_redirect_since),
    } for gen in catalog.traefik_generations.values()}
    keys = [{"path": key.path, "generations": list(key.generations), "equivalents": dict(key.equivalents),
             "note": key.note} for key in catalog.traefik_keys]
    return {"generations": generations, "keys": keys}


def _apk_document(catalog: Catalog) -> dict[str, Any] | None:
    apk = catalog.apk
    if apk is None:
        return None
    return {"binary": apk.binary, "conf_file": apk.conf_file, "conf_keys": list(apk.conf_keys),
            "init_script": apk.init_script, "log_file": apk.log_file, "subpackages": list(apk.subpackages),
            "source": apk.source}
