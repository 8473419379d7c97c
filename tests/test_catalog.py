"""The version catalog: versions, gates at their boundaries, channels, Traefik generations, Alpine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3swiz.catalog import Catalog, K3sVersion, is_channel, load_catalog

V = K3sVersion.parse

# The feature names are a fixed vocabulary the rest of k3swiz codes against.
FEATURE_NAMES = {
    "config-file", "embedded-etcd", "config-dropins", "dual-stack", "ipv6-only", "traefik-v1",
    "traefik-v2", "traefik-v3", "traefik-chart-v40", "etcd-snapshot-cli", "etcd-member-management",
    "flannel-wireguard-native", "flannel-wireguard", "flannel-ipsec", "docker-cri-dockerd",
    "bootstrap-tokens", "token-rotate", "embedded-registry", "secrets-encryption",
    "secrets-encryption-provider", "write-kubeconfig-group", "write-kubeconfig-name",
    "etcd-s3-config-secret", "containerd-2", "helm-controller-arg", "cluster-init-migrates-sqlite",
}

# (feature, last version without it, first version with it), from the brief and k3s-facts.
SINCE_BOUNDARIES = [
    ("config-file", "v1.19.0+k3s9", "v1.19.1+k3s1"),
    ("embedded-etcd", "v1.19.0+k3s9", "v1.19.1+k3s1"),
    ("config-dropins", "v1.20.15+k3s1", "v1.21.0+k3s1"),
    ("dual-stack", "v1.20.15+k3s1", "v1.21.0+k3s1"),
    ("ipv6-only", "v1.22.8+k3s1", "v1.22.9+k3s1"),
    ("traefik-v2", "v1.20.15+k3s1", "v1.21.0+k3s1"),
    ("traefik-v3", "v1.32.1+k3s1", "v1.32.2+k3s1"),
    ("traefik-chart-v40", "v1.36.1+k3s1", "v1.36.2+k3s1"),
    ("etcd-snapshot-cli", "v1.20.15+k3s1", "v1.21.0+k3s1"),
    ("etcd-member-management", "v1.21.4+k3s1", "v1.21.5+k3s1"),
    ("etcd-member-management", "v1.20.15+k3s1", "v1.22.0+k3s1"),
    ("flannel-wireguard-native", "v1.23.5+k3s1", "v1.23.6+k3s1"),
    ("flannel-wireguard-native", "v1.22.8+k3s1", "v1.22.9+k3s1"),
    ("flannel-wireguard-native", "v1.21.11+k3s1", "v1.21.12+k3s1"),
    ("docker-cri-dockerd", "v1.23.17+k3s1", "v1.24.0+k3s1"),
    ("bootstrap-tokens", "v1.23.16+k3s1", "v1.23.17+k3s1"),
    ("bootstrap-tokens", "v1.24.10+k3s1", "v1.24.11+k3s1"),
    ("bootstrap-tokens", "v1.25.6+k3s1", "v1.25.7+k3s1"),
    ("bootstrap-tokens", "v1.26.1+k3s1", "v1.26.2+k3s1"),
    ("token-rotate", "v1.25.14+k3s1", "v1.25.15+k3s1"),
    ("token-rotate", "v1.26.9+k3s1", "v1.26.10+k3s1"),
    ("token-rotate", "v1.27.6+k3s1", "v1.27.7+k3s1"),
    ("token-rotate", "v1.28.2+k3s1", "v1.28.3+k3s1"),
    ("embedded-registry", "v1.29.0+k3s1", "v1.29.1+k3s1"),
    ("embedded-registry", "v1.26.12+k3s1", "v1.26.13+k3s1"),
    ("secrets-encryption-provider", "v1.32.3+k3s1", "v1.32.4+k3s1"),
    ("write-kubeconfig-group", "v1.30.1+k3s1", "v1.30.2+k3s1"),
    ("write-kubeconfig-name", "v1.36.3+k3s1", "v1.37.0+k3s1"),
    ("etcd-s3-config-secret", "v1.28.12+k3s1", "v1.28.13+k3s1"),
    ("etcd-s3-config-secret", "v1.30.3+k3s1", "v1.30.4+k3s1"),
    ("containerd-2", "v1.31.5+k3s1", "v1.31.6+k3s1"),
    ("containerd-2", "v1.32.1+k3s1", "v1.32.2+k3s1"),
    ("helm-controller-arg", "v1.33.12+k3s1", "v1.33.13+k3s1"),
    ("helm-controller-arg", "v1.36.2+k3s1", "v1.36.3+k3s1"),
    ("cluster-init-migrates-sqlite", "v1.22.1+k3s1", "v1.22.2+k3s1"),
]
# (feature, last version with it, first version without it)
UNTIL_BOUNDARIES = [
    ("traefik-v1", "v1.20.15+k3s1", "v1.21.0+k3s1"),
    ("traefik-v2", "v1.32.1+k3s1", "v1.32.2+k3s1"),
    ("flannel-wireguard", "v1.25.16+k3s4", "v1.26.0+k3s1"),
    ("flannel-ipsec", "v1.26.15+k3s1", "v1.27.0+k3s1"),
]
# (feature, last experimental version, first stable version)
STABLE_BOUNDARIES = [
    ("embedded-etcd", "v1.19.4+k3s1", "v1.19.5+k3s1"),
    ("dual-stack", "v1.23.6+k3s1", "v1.23.7+k3s1"),
    ("embedded-registry", "v1.29.11+k3s1", "v1.29.12+k3s1"),
    ("embedded-registry", "v1.31.3+k3s1", "v1.31.4+k3s1"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_every_minor_from_1_19_to_1_37_is_there(catalog):
    assert [minor.line for minor in catalog.minors] == [f"1.{n}" for n in range(19, 38)]
    for minor in catalog.minors:
        assert minor.first_release.line == minor.newest.line == minor.line
        assert minor.first_release <= minor.newest
        assert minor.traefik == catalog.traefik_generation(minor.first_release)
    assert catalog.minor("1.21").components == {"traefik": "2.4.8", "coredns": "1.8.3"}
    assert catalog.minor("1.37").newest == V("v1.37.1+k3s1")
    assert catalog.minor("1.18") is None


def test_feature_names_are_the_fixed_vocabulary(catalog):
    assert set(catalog.features) == FEATURE_NAMES
    assert all(feature.source and feature.description for feature in catalog.features.values())


@pytest.mark.parametrize(("feature", "before", "at"), SINCE_BOUNDARIES)
def test_since_gates_open_exactly_at_their_first_release(catalog, feature, before, at):
    assert not catalog.supports(feature, V(before))
    assert catalog.supports(feature, V(at))
    refusal = catalog.refusal(feature, V(before))
    assert refusal.startswith(f"{feature} needs k3s ") and f"(this cluster uses {before})" in refusal


@pytest.mark.parametrize(("feature", "last", "gone"), UNTIL_BOUNDARIES)
def test_until_gates_close_exactly_at_their_removal(catalog, feature, last, gone):
    assert catalog.supports(feature, V(last))
    assert not catalog.supports(feature, V(gone))
    assert f"removed in {gone}" in catalog.refusal(feature, V(gone))


@pytest.mark.parametrize(("feature", "experimental", "stable"), STABLE_BOUNDARIES)
def test_caveats_end_when_a_feature_becomes_stable(catalog, feature, experimental, stable):
    assert catalog.caveat(feature, V(experimental)).startswith(f"{feature} is experimental")
    assert catalog.caveat(feature, V(stable)) is None


def test_sentences_say_what_is_wrong_and_what_to_do(catalog):
    assert catalog.refusal("dual-stack", V("v1.20.15+k3s1")) == (
        "dual-stack needs k3s v1.21.0+k3s1 or newer (this cluster uses v1.20.15+k3s1)")
    assert catalog.refusal("flannel-wireguard", V("v1.26.0+k3s1")) == (
        "the flannel `wireguard` backend was removed in v1.26.0+k3s1: use wireguard-native")
    assert catalog.caveat("dual-stack", V("v1.22.17+k3s1")) == "dual-stack is experimental before v1.23.7+k3s1"
    assert catalog.refusal("dual-stack", V("v1.33.6+k3s1")) is None


def test_backported_gates_name_the_release_in_the_users_line(catalog):
    in_line = catalog.refusal("token-rotate", V("v1.26.9+k3s1"))
    assert "v1.26.10+k3s1 or newer in the 1.26 line" in in_line
    older = catalog.refusal("token-rotate", V("v1.24.17+k3s1"))
    assert "v1.25.15+k3s1 or newer" in older and "v1.28.3+k3s1" in older
    # lines newer than every backport have the feature; older ones do not
    assert catalog.supports("token-rotate", V("v1.29.0+k3s1"))
    assert catalog.supports("helm-controller-arg", V("v1.37.0+k3s1"))
    assert not catalog.supports("helm-controller-arg", V("v1.32.10+k3s1"))
    # 1.26-1.28 never got the GA embedded registry: experimental on every release
    assert "experimental in the 1.28 line" in catalog.caveat("embedded-registry", V("v1.28.15+k3s1"))
    assert catalog.caveat("embedded-registry", V("v1.32.0+k3s1")) is None


def test_unknown_feature_names_list_the_known_ones(catalog):
    with pytest.raises(KeyError, match="dual-stack"):
        catalog.supports("dualstack", V("v1.33.6+k3s1"))


def test_resolve_channels_and_versions(catalog):
    assert catalog.resolve("stable") == V("v1.36.3+k3s1")
    assert catalog.resolve("latest") == V("v1.37.1+k3s1")
    assert catalog.resolve("testing") == catalog.resolve("latest")
    assert catalog.resolve("v1.37") == V("v1.37.1+k3s1")
    assert catalog.resolve("v1.33.6+k3s1") == V("v1.33.6+k3s1")
    for minor in catalog.minors:
        assert catalog.resolve(f"v{minor.line}") == minor.newest
    with pytest.raises(ValueError, match=r"1\.19 \.\. 1\.37"):
        catalog.resolve("v1.99")
    with pytest.raises(ValueError, match="e.g. v1.33.6"):
        catalog.resolve("banana")


@pytest.mark.parametrize(("text", "hint"), [
    ("1.33.6+k3s1", "lacks the leading 'v': write v1.33.6+k3s1"),
    ("v1.33.6", "lacks the +k3sN suffix: write v1.33.6+k3s1"),
    ("v1.33", "is a channel, not a version"),
    ("v1.33.6-rc1+k3s1", "pre-release"),
    ("v1.33.6+k3s", "expected vMAJOR.MINOR.PATCH+k3sN, e.g. v1.33.6+k3s1"),
    ("", "expected vMAJOR.MINOR.PATCH+k3sN"),
])
def test_parse_is_strict_and_says_how_to_fix(text, hint):
    with pytest.raises(ValueError) as raised:
        K3sVersion.parse(text)
    assert hint in str(raised.value)


def test_versions_order_numerically_and_by_k3s_suffix():
    assert V("v1.9.0+k3s1") < V("v1.10.0+k3s1") < V("v1.10.0+k3s2") < V("v1.10.1+k3s1")
    assert V("v1.33.6+k3s1").line == "1.33"
    assert str(V(" v1.33.6+k3s2 ")) == "v1.33.6+k3s2"


@given(st.integers(0, 9), st.integers(0, 99), st.integers(0, 99), st.integers(1, 9))
def test_parse_and_str_round_trip(major, minor, patch, k3s):
    version = K3sVersion(major, minor, patch, k3s)
    assert K3sVersion.parse(str(version)) == version


@pytest.mark.parametrize(("text", "expected"), [
    ("stable", True), ("latest", True), ("testing", True), ("v1.33", True),
    ("v1.33.6+k3s1", False), ("1.33", False), ("Stable", False), ("v1.33-testing", False),
])
def test_is_channel(text, expected):
    assert is_channel(text) is expected


def test_load_catalog_is_read_once():
    assert load_catalog() is load_catalog()
