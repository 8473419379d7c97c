"""Traefik chart generations: which one a version ships, its redirect key, and foreign value keys."""

from __future__ import annotations

import pytest

from k3swiz.catalog import Catalog, K3sVersion

V = K3sVersion.parse


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def paths(found) -> list[str]:
    return [foreign.path for foreign in found]


@pytest.mark.parametrize(("version", "generation", "redirect_key"), [
    ("v1.19.1+k3s1", "v1", "ssl.enforced"),
    ("v1.20.15+k3s1", "v1", "ssl.enforced"),
    ("v1.21.0+k3s1", "v2", "ports.web.redirectTo"),
    ("v1.25.15+k3s1", "v2", "ports.web.redirectTo"),        # chart < 25
    ("v1.25.15+k3s2", "v2", "ports.web.redirectTo.port"),   # chart 25 (RN v1.25.X #8777)
    ("v1.27.7+k3s2", "v2", "ports.web.redirectTo.port"),
    ("v1.32.1+k3s1", "v2", "ports.web.redirectTo.port"),
    ("v1.32.2+k3s1", "v3", "ports.web.redirections.entryPoint.to"),
    ("v1.37.1+k3s1", "v3", "ports.web.redirections.entryPoint.to"),
])
def test_generation_and_redirect_key(catalog, version, generation, redirect_key):
    assert catalog.traefik_generation(V(version)) == generation
    assert catalog.traefik_redirect_key(V(version)) == redirect_key


def test_v1_key_on_a_v2_cluster_names_the_v2_key(catalog):
    found = catalog.traefik_foreign_keys({"ssl": {"enabled": True}}, V("v1.25.16+k3s4"))
    assert paths(found) == ["ssl.enabled"]
    assert found[0].generation == "v1"
    assert found[0].replacement == "ports.websecure.tls.enabled"
    assert "Traefik v1 chart key" in found[0].message and "Traefik v2 chart" in found[0].message
    assert "use `ports.websecure.tls.enabled`" in found[0].message


def test_v2_redirect_on_a_v3_cluster_is_reported_with_the_v3_key(catalog):
    values = {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}
    found = catalog.traefik_foreign_keys(values, V("v1.33.6+k3s1"))
    assert paths(found) == ["ports.web.redirectTo"]
    assert found[0].generation == "v2"
    assert found[0].replacement == "ports.web.redirections.entryPoint.to"


def test_v2_and_v3_keys_on_a_v1_cluster(catalog):
    values = {"ports": {"websecure": {"tls": {"enabled": True}}, "web": {"redirections": {
        "entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}}}}
    found = {foreign.path: foreign for foreign in catalog.traefik_foreign_keys(values, V("v1.20.15+k3s1"))}
    assert set(found) == {"ports.websecure.tls.enabled", "ports.web.redirections"}
    assert found["ports.websecure.tls.enabled"].replacement == "ssl.enabled"
    assert found["ports.web.redirections"].replacement == "ssl.enforced"
    assert found["ports.web.redirections"].generation == "v3"


def test_v3_redirect_on_a_v2_cluster(catalog):
    values = {"ports": {"web": {"redirections": {"entryPoint": {"to": "websecure"}}}}}
    found = catalog.traefik_foreign_keys(values, V("v1.30.14+k3s1"))
    assert paths(found) == ["ports.web.redirections"]
    assert found[0].replacement == "ports.web.redirectTo"


def test_each_foreign_key_is_reported_once_with_its_own_replacement(catalog):
    values = {"ssl": {"enabled": True, "enforced": True}, "accessLogs": {"enabled": True, "format": "json"},
              "dashboard": {"ingress": {"annotations": {"a": "b"}, "labels": {"c": "d"}}}}
    found = {foreign.path: foreign.replacement
             for foreign in catalog.traefik_foreign_keys(values, V("v1.33.6+k3s1"))}
    assert found == {
        "ssl.enabled": "ports.websecure.tls.enabled",
        "ssl.enforced": "ports.web.redirections.entryPoint.to",
        "accessLogs.enabled": "logs.access.enabled",
        "accessLogs.format": "logs.access.format",
        "dashboard": "ingressRoute.dashboard",
    }


def test_a_key_without_equivalent_says_so(catalog):
    found = catalog.traefik_foreign_keys({"dashboard": {"domain": "x.example"}}, V("v1.33.6+k3s1"))
    assert found[0].replacement is None
    assert "no direct equivalent" in found[0].message and "IngressRoute" in found[0].message


@pytest.mark.parametrize("version", ["v1.33.6+k3s1", "v1.37.1+k3s1"])
def test_valid_v3_values_pass(catalog, version):
    values = {"ports": {"web": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https",
                                                               "permanent": True}},
                                "forwardedHeaders": {"trustedIPs": ["10.0.0.0/8"]}},
                        "websecure": {"tls": {"enabled": True}}},
              "logs": {"access": {"enabled": True}}, "service": {"spec": {"externalTrafficPolicy": "Local"}},
              "someFutureKey": {"x": 1}}
    assert catalog.traefik_foreign_keys(values, V(version)) == []


def test_valid_v1_values_pass(catalog):
    values = {"ssl": {"enabled": True, "enforced": True}, "serviceType": "NodePort",
              "dashboard": {"enabled": True, "domain": "traefik.example"}}
    assert catalog.traefik_foreign_keys(values, V("v1.20.15+k3s1")) == []


def test_redirect_to_string_form_needs_chart_before_25(catalog):
    string_form = {"ports": {"web": {"redirectTo": "websecure"}}}
    port_form = {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}
    assert catalog.traefik_foreign_keys(string_form, V("v1.24.17+k3s1")) == []
    assert catalog.traefik_foreign_keys(port_form, V("v1.29.6+k3s1")) == []

    late = catalog.traefik_foreign_keys(string_form, V("v1.29.6+k3s1"))
    assert paths(late) == ["ports.web.redirectTo"] and late[0].replacement == "ports.web.redirectTo.port"
    assert "Syntax of ports.web.redirectTo has changed" in late[0].message

    early = catalog.traefik_foreign_keys(port_form, V("v1.25.15+k3s1"))
    assert paths(early) == ["ports.web.redirectTo.port"] and early[0].replacement == "ports.web.redirectTo"


def test_empty_values_have_no_foreign_keys(catalog):
    for version in ("v1.20.15+k3s1", "v1.25.16+k3s4", "v1.33.6+k3s1"):
        assert catalog.traefik_foreign_keys({}, V(version)) == []


def test_every_generation_lists_top_level_keys_and_marker_keys_point_at_known_generations(catalog):
    assert set(catalog.traefik_generations) == {"v1", "v2", "v3"}
    for generation in catalog.traefik_generations.values():
        assert generation.redirect_key.split(".")[0] in generation.top_level_keys
    for key in catalog.traefik_keys:
        assert set(key.generations) <= {"v1", "v2", "v3"}
        assert set(key.equivalents).isdisjoint(key.generations), key.path
