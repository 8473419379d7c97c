"""Which token each snapshot k3swiz saved was taken with, so a restore can check it first.

k3s encrypts its bootstrap data with the server token's password, so a snapshot only
restores with the token it was taken with (k3s-facts §4, §8). When `k3swiz etcd snapshot
save` takes one, the sha256 of that password is recorded in the run's journal and in
`<state>/snapshots/<cluster>.json` (0600); `restore` and `list` compare it with the answers'
token. Only a digest is kept, never the token.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from .journal import state_dir
from .secrets import Secret
from .token import FULL_TOKEN


def token_digest(token: Secret) -> str:
    """sha256 of the password part: `K10<ca>::server:PW` and `PW` are the same token to k3s."""
    text = token.reveal().strip()
    match = FULL_TOKEN.match(text)
    return hashlib.sha256((match.group("password") if match else text).encode()).hexdigest()


def index_file(cluster: str, journal_root: Path | None = None) -> Path:
    runs = journal_root or state_dir() / "runs"
    return runs.parent / "snapshots" / f"{cluster}.json"


def load(cluster: str, journal_root: Path | None = None) -> dict[str, dict]:
    """snapshot name -> {"node", "token_sha256", "saved", "journal"}."""
    path = index_file(cluster, journal_root)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}   # an unreadable record only means no check: the restore says so


def record(cluster: str, entries: list[dict], journal_root: Path | None = None) -> Path:
    """Add {"name", "node", "token_sha256", "journal"} entries; written atomically, 0600."""
    path = index_file(cluster, journal_root)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    known = load(cluster, journal_root)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    for entry in entries:
        known[entry["name"]] = {"saved": stamp, **{k: v for k, v in entry.items() if k != "name"}}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(known, out, indent=1)
    os.replace(tmp, path)
    return path


def verdict(entry: dict | None, current: str) -> str:
    """How a snapshot's recorded token compares with the current one, in a few words."""
    if entry is None:
        return "token not recorded"
    if entry.get("token_sha256") == current:
        return "taken with the current token"
    return f"taken with ANOTHER token (sha256 {entry.get('token_sha256', '?')[:12]}…)"
