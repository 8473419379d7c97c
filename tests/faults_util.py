"""Helpers of the fault tests (tests/test_faults_*.py, secrets, injection, load): polling,
applying in a background thread, a big stand-in k3s binary, and looking for leftovers."""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
import zipfile
from pathlib import Path

from tests.apply_util import STANDINS
from tests.lab.sshd import BIND_FOLDERS

TEMP_MARK = ".k3swiz-"  # remote_script's temp files: .<name>.k3swiz-<random>


def wait_for(condition, timeout: float = 30.0, what: str = "the condition", interval: float = 0.01):
    """Poll until condition() is truthy (returns its value); fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Background(threading.Thread):
    """Run fn(*args) in a thread; .outcome() gives its result or re-raises its error."""

    def __init__(self, fn, *args, **kwargs) -> None:
        super().__init__(daemon=True, name="fault-test-background")
        self._call = (fn, args, kwargs)
        self.result = self.error = None
        self.start()

    def run(self) -> None:
        fn, args, kwargs = self._call
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc

    def outcome(self, timeout: float = 120.0):
        self.join(timeout)
        assert not self.is_alive(), f"the background call did not end within {timeout:g} s"
        if self.error is not None:
            raise self.error
        return self.result


def big_k3s_binary(path: Path, megabytes: int) -> str:
    """A k3s TEST STAND-IN of `megabytes` MiB, so its upload takes long enough to interrupt.

    A python zip application: the stand-in as __main__.py plus a stored padding member.
    Python reads only the zip's directory at the end, so the size costs nothing per call,
    and argv[0] stays `k3s` (or kubectl via the install script's symlinks). Returns its sha256.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("__main__.py", (STANDINS / "k3s").read_text())
        archive.writestr("padding.bin", random.Random(7).randbytes(megabytes * 1024 * 1024))
    data = b"#!/usr/bin/env python3\n" + buffer.getvalue()
    path.write_bytes(data)
    path.chmod(0o755)
    return hashlib.sha256(data).hexdigest()


def leftovers(node) -> list[str]:
    """k3swiz temp files anywhere under the node's host-visible folders."""
    found = []
    for remote, folder in BIND_FOLDERS.items():
        base = node.dir / "binds" / folder
        found += [remote + "/" + str(p.relative_to(base)) for p in base.rglob(f"*{TEMP_MARK}*")]
    return found


def session_sshd_pids(node) -> list[int]:
    """PIDs (inside the node) of sshd's per-connection processes: every sshd but the listener (PID 1)."""
    listing = node.exec("ps -eo pid=,args=").stdout
    pids = []
    for line in listing.splitlines():
        pid, _, args = line.strip().partition(" ")
        if args.startswith("sshd:") and pid != "1":
            pids.append(int(pid))
    return pids


def busy_processes(node) -> list[str]:
    """Processes still running in the node besides sshd's listener (PID 1) and this listing."""
    lines = node.exec("ps -eo pid=,args=").stdout.splitlines()
    return [line.strip() for line in lines if line.split(None, 1)[0] != "1" and "ps -eo" not in line]


def wait_until_idle(node, timeout: float = 30.0) -> None:
    """An abandoned or orphaned install goes on alone on its node: let it end before a rerun."""
    wait_for(lambda: not busy_processes(node), timeout, f"{node.name} to have no process left running")


def file_states(nodes, paths) -> dict:
    """(node, path) -> (size, mtime_ns) or None: to show what a run changed."""
    states = {}
    for node in nodes:
        for path in paths:
            host = node.host_path(path)
            states[(node.name, path)] = (host.stat().st_size, host.stat().st_mtime_ns) if host.exists() else None
    return states


def install_count(node) -> int:
    return sum(c["prog"] == "install.sh" for c in node.calls())
