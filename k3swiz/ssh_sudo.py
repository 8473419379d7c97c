"""How a script gets root on a node, without a secret ever reaching argv or env.

The remote command line is only ever one of the constants below; the script
itself, and the sudo password when one is needed, travel on stdin.

The mode is settled by the first script of a connection, in that one command:
* the login user is root: plain `sh -s`;
* a non-root login runs FIRST_SUDO: sudo with a prompt of our own, then a root
  shell that says READY on stderr before it reads the script. Nothing is sent
  until sudo has spoken (k3swiz.ssh_channel's gate): READY straight away means a
  NOPASSWD rule; our prompt gets the password line, once, and READY then means
  the password mode. A second prompt (a wrong password) gets EOF, so a wrong
  password costs exactly one attempt (pam_faillock counts them) and no line of
  a script can ever be read by sudo as a password. Our prompt with no password
  to give gets EOF too: the caller asks for one and connects again;
* later scripts run as `sudo -n sh -s`, or `sudo -k -S -p '' sh -s` with the
  password as the first stdin line. `-k` makes sudo always read that line: with
  a cached credential it would be left on stdin and run by sh as a command.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from k3swiz.secrets import Secret
from k3swiz.ssh_channel import GateAnswer
from k3swiz.ssh_config import SshTarget
from k3swiz.ssh_errors import SudoFailed

PLAIN = "sh -s"
SUDO_NOPASSWD = "sudo -n sh -s"
SUDO_PASSWORD = "sudo -k -S -p '' sh -s"

PROMPT = b"k3swiz-sudo-password:"
READY = b"k3swiz-sudo-ready\n"
FIRST_SUDO = f"sudo -k -S -p '{PROMPT.decode()}' sh -c 'echo {READY.decode().strip()} >&2; exec sh -s'"


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


class SudoGate:
    """The gate (k3swiz.ssh_channel) of FIRST_SUDO: answers sudo's prompt once, opens stdin on READY.

    `password_line` makes the line only as it is sent, so the password never sits in these frames.
    """

    hold_seconds = 60.0  # sudo answers in seconds; a PAM prompt other than ours would hold forever

    def __init__(self, password_line: Callable[[], bytes] | None) -> None:
        self.password_line = password_line
        self.prompts = 0
        self.answered = False
        self.opened = False
        self.expired = False

    def __call__(self, stderr: bytes) -> GateAnswer | None:
        ready = stderr.find(READY)
        if ready >= 0:
            self.opened = True
            return GateAnswer(open=True, talk=ready + len(READY))
        prompts = stderr.count(PROMPT)
        if prompts == self.prompts:
            return None
        self.prompts = prompts
        if prompts == 1 and self.password_line is not None:
            self.answered = True
            return GateAnswer(send=self.password_line)
        return GateAnswer(close=True)  # no password to give, or it was refused: not one attempt more

    def settle(self, rc: int, stderr: bytes, target: SshTarget) -> SudoMode:
        """The mode once FIRST_SUDO ended with rc and stderr. Raises SudoFailed, with the fix,
        when sudo never let the script run."""
        if self.opened:
            return SudoMode.PASSWORD if self.answered else SudoMode.NOPASSWD
        if self.expired and not self.prompts:
            problem = "no-prompt"
        elif self.prompts and not self.answered:
            problem = "password-required"
        elif self.prompts > 1:
            problem = "wrong-password"
        else:
            problem = classify_sudo_stderr(rc, stderr.decode(errors="replace")) or "other"
        raise sudo_error(problem, target, stderr.replace(PROMPT, b""), self.hold_seconds)


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


def sudo_error(problem: str, target: SshTarget, stderr: bytes, waited: float = SudoGate.hold_seconds) -> SudoFailed:
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
        "no-prompt": (f"sudo on {node} neither ran the script nor asked for {user}'s password within "
                      f"{waited:g} s ({first_line})",
                      "run `sudo true` as that user on the node: a PAM prompt other than the password "
                      "(a one-time code?) cannot be answered by k3swiz; give the user a NOPASSWD rule"),
    }.get(problem, (f"sudo failed for {user} on {node}: {first_line}",
                    "run `sudo -n true` as that user on the node to see why"))
    return SudoFailed(node, message, fix, where=target.endpoint)
