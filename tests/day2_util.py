"""Running day-2 commands as a user does (a subprocess, no terminal) against lab nodes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def k3swiz(folder: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`k3swiz ARGS` in `folder`, stdin not a terminal, state (journals) under folder/state."""
    environment = {**os.environ, "XDG_STATE_HOME": str(folder / "state"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "k3swiz.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=folder, env=environment, stdin=subprocess.DEVNULL, timeout=timeout)


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def call_times(node, prog: str, first_arg: str) -> list[float]:
    return [c["time"] for c in node.calls() if c["prog"] == prog and c["argv"][:1] == [first_arg]]


def files_under(node, remote: str) -> list[str]:
    """Every file below a host-visible folder of the node, as remote paths."""
    base = node.host_path(remote)
    return sorted(remote.rstrip("/") + "/" + str(p.relative_to(base)) for p in base.rglob("*")
                  if p.is_file() or p.is_symlink())


def standin_bundle(folder: Path, version: str) -> dict:
    """The stand-in airgap bundle, its k3s answering `--version` with `version` (a TEST STAND-IN)."""
    from tests.apply_util import airgap_bundle
    paths = airgap_bundle(folder)
    binary = Path(paths["k3s-binary"])
    text, count = re.subn(r'^STANDIN_VERSION = ".*"$', f'STANDIN_VERSION = "{version}"', binary.read_text(),
                          flags=re.M)
    assert count == 1, "the stand-in k3s has no STANDIN_VERSION line"
    binary.write_text(text)
    return paths


def k3s_version(node) -> str:
    return node.exec("k3s --version").stdout.split()[2]


def assert_secret_not_passed(nodes, secret: str) -> None:
    """The secret is in no argv or environment of anything the stand-ins saw run on the nodes."""
    import json
    for node in nodes:
        for call in node.calls():
            assert secret not in json.dumps(call["argv"]) + json.dumps(call["env"]), (node.name, call["prog"])
