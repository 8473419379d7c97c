"""From answers to live connections: each node's SSH target, and a connected Transport
with sudo and host-key questions answered once for the whole run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .answers import Answers, Node
from .hostkeys import HostKeyPolicy
from .secrets import Secret
from .ssh import CommandResult, HostKeyUnknown, SudoFailed, Transport
from .ssh_config import SshTarget, resolve_target


def target_for(answers: Answers, node: Node, ssh_config_path: Path = Path("~/.ssh/config")) -> SshTarget:
    """Per-node settings win over the answers' global `ssh`, which win over ~/.ssh/config."""
    base, own = answers.ssh, node.ssh
    pick = lambda key: (getattr(own, key) if own and getattr(own, key) is not None else getattr(base, key))  # noqa: E731
    identity = pick("identity_file")
    known_hosts = pick("known_hosts")
    return resolve_target(
        node.name, node.address, user=pick("user"), port=pick("port"),
        identity_file=answers.local_path(identity) if identity else None,
        known_hosts=answers.local_path(known_hosts) if known_hosts else None,
        proxy_jump=pick("proxy_jump"), ssh_config_path=ssh_config_path,
        connect_timeout=base.connect_timeout)


@dataclass
class Access:
    """What the whole run shares about reaching nodes: host-key policy, the sudo password, prompts."""
    accept_new_hosts: bool = False
    sudo_password: Secret | None = None
    ask_host_key: Callable[[HostKeyUnknown], bool] | None = None     # the wizard's modal, or None
    ask_sudo_password: Callable[[str], Secret | None] | None = None   # a terminal prompt, or None
    ssh_config_path: Path = Path("~/.ssh/config")
    transport_factory: Callable[..., Transport] = Transport
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _asked_sudo: bool = False

    def open(self, answers: Answers, node: Node, first_script: str) -> tuple[Transport, CommandResult]:
        """Connect and run the run's first (read-only) script, which settles sudo before any change.

        When sudo wants a password nobody gave, ask once for the whole run and retry on the same
        connection (sudo ran nothing: its prompt got EOF before a byte of the script was sent).
        """
        target = target_for(answers, node, self.ssh_config_path)
        transport = self._connect(target)
        try:
            try:
                return transport, transport.run(first_script)
            except SudoFailed:
                if not self._sudo_password_for(target):
                    raise
            transport.use_sudo_password(self.sudo_password)
            return transport, transport.run(first_script)
        except BaseException:
            transport.close()
            raise

    def _connect(self, target: SshTarget) -> Transport:
        policy = HostKeyPolicy(accept_new=self.accept_new_hosts)
        transport = self.transport_factory(target, host_keys=policy, sudo_password=self.sudo_password)
        try:
            transport.connect()
        except HostKeyUnknown as unknown:
            if not self.ask_host_key or not self.ask_host_key(unknown):
                raise
            transport = self.transport_factory(target, host_keys=HostKeyPolicy(accept_new=True),
                                               sudo_password=self.sudo_password)
            transport.connect()
        return transport

    def _sudo_password_for(self, target: SshTarget) -> bool:
        """Ask once for the run; True when there is a (new) password to retry with."""
        with self._lock:
            if self.sudo_password is not None and self._asked_sudo:
                return True
            if self.ask_sudo_password is None or self._asked_sudo:
                return False
            self._asked_sudo = True
            self.sudo_password = self.ask_sudo_password(f"sudo password for {target.user} on the nodes")
            return self.sudo_password is not None
