"""The shared template layer: what every node has on top of the host's dirs.

It is the middle layer of each node's overlays (lower = template + host dir),
so the host's own /etc is never written. It holds the lab users, their sudo
rules, the authorized key, the mountpoints the per-node bind folders need and
the stand-in library used by the stand-in programs.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.lab.files import make_dirs, write_atomic

STANDINS_DIR = Path(__file__).resolve().parent.parent / "standins"
# Inside a node: where the stand-ins' shared Python modules live.
STANDIN_LIB_REMOTE = "/usr/local/lib/k3s-standin"
SUDO_PASSWORD = "lab-sudo-pw"
# user -> sudo password (None: root itself, or NOPASSWD sudo).
LAB_USERS: dict[str, str | None] = {"root": None, "deploy": None, "sudoer": SUDO_PASSWORD}
# Remote mountpoints that must exist below the overlays for the bind mounts.
MOUNTPOINTS = (
    "etc/rancher", "etc/conf.d", "etc/systemd/system", "etc/init.d",
    "var/lib/rancher", "var/log/k3s-standin", "usr/local/bin",
)
OVERLAID_DIRS = ("etc", "var", "home", "opt", "usr")
HIDDEN_HOST_TOOLS = ("kubectl", "crictl", "ctr", "k3s")
AUTHORIZED_KEYS_REMOTE = "/etc/ssh/lab_authorized_keys"


def build_template(template: Path, client_public_key: str) -> None:
    """Create the template layer under `template` (idempotent per lab)."""
    make_dirs(*(template / d for d in OVERLAID_DIRS))
    make_dirs(*(template / m for m in MOUNTPOINTS))
    _write_accounts(template)
    _write_sudoers(template / "etc/sudoers.d")
    keys = template / AUTHORIZED_KEYS_REMOTE.lstrip("/")
    make_dirs(keys.parent)
    # 0644 in a 0755 folder: sshd reads it as the login user.
    write_atomic(keys, (client_public_key + "\n").encode(), 0o644)
    _install_standin_lib(template / STANDIN_LIB_REMOTE.lstrip("/"))
    _hide_host_tools(template)


def _password_hash(password: str) -> str:
    result = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
        text=True, check=True,
    )
    return result.stdout.strip()


def _free_id(taken: set[int], start: int = 2001) -> int:
    candidate = start
    while candidate in taken:
        candidate += 1
    return candidate


def _write_accounts(template: Path) -> None:
    """passwd/shadow/group/gshadow = the host's files + the two lab users."""
    etc = Path("/etc")
    passwd = (etc / "passwd").read_text()
    group = (etc / "group").read_text()
    shadow = (etc / "shadow").read_text()
    gshadow = (etc / "gshadow").read_text() if (etc / "gshadow").exists() else ""
    taken = {int(line.split(":")[2]) for line in (passwd + group).splitlines() if line.count(":") >= 3}
    for user in ("deploy", "sudoer"):
        if f"\n{user}:" in "\n" + passwd:
            continue  # the host already has it: keep the host's account
        uid = _free_id(taken)
        taken.add(uid)
        passwd += f"{user}:x:{uid}:{uid}:k3swiz lab user:/home/{user}:/bin/bash\n"
        group += f"{user}:x:{uid}:\n"
        gshadow += f"{user}:!::\n"
        # '*' (not '!'): with UsePAM no, sshd refuses "locked" accounts.
        secret = _password_hash(LAB_USERS[user]) if LAB_USERS[user] else "*"
        shadow += f"{user}:{secret}:19700:0:99999:7:::\n"
        home = template / "home" / user
        make_dirs(home)
        shutil.chown(home, uid, uid)
    write_atomic(template / "etc/passwd", passwd.encode(), 0o644)
    write_atomic(template / "etc/group", group.encode(), 0o644)
    write_atomic(template / "etc/shadow", shadow.encode(), 0o640)
    write_atomic(template / "etc/gshadow", gshadow.encode(), 0o640)


def _write_sudoers(sudoers_d: Path) -> None:
    make_dirs(sudoers_d)
    rules = {
        "lab-deploy": "deploy ALL=(ALL:ALL) NOPASSWD: ALL\n",
        "lab-sudoer": "sudoer ALL=(ALL:ALL) ALL\n",
    }
    for name, rule in rules.items():
        write_atomic(sudoers_d / name, rule.encode(), 0o440)  # sudo ignores other modes


def _hide_host_tools(template: Path) -> None:
    """A kubectl/crictl/ctr/k3s of the host must not answer inside nodes, where
    only the k3s stand-in (and its symlinks) should: overlay whiteouts hide them."""
    for tool in HIDDEN_HOST_TOOLS:
        for folder in ("usr/bin", "usr/sbin"):
            if os.path.lexists(f"/{folder}/{tool}"):
                whiteout = template / folder / tool
                make_dirs(whiteout.parent)
                if not os.path.lexists(whiteout):
                    os.mknod(whiteout, 0o600 | stat.S_IFCHR, 0)  # char 0/0 = whiteout


def _install_standin_lib(target: Path) -> None:
    make_dirs(target)
    for module in STANDINS_DIR.glob("standin_*.py"):
        shutil.copyfile(module, target / module.name)
