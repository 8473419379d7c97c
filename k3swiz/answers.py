"""The answers file (v1): the whole description of a cluster, as the wizard records it
and `k3swiz replay` reads it. Keys are kebab-case like k3s's own config.

The dataclasses below ARE the schema: k3swiz/schema.py derives unknown-key
checks, types, defaults, the saving order and `k3swiz schema` from them.
Defaults are k3s's own defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from . import schema
from .localfiles import write_atomic
from .problems import InputError, Problem, Report
from .secrets import Secret
from .yamlsource import Source, load_yaml

API_VERSION = "k3swiz/v1"
SCHEMA_URL = "https://k3swiz.dev/schema/answers-v1.json"


def _f(default=None, *, doc: str = "", key: str | None = None, factory=None, **meta):
    metadata = {"doc": doc, **meta}
    if key:
        metadata["key"] = key
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class K3sRelease:
    version: str | None = _f(doc="exact release, e.g. v1.33.6+k3s1")
    channel: str | None = _f(doc="release channel: stable, latest, testing or v1.NN")


@dataclass
class TokenRef:
    file: str | None = _f(doc="file holding the token; created 0600 with a new token if missing")
    env: str | None = _f(doc="environment variable holding the token")
    value: Secret | None = _f(doc="the token inline (saved only when asked to)", secret=True)


@dataclass
class EtcdSnapshots:
    enabled: bool = _f(True, doc="scheduled etcd snapshots (false: etcd-disable-snapshots)")
    schedule_cron: str = _f("0 */12 * * *", doc="5-field cron schedule")
    retention: int = _f(5, doc="snapshots kept per node")
    dir: str | None = _f(doc="snapshot directory (default ${data-dir}/server/db/snapshots)")


@dataclass
class Network:
    dual_stack: bool = _f(False, doc="IPv4 + IPv6")
    cluster_cidr: list[str] = _f(factory=lambda: ["10.42.0.0/16"], doc="pod networks")
    service_cidr: list[str] = _f(factory=lambda: ["10.43.0.0/16"], doc="service networks")
    flannel_backend: Literal["vxlan", "host-gw", "wireguard-native", "wireguard", "ipsec", "none"] = \
        _f("vxlan", doc="flannel backend")


@dataclass
class Traefik:
    enabled: bool = _f(True, doc="deploy the packaged Traefik")
    values: dict = _f(factory=dict, doc="HelmChartConfig valuesContent for the chosen version's chart")


@dataclass
class Cluster:
    name: str = _f("k3s", doc="kubeconfig context name", always=True)
    mode: Literal["init", "join"] = _f("init", doc="init: new cluster | join: add nodes to an existing one",
                                       always=True)
    join_url: str | None = _f(doc="https URL of a server of the existing cluster (mode: join)")
    k3s: K3sRelease = _f(factory=lambda: K3sRelease(channel="stable"), doc="version or channel", always=True)
    token: TokenRef = _f(factory=TokenRef, doc="where the cluster token comes from", always=True)
    datastore: Literal["etcd", "sqlite"] = _f("etcd", doc="embedded etcd, or SQLite (exactly one server)",
                                              always=True)
    etcd_snapshots: EtcdSnapshots = _f(factory=EtcdSnapshots)
    network: Network = _f(factory=Network)
    traefik: Traefik = _f(factory=Traefik)
    tls_san: list[str] = _f(factory=list, doc="extra names/IPs in the API server certificate")
    disable: list[str] = _f(factory=list, doc="packaged components to disable")
    registries: dict = _f(factory=dict, doc="body of /etc/rancher/k3s/registries.yaml")
    server_config: dict = _f(factory=dict, doc="extra k3s config keys for servers")
    agent_config: dict = _f(factory=dict, doc="extra k3s config keys for agents")


@dataclass
class Airgap:
    k3s_binary: str | None = _f(doc="local path of the k3s binary")
    images: str | None = _f(doc="local path of the airgap images archive")
    install_script: str | None = _f(doc="local path of install.sh")


@dataclass
class Install:
    method: Literal["script", "airgap", "apk"] = _f("script", always=True)
    script_from: Literal["remote", "local"] = _f("remote", doc="remote: the node fetches get.k3s.io; "
                                                 "local: upload install-script")
    install_script: str | None = _f(doc="local install.sh to upload (script-from: local)")
    airgap: Airgap | None = _f(doc="files for method: airgap")


@dataclass
class SshSettings:
    user: str | None = _f(doc="login user (default: ~/.ssh/config, else root; sudo is used when not root)")
    port: int | None = _f(doc="SSH port (default: ~/.ssh/config, else 22)")
    identity_file: str | None = _f(doc="private key; else ~/.ssh/config and the agent")
    known_hosts: str = _f("~/.ssh/known_hosts")
    proxy_jump: str | None = _f(doc="[user@]host[:port] to jump through")
    connect_timeout: float = _f(10.0, doc="seconds")


@dataclass
class SshOverride:
    user: str | None = None
    port: int | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    proxy_jump: str | None = None


@dataclass
class Node:
    name: str = _f("", required=True, always=True)
    address: str = _f("", doc="IP or DNS name to reach the node", required=True, always=True)
    role: Literal["server", "agent"] = _f("agent", always=True)
    init: bool = _f(False, doc="this server initialises the cluster (default: the first server)")
    ipv6: str | None = _f(doc="the node's IPv6 address (dual-stack)")
    labels: list[str] = _f(factory=list, doc="key=value, applied at registration")
    taints: list[str] = _f(factory=list, doc="key=value:Effect, applied at registration")
    ssh: SshOverride | None = _f(doc="per-node SSH settings; these win")


@dataclass
class Answers:
    api_version: str = _f(API_VERSION, key="apiVersion", required=True, always=True)
    cluster: Cluster = _f(factory=Cluster, always=True)
    install: Install = _f(factory=Install, always=True)
    ssh: SshSettings = _f(factory=SshSettings)
    nodes: list[Node] = _f(factory=list, always=True)

    # Where the file came from: relative paths in it are relative to its folder.
    base_dir: Path = field(default=Path("."), compare=False, repr=False, metadata={"internal": True})

    @property
    def servers(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "server"]

    @property
    def init_server(self) -> Node | None:
        """The server that runs --cluster-init (or starts the SQLite cluster); None in join mode."""
        if self.cluster.mode == "join" or not self.servers:
            return None
        marked = [n for n in self.servers if n.init]
        return marked[0] if marked else self.servers[0]

    @property
    def agents(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "agent"]

    def local_path(self, path: str) -> Path:
        """A path from the answers file as this machine sees it."""
        p = Path(os.path.expanduser(path))
        return p if p.is_absolute() else self.base_dir / p


@dataclass
class Loaded:
    answers: Answers
    report: Report
    source: Source

    def problems(self) -> list[Problem]:
        return [p.located(self.source.file, self.source.lines) for p in self.report.problems]


def parse_answers(source: Source, base_dir: Path | None = None) -> Loaded:
    """Build Answers from loaded YAML, collecting (not raising) type and key problems."""
    report = Report()
    data = source.data
    if not isinstance(data, dict):
        report.add("", f"the top level must be a mapping (`apiVersion: {API_VERSION}`, `cluster:`, "
                       f"`nodes:` ...), not {'a list' if isinstance(data, list) else 'a single value'}",
                   "start from assets/examples/")
        data = {}
    answers = schema.from_data(Answers, data, "", report)
    if "apiVersion" not in data:
        report.add("apiVersion", "missing", f"add `apiVersion: {API_VERSION}` at the top")
    elif answers.api_version != API_VERSION:
        report.add("apiVersion", f"`{answers.api_version}` is not a version this k3swiz reads",
                   f"use `apiVersion: {API_VERSION}`")
    if base_dir is not None:
        answers.base_dir = base_dir
    return Loaded(answers, report, source)


def load_answers(path: str | Path) -> Loaded:
    """Read an answers file. Unusable files (not YAML, binary, too big) raise InputError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem("", f"{path}: no such file",
                                  "check the path, or run `k3swiz` to create one")]) from None
    except OSError as exc:
        raise InputError([Problem("", f"{path}: cannot read it ({exc.strerror})", "")]) from None
    source = load_yaml(raw, str(path))
    return parse_answers(source, path.resolve().parent)


def answers_from_text(text: str, name: str = "<answers>", base_dir: Path | None = None) -> Loaded:
    return parse_answers(load_yaml(text, name), base_dir or Path("."))


HEADER = f"""# yaml-language-server: $schema={SCHEMA_URL}
# k3swiz answers file: replay with `k3swiz replay FILE`, check with `k3swiz validate FILE`.
# Secrets are referenced (token.file / token.env), never stored here unless asked.
"""


def to_yaml(answers: Answers, *, include_secrets: bool = False) -> str:
    data = schema.to_data(answers, reveal=include_secrets)
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)
    return HEADER + body


def save_answers(answers: Answers, path: str | Path, *, include_secrets: bool = False) -> Path:
    """Write atomically; 0600 when the file holds a secret, else 0644."""
    path = Path(path)
    text = to_yaml(answers, include_secrets=include_secrets)
    mode = 0o600 if include_secrets and answers.cluster.token.value else 0o644
    return write_atomic(path, text.encode("utf-8"), mode)


def answers_schema() -> dict:
    doc = schema.json_schema(Answers, title="k3swiz answers file v1")
    doc["$id"] = SCHEMA_URL
    return doc
