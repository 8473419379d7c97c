"""Each validation rule of the answers file, with the key path it reports."""

from __future__ import annotations

import pytest

from tests.answers_util import BASE, doc, messages


def has(msgs: list[str], path: str, words: str = "") -> bool:
    return any(m.startswith(path + ":") and words in m for m in msgs)


def test_base_document_is_valid():
    assert messages(BASE) == []


def test_unknown_key_with_did_you_mean():
    msgs = messages(doc(**{"cluster.datastor": "etcd"}))
    assert has(msgs, "cluster.datastor", "did you mean `datastore`")


@pytest.mark.parametrize("path,value,words", [
    ("cluster.name", 5, ""),  # numbers become text: allowed
    ("cluster.etcd-snapshots", {"retention": "five"}, "whole number"),
    ("cluster.network", {"dual-stack": "yes"}, "true or false"),
    ("cluster.tls-san", "k3s.example.com", "list"),
    ("nodes", {"name": "x"}, "list"),
])
def test_wrong_types(path, value, words):
    msgs = messages(doc(**{path: value}))
    if words:
        assert any(words in m for m in msgs), msgs
    else:
        assert msgs == []


@pytest.mark.parametrize("version,ok", [
    ("v1.33.6+k3s1", True), ("1.33.6+k3s1", False), ("v1.33", False), ("v1.33.6", False),
    ("latest", False), ("v1.18.20+k3s1", False),
])
def test_version_format_and_floor(version, ok):
    msgs = messages(doc(**{"cluster.k3s": {"version": version}}))
    assert (msgs == []) == ok, msgs


@pytest.mark.parametrize("channel,ok", [("stable", True), ("latest", True), ("testing", True),
                                        ("v1.30", True), ("beta", False), ("1.30", False)])
def test_channels(channel, ok):
    msgs = messages(doc(**{"cluster.k3s": {"channel": channel}}))
    assert (msgs == []) == ok, msgs


def test_version_and_channel_together_refused():
    assert has(messages(doc(**{"cluster.k3s": {"version": "v1.33.6+k3s1", "channel": "stable"}})),
               "cluster.k3s", "not both")


def dual(version="v1.33.6+k3s1", **net):
    network = {"dual-stack": True, "cluster-cidr": ["10.42.0.0/16", "2001:db8:42::/56"],
               "service-cidr": ["10.43.0.0/16", "2001:db8:43::/112"], **net}
    data = doc(**{"cluster.network": network, "cluster.k3s": {"version": version}})
    for i, node in enumerate(data["nodes"]):
        node["ipv6"] = f"2001:db8::{i + 10}"
    return data


def test_dual_stack_valid():
    assert messages(dual()) == []


def test_dual_stack_needs_both_families():
    msgs = messages(dual(**{"cluster-cidr": ["10.42.0.0/16"]}))
    assert has(msgs, "cluster.network.cluster-cidr", "one IPv4 and one IPv6")


def test_dual_stack_refused_before_1_21_and_warned_before_1_23_7():
    assert has(messages(dual("v1.20.15+k3s1")), "cluster.network.dual-stack", "v1.21")
    warnings = messages(dual("v1.22.17+k3s1"), severity="warning")
    assert has(warnings, "cluster.network.dual-stack", "experimental")
    assert messages(dual("v1.23.7+k3s1"), severity="warning") == []


def test_bad_cidr_and_host_bits():
    msgs = messages(doc(**{"cluster.network": {"cluster-cidr": ["10.42.0.1/16"]}}))
    assert has(msgs, "cluster.network.cluster-cidr[0]", "did you mean 10.42.0.0/16")
    msgs = messages(doc(**{"cluster.network": {"cluster-cidr": ["banana"]}}))
    assert has(msgs, "cluster.network.cluster-cidr[0]", "not a network")


def test_cidr_overlap_between_cluster_and_service():
    msgs = messages(doc(**{"cluster.network": {"cluster-cidr": ["10.42.0.0/16"], "service-cidr": ["10.42.128.0/17"]}}))
    assert has(msgs, "cluster.network.service-cidr[0]", "overlaps")


def test_node_inside_cluster_network():
    msgs = messages(doc(**{"nodes.0.address": "10.42.3.4"}))
    assert has(msgs, "nodes[0].address", "inside the cluster network")


