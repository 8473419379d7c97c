"""Turn the parsed assets/catalog.yaml into catalog value types, naming the place of any mistake."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from k3swiz.catalog_model import (
    AlpineRow,
    ApkLayout,
    Feature,
    Gate,
    K3sVersion,
    MinorInfo,
    PerMinor,
    PortRow,
    TraefikGeneration,
    TraefikKey,
)

# libyaml's loader is ~10x faster; the catalog is read on every start.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and the key path."""


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError) as error:
        raise CatalogError(f"{path}: cannot read the version catalog: {error}") from error
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: the version catalog must be a mapping at the top")
    return data


class Reader:
    """Reads typed values out of the YAML tree; errors carry `file: key.path: problem`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.path}: {where}: {problem}")

    def need(self, node: Mapping[str, Any], key: str, where: str) -> Any:
        if not isinstance(node, Mapping) or key not in node:
            raise self.fail(where, f"missing key `{key}`")
        return node[key]

    def version(self, value: Any, where: str) -> K3sVersion:
        try:
            return K3sVersion.parse(value)
        except ValueError as error:
            raise self.fail(where, str(error)) from None

    def optional_version(self, value: Any, where: str) -> K3sVersion | None:
        return None if value is None else self.version(value, where)

    def gate(self, value: Any, where: str) -> Gate:
        """A single version, or a list of the first version in each minor (a backport)."""
        if isinstance(value, list):
            firsts = tuple(self.version(item, f"{where}[{index}]") for index, item in enumerate(value))
            lines = [first.line for first in firsts]
            if not firsts or len(set(lines)) != len(lines):
                raise self.fail(where, "a per-minor gate lists one version per minor, at least one")
            return PerMinor(firsts)
        return self.optional_version(value, where)

    def text_list(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(where, "expected a list of strings")
        return tuple(value)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "expected a mapping")
        return value

    def each(self, node: Any, where: str, build: Callable[[Any, Any, str], Any]) -> list[Any]:
        """Build one item per entry of a mapping (key, value) or list (index, value)."""
        if isinstance(node, Mapping):
            return [build(key, value, f"{where}.{key}") for key, value in node.items()]
        if isinstance(node, list):
            return [build(index, value, f"{where}[{index}]") for index, value in enumerate(node)]
        raise self.fail(where, "expected a mapping or a list")


def build_minor(reader: Reader, line: Any, node: Any, where: str) -> MinorInfo:
    # Unquoted, YAML reads 1.20 as the number 1.2: insist on strings.
    if not isinstance(line, str) or line.count(".") != 1:
        raise reader.fail(where, f"minor key {line!r} must be a quoted string like \"1.20\"")
    node = reader.mapping(node, where)
    components = reader.mapping(node.get("components") or {}, f"{where}.components")
    minor = MinorInfo(
        line=line,
        first_release=reader.version(reader.need(node, "first_release", where), f"{where}.first_release"),
        date=node.get("date"),
        newest=reader.version(reader.need(node, "newest", where), f"{where}.newest"),
        newest_verified=bool(node.get("newest_verified", False)),
        notes=reader.text_list(node.get("notes") or [], f"{where}.notes"),
        components={str(key): str(value) for key, value in components.items()},
        traefik=str(reader.need(node, "traefik", where)),
        source=str(reader.need(node, "source", where)),
        components_release=reader.optional_version(node.get("components_release"), f"{where}.components_release"),
        first_verified=bool(node.get("first_verified", True)),
    )
    for release in (minor.first_release, minor.newest):
        if release.line != line:
            raise reader.fail(where, f"{release} is not in the {line} line")
    return minor


def build_feature(reader: Reader, name: Any, node: Any, where: str) -> Feature:
    node = reader.mapping(node, where)
    return Feature(
        name=str(name),
        description=str(reader.need(node, "description", where)),
        source=str(reader.need(node, "source", where)),
        since=reader.gate(node.get("since"), f"{where}.since"),
        until=reader.optional_version(node.get("until"), f"{where}.until"),
        stable_since=reader.gate(node.get("stable_since"), f"{where}.stable_since"),
        instead=node.get("instead"),
    )


def build_generation(reader: Reader, name: Any, node: Any, where: str) -> TraefikGeneration:
    node = reader.mapping(node, where)
    return TraefikGeneration(
        name=str(name),
        charts=str(reader.need(node, "charts", where)),
        top_level_keys=reader.text_list(reader.need(node, "top_level_keys", where), f"{where}.top_level_keys"),
        redirect_key=str(reader.need(node, "redirect_key", where)),
        source=str(reader.need(node, "source", where)),
        later_redirect_key=node.get("later_redirect_key"),
        later_redirect_since=reader.gate(node.get("later_redirect_since"), f"{where}.later_redirect_since"),
    )


def build_traefik_key(reader: Reader, _index: Any, node: Any, where: str) -> TraefikKey:
    node = reader.mapping(node, where)
    equivalents = reader.mapping(node.get("equivalents") or {}, f"{where}.equivalents")
    return TraefikKey(
        path=str(reader.need(node, "path", where)),
        generations=reader.text_list(reader.need(node, "generations", where), f"{where}.generations"),
        equivalents={str(gen): str(key) for gen, key in equivalents.items() if key},
        note=str(node.get("note") or ""),
    )


def build_alpine(reader: Reader, _index: Any, node: Any, where: str) -> AlpineRow:
    node = reader.mapping(node, where)
    line = node.get("k3s_line")
    return AlpineRow(
        alpine=str(reader.need(node, "alpine", where)),
        k3s_line=None if line is None else str(line),
        package_version=node.get("package_version"),
        source=str(reader.need(node, "source", where)),
        verified=bool(node.get("verified", True)),
    )


def build_apk(reader: Reader, node: Any, where: str) -> ApkLayout:
    node = reader.mapping(node, where)
    return ApkLayout(
        binary=str(reader.need(node, "binary", where)),
        conf_file=str(reader.need(node, "conf_file", where)),
        conf_keys=reader.text_list(reader.need(node, "conf_keys", where), f"{where}.conf_keys"),
        init_script=str(reader.need(node, "init_script", where)),
        log_file=str(reader.need(node, "log_file", where)),
        subpackages=reader.text_list(reader.need(node, "subpackages", where), f"{where}.subpackages"),
        source=str(reader.need(node, "source", where)),
    )


def build_port(reader: Reader, _index: Any, node: Any, where: str) -> PortRow:
    node = reader.mapping(node, where)
    port_text = str(reader.need(node, "port", where))
    first, _, last = port_text.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise reader.fail(where, f"port {port_text!r} must be a number or a range like 2379-2380")
    return PortRow(
        proto=str(reader.need(node, "proto", where)),
        port=int(first),
        direction=str(reader.need(node, "direction", where)),
        purpose=str(reader.need(node, "purpose", where)),
        loopback_only=bool(node.get("loopback_only", False)),
        port_end=int(last) if last else None,
        source=str(reader.need(node, "source", where)),
    )
