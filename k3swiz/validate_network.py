"""Validation of cluster.network and the node addresses against it."""

from __future__ import annotations

import ipaddress
import re
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from .answers import Answers
from .catalog import Catalog, K3sVersion
from .problems import Report

Network = IPv4Network | IPv6Network
HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def parse_cidrs(cidrs: list[str], path: str, report: Report) -> list[Network]:
    nets = []
    for i, text in enumerate(cidrs):
        try:
            nets.append(ip_network(text, strict=True))
        except ValueError as exc:
            fix = "host bits are set: use the network address" if "host bits" in str(exc) \
                else "write it as ADDRESS/PREFIX, e.g. 10.42.0.0/16"
            try:
                fixed = ip_network(text, strict=False)
                fix = f"did you mean {fixed}?"
            except ValueError:
                pass
            report.add(f"{path}[{i}]", f"`{text}` is not a network", fix)
    return nets


def check_network(answers: Answers, version: K3sVersion | None, catalog: Catalog, report: Report) -> None:
    net = answers.cluster.network
    base = "cluster.network"
    cluster = parse_cidrs(net.cluster_cidr, f"{base}.cluster-cidr", report)
    service = parse_cidrs(net.service_cidr, f"{base}.service-cidr", report)
    for key, nets, given in (("cluster-cidr", cluster, net.cluster_cidr), ("service-cidr", service, net.service_cidr)):
        if len(nets) == len(given):
            _check_families(key, nets, net.dual_stack, report, version, catalog)
    for i, n in enumerate(service):
        if n.version == 6 and n.prefixlen < 112:
            report.add(f"{base}.service-cidr[{i}]", f"IPv6 service network {n} is larger than /112",
                       "use a /112 (or smaller), e.g. 2001:db8:43::/112")
        if n.version == 4 and n.prefixlen < 12:
            report.add(f"{base}.service-cidr[{i}]", f"IPv4 service network {n} is larger than /12",
                       "use a /12 or smaller, e.g. 10.43.0.0/16")
    _check_overlaps(cluster, service, report)
    _check_nodes_outside(answers, cluster + service, report)
    if net.dual_stack and version is not None:
        refusal = catalog.refusal("dual-stack", version)
        if refusal:
            report.add(f"{base}.dual-stack", refusal, "choose k3s v1.23.7+k3s1 or newer, or single-stack")
        else:
            caveat = catalog.caveat("dual-stack", version)
            if caveat:
                report.warn(f"{base}.dual-stack", caveat, "prefer k3s v1.23.7+k3s1 or newer")
    backend_feature = {"wireguard-native": "flannel-wireguard-native", "wireguard": "flannel-wireguard",
                       "ipsec": "flannel-ipsec"}.get(net.flannel_backend)
    if backend_feature and version is not None:
        refusal = catalog.refusal(backend_feature, version)
        if refusal:
            report.add(f"{base}.flannel-backend", refusal,
                       "use wireguard-native (1.23.6+) or vxlan")


def _check_families(key: str, nets: list[Network], dual: bool, report: Report,
                    version: K3sVersion | None, catalog: Catalog) -> None:
    path = f"cluster.network.{key}"
    families = [n.version for n in nets]
    if dual:
        if sorted(families) != [4, 6]:
            report.add(path, f"dual-stack needs one IPv4 and one IPv6 network here, got "
                             f"{len(nets)} ({', '.join(f'IPv{f}' for f in families) or 'none'})",
                       "e.g. [10.42.0.0/16, 2001:db8:42::/56]" if key == "cluster-cidr"
                       else "e.g. [10.43.0.0/16, 2001:db8:43::/112]")
        return
    if len(nets) != 1:
        report.add(path, f"single-stack takes exactly one network, got {len(nets)}",
                   "keep one, or set cluster.network.dual-stack: true")
    elif families == [6] and version is not None:
        refusal = catalog.refusal("ipv6-only", version)
        if refusal:
            report.add(path, refusal, "use an IPv4 network or a newer k3s")


def _check_overlaps(cluster: list[Network], service: list[Network], report: Report) -> None:
    for i, c in enumerate(cluster):
        for j, s in enumerate(service):
            if c.version == s.version and c.overlaps(s):
                report.add(f"cluster.network.service-cidr[{j}]",
                           f"service network {s} overlaps the cluster (pod) network {c}",
                           "pick disjoint networks, e.g. 10.42.0.0/16 for pods and 10.43.0.0/16 for services")


def _check_nodes_outside(answers: Answers, nets: list[Network], report: Report) -> None:
    for i, node in enumerate(answers.nodes):
        for key, text in (("address", node.address), ("ipv6", node.ipv6)):
            addr = _ip(text)
            if addr is None:
                continue
            for n in nets:
                if addr.version == n.version and addr in n:
                    report.add(f"nodes[{i}].{key}", f"{node.name}'s address {addr} lies inside the "
                               f"cluster network {n}", "node, pod and service networks must not overlap")


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        return ip_address(text)
    except ValueError:
        return None


def check_address(text: str, path: str, report: Report, *, ip_only: bool = False, family: int | None = None) -> None:
    """An IP address or (unless ip_only) a DNS name."""
    addr = _ip(text)
    if addr is not None:
        if family and addr.version != family:
            report.add(path, f"`{text}` is an IPv{addr.version} address; IPv{family} expected", "")
        return
    if ip_only or family:
        report.add(path, f"`{text}` is not an IP{'v' + str(family) if family else ''} address", "")
    elif not HOSTNAME.match(text or ""):
        report.add(path, f"`{text}` is neither an IP address nor a DNS name",
                   "use e.g. 192.168.1.10, 2001:db8::10 or node1.example.com")