def test_ipv6_service_cidr_max_112():
    msgs = messages(dual(**{"service-cidr": ["10.43.0.0/16", "2001:db8:43::/108"]}))
    assert has(msgs, "cluster.network.service-cidr[1]", "/112")


def test_node_names_unique_and_rfc1123():
    data = doc()
    data["nodes"].append({"name": "w1", "address": "192.168.1.21", "role": "agent"})
    data["nodes"].append({"name": "Bad_Name", "address": "192.168.1.22", "role": "agent"})
    msgs = messages(data)
    assert has(msgs, "nodes[2].name", "used 2 times")
    assert has(msgs, "nodes[3].name", "not a valid node name")


def test_addresses():
    msgs = messages(doc(**{"nodes.1.address": "not an address!"}))
    assert has(msgs, "nodes[1].address", "neither an IP address nor a DNS name")
    assert has(messages(doc(**{"nodes.1.ipv6": "10.0.0.1"})), "nodes[1].ipv6", "IPv6 expected")


@pytest.mark.parametrize("label,ok", [("disk=ssd", True), ("example.com/tier=gold", True), ("disk", False),
                                      ("a=b c", False), ("node-role.kubernetes.io/worker=true", False),
                                      ("-bad=x", False)])
def test_label_syntax(label, ok):
    assert (messages(doc(**{"nodes.1.labels": [label]})) == []) == ok


@pytest.mark.parametrize("taint,ok", [("dedicated=gpu:NoSchedule", True), ("gpu:NoExecute", True),
                                      ("dedicated=gpu", False), ("dedicated=gpu:Sometimes", False)])
def test_taint_syntax(taint, ok):
    assert (messages(doc(**{"nodes.1.taints": [taint]})) == []) == ok


@pytest.mark.parametrize("cron,ok", [("0 */12 * * *", True), ("30 2 * * 1-5", True), ("@daily", True),
                                     ("0 */12 * *", False), ("61 * * * *", False), ("x * * * *", False)])
def test_cron(cron, ok):
    msgs = messages(doc(**{"cluster.etcd-snapshots": {"schedule-cron": cron}}))
    assert (msgs == []) == ok, msgs


def test_retention_at_least_one():
    assert has(messages(doc(**{"cluster.etcd-snapshots": {"retention": 0}})), "cluster.etcd-snapshots.retention")


def test_two_init_servers():
    data = doc()
    data["nodes"] = [{"name": f"s{i}", "address": f"10.9.0.{i}", "role": "server", "init": True} for i in (1, 2, 3)]
    assert has(messages(data), "nodes[1].init", "more than one")


def test_sqlite_exactly_one_server():
    data = doc(**{"cluster.datastore": "sqlite"})
    data["nodes"].append({"name": "cp2", "address": "192.168.1.11", "role": "server"})
    assert has(messages(data), "cluster.datastore", "exactly one server")


def test_even_etcd_servers_is_a_warning():
    data = doc()
    data["nodes"][1]["role"] = "server"
    assert messages(data) == []
    assert has(messages(data, severity="warning"), "nodes", "even number")


def test_init_needs_a_server():
    data = doc()
    data["nodes"][0]["role"] = "agent"
    assert has(messages(data), "nodes", "at least one server")


def test_join_needs_https_url():
    data = doc(**{"cluster.mode": "join", "cluster.join-url": "http://10.0.0.5:6443"})
    data["nodes"] = [data["nodes"][1]]
    assert has(messages(data), "cluster.join-url", "https")
    del data["cluster"]["join-url"]
    assert has(messages(data), "cluster.join-url", "needs its URL")


def test_join_token_missing_is_reported(monkeypatch):
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    data = doc(**{"cluster.mode": "join", "cluster.join-url": "https://10.0.0.5:6443",
                  "cluster.token": {"env": "NO_SUCH_TOKEN_VAR"}})
    data["nodes"] = [data["nodes"][1]]
    assert has(messages(data, severity="warning"), "cluster.token", "needs its token")


@pytest.mark.parametrize("token,ok", [
    ("K10" + "a" * 64 + "::server:secret", True), ("K10abc::server:x", False), ("K10::", False),
    ("plainpassword", True), ("with space", False),
])
def test_k10_tokens_must_be_full(monkeypatch, token, ok):
    monkeypatch.setenv("T_TOKEN", token)
    msgs = messages(doc(**{"cluster.token": {"env": "T_TOKEN"}}))
    assert (msgs == []) == ok, msgs


