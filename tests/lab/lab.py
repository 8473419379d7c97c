"""Lab: a set of real sshd nodes on loopback addresses, for integration tests.

    with Lab(tmp_path) as lab:
        n1, n2 = lab.start(2)
        # paramiko to n1.address:n1.port as root/deploy/sudoer with lab.client_key,
        # host keys checked against lab.known_hosts
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from tests.lab.files import known_hosts_line, make_dirs, new_ed25519_key, write_atomic
from tests.lab.node import READY_TIMEOUT, Node
from tests.lab.template import LAB_USERS, build_template

LOCK_DIR = Path("/tmp/k3swiz-lab-locks")
FIRST_HOST = 11  # node addresses are <subnet>11, <subnet>12, ...
INITS = ("systemd", "openrc")


class Lab:
    def __init__(self, base_dir: Path, subnet: str | None = None, port: int = 22,
                 install_seconds: float = 0.0):
        self.base_dir = Path(base_dir)
        self.port = port
        self.install_seconds = install_seconds
        self.users: dict[str, str | None] = dict(LAB_USERS)
        self.nodes: list[Node] = []
        self._lock_fd: int | None = None
        self._claims_subnet = subnet is None
        self.subnet = subnet or self._claim_subnet()
        make_dirs(self.base_dir)
        self.shared_dir = self.base_dir / "shared"
        self.known_hosts = self.base_dir / "known_hosts"
        self.client_key = self.base_dir / "client_ed25519"
        self._template = self.base_dir / "template"
        self._known_keys: dict[str, str] = {}  # node name -> key written to known_hosts
        self._template_built = False

    # ---- context manager: start nothing, stop on exit ---------------------
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Lab({self.base_dir}, subnet={self.subnet!r}, nodes={len(self.nodes)})"

    # ---- nodes -------------------------------------------------------------
    def start(self, count: int, names: list[str] | None = None,
              init: str = "systemd") -> list[Node]:
        """Start `count` more nodes (in parallel) and return them once all listen."""
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, not {init!r}")
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("Lab.start must run on the main thread: the nodes' "
                               "pdeathsig fires when the starting thread ends")
        names = names or [f"n{len(self.nodes) + i + 1}" for i in range(count)]
        if len(names) != count or len(set(names) | {n.name for n in self.nodes}) != len(self.nodes) + count:
            raise ValueError(f"need {count} names, unique in the lab; got {names}")
        if len(self.nodes) + count > 254 - FIRST_HOST:
            raise ValueError(f"a lab holds at most {254 - FIRST_HOST} nodes")
        if self._claims_subnet and self._lock_fd is None:  # started again after stop()
            self._claim_subnet(only=int(self.subnet.split(".")[2]))
        self._ensure_template()
        new = []
        for name in names:
            new.append(self._new_node(name, init))
            self.nodes.append(new[-1])
        for node in new:
            node.prepare()
            node.launch()
        deadline = time.monotonic() + READY_TIMEOUT + 0.2 * count
        for node in new:
            node.wait_ready(deadline)
            self._known_keys[node.name] = node.host_public_key
        self._write_known_hosts()
        return new

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r} in {self}")

    def stop(self) -> None:
        """Stop every node by pid (their mounts vanish with their namespaces)."""
        for node in self.nodes:
            if node.running:
                node.terminate()
        for node in self.nodes:
            node._reap(timeout=10.0)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the subnet's flock
            self._lock_fd = None

    def rekey_known_hosts(self) -> None:
        """Trust the host keys the nodes serve now (after Node.restart)."""
        for node in self.nodes:
            self._known_keys[node.name] = node.host_public_key
        self._write_known_hosts()

    # ---- internals ---------------------------------------------------------
    def _new_node(self, name: str, init: str) -> Node:
        taken = {n.address for n in self.nodes}
        host = FIRST_HOST + len(self.nodes)
        while f"{self.subnet}{host}" in taken:
            host += 1
        address = f"{self.subnet}{host}"
        return Node(name=name, address=address, port=self.port, init=init,
                    dir=self.base_dir / "nodes" / name, template=self._template,
                    shared=self.shared_dir, install_seconds=self.install_seconds)

    def _ensure_template(self) -> None:
        if self._template_built:
            return
        private, public = new_ed25519_key()
        write_atomic(self.client_key, private, 0o600)
        write_atomic(self.client_key.with_suffix(".pub"), (public + " k3swiz-lab\n").encode())
        make_dirs(self.shared_dir / "nodes", self.shared_dir / "clusters")
        build_template(self._template, public)
        self._template_built = True

    def _write_known_hosts(self) -> None:
        lines = [known_hosts_line(n.address, n.port, self._known_keys[n.name])
                 for n in self.nodes if n.running and n.name in self._known_keys]
        write_atomic(self.known_hosts, "".join(lines).encode(), 0o644)

    def _claim_subnet(self, only: int | None = None) -> str:
        """First free 127.77.<k>. range (or exactly k=only), held by an flock until stop()."""
        make_dirs(LOCK_DIR, mode=0o1777)
        for k in [only] if only else range(1, 251):
            fd = os.open(LOCK_DIR / f"{k}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._lock_fd = fd
            return f"127.77.{k}."
        raise RuntimeError(f"no free lab subnet ({'127.77.%d.' % only if only else 'all 250'} "
                           f"in use; locks in {LOCK_DIR})")
