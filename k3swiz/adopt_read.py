"""What `k3swiz adopt` reads on each node: one read-only script, and its parsing.

The script prints the node's hostname, k3s version, which k3s services it has, and the files
that configure k3s, each base64-encoded on one line: config.yaml and its config.yaml.d drop-ins,
the service unit and its env file (systemd or OpenRC), /etc/conf.d/k3s, registries.yaml, the
Traefik HelmChartConfig and the token file config.yaml names. The output can hold secrets
(tokens): it is parsed in memory and never logged.

Effective settings follow k3s's precedence (k3s-facts §2.1, §3): K3S_* variables of the
service's env file < config.yaml < drop-ins in name order (`key+` appends) < the service's
command-line flags.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass, field

import yaml

from .render import CONFIG, REGISTRIES, TRAEFIK_CONFIG

UNITS = {"k3s": ("/etc/systemd/system/k3s.service", "/etc/init.d/k3s"),
         "k3s-agent": ("/etc/systemd/system/k3s-agent.service", "/etc/init.d/k3s-agent")}
ENV_FILES = ("/etc/systemd/system/k3s.service.env", "/etc/systemd/system/k3s-agent.service.env",
             "/etc/rancher/k3s/k3s.env", "/etc/rancher/k3s/k3s-agent.env", "/etc/conf.d/k3s")
ENV_KEYS = {"K3S_TOKEN": "token", "K3S_TOKEN_FILE": "token-file", "K3S_URL": "server",
            "K3S_CLUSTER_INIT": "cluster-init", "K3S_NODE_NAME": "node-name", "K3S_AGENT_TOKEN": "agent-token",
            "K3S_AGENT_TOKEN_FILE": "agent-token-file", "K3S_DATA_DIR": "data-dir",
            "K3S_KUBECONFIG_MODE": "write-kubeconfig-mode", "K3S_KUBECONFIG_OUTPUT": "write-kubeconfig"}
LIST_KEYS = {"tls-san", "disable", "node-label", "node-taint", "kubelet-arg", "kube-apiserver-arg",
             "kube-proxy-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "etcd-arg"}
BOOL_FLAGS = {"cluster-init", "secrets-encryption", "embedded-registry", "flannel-ipv6-masq",
              "flannel-external-ip", "etcd-expose-metrics", "etcd-disable-snapshots", "etcd-snapshot-compress",
              "selinux", "docker", "rootless", "debug", "with-node-id", "prefer-bundled-bin", "disable-agent"}
SHORT_FLAGS = {"t": "token", "s": "server", "c": "config", "i": "node-ip", "d": "data-dir"}


def probe_script() -> str:
    files = [CONFIG, *(p for pair in UNITS.values() for p in pair), *ENV_FILES, REGISTRIES, TRAEFIK_CONFIG]
    quoted = " ".join(shlex.quote(p) for p in files)
    return ('emit() { if [ -f "$1" ]; then echo "file $1 $(base64 < "$1" | tr -d \'\\n\')"; fi; }\n'
            'echo "hostname=$(hostname)"\n'
            "if command -v k3s >/dev/null 2>&1; then echo \"version=$(k3s --version | head -n 1 | awk '{print $3}')\"; fi\n"
            "if [ -x /sbin/openrc-run ]; then echo init=openrc; else echo init=systemd; fi\n"
            f"for f in {quoted} {CONFIG}.d/*.yaml; do emit \"$f\"; done\n"
            f"tf=$(sed -n 's/^token-file:[[:space:]]*//p' {CONFIG} 2>/dev/null | tr -d \"\\\"'\" | tail -n 1)\n"
            'if [ -n "$tf" ]; then emit "$tf"; fi\n'
            "true\n")


@dataclass
class NodeReading:
    address: str
    hostname: str = ""
    version: str | None = None
    init: str = "systemd"
    files: dict[str, str] = field(default_factory=dict)    # path -> text (may hold secrets)

    @property
    def services(self) -> list[str]:
        return [svc for svc, paths in UNITS.items() if any(p in self.files for p in paths)]

    @property
    def dropins(self) -> list[str]:
        return sorted(p for p in self.files if p.startswith(CONFIG + ".d/"))


def parse_probe(address: str, output: str) -> NodeReading:
    reading = NodeReading(address)
    for line in output.splitlines():
        if line.startswith("file "):
            _, path, *data = line.split(" ", 2)
            reading.files[path] = base64.b64decode(data[0] if data else "").decode("utf-8", errors="replace")
        elif line.startswith("hostname="):
            reading.hostname = line[9:].strip()
        elif line.startswith("version="):
            reading.version = line[8:].strip() or None
        elif line.startswith("init="):
            reading.init = line[5:].strip()
    return reading


class ReadError(Exception):
    """A node's configuration cannot be read as k3s would (says which file and why)."""


