"""One lab node: a real sshd in its own namespaces, with host-visible folders."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab import sshd
from tests.lab.files import make_dirs, new_ed25519_key, write_atomic
from tests.lab.template import OVERLAID_DIRS, STANDINS_DIR

# Stand-in tools the lab puts in /usr/local/bin (reset_node keeps them).
TOOLS_BY_INIT = {"systemd": ("systemctl",), "openrc": ("rc-service", "rc-update")}
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READY_TIMEOUT = 15.0


@dataclass(eq=False)
class Node:
    name: str
    address: str
    port: int
    init: str
    dir: Path
    template: Path = field(repr=False)
    shared: Path = field(repr=False)
    install_seconds: float = 0.0
    pid: int | None = None  # host pid of sshd (PID 1 of the node)
    host_public_key: str = ""  # the key sshd serves now
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    # ---- looking inside -------------------------------------------------
    def host_path(self, remote_path: str) -> Path:
        """Where a file under one of the node's bind folders lives on the host."""
        remote = "/" + remote_path.strip("/")
        if remote == "/lab-shared" or remote.startswith("/lab-shared/"):
            return self.shared / remote[len("/lab-shared"):].lstrip("/")
        for prefix, folder in sshd.BIND_FOLDERS.items():
            if remote == prefix or remote.startswith(prefix + "/"):
                return self.dir / "binds" / folder / remote[len(prefix):].lstrip("/")
        raise ValueError(
            f"{remote_path!r} is not in a host-visible folder of node {self.name}; "
            f"use one of {sorted(sshd.BIND_FOLDERS)} or node.exec()")

    def calls(self) -> list[dict]:
        """The stand-ins' call records of this node, oldest first."""
        path = self.host_path("/var/log/k3s-standin/calls.jsonl")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def exec(self, cmd: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run `sh -c cmd` as root inside the node's namespaces (not over SSH)."""
        return subprocess.run(self._nsenter("sh", "-c", cmd), capture_output=True,
                              text=True, timeout=timeout, cwd="/", env=self._env())

    def write_file_inside(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Seed a file inside the node (created with `mode`, parents made)."""
        script = ('set -e; umask 077; mkdir -p "$(dirname "$1")"; tmp="$1.lab-tmp"; '
                  'cat > "$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"')
        result = subprocess.run(
            self._nsenter("sh", "-c", script, "sh", path, f"{mode:o}"),
            input=data, capture_output=True, timeout=30, cwd="/", env=self._env())
        if result.returncode != 0:
            raise RuntimeError(f"node {self.name}: writing {path} failed: "
                               f"{result.stderr.decode(errors='replace').strip()}")

    # ---- faults ------------------------------------------------------------
    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal sshd; SIGKILL ends the whole node (it is PID 1)."""
        self._signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self._reap(timeout=10.0)

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop (if running) and start again with a NEW host key.

        The lab's known_hosts is not updated (Lab.rekey_known_hosts does it).
        """
        if self.running:
            self.thaw()
            self.kill(signal.SIGTERM)
        self.launch()
        self.wait_ready(time.monotonic() + READY_TIMEOUT)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---- life cycle (used by Lab) --------------------------------------------
    def prepare(self) -> None:
        """Create the node's folders once: overlay upper/work dirs, binds, /tmp."""
        make_dirs(*(self.dir / part / d for part in ("upper", "work") for d in OVERLAID_DIRS))
        make_dirs(*(self.dir / "binds" / f for f in sshd.BIND_FOLDERS.values()))
        make_dirs(self.dir / "ctl", self.dir / "tmp")
        os.chmod(self.dir / "tmp", 0o1777)
        os.chmod(self.dir / "binds" / "root", 0o700)
        # Stand-ins record calls of every login user, not only root's.
        os.chmod(self.dir / "binds" / "var-log-k3s-standin", 0o1777)
        self._seed_init_system()
        conf = (f"name={self.name}\naddress={self.address}\ninit={self.init}\n"
                f"install_seconds={self.install_seconds}\n")
        write_atomic(self.dir / "upper/etc/k3s-standin.conf", conf.encode(), 0o644)

    def launch(self) -> None:
        """Start sshd (new host key); returns at once, see wait_ready."""
        private, self.host_public_key = new_ed25519_key()
        ctl = self.dir / "ctl"
        write_atomic(ctl / "ssh_host_ed25519_key", private, 0o600)
        write_atomic(ctl / "sshd_config", sshd.sshd_config(self.address, self.port).encode())
        (ctl / "sshd.pid").unlink(missing_ok=True)
        self._install_tools()
        self.pid = None
        self._proc = sshd.launch(self.name, self.address, self.init, self.dir,
                                 self.template, self.shared)

    def wait_ready(self, deadline: float) -> None:
        """Poll until sshd wrote its pidfile (it listens by then)."""
        pidfile = self.dir / "ctl" / "sshd.pid"
        while not pidfile.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node {self.name} ({self.address}) did not start; "
                                   f"log {self.dir / 'sshd.log'}:\n{self._log_tail()}")
            time.sleep(0.005)
        self.pid = sshd.child_pid(self._proc.pid)
        if self.pid is None:
            raise RuntimeError(f"node {self.name}: sshd has no host pid; see {self.dir / 'sshd.log'}")

    def terminate(self) -> None:
        """SIGTERM to sshd (SIGTERM to unshare would be ignored)."""
        if self.running:
            self._signal(signal.SIGCONT)  # a frozen sshd cannot act on SIGTERM
            self._signal(signal.SIGTERM)

    def _reap(self, timeout: float) -> None:
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.kill()
            self._proc.wait(timeout=5)

    # ---- helpers ---------------------------------------------------------
    def _signal(self, sig: int) -> None:
        if self.pid is None:
            raise RuntimeError(f"node {self.name} is not running")
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def _nsenter(self, *argv: str) -> list[str]:
        if not self.running or self.pid is None:
            raise RuntimeError(f"node {self.name} is not running")
        return ["nsenter", "-t", str(self.pid), "-m", "-u", "-i", "-p", "--", *argv]

    @staticmethod
    def _env() -> dict[str, str]:
        return {"PATH": NODE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "USER": "root"}

    def _seed_init_system(self) -> None:
        """systemd: /usr/bin/systemctl is the stand-in; openrc: no systemctl at all."""
        usr_bin = self.dir / "upper/usr/bin"
        make_dirs(usr_bin, self.dir / "upper/usr/sbin")
        stale = usr_bin / "systemctl"
        if stale.exists() or stale.is_symlink():
            stale.unlink()
        if self.init == "systemd":
            stale.symlink_to("/usr/local/bin/systemctl")
        else:
            os.mknod(stale, 0o600 | stat.S_IFCHR, 0)  # char 0/0 = overlay whiteout
            shutil.copy2(STANDINS_DIR / "openrc-run", self.dir / "upper/usr/sbin/openrc-run")

    def _install_tools(self) -> None:
        bin_dir = self.host_path("/usr/local/bin")
        for tool in TOOLS_BY_INIT[self.init]:
            shutil.copy2(STANDINS_DIR / tool, bin_dir / tool)

    def _log_tail(self) -> str:
        log = self.dir / "sshd.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
