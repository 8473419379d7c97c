"""Answers -> the files of every node, byte for byte (pure: no I/O, no clock).

What lands on a node (design.md): config.yaml with k3s keys only, the token
file, the Traefik HelmChartConfig on servers, registries.yaml, and Alpine's
/etc/conf.d/k3s for the apk method. The token reaches k3s only via token-file.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

import yaml

from .answers import Answers, Node
from .secrets import Secret

CONFIG = "/etc/rancher/k3s/config.yaml"
TOKEN_FILE = "/etc/rancher/k3s/cluster-token"
REGISTRIES = "/etc/rancher/k3s/registries.yaml"
TRAEFIK_CONFIG = "/var/lib/rancher/k3s/server/manifests/traefik-config.yaml"
APK_CONFD = "/etc/conf.d/k3s"
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
BIN_K3S = "/usr/local/bin/k3s"
IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"
LOCAL_INSTALLER = "/var/lib/rancher/k3s/k3swiz/install.sh"
SUPERVISOR_PORT = 6443


@dataclass(frozen=True)
class RenderedFile:
    path: str                    # absolute path on the node
    # bytes, or a local file to upload as it is (airgap bundle); left out of repr(), which
    # error messages and tracebacks show: the token file's content is the token itself
    content: bytes | Path = field(repr=False)
    mode: int
    secret: bool = False         # holds a secret: never shown, only its path
    origin: str | None = None    # a local upload's path as the answers file writes it

    @property
    def sha256(self) -> str:
        if isinstance(self.content, Path):
            info = self.content.stat()
            return _local_file_sha256(self.content, info.st_size, info.st_mtime_ns)
        return hashlib.sha256(self.content).hexdigest()

    def shown(self) -> str:
        """Text for reviews and `plan --out`: a secret is masked, a local upload named."""
        if self.secret:
            return "*** (secret: not shown)\n"
        if isinstance(self.content, Path):
            return f"(uploaded from {self.origin or self.content.name})\n"
        return self.content.decode("utf-8", errors="replace")


def server_url(answers: Answers) -> str | None:
    """Where joining nodes register: the join URL, or the init server on port 6443."""
    if answers.cluster.mode == "join":
        return answers.cluster.join_url
    init = answers.init_server
    return supervisor_url(init.address) if init else None


def supervisor_url(host: str) -> str:
    """https://HOST:6443, with an IPv6 literal in brackets."""
    try:
        if ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"https://{host}:{SUPERVISOR_PORT}"


def node_ip(answers: Answers, node: Node) -> str | None:
    """node-ip for dual-stack (IPv4,IPv6 on every node); None lets k3s pick in single-stack."""
    if not answers.cluster.network.dual_stack or not node.ipv6:
        return None
    return f"{node.address},{node.ipv6}"


def server_keys(answers: Answers) -> dict:
    """Keys every server gets identically (k3s refuses a join on a critical mismatch)."""
    cluster = answers.cluster
    net = cluster.network
    keys: dict = {
        "cluster-cidr": ",".join(net.cluster_cidr),
        "service-cidr": ",".join(net.service_cidr),
        "flannel-backend": net.flannel_backend,
    }
    if cluster.tls_san:
        keys["tls-san"] = list(cluster.tls_san)
    disable = list(cluster.disable)
    if not cluster.traefik.enabled and "traefik" not in disable:
        disable.append("traefik")
    if disable:
        keys["disable"] = disable
    if cluster.datastore == "etcd":
        snaps = cluster.etcd_snapshots
        if snaps.enabled:
            keys["etcd-snapshot-schedule-cron"] = snaps.schedule_cron
            keys["etcd-snapshot-retention"] = snaps.retention
            if snaps.dir:
                keys["etcd-snapshot-dir"] = snaps.dir
        else:
            keys["etcd-disable-snapshots"] = True
    keys.update(cluster.server_config)
    return keys


def config_yaml(answers: Answers, node: Node) -> dict:
    config: dict = {}
    is_init = node is answers.init_server
    if is_init and answers.cluster.datastore == "etcd":
        config["cluster-init"] = True
    elif not is_init:
        config["server"] = server_url(answers)
    config["token-file"] = TOKEN_FILE
    config["node-name"] = node.name
    ip = node_ip(answers, node)
    if ip:
        config["node-ip"] = ip
    if node.labels:
        config["node-label"] = list(node.labels)
    if node.taints:
        config["node-taint"] = list(node.taints)
    if node.role == "server":
        config.update(server_keys(answers))
    else:
        config.update(answers.cluster.agent_config)
    return config


@functools.lru_cache(maxsize=32)
def _local_file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """Hashed once per run, not once per node (an airgap images archive is hundreds of MB, and
    every node's plan compares it). Size and mtime are in the key: a file changed meanwhile
    (the wizard can stay open for long) is hashed again."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def _header(answers: Answers, node: Node) -> str:
    return (f"# Written by k3swiz for node {node.name} of cluster {answers.cluster.name}.\n"
            "# Edit the answers file and re-apply instead: changes here are overwritten.\n")


def traefik_manifest(values: dict) -> str:
    values_text = _yaml(values).rstrip("\n") if values else "{}"
    doc = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": values_text},
    }
    return yaml.dump(doc, Dumper=_LiteralDumper, sort_keys=False, default_flow_style=False, width=1000)


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as `|-` blocks, so valuesContent reads like the docs' examples."""


def _str_presenter(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_LiteralDumper.add_representer(str, _str_presenter)


def apk_confd(node: Node) -> str:
    # Everything else comes from config.yaml, which k3s reads under OpenRC too;
    # the token stays in its file, never in K3S_OPTS.
    role = "server" if node.role == "server" else "agent"
    return ('# Written by k3swiz: the rest of the configuration is in /etc/rancher/k3s/config.yaml\n'
            'export PATH="/usr/libexec/cni/:$PATH"\n'
            f'K3S_EXEC="{role}"\n'
            'K3S_OPTS=""\n')


def render_node(answers: Answers, node: Node, token: Secret) -> list[RenderedFile]:
    """Every file k3swiz writes on `node`, in a fixed order."""
    files = [
        RenderedFile(CONFIG, (_header(answers, node) + _yaml(config_yaml(answers, node))).encode(), 0o600),
        RenderedFile(TOKEN_FILE, (token.reveal() + "\n").encode(), 0o600, secret=True),
    ]
    if answers.cluster.registries:
        # 0600: registry credentials may sit in configs.*.auth
        files.append(RenderedFile(REGISTRIES, _yaml(answers.cluster.registries).encode(), 0o600))
    if node.role == "server" and answers.cluster.traefik.enabled:
        files.append(RenderedFile(TRAEFIK_CONFIG, traefik_manifest(answers.cluster.traefik.values).encode(), 0o600))
    if answers.install.method == "apk":
        files.append(RenderedFile(APK_CONFD, apk_confd(node).encode(), 0o644))
    return files