def _yaml_file(reading: NodeReading, path: str) -> dict:
    try:
        data = yaml.safe_load(reading.files[path]) or {}
    except yaml.YAMLError as exc:
        raise ReadError(f"{reading.address}:{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ReadError(f"{reading.address}:{path} is not a mapping of k3s keys")
    return data


def _merge(settings: dict, layer: dict) -> None:
    for key, value in layer.items():
        key = str(key)
        if key.endswith("+"):
            base = key[:-1]
            old = settings.get(base, [])
            settings[base] = (old if isinstance(old, list) else [old]) + (value if isinstance(value, list) else [value])
        else:
            settings[key] = value


def service_words(reading: NodeReading) -> list[str]:
    """`server ...` / `agent ...` as the service starts k3s (unit ExecStart, OpenRC command_args, conf.d)."""
    for svc in reading.services:
        systemd, openrc = UNITS[svc]
        if systemd in reading.files:
            text = reading.files[systemd].replace("\\\n", " ")
            match = re.search(r"^ExecStart=\S*k3s\s+(.*)$", text, re.M)
            if match:
                return shlex.split(match.group(1))
        if openrc in reading.files:
            match = re.search(r'^command_args="([^"]*)"', reading.files[openrc], re.M)
            if match:
                return [w for w in shlex.split(match.group(1)) if not re.match(r"^(\d*>|&>)", w)]
    confd = reading.files.get("/etc/conf.d/k3s", "")
    exec_ = re.search(r'^K3S_EXEC="?([^"\n]*)"?', confd, re.M)
    opts = re.search(r'^K3S_OPTS="?([^"\n]*)"?', confd, re.M)
    if exec_:
        return shlex.split(exec_.group(1)) + (shlex.split(opts.group(1)) if opts else [])
    return []


def parse_flags(words: list[str]) -> dict:
    flags, i = {}, 0
    while i < len(words):
        name, has_value, value = words[i].lstrip("-").partition("=")
        name = SHORT_FLAGS.get(name, name)
        if not has_value:
            takes = name not in BOOL_FLAGS and i + 1 < len(words) and not words[i + 1].startswith("-")
            value = words[i + 1] if takes else True
            i += takes
        if name in LIST_KEYS:
            flags.setdefault(name, []).extend(str(value).split(","))
        else:
            flags[name] = value
        i += 1
    return flags


def env_settings(reading: NodeReading) -> dict:
    settings = {}
    for path in ENV_FILES:
        for line in reading.files.get(path, "").splitlines():
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and key in ENV_KEYS:
                settings[ENV_KEYS[key]] = value.strip().strip("'\"")
    return settings


def effective_settings(reading: NodeReading) -> tuple[str | None, dict]:
    """(role, settings) of the node as k3s sees them."""
    words = service_words(reading)
    role = words[0] if words and words[0] in ("server", "agent") else (
        "server" if "k3s" in reading.services else "agent" if reading.services else None)
    settings = env_settings(reading)
    for path in [CONFIG, *reading.dropins]:
        if path in reading.files:
            _merge(settings, _yaml_file(reading, path))
    rest = words[1:] if words and words[0] in ("server", "agent") else words
    settings.update(parse_flags(rest))
    return role, settings


def traefik_values(reading: NodeReading) -> dict | None:
    """valuesContent of the Traefik HelmChartConfig, or None when there is none."""
    if TRAEFIK_CONFIG not in reading.files:
        return None
    doc = _yaml_file(reading, TRAEFIK_CONFIG)
    content = (doc.get("spec") or {}).get("valuesContent") or "{}"
    try:
        values = yaml.safe_load(content) or {}
    except yaml.YAMLError as exc:
        raise ReadError(f"{reading.address}:{TRAEFIK_CONFIG}: valuesContent is not valid YAML: {exc}") from None
    return values if isinstance(values, dict) else {}
