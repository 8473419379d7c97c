"""screens/traefik_form.py without a UI: the form's settings spelled in each chart generation's
keys, checked against the catalog's own idea of which keys each generation takes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from k3swiz.catalog import K3sVersion, load_catalog
from screens.traefik_form import CommonSettings, build_values, common_values, split_values

EVERYTHING = CommonSettings(redirect_https=True, access_logs=True, forwarded_trusted_ips=["10.0.0.0/8"],
                            proxy_protocol_trusted_ips=["192.168.0.0/16"], dashboard=True,
                            service_type="NodePort", external_traffic_policy="Local")


def style(version: str) -> tuple[str, str]:
    catalog, parsed = load_catalog(), K3sVersion.parse(version)
    return catalog.traefik_generation(parsed), catalog.traefik_redirect_key(parsed)


def test_v1_keys_on_1_20():
    assert common_values(EVERYTHING, *style("v1.20.15+k3s1")) == {
        "ssl": {"enforced": True},
        "accessLogs": {"enabled": True},
        "forwardedHeaders": {"trustedIPs": ["10.0.0.0/8"], "enabled": True},
        "proxyProtocol": {"trustedIPs": ["192.168.0.0/16"], "enabled": True},
        "dashboard": {"enabled": True},
        "serviceType": "NodePort",
        "externalTrafficPolicy": "Local",
    }


def test_v2_keys_before_and_after_chart_25():
    early = common_values(EVERYTHING, *style("v1.24.17+k3s1"))
    late = common_values(EVERYTHING, *style("v1.30.14+k3s1"))
    assert early["ports"]["web"]["redirectTo"] == "websecure"
    assert late["ports"]["web"]["redirectTo"] == {"port": "websecure"}
    for values in (early, late):
        assert values["logs"] == {"access": {"enabled": True}}
        assert values["ingressRoute"] == {"dashboard": {"enabled": True}}
        assert values["service"] == {"type": "NodePort", "spec": {"externalTrafficPolicy": "Local"}}
        for entry_point in ("web", "websecure"):
            assert values["ports"][entry_point]["forwardedHeaders"] == {"trustedIPs": ["10.0.0.0/8"]}
            assert values["ports"][entry_point]["proxyProtocol"] == {"trustedIPs": ["192.168.0.0/16"]}


def test_v3_redirect_on_1_32_2():
    assert style("v1.32.1+k3s1")[0] == "v2"
    values = common_values(CommonSettings(redirect_https=True), *style("v1.32.2+k3s1"))
    assert values == {"ports": {"web": {"redirections": {"entryPoint": {
        "to": "websecure", "scheme": "https", "permanent": True}}}}}


def test_nothing_chosen_writes_nothing():
    assert common_values(CommonSettings(), *style("v1.33.6+k3s1")) == {}


@pytest.mark.parametrize("version", ["v1.20.15+k3s1", "v1.24.17+k3s1", "v1.28.15+k3s1",
                                     "v1.32.1+k3s1", "v1.32.2+k3s1", "v1.37.1+k3s1"])
def test_the_catalog_finds_no_foreign_key_in_what_the_form_writes(version):
    values = common_values(EVERYTHING, *style(version))
    assert load_catalog().traefik_foreign_keys(values, K3sVersion.parse(version)) == []


def test_the_same_settings_in_another_generation_are_foreign():
    v1_values = common_values(EVERYTHING, *style("v1.20.15+k3s1"))
    foreign = load_catalog().traefik_foreign_keys(v1_values, K3sVersion.parse("v1.33.6+k3s1"))
    assert {f.path for f in foreign} >= {"ssl.enforced", "accessLogs.enabled", "serviceType"}


settings_strategy = st.builds(
    CommonSettings, redirect_https=st.booleans(), access_logs=st.booleans(),
    forwarded_trusted_ips=st.lists(st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "::1/128"]), max_size=2),
    proxy_protocol_trusted_ips=st.lists(st.sampled_from(["10.0.0.0/8", "192.168.0.0/16"]), max_size=2),
    dashboard=st.booleans(), service_type=st.sampled_from([None, "LoadBalancer", "NodePort", "ClusterIP"]),
    external_traffic_policy=st.sampled_from([None, "Cluster", "Local"]))
other_strategy = st.sampled_from([{}, {"deployment": {"replicas": 2}}, {"logs": {"general": {"level": "DEBUG"}}},
                                  {"ports": {"web": {"nodePort": 30080}}}])
styles = st.sampled_from([("v1", "ssl.enforced"), ("v2", "ports.web.redirectTo"),
                          ("v2", "ports.web.redirectTo.port"), ("v3", "ports.web.redirections.entryPoint.to")])


@given(settings_strategy, other_strategy, styles)
def test_split_gives_back_what_build_wrote(settings, other, chart_style):
    values = build_values(settings, other, *chart_style)
    got_settings, rest = split_values(values, *chart_style)
    assert got_settings == settings
    assert rest == other
    assert build_values(got_settings, rest, *chart_style) == values


def test_split_leaves_values_it_does_not_own():
    values = {"ssl": {"enforced": "yes"}, "serviceType": "Weird", "deployment": {"replicas": 3}}
    settings, rest = split_values(values, "v1", "ssl.enforced")
    assert settings == CommonSettings() and rest == values
