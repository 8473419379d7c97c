"""Helpers shared by the lab tests of the SSH transport (test_ssh_lab*.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from k3swiz.hostkeys import HostKeyPolicy
from k3swiz.secrets import Secret
from k3swiz.ssh import SshTarget, Transport

SUDO_PASSWORD = "lab-sudo-pw"


def target_for(lab, node, user="root", **overrides) -> SshTarget:
    settings = dict(node=node.name, host=node.address, port=node.port, user=user,
                    identity_files=(lab.client_key,), known_hosts=lab.known_hosts, connect_timeout=5.0)
    settings.update(overrides)
    return SshTarget(**settings)


def transport_for(lab, node, user="root", password=None, policy=None, **overrides) -> Transport:
    return Transport(target_for(lab, node, user, **overrides), host_keys=policy or HostKeyPolicy(),
                     sudo_password=Secret(password) if password else None, agent=False)


def poll(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ssh_keygen_fingerprint(public_key: str, tmp_path: Path) -> str:
    """`ssh-keygen -lf` of a public key line, without the comment: "256 SHA256:... (ED25519)"."""
    path = tmp_path / "host_key.pub"
    path.write_text(public_key + "\n")
    bits, digest, *_, kind = subprocess.check_output(["ssh-keygen", "-lf", str(path)], text=True).split()
    return f"{bits} {digest} {kind}"
