"""How a script gets root on a node, without a secret ever reaching argv or env.

The remote command line is only ever one of the three constants below; the
script itself, and the sudo password when one is needed, travel on stdin.

The mode is chosen once per connection by `choose_sudo_mode`:
* the login user is root: plain `sh -s`;
* `sudo -k -n true` succeeds: a NOPASSWD rule, so `sudo -n sh -s`;
* otherwise, with a password: it is checked ONCE with `sudo -k -S -p '' true`
  (stdin: the password line, then EOF, so a wrong one costs one ~2 s attempt),
  then every command runs as `sudo -k -S -p '' sh -s` with the password as
  the first stdin line. `-k` makes sudo always read that line: with a cached
  credential it would be left on stdin and run by sh as a command.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from k3swiz.secrets import Secret
from k3swiz.ssh_config import SshTarget
from k3swiz.ssh_errors import SudoFailed

PLAIN = "sh -s"
SUDO_NOPASSWD = "sudo -n sh -s"
SUDO_PASSWORD = "sudo -k -S -p '' sh -s"

# execute(command, send_password) -> (exit status, stdout, stderr); used for the probes. The
# caller puts the password on stdin itself, so it never sits in a local variable of these frames
# (a traceback printed with its locals must not show it).
Execute = Callable[[str, bool], tuple[int, bytes, bytes]]


class SudoMode(enum.Enum):
    NONE = PLAIN
    NOPASSWD = SUDO_NOPASSWD
    PASSWORD = SUDO_PASSWORD


def password_line(password: Secret) -> bytes:
    """The first stdin line sudo -S reads. A newline inside would split it: refuse."""
    value = password.reveal()
    if "\n" in value or "\r" in value:
        raise ValueError("the sudo password contains a line break; sudo -S cannot read such a password")
    return value.encode() + b"\n"


def choose_sudo_mode(execute: Execute, target: SshTarget, password: Secret | None) -> SudoMode:
    """Probe the node once (see the module docstring); raise SudoFailed if sudo cannot work."""
    if target.user == "root":
        return SudoMode.NONE
    rc, _, stderr = execute("sudo -k -n true", False)
    if rc == 0:
        return SudoMode.NOPASSWD
    problem = classify_sudo_stderr(rc, stderr.decode(errors="replace"))
    if problem != "password-required":
        raise sudo_error(problem or "other", target, stderr)
    if password is None:
        raise sudo_error("password-required", target, stderr)
    rc, _, stderr = execute("sudo -k -S -p '' true", True)
    if rc == 0:
        return SudoMode.PASSWORD
    raise sudo_error(classify_sudo_stderr(rc, stderr.decode(errors="replace")) or "other", target, stderr)


def classify_sudo_stderr(rc: int, stderr: str) -> str | None:
    """What sudo complained about, judged from its own messages; None if it was not sudo."""
    text = stderr.lower()
    if rc == 127 or "sudo: not found" in text or "sudo: command not found" in text:
        return "missing"
    if not (text.startswith("sudo:") or text.startswith("sorry, try again")):
        return None  # the script ran and failed by itself
    if "incorrect password" in text or "sorry, try again" in text or "no password was provided" in text:
        return "wrong-password"
    if "password is required" in text or "terminal is required" in text:
        return "password-required"
    if "must have a tty" in text:
        return "requiretty"
    if "not in the sudoers" in text or "not allowed to" in text or "may not run sudo" in text:
        return "not-allowed"
    return "other"


def sudo_error(problem: str, target: SshTarget, stderr: bytes) -> SudoFailed:
    user, node = target.user, target.node
    first_line = (stderr.decode(errors="replace").strip().splitlines() or ["(no message)"])[0]
    message, fix = {
        "wrong-password": (f"sudo refused the password for {user} on {node}",
                           "check the password in the variable given to --sudo-password-env"),
        "password-required": (f"sudo on {node} needs a password for {user}",
                              "pass --sudo-password-env VAR (VAR holding the password) "
                              f"or give {user} a NOPASSWD sudo rule"),
        "not-allowed": (f"{user} may not use sudo on {node} ({first_line})",
                        f"add a sudoers rule for {user} (e.g. in /etc/sudoers.d/) or connect as root"),
        "requiretty": (f"sudo on {node} insists on a terminal (Defaults requiretty)",
                       f"add `Defaults:{user} !requiretty` to the node's sudoers"),
        "missing": (f"sudo is not installed on {node}", "install sudo on the node, or connect as root"),
    }.get(problem, (f"sudo failed for {user} on {node}: {first_line}",
                    "run `sudo -n true` as that user on the node to see why"))
    return SudoFailed(node, message, fix, where=target.endpoint)
