"""The lab's floor: what the stand-in installs alone cost on this machine, with no SSH and no k3swiz.

The stand-in k3s sleeps T seconds, but around that sleep its install chain
starts several python3 processes per node (install.sh, systemctl x4, k3s). With
47 agents on 2 cores those alone take seconds. To tell k3swiz's overhead from
the lab's, the same install scripts k3swiz sends are run again directly inside
the nodes (nsenter): the servers one after another, then every agent at once.
Run it after an apply, when the files are in place; it forces a restart.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from k3swiz.answers import load_answers
from k3swiz.scripts import install_script

FORCE = "export INSTALL_K3S_FORCE_RESTART=true\n"  # the installer skips the restart when nothing changed


def lab_floor(answers_path: Path, nodes) -> float:
    """Seconds for the installs alone, in k3swiz's order (servers alone, agents together)."""
    answers = load_answers(answers_path).answers
    by_name = {n.name: n for n in nodes}
    servers = [(by_name[n.name], _script(answers, n)) for n in answers.nodes if n.role == "server"]
    agents = [(by_name[n.name], _script(answers, n)) for n in answers.nodes if n.role == "agent"]
    started = time.perf_counter()
    for node, script in servers:
        _install(node, script)
    if agents:
        with ThreadPoolExecutor(max_workers=len(agents)) as pool:
            list(pool.map(lambda pair: _install(*pair), agents))
    return time.perf_counter() - started


def _script(answers, node) -> str:
    script = install_script(answers, node)
    head, _, body = script.partition("\n")  # keep `set -eu` first
    return f"{head}\n{FORCE}{body}"


def _install(node, script: str) -> None:
    result = node.exec(script, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"lab floor: the install on {node.name} failed: {result.stderr.strip()[-400:]}")
