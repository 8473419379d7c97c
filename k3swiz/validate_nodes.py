"""Validation of the nodes list: names, roles, labels, taints, SSH settings."""

from __future__ import annotations

import re
from collections import Counter

from .answers import Answers
from .problems import Report
from .ssh_config import SshConfigError, parse_jump_spec
from .validate_network import check_address

RFC1123_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# k3s (the kubelet) refuses these label prefixes at registration.
RESERVED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io")
MAX_CONNECT_TIMEOUT = 3600
USER_NAME = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}\$?$")  # POSIX portable names (+ Samba's $)
ALLOWED_RESERVED = ("node-restriction.kubernetes.io/", "node.kubernetes.io/")


def check_nodes(answers: Answers, report: Report) -> None:
    if not answers.nodes:
        report.add("nodes", "no nodes", "add at least one node: {name: cp1, address: 192.168.1.10, role: server}")
        return
    names = Counter(n.name for n in answers.nodes)
    endpoints = Counter((n.address, _ssh_port(answers, n)) for n in answers.nodes)
    for i, node in enumerate(answers.nodes):
        path = f"nodes[{i}]"
        if not RFC1123_NAME.match(node.name) or len(node.name) > 63:
            report.add(f"{path}.name", f"`{node.name}` is not a valid node name",
                       "lowercase letters, digits, `-` and `.`; start and end with a letter or digit; "
                       "at most 63 characters")
        elif names[node.name] > 1:
            report.add(f"{path}.name", f"node name `{node.name}` is used {names[node.name]} times",
                       "node names must be unique")
        if not node.address:
            report.add(f"{path}.address", "missing", "the IP or DNS name k3swiz connects to")
        else:
            check_address(node.address, f"{path}.address", report)
            port = _ssh_port(answers, node)
            if endpoints[(node.address, port)] > 1:
                report.add(f"{path}.address", f"{node.address}:{port} is given for more than one node",
                           "each node needs its own address (or SSH port)")
        if node.ipv6:
            check_address(node.ipv6, f"{path}.ipv6", report, family=6)
        if node.init and node.role != "server":
            report.add(f"{path}.init", "only a server can initialise the cluster", "remove `init` or make it a server")
        for j, label in enumerate(node.labels):
            _check_label(label, f"{path}.labels[{j}]", report)
        for j, taint in enumerate(node.taints):
            _check_taint(taint, f"{path}.taints[{j}]", report)
        if node.ssh:
            _check_port(node.ssh.port, f"{path}.ssh.port", report)
            _check_login(node.ssh, f"{path}.ssh", report)
    _check_port(answers.ssh.port, "ssh.port", report)
    _check_login(answers.ssh, "ssh", report)
    _check_timeout(answers.ssh.connect_timeout, "ssh.connect-timeout", report)


def check_roles(answers: Answers, report: Report) -> None:
    """Cluster shape: init server, SQLite single server, etcd quorum."""
    cluster = answers.cluster
    servers = answers.servers
    marked = [i for i, n in enumerate(answers.nodes) if n.init]
    if cluster.mode == "init":
        if not servers:
            report.add("nodes", "a new cluster needs at least one server", "set `role: server` on one node")
        if len(marked) > 1:
            for i in marked[1:]:
                report.add(f"nodes[{i}].init", "more than one server is marked to initialise the cluster",
                           "exactly one server runs --cluster-init; the others join it")
        if cluster.datastore == "sqlite" and len(servers) > 1:
            report.add("cluster.datastore", f"SQLite runs on exactly one server, {len(servers)} are given",
                       "use `datastore: etcd` for several servers, or make the others agents")
    else:
        if marked:
            report.add(f"nodes[{marked[0]}].init", "joining an existing cluster: no node initialises it",
                       "remove `init`")
        if cluster.datastore == "sqlite" and servers:
            report.add("cluster.datastore", "an existing SQLite cluster cannot take more servers",
                       "join agents only, or convert the server to etcd (restart it with --cluster-init)")
    if cluster.datastore == "etcd" and cluster.mode == "init" and servers and len(servers) % 2 == 0:
        report.warn("nodes", f"{len(servers)} etcd servers: an even number tolerates no more failures "
                    f"than {len(servers) - 1} and risks split-brain", "use an odd number of servers (3, 5)")


