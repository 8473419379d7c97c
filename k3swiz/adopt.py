"""`k3swiz adopt --node ADDRESS ... -o F`: an answers file that reproduces a running cluster.

Each node's configuration is read (adopt_read.py) and turned back into answers: the reverse of
render.config_yaml. The server without `server:` initialises the cluster (`cluster-init`: embedded
etcd); cluster-wide keys come from it, the rest of its keys become `server-config`, an agent's
become `agent-config`; node names, IPs, labels and taints stay per node. The token is kept out of
the answers file: it goes to a 0600 token file beside it. Finally the answers are rendered again
and compared with the files read, so the command can say what a replay would still change (on a
cluster k3swiz built: nothing).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

import yaml

from .adopt_read import NodeReading, ReadError, effective_settings, parse_probe, probe_script, traefik_values
from .answers import Answers, Node
from .plan import Plan
from .problems import Report
from .render import APK_CONFD, CONFIG, REGISTRIES, render_node, server_url
from .schema import from_data
from .secrets import Secret

NODE_KEYS = ("cluster-init", "server", "token", "token-file", "node-name", "node-ip", "node-label", "node-taint")
SERVER_KEYS = ("cluster-cidr", "service-cidr", "flannel-backend", "tls-san", "disable", "etcd-disable-snapshots",
               "etcd-snapshot-schedule-cron", "etcd-snapshot-retention", "etcd-snapshot-dir")
SECRET_WORDS = ("token", "secret", "password", "access-key", "vpn-auth")
HEADER = re.compile(r"^# Written by k3swiz for node \S+ of cluster (\S+)\.$", re.M)


@dataclass
class Adopted:
    answers: Answers
    token: Secret | None
    notes: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)   # node -> what a replay would still do


class AdoptJob:
    """Connect to the addresses and read them; nothing is changed."""

    command = "adopt"

    def __init__(self, answers: Answers):
        self.answers, self.nodes = answers, list(answers.nodes)

    def probe(self, node: Node) -> str:
        return probe_script()

    def plan(self, probes: dict[str, str]) -> tuple[Plan, list[tuple[str, str]]]:
        refusals = []
        for node in self.nodes:
            reading = parse_probe(node.address, probes[node.name])
            if not reading.services:
                refusals.append((node.name, f"{node.address}: no k3s or k3s-agent service here"))
        return Plan(self.answers.cluster.name, "", []), refusals


def _is_secret(key: str, value) -> bool:
    if key == "datastore-endpoint":
        return bool(re.search(r"://[^/@]*:[^/@]*@", str(value)))
    return any(word in key for word in SECRET_WORDS) and not key.endswith("-file")


def _extras(settings: dict, skip: tuple, where: str, notes: list[str]) -> dict:
    extras = {}
    for key, value in settings.items():
        if key in skip:
            continue
        if _is_secret(key, value):
            notes.append(f"{where}: `{key}` holds a secret and is left out of the answers: keep it in a file on "
                         "the nodes and name that file instead (e.g. agent-token-file)")
            continue
        extras[key] = value
    return extras


def _token(reading: NodeReading, settings: dict) -> Secret | None:
    path = settings.get("token-file")
    text = reading.files.get(str(path)) if path else None
    text = text if text is not None else settings.get("token")
    return Secret(str(text).strip()) if text and str(text).strip() else None


def _node_entry(node_name: str, reading: NodeReading, role: str, settings: dict, notes: list[str]) -> dict:
    entry = {"name": node_name, "address": reading.address, "role": role}
    ips = [ip.strip() for ip in str(settings.get("node-ip") or "").split(",") if ip.strip()]
    if len(ips) == 2 and ips[0] == reading.address:
        entry["ipv6"] = ips[1]
    elif ips:
        notes.append(f"{node_name}: node-ip {','.join(ips)} is not kept (k3swiz sets node-ip as ADDRESS,IPV6 "
                     "for dual-stack only)")
    for key, target in (("node-label", "labels"), ("node-taint", "taints")):
        if settings.get(key):
            entry[target] = [str(v) for v in settings[key]]
    return entry


def _cluster(init_settings: dict, init: NodeReading | None, servers: list, agents: list, notes: list[str]) -> dict:
    s = init_settings
    disable = [str(d) for d in s.get("disable") or []]
    cluster: dict = {
        "network": {"cluster-cidr": str(s.get("cluster-cidr", "10.42.0.0/16")).split(","),
                    "service-cidr": str(s.get("service-cidr", "10.43.0.0/16")).split(","),
                    "flannel-backend": s.get("flannel-backend", "vxlan")},
        "tls-san": [str(v) for v in s.get("tls-san") or []], "disable": disable,
        "datastore": "etcd" if s.get("cluster-init") or len(servers) > 1 else "sqlite",
    }
    cluster["network"]["dual-stack"] = len(cluster["network"]["cluster-cidr"]) > 1
    snaps = {"enabled": not s.get("etcd-disable-snapshots")}
    for key, target in (("etcd-snapshot-schedule-cron", "schedule-cron"), ("etcd-snapshot-retention", "retention"),
                        ("etcd-snapshot-dir", "dir")):
        if key in s:
            snaps[target] = s[key]
    cluster["etcd-snapshots"] = snaps
    values = traefik_values(init) if init else None
    cluster["traefik"] = {"enabled": "traefik" not in disable, "values": values or {}}
    cluster["server-config"] = _extras(s, NODE_KEYS + SERVER_KEYS, "server-config", notes) if servers else {}
    agent_settings = agents[0][2] if agents else {}
    cluster["agent-config"] = _extras(agent_settings, NODE_KEYS, "agent-config", notes)
    return cluster


def _registries(readings: list[NodeReading]) -> dict:
    for reading in readings:
        if REGISTRIES in reading.files:
            data = yaml.safe_load(reading.files[REGISTRIES]) or {}
            if not isinstance(data, dict):
                raise ReadError(f"{reading.address}:{REGISTRIES} is not a mapping")
            return data
    return {}


def build_answers(readings: list[NodeReading], ssh: dict, name: str | None) -> Adopted:
    notes: list[str] = []
    parsed = []
    for reading in readings:
        role, settings = effective_settings(reading)
        parsed.append((reading, role, settings))
    servers = [p for p in parsed if p[1] == "server"]
    agents = [p for p in parsed if p[1] == "agent"]
    inits = [p for p in servers if not p[2].get("server")]
    if len(inits) > 1:
        notes.append(f"{len(inits)} servers have no `server:`: {inits[0][0].address} is taken as the first server")
    init = inits[0] if inits else None
    ordered = ([init] if init else []) + [p for p in servers if p is not init] + agents
    anchor = init or (servers or agents)[0]
    header = HEADER.search(anchor[0].files.get(CONFIG, ""))
    cluster_name = name or (header.group(1) if header else "k3s")
    cluster = {"name": cluster_name, "mode": "init" if init else "join"}
    if not init:
        cluster["join-url"] = str(anchor[2].get("server"))
    version = anchor[0].version
    cluster["k3s"] = {"version": version} if version else {"channel": "stable"}
    cluster.update(_cluster(init[2] if init else (servers[0][2] if servers else {}),
                            init[0] if init else (servers[0][0] if servers else None), servers, agents, notes))
    cluster["registries"] = _registries(readings)
    nodes = [_node_entry(str(s.get("node-name") or r.hostname or r.address), r, role, s, notes)
             for r, role, s in ordered]
    method = "apk" if "Written by k3swiz" in anchor[0].files.get(APK_CONFD, "") else "script"
    doc = {"apiVersion": "k3swiz/v1", "cluster": cluster, "install": {"method": method},
           "ssh": ssh, "nodes": nodes}
    report = Report()
    answers = from_data(Answers, doc, "", report)
    notes += [f"{p.path}: {p.message}" for p in report.problems]
    adopted = Adopted(answers, _token(anchor[0], anchor[2]), notes)
    _check_consistency(adopted, parsed)
    return adopted


def _check_consistency(adopted: Adopted, parsed: list) -> None:
    answers, notes = adopted.answers, adopted.notes
    url = server_url(answers)
    for reading, role, settings in parsed:
        if reading.version != answers.cluster.k3s.version:
            notes.append(f"{reading.address} runs k3s {reading.version}, the answers say "
                         f"{answers.cluster.k3s.version}: a replay would install that")
        joined = settings.get("server")
        if joined and url and urlparse(str(joined)).hostname != urlparse(url).hostname:
            notes.append(f"{reading.address} joins {joined}; the answers make it {url}")
        if reading.dropins:
            notes.append(f"{reading.address}: drop-ins {', '.join(reading.dropins)} are folded into the answers; "
                         "k3swiz writes only config.yaml, so remove them after the first replay (`key+` lists "
                         "would apply twice)")


def predicted_changes(adopted: Adopted, readings: dict[str, NodeReading]) -> dict[str, list[str]]:
    """node -> files a replay of the adopted answers would write again (by content)."""
    changes = {}
    token = adopted.token or Secret("")
    for node in adopted.answers.nodes:
        reading = readings[node.address]
        differ = []
        for rendered in render_node(adopted.answers, node, token):
            found = reading.files.get(rendered.path)
            if found is None or hashlib.sha256(found.encode()).hexdigest() != rendered.sha256:
                differ.append(rendered.path)
        if reading.version != adopted.answers.cluster.k3s.version or not reading.services:
            differ.append("k3s itself (install)")
        changes[node.name] = differ
    return changes


__all__ = ["AdoptJob", "Adopted", "ReadError", "build_answers", "parse_probe", "predicted_changes"]
