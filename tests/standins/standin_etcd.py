"""etcd snapshots and cluster-reset of the k3s TEST STAND-IN (not k3s, not etcd).

`k3s etcd-snapshot save|ls|delete|prune` work on real files in the snapshot dir (flag
--dir/--etcd-snapshot-dir, else config.yaml's etcd-snapshot-dir, else
${data-dir}/server/db/snapshots). A snapshot is JSON: the cluster's id, the sha256 of the
token password its bootstrap data is encrypted with, and the registered nodes at that time.

`k3s server --cluster-reset [--cluster-reset-restore-path=FILE]` (k3s-facts §8): refused
while k3s runs, with --server, or while the reset-flag of an earlier reset is there; a restore
needs the token the snapshot was taken with. It restores the node registry, makes this server
the only etcd member (a new "epoch": servers whose db still holds the old membership cannot
rejoin until their db dir is moved away), writes the reset-flag and prints k3s's message.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time

import standin_cluster as cluster
import standin_lib as lib
from standin_config import settings, truthy

RESET_MESSAGE = "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now."


def _dirs(conf: dict) -> tuple[str, str]:
    data = conf.get("data-dir") or cluster.DATA_DIR
    return data, f"{data}/server/db"


def snapshot_dir(conf: dict) -> str:
    return str(conf.get("dir") or conf.get("etcd-snapshot-dir") or f"{_dirs(conf)[1]}/snapshots")


VALUE_FLAGS = {"name", "dir", "etcd-snapshot-dir", "snapshot-retention", "etcd-snapshot-retention", "o", "output",
               "s", "etcd-server", "t", "etcd-token", "data-dir", "d", "node-name", "config", "c"}


def split_args(args: list[str]) -> tuple[list[str], dict]:
    """(positional words, flags) of `k3s etcd-snapshot ...`, both --flag=value and --flag value."""
    words, flags, i = [], {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            words.append(arg)
        else:
            name, has_value, value = arg.lstrip("-").partition("=")
            if not has_value and name in VALUE_FLAGS and i + 1 < len(args):
                value, i = args[i + 1], i + 1
            flags[name] = value if (has_value or name in VALUE_FLAGS) else "true"
        i += 1
    return words, flags


def etcd_snapshot(args: list[str], cluster_id: str | None) -> int:
    words, flags = split_args(args)
    sub = words[0] if words and words[0] in ("save", "ls", "list", "l", "delete", "prune") else "save"
    names = words[1:] if words and words[0] == sub else words
    conf = {**settings([], dict(os.environ)), **flags}
    if cluster_id is None:
        print('level=fatal msg="etcd-snapshot: the server is not running"', file=sys.stderr)
        return 1
    folder = snapshot_dir(conf)
    if sub == "save":
        return _save(conf, folder, cluster_id)
    if sub in ("ls", "list", "l"):
        return _list(folder)
    if sub == "delete":
        return _delete(folder, names)
    retention = conf.get("snapshot-retention") or conf.get("etcd-snapshot-retention") or 5
    return _prune(folder, str(conf.get("name") or "on-demand"), int(retention))


def _save(conf: dict, folder: str, cluster_id: str) -> int:
    lib.require_root("k3s etcd-snapshot", "save")
    base, stamp = f"{conf.get('name') or 'on-demand'}-{socket.gethostname()}", int(time.time())
    while os.path.exists(f"{folder}/{base}-{stamp}"):
        stamp += 1   # the real names have one-second resolution; the tests save faster
    name = f"{base}-{stamp}"
    password = _server_password(conf)
    nodes = [n for n in cluster.registered_nodes() if n.get("cluster") == cluster_id]
    snapshot = {"kind": "k3s-standin etcd snapshot", "cluster": cluster_id, "saved": stamp,
                "token_sha256": cluster.sha256(password), "nodes": nodes}
    lib.write_file(f"{folder}/{name}", json.dumps(snapshot, indent=1), 0o600)
    print(f'level=info msg="Snapshot {name} saved."')
    return 0


def _server_password(conf: dict) -> str:
    text = lib.read_text(f"{_dirs(conf)[0]}/server/token") or ""
    return cluster.parse_token(text.strip())[1]


def _snapshots(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted((n for n in os.listdir(folder) if os.path.isfile(f"{folder}/{n}")),
                  key=lambda n: os.path.getmtime(f"{folder}/{n}"))


def _list(folder: str) -> int:
    rows = [("Name", "Location", "Size", "Created")]
    for name in _snapshots(folder):
        path = f"{folder}/{name}"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(path)))
        rows.append((name, f"file://{path}", str(os.path.getsize(path)), created))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print(" ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _delete(folder: str, names: list[str]) -> int:
    lib.require_root("k3s etcd-snapshot", "delete")
    for name in names:
        if not os.path.isfile(f"{folder}/{name}"):
            print(f'level=fatal msg="snapshot {name} not found in {folder}"', file=sys.stderr)
            return 1
        os.unlink(f"{folder}/{name}")
        print(f'level=info msg="Snapshot {name} deleted."')
    return 0


def _prune(folder: str, prefix: str, keep: int) -> int:
    lib.require_root("k3s etcd-snapshot", "prune")
    mine = [n for n in _snapshots(folder) if n.startswith(prefix + "-")]
    for name in mine[:max(0, len(mine) - keep)]:
        os.unlink(f"{folder}/{name}")
        print(f'level=info msg="Removing local snapshot {folder}/{name}"')
    return 0


# ---- cluster-reset ------------------------------------------------------------------
class ResetRefused(Exception):
    pass


def cluster_reset(conf: dict, running: bool) -> str:
    """The reset (and restore); returns k3s's message, raises ResetRefused."""
    data, db = _dirs(conf)
    flag = f"{db}/reset-flag"
    if running:
        raise ResetRefused("etcd: listen tcp 127.0.0.1:2380: bind: address already in use (stop k3s first)")
    if conf.get("server"):
        raise ResetRefused("--cluster-reset cannot be used with --server (a `server:` in the config)")
    if os.path.exists(flag):
        raise ResetRefused(f"cluster-reset was already performed: delete {flag} to reset again")
    cluster_id = (lib.read_text(f"{data}/standin-cluster") or "").strip()
    path = conf.get("cluster-reset-restore-path")
    if path:
        cluster_id = _restore(str(path), conf)
    with lib.shared_lock():
        file = f"{lib.SHARED}/clusters/{cluster_id}.json"
        record = json.loads(lib.read_text(file) or "{}")
        name = conf.get("node-name") or socket.gethostname()
        record["members"] = [m for m in record.get("members", []) if m["name"] == name]
        record["epoch"] = record.get("epoch", 0) + 1
        lib.write_file(file, json.dumps(record, indent=1))
    lib.write_file(f"{db}/etcd/member", str(record["epoch"]))
    lib.write_file(flag, "")
    return RESET_MESSAGE


