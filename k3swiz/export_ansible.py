"""`k3swiz export F --format ansible -o DIR`: an inventory for the k3s-ansible playbooks.

github.com/k3s-io/k3s-ansible reads `k3s_cluster` with the groups `server` and `agent`, and
group variables `k3s_version`, `token`, `api_endpoint`, `extra_server_args` /
`extra_agent_args`, `server_config_yaml` / `agent_config_yaml` (placed as config.yaml),
`registries_config_yaml` and `extra_manifests`. The playbook passes `--cluster-init` /
`--server`, `--token` and `--data-dir` itself, so those stay out of the config. Per host: its
address, SSH user and port, and its own config.yaml (node name, IPs, labels, taints and the
cluster's k3swiz-managed keys); the answers' extra keys become the extra args. The token is a
lookup of the answers' token file or variable, never its value.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from .answers import Answers, Node
from .catalog import load_catalog
from .problems import InputError, Problem
from .export import _BlockDumper
from .render import config_yaml, traefik_manifest
from .validate import chosen_version

PLAYBOOK_KEYS = ("server", "token", "token-file", "data-dir")


def _yaml(data: dict) -> str:
    """A config file's text, as k3swiz writes config.yaml."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def flags(extra: dict) -> str:
    """k3s keys as command-line flags, as ExecStart will see them."""
    words = []
    for key, value in extra.items():
        for item in value if isinstance(value, list) else [value]:
            if item is True:
                words.append(f"--{key}")
            else:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                words.append(shlex.quote(f"--{key}={text}"))
    return " ".join(words)


def _token_lookup(answers: Answers) -> tuple[str, str]:
    ref = answers.cluster.token
    if ref.file:
        path = answers.local_path(ref.file).resolve()
        return f"{{{{ lookup('ansible.builtin.file', '{path}') }}}}", f"the token file {path}"
    if ref.env:
        return f"{{{{ lookup('ansible.builtin.env', '{ref.env}') }}}}", f"the environment variable {ref.env}"
    return "{{ k3s_token }}", "k3s_token (pass it with -e or ansible-vault: the answers hold it inline)"


def _host(answers: Answers, node: Node) -> dict:
    config = config_yaml(answers, node)
    own_extra = answers.cluster.server_config if node.role == "server" else answers.cluster.agent_config
    managed = {k: v for k, v in config.items() if k not in PLAYBOOK_KEYS and k not in own_extra}
    host: dict = {"ansible_host": node.address}
    ssh = node.ssh
    if ssh and ssh.user:
        host["ansible_user"] = ssh.user
    if ssh and ssh.port:
        host["ansible_port"] = ssh.port
    host["server_config_yaml" if node.role == "server" else "agent_config_yaml"] = _yaml(managed)
    return host


def _check(answers: Answers) -> None:
    if answers.cluster.mode == "join" or answers.init_server is None:
        raise InputError([Problem("cluster.mode", "k3s-ansible starts its own first server; these answers join "
                                  "an existing cluster", "export --format cloud-init instead")])
    if answers.install.method == "apk":
        raise InputError([Problem("install.method", "k3s-ansible installs with k3s's install script, not apk",
                                  "export --format cloud-init instead")])


def _group_vars(answers: Answers, out_dir: Path, files: dict[str, str]) -> dict:
    """The `k3s_cluster` variables; the Traefik manifest they name is added to `files`."""
    cluster = answers.cluster
    variables: dict = {"k3s_version": cluster.k3s.version or str(chosen_version(answers, load_catalog())),
                       "token": _token_lookup(answers)[0], "api_endpoint": answers.init_server.address,
                       "cluster_context": cluster.name}
    if answers.ssh.user:
        variables["ansible_user"] = answers.ssh.user
    variables["ansible_port"] = answers.ssh.port or 22
    if answers.ssh.identity_file:
        variables["ansible_ssh_private_key_file"] = str(answers.local_path(answers.ssh.identity_file).resolve())
    if cluster.server_config.get("data-dir"):
        variables["k3s_server_location"] = str(cluster.server_config["data-dir"])
    variables["extra_server_args"] = flags({k: v for k, v in cluster.server_config.items() if k != "data-dir"})
    variables["extra_agent_args"] = flags({k: v for k, v in cluster.agent_config.items() if k != "data-dir"})
    if cluster.traefik.enabled:
        files["manifests/traefik-config.yaml"] = traefik_manifest(cluster.traefik.values)
        variables["extra_manifests"] = [str(out_dir.resolve() / "manifests" / "traefik-config.yaml")]
    if cluster.registries:
        variables["registries_config_yaml"] = _yaml(cluster.registries)
    airgap = answers.install.airgap
    if answers.install.method == "airgap" and airgap and airgap.k3s_binary:
        variables["airgap_dir"] = str(answers.local_path(airgap.k3s_binary).resolve().parent)
    return variables


def inventory_files(answers: Answers, out_dir: Path) -> dict[str, str]:
    """relative path -> text: inventory.yml (and the Traefik manifest it names)."""
    _check(answers)
    files: dict[str, str] = {}
    variables = _group_vars(answers, out_dir, files)
    init = answers.init_server
    servers = {n.name: _host(answers, n) for n in [init] + [s for s in answers.servers if s is not init]}
    agents = {n.name: _host(answers, n) for n in answers.agents}
    doc = {"k3s_cluster": {"children": {"server": {"hosts": servers}, "agent": {"hosts": agents}},
                           "vars": variables}}
    head = (f"# k3swiz export of cluster {answers.cluster.name} for the k3s-ansible playbooks "
            "(github.com/k3s-io/k3s-ansible):\n"
            "#   ansible-playbook playbooks/site.yml -i inventory.yml\n"
            f"# The token is read by Ansible from {_token_lookup(answers)[1]}; it is not in this file.\n"
            "# The first host of `server` initialises the cluster.\n")
    files["inventory.yml"] = head + yaml.dump(doc, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False,
                                              width=1000, allow_unicode=True)
    return files
