"""Shared helpers of the k3s TEST STAND-INS (not k3s, not part of k3swiz).

Installed by the test lab inside every node at /usr/local/lib/k3s-standin/.
Every stand-in program records each call as one JSON line in
/var/log/k3s-standin/calls.jsonl: {"prog","argv","env","uid","cwd","time"}.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time

LOG_DIR = "/var/log/k3s-standin"
CALLS = f"{LOG_DIR}/calls.jsonl"
SERVICE_LOG = f"{LOG_DIR}/k3s.log"
STATE_DIR = "/run/k3s-standin/services"
SHARED = "/lab-shared"
CONF = "/etc/k3s-standin.conf"


def record_call(prog: str, argv: list[str]) -> None:
    """Append this call's record (under a lock: records can exceed PIPE_BUF)."""
    os.makedirs(LOG_DIR, exist_ok=True)
    record = {"prog": prog, "argv": list(argv), "env": dict(os.environ),
              "uid": os.getuid(), "cwd": os.getcwd(), "time": time.time()}
    fd = os.open(CALLS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    with os.fdopen(fd, "a") as calls:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o666)  # not secret: any login user's calls are recorded too
        fcntl.flock(calls, fcntl.LOCK_EX)
        calls.write(json.dumps(record) + "\n")


def require_root(prog: str, what: str) -> None:
    """State changes need root, as with the real tools: exit 1 with their message."""
    if os.getuid() != 0:
        print(f"{prog}: {what}: Access denied (run it as root or with sudo)", file=sys.stderr)
        sys.exit(1)


def log(message: str) -> None:
    """A line in the stand-in service log (what journalctl would show)."""
    os.makedirs(LOG_DIR, exist_ok=True)
    with open(SERVICE_LOG, "a") as out:
        out.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + message + "\n")


def lab_conf() -> dict[str, str]:
    """The lab's per-node settings: name, address, init, install_seconds."""
    conf: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        with open(CONF) as source:
            for line in source:
                key, _, value = line.strip().partition("=")
                if key:
                    conf[key] = value
    return conf


def write_file(path: str, data: str | bytes, mode: int = 0o644) -> None:
    """Atomic write; the file is created with `mode` (0600 for secrets)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.standin-tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def read_text(path: str) -> str | None:
    try:
        with open(path) as source:
            return source.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


@contextlib.contextmanager
def shared_lock():
    """Serialises changes to /lab-shared/clusters (nodes start concurrently)."""
    os.makedirs(f"{SHARED}/clusters", exist_ok=True)
    with open(f"{SHARED}/clusters/.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# ---- service state (kept in the node's private /run: lost on "reboot") ----
def service_state(service: str) -> dict:
    text = read_text(f"{STATE_DIR}/{service}.json")
    return json.loads(text) if text else {"state": "inactive", "message": ""}


def set_service_state(service: str, state: str, message: str = "", **extra) -> None:
    record = {"state": state, "message": message, "since": time.time(), **extra}
    write_file(f"{STATE_DIR}/{service}.json", json.dumps(record))


def k3s_services() -> list[str]:
    """Names of k3s* services that have a state file."""
    with contextlib.suppress(FileNotFoundError):
        return sorted(n[:-5] for n in os.listdir(STATE_DIR)
                      if n.startswith("k3s") and n.endswith(".json"))
    return []