def _ssh_port(answers: Answers, node) -> int:
    return (node.ssh.port if node.ssh and node.ssh.port else None) or answers.ssh.port or 22


def _check_port(port: int | None, path: str, report: Report) -> None:
    if port is not None and not 1 <= port <= 65535:
        report.add(path, f"port {port} is out of range", "1-65535")


def _check_login(settings, path: str, report: Report) -> None:
    """ssh.user and ssh.proxy-jump: a user name, and [user@]host[:port] hops (as `ssh -J` takes)."""
    if settings.user is not None and not USER_NAME.match(settings.user):
        report.add(f"{path}.user", f"`{settings.user}` is not a user name",
                   "letters, digits, `.`, `_` and `-` (as in /etc/passwd), e.g. root or deploy")
    jump = settings.proxy_jump
    for hop in jump.split(",") if jump and jump.lower() != "none" else []:
        try:
            user, host, port = parse_jump_spec(hop)
        except SshConfigError as exc:
            report.add(f"{path}.proxy-jump", str(exc), "e.g. proxy-jump: admin@bastion.example.com:22")
            continue
        if user is not None and not USER_NAME.match(user):
            report.add(f"{path}.proxy-jump", f"`{user}` in `{hop}` is not a user name", "e.g. admin@bastion")
        check_address(host, f"{path}.proxy-jump", report)
        _check_port(port, f"{path}.proxy-jump", report)


def _check_timeout(seconds: float, path: str, report: Report) -> None:
    # 0, negative, NaN or infinite seconds cannot bound a connect: every node would time out at
    # once, or a frozen one would hold the run forever (and sockets refuse an infinite timeout).
    if not 0 < seconds <= MAX_CONNECT_TIMEOUT:
        report.add(path, f"{seconds:g} seconds cannot bound a connection attempt",
                   f"use a number of seconds above 0 and at most {MAX_CONNECT_TIMEOUT}, e.g. 10")


def _check_label(label: str, path: str, report: Report) -> None:
    key, sep, value = label.partition("=")
    if not sep:
        report.add(path, f"label `{label}` has no `=`", "write key=value, e.g. disk=ssd")
        return
    problem = _label_key_problem(key) or (None if LABEL_VALUE.match(value) and len(value) <= 63
                                          else f"value `{value}` is not a valid label value")
    if problem:
        report.add(path, f"label `{label}`: {problem}",
                   "keys: [prefix/]name, values: up to 63 of A-Z a-z 0-9 - _ .")
    elif any(key.split("/")[0].endswith(d) for d in RESERVED_LABEL_DOMAINS) and "/" in key \
            and not key.startswith(ALLOWED_RESERVED):
        report.add(path, f"label `{label}` uses a kubernetes.io/k8s.io prefix that k3s refuses at "
                   "registration", "use your own prefix, or node-role labels via kubectl afterwards")


def _label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not RFC1123_NAME.match(prefix)):
        return f"prefix `{prefix}` is not a DNS subdomain"
    if not LABEL_NAME.match(name):
        return f"key `{key}` is not a valid label key"
    return None


def _check_taint(taint: str, path: str, report: Report) -> None:
    body, colon, effect = taint.rpartition(":")
    key, _, value = body.partition("=")
    if not colon or effect not in TAINT_EFFECTS:
        report.add(path, f"taint `{taint}` needs an effect", f"write key=value:Effect with Effect one of "
                   f"{', '.join(TAINT_EFFECTS)}")
        return
    problem = _label_key_problem(key) or (None if LABEL_VALUE.match(value) else f"value `{value}` is invalid")
    if problem:
        report.add(path, f"taint `{taint}`: {problem}", "e.g. dedicated=gpu:NoSchedule")
