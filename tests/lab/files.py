"""Small file helpers for the lab: keys, atomic writes, private files.

Files that hold secrets (private keys) are created with mode 0600 from the
start (os.open with a mode), never chmod-ed afterwards.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write via a temporary file in the same folder + os.replace.

    Readers (paramiko loading known_hosts, sshd reading its key) never see a
    half-written file, and the file never exists with a wider mode.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def new_ed25519_key() -> tuple[bytes, str]:
    """A fresh ed25519 key: (OpenSSH private key bytes, 'ssh-ed25519 AAAA...')."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode()


def known_hosts_line(address: str, port: int, public_key: str) -> str:
    """One known_hosts entry; non-22 ports use the bracketed [addr]:port form."""
    host = address if port == 22 else f"[{address}]:{port}"
    return f"{host} {public_key}\n"


def make_dirs(*paths: Path, mode: int = 0o755) -> None:
    for path in paths:
        path.mkdir(parents=True, exist_ok=True, mode=mode)
