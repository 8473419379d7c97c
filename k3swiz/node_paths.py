"""Where k3s keeps things on a node, as the answers configure it (k3s-facts §2.3 and §8).

Shared by the day-2 commands: reset checks what is left, etcd finds snapshots and the
database, upgrade and adopt read what the installer wrote.
"""

from __future__ import annotations

from .answers import Answers, Node
from .plan import PLACEHOLDER_TOKEN, bundle_files
from .render import APK_CONFD, LOCAL_INSTALLER, render_node

DEFAULT_DATA_DIR = "/var/lib/rancher/k3s"
BIN_DIRS = ("/usr/local/bin", "/opt/bin")   # install.sh falls back to /opt/bin
UNINSTALLERS = tuple(f"{d}/{name}" for d in BIN_DIRS for name in ("k3s-agent-uninstall.sh", "k3s-uninstall.sh"))
KILLALL = tuple(f"{d}/k3s-killall.sh" for d in BIN_DIRS)
# What an install leaves on a node (install.sh, k3s itself), checked after a reset.
K3S_FOOTPRINT = (
    "/etc/rancher/k3s", "/run/k3s", "/run/flannel", "/var/lib/kubelet",
    *(f"{d}/{tool}" for d in BIN_DIRS for tool in ("k3s", "kubectl", "crictl", "ctr")),
    *KILLALL, *UNINSTALLERS,
    "/etc/systemd/system/k3s.service", "/etc/systemd/system/k3s.service.env",
    "/etc/systemd/system/k3s-agent.service", "/etc/systemd/system/k3s-agent.service.env",
    "/etc/init.d/k3s", "/etc/init.d/k3s-agent", "/etc/rancher/k3s/k3s.env", "/etc/rancher/k3s/k3s-agent.env",
)


def data_dir(answers: Answers, node: Node) -> str:
    """k3s's data dir on this node (`data-dir` among the extra keys, else the default)."""
    extra = answers.cluster.server_config if node.role == "server" else answers.cluster.agent_config
    return str(extra.get("data-dir") or DEFAULT_DATA_DIR).rstrip("/")


def db_dir(answers: Answers, node: Node) -> str:
    return f"{data_dir(answers, node)}/server/db"


def snapshot_dir(answers: Answers, node: Node) -> str:
    """Where `k3s etcd-snapshot` and the schedule write snapshots on this server."""
    return (answers.cluster.etcd_snapshots.dir or f"{db_dir(answers, node)}/snapshots").rstrip("/")


def k3swiz_files(answers: Answers, node: Node) -> list[str]:
    """Every path k3swiz itself may have written on the node (config, token, bundle, installer)."""
    paths = [f.path for f in render_node(answers, node, PLACEHOLDER_TOKEN)]
    paths += [f.path for f in bundle_files(answers)]
    for extra in (LOCAL_INSTALLER, APK_CONFD if answers.install.method == "apk" else None):
        if extra and extra not in paths:
            paths.append(extra)
    return paths


def footprint(answers: Answers, node: Node) -> list[str]:
    """Paths that show k3s or k3swiz was here: the k3s footprint, k3swiz's files, the data dir."""
    paths = list(K3S_FOOTPRINT) + [data_dir(answers, node)]
    if node.role == "server" and answers.cluster.etcd_snapshots.dir:
        paths.append(snapshot_dir(answers, node))
    paths += [p for p in k3swiz_files(answers, node) if p not in paths]
    return list(dict.fromkeys(paths))