def _restore(path: str, conf: dict) -> str:
    text = lib.read_text(path)
    if text is None:
        raise ResetRefused(f"failed to restore from {path}: no such file")
    snapshot = json.loads(text)
    token = cluster._token(conf) or ""
    if cluster.sha256(cluster.parse_token(token)[1]) != snapshot["token_sha256"]:
        raise ResetRefused("starting kubernetes: preparing server: bootstrap data already found and "
                           "encrypted with different token")
    with lib.shared_lock():
        for node in cluster.registered_nodes():
            if node.get("cluster") == snapshot["cluster"]:
                os.unlink(f"{lib.SHARED}/nodes/{node['name']}")
        for node in snapshot["nodes"]:
            lib.write_file(f"{lib.SHARED}/nodes/{node['name']}", json.dumps({**node, "status": "NotReady"}))
    return snapshot["cluster"]


def check_member(conf: dict, cluster_record: dict) -> None:
    """A server's db from before a reset cannot join the reset cluster (etcd refuses it)."""
    db = _dirs(conf)[1]
    held = (lib.read_text(f"{db}/etcd/member") or "").strip()
    if held and held != str(cluster_record.get("epoch", 0)):
        raise cluster.StartFailed(f"etcd: this member's data in {db}/etcd is from before a cluster reset: "
                                  f"move {db} aside (or delete it) to rejoin")


def record_member(conf: dict, cluster_record: dict) -> None:
    lib.write_file(f"{_dirs(conf)[1]}/etcd/member", str(cluster_record.get("epoch", 0)))


def is_reset(conf: dict) -> bool:
    return truthy(conf.get("cluster-reset"))
