"""k3s settings as the k3s TEST STAND-IN sees them (not k3s itself).

Precedence like k3s: environment (K3S_*) < config.yaml < config.yaml.d/*.yaml
(alphabetical; `key+:` appends) < command-line flags.
"""
from __future__ import annotations

import glob
import os

DEFAULT_CONFIG = "/etc/rancher/k3s/config.yaml"
ENV_KEYS = {
    "K3S_TOKEN": "token", "K3S_TOKEN_FILE": "token-file", "K3S_URL": "server",
    "K3S_CLUSTER_INIT": "cluster-init", "K3S_NODE_NAME": "node-name",
    "K3S_AGENT_TOKEN": "agent-token", "K3S_AGENT_TOKEN_FILE": "agent-token-file",
    "K3S_DATA_DIR": "data-dir", "K3S_KUBECONFIG_OUTPUT": "write-kubeconfig",
    "K3S_KUBECONFIG_MODE": "write-kubeconfig-mode",
}
SHORT_FLAGS = {"t": "token", "s": "server", "c": "config", "i": "node-ip", "d": "data-dir",
               "o": "write-kubeconfig"}
BOOL_FLAGS = {"cluster-init", "cluster-reset", "secrets-encryption", "embedded-registry",
              "flannel-ipv6-masq", "flannel-external-ip", "etcd-expose-metrics",
              "etcd-disable-snapshots", "etcd-snapshot-compress", "etcd-s3", "selinux",
              "docker", "rootless", "debug", "with-node-id", "prefer-bundled-bin",
              "supervisor-metrics", "protect-kernel-defaults", "disable-agent"}
LIST_FLAGS = {"tls-san", "disable", "node-label", "node-taint", "kubelet-arg",
              "kube-apiserver-arg", "kube-proxy-arg", "kube-controller-manager-arg",
              "kube-scheduler-arg", "etcd-arg"}


class ConfigError(Exception):
    pass


def settings(args: list[str], environ: dict[str, str]) -> dict:
    """Merged settings for `k3s server|agent <args>`."""
    merged: dict = {key: environ[var] for var, key in ENV_KEYS.items() if environ.get(var)}
    cli = parse_flags(args)
    config = cli.get("config") or environ.get("K3S_CONFIG_FILE") or DEFAULT_CONFIG
    for path in [config, *sorted(glob.glob(f"{config}.d/*.yaml"))]:
        if os.path.exists(path):
            _merge(merged, load_yaml(path), path)
    merged.update(cli)
    return merged


def parse_flags(args: list[str]) -> dict:
    result: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            raise ConfigError(f"unexpected argument {arg!r}")
        name, has_value, value = arg.lstrip("-").partition("=")
        name = SHORT_FLAGS.get(name, name)
        if not has_value:
            takes_value = (name not in BOOL_FLAGS and not name.startswith("disable-")
                           and i + 1 < len(args) and not args[i + 1].startswith("-"))
            value = args[i + 1] if takes_value else "true"
            i += takes_value
        if name in LIST_FLAGS:
            result.setdefault(name, []).extend(value.split(","))
        else:
            result[name] = value
        i += 1
    return result


def _merge(merged: dict, layer: dict, path: str) -> None:
    if not isinstance(layer, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    for key, value in layer.items():
        if str(key).endswith("+"):
            base = str(key)[:-1]
            old = merged.get(base, [])
            merged[base] = (old if isinstance(old, list) else [old]) + (
                value if isinstance(value, list) else [value])
        else:
            merged[str(key)] = value


def load_yaml(path: str) -> dict:
    with open(path) as source:
        text = source.read()
    try:
        import yaml
    except ImportError:  # a node without pyyaml: flat "key: value" / "- item" only
        return _tiny_yaml(text)
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None


def _tiny_yaml(text: str) -> dict:
    data: dict = {}
    key = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("- ") and key:
            data.setdefault(key, []).append(line.strip()[2:].strip("'\""))
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip().strip("'\"")
        data[key] = value if value else data.get(key)
    return data


def truthy(value) -> bool:
    return str(value).lower() in ("true", "1", "yes")
