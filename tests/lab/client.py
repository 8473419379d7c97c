"""A paramiko client for lab nodes (what the lab's own tests use).

paramiko never sets TCP_NODELAY, so every auth and exec would wait ~40 ms for
a delayed ACK; we hand it a socket that has it set.
"""
from __future__ import annotations

import socket

import paramiko

from tests.lab.lab import Lab
from tests.lab.node import Node


def nodelay_socket(address: str, port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect(lab: Lab, node: Node, user: str = "root", timeout: float = 5.0) -> paramiko.SSHClient:
    """Connect as `user`, host key checked against lab.known_hosts (reject unknown)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        node.address, port=node.port, username=user, key_filename=str(lab.client_key),
        sock=nodelay_socket(node.address, node.port, timeout), timeout=timeout,
        banner_timeout=timeout, auth_timeout=timeout, allow_agent=False, look_for_keys=False,
    )
    return client


def run(client: paramiko.SSHClient, command: str, timeout: float = 30.0) -> tuple[int, str, str]:
    """Run a command; (exit status, stdout, stderr)."""
    _, out, err = client.exec_command(command, timeout=timeout)
    status = out.channel.recv_exit_status()
    return status, out.read().decode(), err.read().decode()
