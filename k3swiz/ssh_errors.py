"""The errors the SSH transport raises, each one readable line for a person.

Every error names the node and the endpoint it was talking to, says what went
wrong and how to fix it:

    n3 (127.0.0.13:22): connection refused — is sshd running and listening on port 22? ...

They never carry a secret: messages are built from node names, addresses, key
fingerprints and sudo's own (password-free) complaints only.
"""

from __future__ import annotations


class SshError(Exception):
    """Base of every transport error: node, what is wrong, how to fix it."""

    def __init__(self, node: str, message: str, fix: str = "", *, where: str = "") -> None:
        self.node = node
        self.message = message
        self.fix = fix
        self.where = where  # "host:port" of the endpoint, for the message
        super().__init__(str(self))

    def __str__(self) -> str:
        place = f"{self.node} ({self.where})" if self.where else self.node
        text = f"{place}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text

    def __reduce__(self):
        # Keep the exception picklable across worker processes / threads' queues.
        return (_rebuild, (type(self), self.node, self.message, self.fix, self.where))


def _rebuild(cls, node, message, fix, where):
    return cls(node, message, fix, where=where)


class Unreachable(SshError):
    """Nothing answers: connection refused, no route, unknown host name."""


class ConnectTimeout(SshError):
    """The TCP connect, the SSH banner or the handshake took longer than connect_timeout."""


class AuthFailed(SshError):
    """The server refused every key we had for this user."""


class HostKeyUnknown(SshError):
    """The host is not in known_hosts and accepting new hosts was not asked for."""


class HostKeyChanged(SshError):
    """The host presents a different key than known_hosts records: possibly an attack."""


class ConnectionLost(SshError):
    """The connection dropped during a command or transfer."""


class CommandTimeout(SshError):
    """A remote command ran longer than its timeout; it was abandoned."""


class SudoFailed(SshError):
    """sudo refused to run our command (wrong password, password needed, no sudo rule)."""


class RemoteCommandFailed(SshError):
    """A helper command of the transport itself (e.g. reading a file) failed on the node."""
