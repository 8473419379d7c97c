"""The version catalog: what each k3s release can do, read from assets/catalog.yaml.

Every "can this version do X" question in k3swiz is answered here, so the wizard,
`validate` and the renderer agree. The data lives in the YAML file (each fact with
its source); this module only loads it and answers questions about it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k3swiz.assets import asset_path
from k3swiz.catalog_load import (
    CatalogError,
    Reader,
    build_alpine,
    build_apk,
    build_feature,
    build_generation,
    build_minor,
    build_port,
    build_traefik_key,
    read_yaml,
)
from k3swiz.catalog_model import (
    AlpineRow,
    ApkLayout,
    Feature,
    ForeignKey,
    Gate,
    K3sVersion,
    MinorInfo,
    PerMinor,
    PortRow,
    TraefikGeneration,
    TraefikKey,
    gate_open,
    is_channel,
    line_key,
)
from k3swiz.catalog_traefik import foreign_keys, redirect_form_problem

__all__ = [
    "AlpineRow", "ApkLayout", "Catalog", "CatalogError", "Feature", "ForeignKey", "K3sVersion",
    "MinorInfo", "PerMinor", "PortRow", "TraefikGeneration", "TraefikKey", "is_channel",
    "load_catalog",
]

# The Traefik chart generations are features too, so one gate table decides both.
_GENERATION_FEATURES = {"v1": "traefik-v1", "v2": "traefik-v2", "v3": "traefik-v3"}


@dataclass
class Catalog:
    minors: list[MinorInfo]
    features: dict[str, Feature]
    alpine: list[AlpineRow]
    ports: list[PortRow]
    critical_server_keys: list[str]
    channels: dict[str, K3sVersion] = field(default_factory=dict)  # stable / latest targets
    traefik_generations: dict[str, TraefikGeneration] = field(default_factory=dict)
    traefik_keys: list[TraefikKey] = field(default_factory=list)
    apk: ApkLayout | None = None
    source_path: Path | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Read the catalog (default: the shipped assets/catalog.yaml); CatalogError if malformed."""
        path = path or asset_path("catalog.yaml")
        return cls.from_dict(read_yaml(path), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> Catalog:
        reader = Reader(path)
        need = reader.need
        traefik = reader.mapping(need(data, "traefik", "(top)"), "traefik")
        alpine = reader.mapping(need(data, "alpine", "(top)"), "alpine")
        channels = reader.mapping(need(data, "channels", "(top)"), "channels")
        catalog = cls(
            minors=reader.each(need(data, "minors", "(top)"), "minors",
                               lambda key, node, where: build_minor(reader, key, node, where)),
            features={feature.name: feature for feature in reader.each(
                need(data, "features", "(top)"), "features",
                lambda key, node, where: build_feature(reader, key, node, where))},
            alpine=reader.each(need(alpine, "releases", "alpine"), "alpine.releases",
                               lambda key, node, where: build_alpine(reader, key, node, where)),
            ports=reader.each(need(data, "ports", "(top)"), "ports",
                              lambda key, node, where: build_port(reader, key, node, where)),
            critical_server_keys=list(reader.text_list(
                need(data, "critical_server_keys", "(top)"), "critical_server_keys")),
            channels={name: reader.version(value, f"channels.{name}") for name, value in channels.items()},
            traefik_generations={gen.name: gen for gen in reader.each(
                need(traefik, "generations", "traefik"), "traefik.generations",
                lambda key, node, where: build_generation(reader, key, node, where))},
            traefik_keys=reader.each(need(traefik, "keys", "traefik"), "traefik.keys",
                                     lambda key, node, where: build_traefik_key(reader, key, node, where)),
            apk=build_apk(reader, need(alpine, "apk", "alpine"), "alpine.apk"),
            source_path=path,
        )
        catalog.minors.sort(key=lambda minor: line_key(minor.line))
        return catalog

    # --- versions and channels -------------------------------------------------------

    def minor(self, line: str) -> MinorInfo | None:
        return next((minor for minor in self.minors if minor.line == line), None)

    def resolve(self, version_or_channel: str) -> K3sVersion:
        """The concrete release a version or channel stands for, to judge what it can do.

        An exact version is itself; `v1.NN` is the newest release we know in that minor;
        `stable`/`latest` are their catalog targets; `testing` is judged as `latest`.
        """
        text = version_or_channel.strip() if isinstance(version_or_channel, str) else version_or_channel
        if not is_channel(text):
            return K3sVersion.parse(text)
        if text in ("stable", "latest"):
            return self.channels[text]
        if text == "testing":
            return self.channels["latest"]
        minor = self.minor(text[1:])
        if minor is None:
            known = f"{self.minors[0].line} .. {self.minors[-1].line}"
            raise ValueError(f"channel {text!r} names a k3s minor the catalog does not know "
                             f"(known: {known}); pick one of those or an exact version")
        return minor.newest

    # --- features --------------------------------------------------------------------

    def feature(self, name: str) -> Feature:
        try:
            return self.features[name]
        except KeyError:
            raise KeyError(f"unknown k3s feature {name!r}; known: {', '.join(sorted(self.features))}") from None

    def supports(self, feature: str, version: K3sVersion) -> bool:
        return self.refusal(feature, version) is None

    def refusal(self, feature: str, version: K3sVersion) -> str | None:
        """None when `version` has the feature, else a sentence saying why not and what to do."""
        known = self.feature(feature)
        if not gate_open(known.since, version):
            return f"{known.name} needs {_gate_phrase(known.since, version)} (this cluster uses {version})"
        if known.until is not None and version >= known.until:
            sentence = f"{known.description} was removed in {known.until}"
            return f"{sentence}: {known.instead}" if known.instead else sentence
        return None

    def caveat(self, feature: str, version: K3sVersion) -> str | None:
        """For a supported but still experimental feature, a sentence saying so."""
        known = self.feature(feature)
        if self.refusal(feature, version) or gate_open(known.stable_since, version):
            return None
        stable = known.stable_since
        if isinstance(stable, PerMinor):
            first = stable.first_in(version.line)
            if first is None:
                return f"{known.name} is experimental in the {version.line} line (GA from {stable})"
            stable = first
        return f"{known.name} is experimental before {stable}"

    # --- Traefik ---------------------------------------------------------------------

    def traefik_generation(self, version: K3sVersion) -> str:
        """The Traefik chart generation `version` ships: "v1", "v2" or "v3"."""
        for generation, feature in _GENERATION_FEATURES.items():
            if self.supports(feature, version):
                return generation
        raise ValueError(f"no Traefik generation in the catalog covers {version}")

    def traefik_redirect_key(self, version: K3sVersion) -> str:
        """Dotted values key that turns on the HTTP -> HTTPS redirect for this version's chart."""
        generation = self.traefik_generations[self.traefik_generation(version)]
        if generation.later_redirect_key and gate_open(generation.later_redirect_since, version):
            return generation.later_redirect_key
        return generation.redirect_key

    def traefik_foreign_keys(self, values: dict, version: K3sVersion) -> list[ForeignKey]:
        """Keys of `values` (HelmChartConfig valuesContent) that this version's chart does not take."""
        generation = self.traefik_generation(version)
        found = foreign_keys(values, self.traefik_keys, version, generation)
        chart = self.traefik_generations[generation]
        if generation == "v2" and chart.later_redirect_key:
            port_form = gate_open(chart.later_redirect_since, version)
            problem = redirect_form_problem(values, version, port_form)
            if problem:
                found.append(problem)
        return found

    # --- Alpine ----------------------------------------------------------------------

    def alpine_for(self, k3s_line: str) -> list[AlpineRow]:
        """Alpine releases whose k3s package is in `k3s_line` (e.g. "1.22" -> Alpine 3.15)."""
        return [row for row in self.alpine if row.k3s_line == k3s_line]


def _gate_phrase(gate: Gate, version: K3sVersion) -> str:
    """ "k3s v1.21.0+k3s1 or newer", naming the right release of a backported gate."""
    if isinstance(gate, PerMinor):
        first = gate.first_in(version.line)
        if first is not None:
            return f"k3s {first} or newer in the {version.line} line"
        return f"k3s {gate.oldest} or newer; in the backported lines at least {gate}"
    return f"k3s {gate} or newer"


@functools.cache
def load_catalog() -> Catalog:
    """The shipped catalog, read once per process."""
    return Catalog.load()
