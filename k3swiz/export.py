"""`k3swiz export F --format cloud-init -o DIR`: user-data that sets a node up by itself.

For fleets bigger than one operator's SSH fan-out: each node gets `DIR/<node>/user-data`
(#cloud-config) with the same files replay writes (render.render_node) and the same install
step (scripts.install_script), plus a NoCloud `meta-data`. The token is never in it: the
install step waits for /etc/rancher/k3s/cluster-token, which the machine gets from wherever
the answers' token comes from (a secret store, a provisioning tool). Joining nodes need no
order: k3s agents retry until the server answers, and a server's service restarts until it
can join (k3s-facts §9).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .answers import Answers, Node
from .plan import bundle_files, version_label
from .render import TOKEN_FILE, render_node
from .scripts import install_script
from .secrets import Secret
from .token import TokenSource

INSTALL_STEP = "/var/lib/rancher/k3s/k3swiz/cloud-init-install.sh"
TOKEN_WAIT_SECONDS = 600
NO_TOKEN = Secret("")


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks: the files read as they will be on the node."""


_BlockDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


def install_step(answers: Answers, node: Node) -> str:
    """replay's install script, after waiting for the token file the machine is given."""
    return ("#!/bin/sh\n"
            "# Written by k3swiz export: waits for the cluster token, then installs k3s like `k3swiz replay`.\n"
            "i=0\n"
            f"until [ -s {TOKEN_FILE} ]; do\n"
            "  i=$((i + 1))\n"
            f"  if [ $i -ge {TOKEN_WAIT_SECONDS} ]; then\n"
            f'    echo "k3swiz: {TOKEN_FILE} is still missing after {TOKEN_WAIT_SECONDS}s: put the cluster '
            'token there (0600)" >&2\n'
            "    exit 1\n  fi\n  sleep 1\ndone\n"
            + install_script(answers, node))


def user_data(answers: Answers, node: Node) -> str:
    source = TokenSource(answers.cluster.token, answers).describe()
    files = [f for f in render_node(answers, node, NO_TOKEN) if f.path != TOKEN_FILE]
    entries = [{"path": f.path, "permissions": f"0{f.mode:o}", "owner": "root:root",
                "content": f.content.decode()} for f in files]
    entries.append({"path": INSTALL_STEP, "permissions": "0700", "owner": "root:root",
                    "content": install_step(answers, node)})
    bundle = [f.path for f in bundle_files(answers)]
    head = ["#cloud-config",
            f"# k3swiz export: node {node.name} ({node.role}) of cluster {answers.cluster.name}, "
            f"k3s {version_label(answers)}.",
            f"# The cluster token is not in this file. Give the machine {TOKEN_FILE} (0600) with the",
            f"# token of the answers' {source}; the install step waits for it."]
    if bundle:
        head.append(f"# Bake the airgap bundle into the image first: {', '.join(bundle)}.")
    body = yaml.dump({"write_files": entries, "runcmd": [["sh", INSTALL_STEP]]}, Dumper=_BlockDumper,
                     sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True)
    return "\n".join(head) + "\n" + body


def meta_data(answers: Answers, node: Node) -> str:
    return f"instance-id: {answers.cluster.name}-{node.name}\nlocal-hostname: {node.name}\n"


def cloud_init_files(answers: Answers) -> dict[str, str]:
    """relative path -> text, for every node."""
    files = {}
    for node in answers.nodes:
        files[f"{node.name}/user-data"] = user_data(answers, node)
        files[f"{node.name}/meta-data"] = meta_data(answers, node)
    return files


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Each file atomically, 0600 from the start (configs may hold registry credentials)."""
    written = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written


__all__ = ["cloud_init_files", "install_step", "user_data", "write_files"]