def test_no_token_source():
    assert has(messages(doc(**{"cluster.token": {}})), "cluster.token", "no token source")


@pytest.mark.parametrize("version,values,path,replacement", [
    ("v1.33.6+k3s1", {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}, "ports.web.redirectTo",
     "redirections"),
    ("v1.25.16+k3s4", {"ssl": {"enabled": True}}, "ssl.enabled", "ports.websecure.tls.enabled"),
    ("v1.20.15+k3s1", {"ports": {"web": {"redirections": {"entryPoint": {"to": "websecure"}}}}},
     "ports.web.redirections", "ssl.enforced"),
])
def test_traefik_values_of_another_generation(version, values, path, replacement):
    data = doc(**{"cluster.k3s": {"version": version}, "cluster.traefik": {"values": values}})
    if version.startswith("v1.20"):
        data["cluster"]["datastore"] = "sqlite"
    msgs = messages(data)
    assert any(m.startswith(f"cluster.traefik.values.{path}") and replacement in m for m in msgs), msgs


def test_seed_v1_values_on_1_22_name_the_v2_keys():
    data = doc(**{"cluster.k3s": {"version": "v1.22.15+k3s1"}, "cluster.datastore": "sqlite",
                  "cluster.traefik": {"values": {"ssl": {"enforced": True}, "accessLogs": {"enabled": True}}}})
    msgs = messages(data)
    assert has(msgs, "cluster.traefik.values.ssl.enforced", "v1")
    assert has(msgs, "cluster.traefik.values.accessLogs.enabled", "logs.access.enabled")


def test_airgap_and_identity_files_must_exist(tmp_path):
    data = doc(**{"install": {"method": "airgap", "airgap": {"k3s-binary": "./nope/k3s", "install-script": "./nope/install.sh"}},
                  "ssh": {"identity-file": "./nope/id_ed25519"}})
    msgs = messages(data, base_dir=tmp_path)
    assert has(msgs, "install.airgap.k3s-binary", "no such file")
    assert has(msgs, "install.airgap.install-script", "no such file")
    assert has(msgs, "ssh.identity-file", "no such file")


@pytest.mark.parametrize("version,backend,ok", [
    ("v1.23.5+k3s1", "wireguard-native", False), ("v1.23.6+k3s1", "wireguard-native", True),
    ("v1.25.16+k3s4", "wireguard", True), ("v1.26.0+k3s1", "wireguard", False),
    ("v1.26.15+k3s1", "ipsec", True), ("v1.27.1+k3s1", "ipsec", False),
])
def test_flannel_backend_gates(version, backend, ok):
    msgs = messages(doc(**{"cluster.k3s": {"version": version}, "cluster.network": {"flannel-backend": backend}}))
    assert (msgs == []) == ok, msgs


def test_version_gated_extra_keys():
    data = doc(**{"cluster.k3s": {"version": "v1.31.4+k3s1"},
                  "cluster.server-config": {"secrets-encryption-provider": "secretbox"}})
    assert has(messages(data), "cluster.server-config.secrets-encryption-provider", "v1.32.4")


def test_extras_managed_and_unknown():
    data = doc(**{"cluster.server-config": {"cluster-init": True, "Bad Key": 1},
                  "cluster.disable": ["treafik"], "cluster.registries": {"mirror": {}}})
    msgs = messages(data)
    assert has(msgs, "cluster.server-config.cluster-init", "written by k3swiz")
    assert has(msgs, "cluster.server-config.Bad Key", "not a k3s flag")
    assert has(msgs, "cluster.disable[0]", "not a packaged component")
    assert has(msgs, "cluster.registries.mirror", "registries.yaml")


def test_all_problems_reported_at_once_with_lines():
    from tests.answers_util import problems_of
    text = ("apiVersion: k3swiz/v1\ncluster:\n  name: t\n  k3s: {version: v9}\n  token: {file: ./t}\n"
            "  datastor: etcd\nnodes:\n  - {name: A_B, address: 1.2.3.4, role: server}\n")
    found = problems_of(text)
    lines = {p.path: p.line for p in found}
    assert lines["cluster.k3s.version"] == 4
    assert lines["cluster.datastor"] == 6
    assert lines["nodes[0].name"] == 8
    assert all(p.format().startswith("t.yaml:") for p in found)
