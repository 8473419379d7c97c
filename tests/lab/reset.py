"""reset_node: make a shared lab node clean again between tests."""
from __future__ import annotations

import fcntl
import json
from pathlib import Path

from tests.lab.node import TOOLS_BY_INIT, Node

_WIPE = (
    "/etc/rancher/*", "/var/lib/rancher/*", "/var/log/k3s-standin/*", "/run/k3s-standin",
    "/etc/systemd/system/*", "/etc/init.d/*", "/etc/conf.d/*", "/etc/runlevels/default/k3s*",
    "/etc/k3s-standin.version", "/etc/k3s-standin.fail-install", "/var/log/k3s*.log",
    "/tmp/* /tmp/.[!.]*",
)


def reset_node(node: Node) -> None:
    """Wipe k3s traces: rancher dirs, units, stand-in state and records,
    /usr/local/bin (except the lab's stand-in tools), the node's cluster entries."""
    keep = " ".join(f"! -name {tool}" for tool in TOOLS_BY_INIT[node.init])
    script = (f"rm -rf {' '.join(_WIPE)}; "
              f"find /usr/local/bin -mindepth 1 {keep} -exec rm -rf {{}} +")
    result = node.exec(script)
    if result.returncode != 0:
        raise RuntimeError(f"reset of node {node.name} failed: {result.stderr.strip()}")
    forget_node(node.shared, node.name)


def forget_node(shared: Path, name: str) -> None:
    """Drop the node from /lab-shared: its registration and cluster memberships.

    Uses the same lock file as the k3s stand-in (clusters/.lock).
    """
    (shared / "nodes" / name).unlink(missing_ok=True)
    clusters = shared / "clusters"
    if not clusters.is_dir():
        return
    with open(clusters / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in clusters.glob("*.json"):
            record = json.loads(path.read_text())
            record["members"] = [m for m in record.get("members", []) if m.get("name") != name]
            if record["members"]:
                path.write_text(json.dumps(record, indent=1))
            else:
                path.unlink()
