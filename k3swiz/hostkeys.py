"""known_hosts policy: strict by default, optionally trust-on-first-use.

* A host already in known_hosts must present the recorded key; a different key
  is ALWAYS refused (HostKeyChanged), whatever the policy.
* An unknown host is refused (HostKeyUnknown) unless `accept_new` is set; then
  its key is appended to known_hosts atomically (temp file + os.replace), which
  is safe when many nodes connect in parallel threads.

Fingerprints are shown the way `ssh-keygen -lf` prints them
("256 SHA256:... (ED25519)") so a person can compare them with the node's
`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
from pathlib import Path

import paramiko

from k3swiz.ssh_config import SshTarget
from k3swiz.ssh_errors import HostKeyChanged, HostKeyUnknown

# One lock for every known_hosts write in this process: read-check-append must not interleave.
_WRITE_LOCK = threading.Lock()


def known_hosts_name(host: str, port: int) -> str:
    """The host column of a known_hosts line: `host` for port 22, `[host]:port` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """As `ssh-keygen -lf` prints it, without the comment: "256 SHA256:abc... (ED25519)"."""
    return f"{key.get_bits()} {key.fingerprint} ({key.algorithm_name})"


class HostKeyPolicy:
    """Decides whether a server's host key is acceptable; records new ones when allowed."""

    def __init__(self, *, accept_new: bool = False) -> None:
        self.accept_new = accept_new

    def known_key_types(self, target: SshTarget) -> list[str]:
        """Key types known_hosts has for the target, to ask the server for one of those first."""
        return list(_known_keys(target).keys())

    def check(self, target: SshTarget, key: paramiko.PKey) -> None:
        """Return if the key is trusted (or newly recorded); raise HostKeyUnknown/Changed otherwise."""
        if _verify_known(target, key):
            return
        if not self.accept_new:
            raise HostKeyUnknown(
                target.node,
                f"the host is not in {target.known_hosts}; it presents the key {fingerprint(key)}",
                f"re-run with --accept-new-hosts, or run `ssh-keyscan -p {target.port} {target.host} "
                f">> {target.known_hosts}` after checking the fingerprint",
                where=target.endpoint,
            )
        with _WRITE_LOCK:
            # Another thread may have recorded this host meanwhile: check again under the lock.
            if not _verify_known(target, key):
                _append_line(target.known_hosts, f"{_name(target)} {key.get_name()} {key.get_base64()}\n")


def _name(target: SshTarget) -> str:
    return known_hosts_name(target.host, target.port)


def _known_keys(target: SshTarget) -> dict[str, paramiko.PKey]:
    """{key type: key} recorded for the target (hashed entries included); {} if none or no file."""
    host_keys = paramiko.HostKeys()
    try:
        host_keys.load(str(target.known_hosts))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise HostKeyUnknown(
            target.node, f"cannot read {target.known_hosts}: {exc.strerror}",
            "check the file's permissions, or point ssh.known-hosts in the answers at another file",
            where=target.endpoint) from exc
    found = host_keys.lookup(_name(target))
    return dict(found) if found else {}


def _verify_known(target: SshTarget, key: paramiko.PKey) -> bool:
    """True if known and equal; False if unknown; raises HostKeyChanged if known and different."""
    known = _known_keys(target)
    if not known:
        return False
    recorded = known.get(key.get_name())
    if recorded is not None and recorded.asbytes() == key.asbytes():
        return True
    recorded_text = ", ".join(fingerprint(old) for old in known.values())
    removal = f"ssh-keygen -R '{_name(target)}' -f {target.known_hosts}"
    raise HostKeyChanged(
        target.node,
        f"the host key CHANGED: {target.known_hosts} records {recorded_text}, but the server now "
        f"presents {fingerprint(key)} (a reinstalled node, or someone in the middle)",
        f"if you know the node was reinstalled, run `{removal}` and connect again with "
        "--accept-new-hosts after checking the new fingerprint",
        where=target.endpoint,
    )


def _append_line(path: Path, line: str) -> None:
    """Append atomically: write old content + line to a temp beside it, then os.replace."""
    path = path.resolve()  # replace the file a symlink points to, not the link
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        old = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        old, mode = b"", 0o600
    if old and not old.endswith(b"\n"):
        old += b"\n"
    temp = path.with_name(f".{path.name}.k3swiz-{secrets.token_hex(4)}")
    # Created with its final mode: known_hosts is not secret, but never widen what the user chose.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(old + line.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
