"""How one node's sshd is configured and launched in its own namespaces."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.lab.template import AUTHORIZED_KEYS_REMOTE

NODE_INIT = Path(__file__).resolve().parent / "node-init.sh"
SSHD = "/usr/sbin/sshd"
# remote path -> per-node folder name under <node dir>/binds (host-visible).
BIND_FOLDERS = {
    "/etc/rancher": "etc-rancher",
    "/var/lib/rancher": "var-lib-rancher",
    "/usr/local/bin": "usr-local-bin",
    "/etc/systemd/system": "etc-systemd-system",
    "/etc/init.d": "etc-init.d",
    "/etc/conf.d": "etc-conf.d",
    "/root": "root",
    "/var/log/k3s-standin": "var-log-k3s-standin",
}


def lab_prerequisites_missing() -> str | None:
    """Why real sshd nodes cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "the SSH test lab needs root (namespaces and mounts)"
    for tool in ("unshare", "setpriv", "nsenter", "openssl", "python3"):
        if shutil.which(tool) is None:
            return f"the SSH test lab needs `{tool}` (util-linux / openssl / python3)"
    if not os.access(SSHD, os.X_OK):
        return "the SSH test lab needs openssh-server (apt-get install openssh-server)"
    if shutil.which("sudo") is None:
        return "the SSH test lab needs sudo (apt-get install sudo)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the SSH test lab needs overlayfs in the kernel"
    return None


def sshd_config(address: str, port: int) -> str:
    """Paths are as seen inside the node: <node dir>/ctl is mounted at /run/lab."""
    return "\n".join([
        f"ListenAddress {address}:{port}",
        "HostKey /run/lab/ssh_host_ed25519_key",
        "PidFile /run/lab/sshd.pid",
        f"AuthorizedKeysFile {AUTHORIZED_KEYS_REMOTE}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "MaxStartups 200:30:400",  # the default drops parallel connects
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
        "",
    ])


def launch(name: str, address: str, init: str, node_dir: Path,
           template: Path, shared: Path) -> subprocess.Popen:
    """Start the node; the Popen is `unshare`, its only child becomes sshd.

    pdeathsig is per thread: call from the main thread, or the node dies when
    the calling thread ends.
    """
    binds = "".join(f"{remote} {folder}\n" for remote, folder in BIND_FOLDERS.items())
    (node_dir / "ctl" / "binds").write_text(binds)
    argv = [
        "setpriv", "--pdeathsig", "KILL", "--",
        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
        "--mount-proc", "--propagation", "private", "--",
        "/bin/sh", str(NODE_INIT), name, address, init,
        str(node_dir), str(template), str(shared),
    ]
    log = open(node_dir / "sshd.log", "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, cwd="/")
    finally:
        log.close()


def child_pid(parent: int) -> int | None:
    """The (single) child of `parent`: sshd's pid as the host sees it."""
    try:
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(children[0]) if children else None
