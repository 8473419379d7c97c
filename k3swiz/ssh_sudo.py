"""How a script gets root on a node, without a secret ever reaching argv or env.

The remote command line is only ever one of the three constants below; the
script itself, and the sudo password when one is needed, travel on stdin.

The mode is settled by the first script of a connection, with no probe of its own:
* the login user is root: plain `sh -s`;
* a non-root login sends its first script straight to `sudo -n sh -s`. If it
  runs, the node has a NOPASSWD rule and that is the mode (one command saved);
* if sudo answers that a password is required (it exits before reading stdin,
  so nothing ran), the password is checked ONCE with `sudo -k -S -p '' true`
  (stdin: the password line, then EOF, so a wrong one costs one ~2 s attempt),
  then the script, and every later one, runs as `sudo -k -S -p '' sh -s` with
  the password as the first stdin line. `-k` makes sudo always read that line:
  with a cached credential it would be left on stdin and run by sh as a command.
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

CHECK_PASSWORD = "sudo -k -S -p '' true"

# check_password() -> (exit status, stdout, stderr) of CHECK_PASSWORD with the password on stdin.
# The caller puts the password there itself, so it never sits in a local variable of these
# frames (a traceback printed with its locals must not show it).
CheckPassword = Callable[[], tuple[int, bytes, bytes]]


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


def settle_sudo_mode(rc: int, stderr: bytes, check_password: CheckPassword, target: SshTarget,
                     has_password: bool) -> SudoMode:
    """The mode after a first script was sent to `sudo -n sh -s` and ended with rc and stderr.

    NOPASSWD when sudo ran it (whatever the script's own exit status); PASSWORD once a
    password it asked for passed the check (the script has NOT run then: send it again).
    Raises SudoFailed, with the fix, when sudo cannot work.
    """
    problem = classify_sudo_stderr(rc, stderr.decode(errors="replace")) if rc else None
    if problem is None:
        return SudoMode.NOPASSWD
    if problem != "password-required" or not has_password:
        raise sudo_error(problem, target, stderr)
    rc, _, stderr = check_password()
    if rc == 0:
        return SudoMode.PASSWORD
    raise sudo_error(classify_sudo_stderr(rc, stderr.decode(errors="replace")) or "other", target, stderr)


def classify_sudo_stderr(rc: int, stderr: str) -> str | None:
    """What sudo complained about, judged from its own messages; None if it was not sudo."""
    text = stderr.lower()
    if rc == 127 and ("sudo: not found" in text or "sudo: command not found" in text):
        return "missing"  # the shell's message: a script of ours that exits 127 is not this
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
