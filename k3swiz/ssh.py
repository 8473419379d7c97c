"""The SSH transport: one connection to one node, running scripts and moving files.

    with Transport(target, host_keys=HostKeyPolicy()) as node:
        node.write_files([RemoteFile("/etc/rancher/k3s/config.yaml", data, 0o600)])
        result = node.run("systemctl restart k3s")

Files whose content is a local Path (the airgap bundle) go over SFTP on the same
connection and the write script only commits them (k3swiz.ssh_upload); the
upload can also be started ahead with `upload()` and handed to write_files.

Every remote command line is `sh -s`, `sudo -n sh -s`, `sudo -k -S -p '' sh -s` or,
for the first script of a non-root connection, which settles the sudo mode in that
one command, ssh_sudo.FIRST_SUDO: the script, file contents and the sudo password
travel on stdin, so no secret can show in the node's process list or environment.
Errors are the one-line, fix-giving exceptions of k3swiz.ssh_errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from k3swiz.hostkeys import HostKeyPolicy
from k3swiz.remote_script import (ABSENT_RC, RemoteFile, Upload, check_files, read_file_script,
                                  script_with_stdin, write_files_script)
from k3swiz.secrets import Secret, mask_text
from k3swiz.ssh_channel import Gate, run_channel
from k3swiz.ssh_config import SshTarget, resolve_target
from k3swiz.ssh_connect import open_connection
from k3swiz.ssh_errors import (AuthFailed, CommandTimeout, ConnectionLost, ConnectTimeout, HostKeyChanged,
                               HostKeyUnknown, RemoteCommandFailed, SshError, SudoFailed, Unreachable)
from k3swiz.ssh_upload import SftpUnavailable, UploadInterrupted, discard, upload
from k3swiz.ssh_sudo import FIRST_SUDO, SudoGate, SudoMode, classify_sudo_stderr, password_line, sudo_error

__all__ = [
    "Transport", "CommandResult", "TransportStats", "SshTarget", "resolve_target", "HostKeyPolicy",
    "RemoteFile", "Upload", "SshError", "Unreachable", "ConnectTimeout", "AuthFailed", "HostKeyUnknown",
    "HostKeyChanged", "ConnectionLost", "CommandTimeout", "SudoFailed", "RemoteCommandFailed",
]


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    elapsed: float  # seconds, from opening the channel to the exit status

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class TransportStats:
    connections: int = 0
    commands: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    files_written: int = 0
    transfers: int = 0  # SFTP sessions (uploads of local files); not remote commands


class Transport:
    """A connection to one node (through its ProxyJump hops, if any)."""

    def __init__(self, target: SshTarget, *, host_keys: HostKeyPolicy, sudo_password: Secret | None = None,
                 agent: bool = True, tcp_nodelay: bool = True) -> None:
        self.target = target
        self.host_keys = host_keys
        self.stats = TransportStats()
        self._agent = agent
        self._tcp_nodelay = tcp_nodelay  # only switched off to measure what it buys
        self._ssh: paramiko.Transport | None = None
        self._jump: Transport | None = None
        self._sudo_password: Secret | None = None
        self._sudo_mode: SudoMode | None = None
        if sudo_password is not None:
            self.use_sudo_password(sudo_password)

    def __enter__(self) -> Transport:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Transport({self.target.node} {self.target.user}@{self.target.endpoint})"

    def use_sudo_password(self, password: Secret) -> None:
        """The sudo password, given at construction or learnt after connecting (asked once for the
        run): sudo is settled again by the next script, on this same connection."""
        password_line(password)  # refuse an unusable password now, not mid-command
        self._sudo_password = password
        self._sudo_mode = None

    def connect(self) -> None:
        """Connect and authenticate; a no-op when already connected, a reconnect when the link died."""
        if self._ssh is not None and self._ssh.is_active():
            return
        self.close()
        try:
            via = None
            if self.target.proxy_jump is not None:  # the hop's own errors name it "jump host for ..."
                self._jump = Transport(self.target.proxy_jump, host_keys=self.host_keys,
                                       agent=self._agent, tcp_nodelay=self._tcp_nodelay)
                self._jump.connect()
                via = self._jump._ssh
            self._ssh = open_connection(self.target, self.host_keys, agent=self._agent,
                                        tcp_nodelay=self._tcp_nodelay, via=via)
        except BaseException:
            self.close()
            raise
        self.stats.connections += 1

    def close(self) -> None:
        for link in (self._ssh, self._jump):
            if link is not None:
                link.close()
        self._ssh = self._jump = None
        self._sudo_mode = None

    def run(self, script: str, *, sudo: bool = True, timeout: float | None = None,
            stdin_extra: bytes = b"") -> CommandResult:
        """Run a POSIX sh script on the node (as root unless sudo=False); stdin_extra is its stdin."""
        text = script if script.endswith("\n") else script + "\n"
        if stdin_extra:
            text = script_with_stdin(text, stdin_extra)
        rc, out, err, elapsed = self._run_script(lambda: [text.encode()], sudo=sudo, timeout=timeout)
        return self._result(rc, out, err, elapsed)

    def write_files(self, files: Sequence[RemoteFile], *, sudo: bool = True,
                    uploaded: Upload | None = None) -> CommandResult:
        """Write every file atomically in one remote command (see k3swiz.remote_script).

        Files with a local Path content are uploaded first over SFTP, unless `uploaded`
        (from upload()) already holds them; the script then only commits them."""
        check_files(files)
        if uploaded is None and any(isinstance(f.content, Path) for f in files):
            uploaded = self.upload(files, sudo=sudo)
        if uploaded is not None and uploaded.failure:
            return CommandResult(1, "", uploaded.failure + "\n", 0.0)
        ahead = {f.path for f in uploaded.files} if uploaded else set()
        if not ahead <= {f.path for f in files}:
            raise ValueError(f"uploaded files {sorted(ahead)} are not all among the files to write")
        inline = [f for f in files if f.path not in ahead]
        rc, out, err, elapsed = self._run_script(lambda: write_files_script(inline, uploaded=uploaded), sudo=sudo,
                                                 timeout=None)
        if rc == 0:
            self.stats.files_written += len(files)
        return self._result(rc, out, err, elapsed)

    def upload(self, files: Sequence[RemoteFile], *, sudo: bool = True) -> Upload | None:
        """Send the files with a local Path content ahead over SFTP, for write_files to commit.

        None when the node has no SFTP (write_files then sends them inside its script).
        A file the node refuses gives an Upload whose `failure` says why."""
        local = [f for f in files if isinstance(f.content, Path)]
        check_files(local)
        if self._ssh is None or not self._ssh.is_active():
            self.connect()
        in_place = not sudo or self.target.user == "root"  # else: a staging folder the login user owns
        try:
            result = upload(self._ssh, local, in_place=in_place, timeout=self.target.command_timeout)
        except SftpUnavailable:
            return None
        except UploadInterrupted as lost:
            raise ConnectionLost(self.target.node, str(lost), "check that the node is up (rebooted? sshd "
                                 "restarted?); nothing was put in place, so run again",
                                 where=self.target.endpoint) from None
        self.stats.transfers += 1
        self.stats.bytes_up += sum(f.size() for f in result.files)
        return result

    def discard(self, uploaded: Upload) -> None:
        """Remove what upload() left on the node, when write_files will not run (best effort)."""
        if self._ssh is not None:
            discard(self._ssh, uploaded, self.target.connect_timeout)

    def read_file(self, path: str, *, sudo: bool = True) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        rc, out, err, _ = self._run_script(lambda: [read_file_script(path).encode()], sudo=sudo, timeout=None)
        if rc == ABSENT_RC:
            return None
        if rc != 0:
            reason = self._mask(err.decode(errors="replace")).strip() or f"exit status {rc}"
            raise RemoteCommandFailed(self.target.node, f"cannot read {path}: {reason}",
                                      "check the path and its permissions on the node", where=self.target.endpoint)
        return out

    # -- internals -------------------------------------------------------------------------------

    def _run_script(self, make_pieces: Callable[[], Iterable[bytes]], *, sudo: bool, timeout: float | None):
        """Run the script make_pieces() yields; the first one of a connection also settles sudo."""
        if sudo and self._sudo_mode is None:
            first = self._first_sudo_run(make_pieces, timeout)
            if first is not None:
                return first
        command = self._sudo_mode.value if sudo else SudoMode.NONE.value
        stdin = self._stdin(command == SudoMode.PASSWORD.value, make_pieces())
        rc, out, err, elapsed = self._execute(command, stdin, timeout)
        if rc != 0 and command != SudoMode.NONE.value:
            problem = classify_sudo_stderr(rc, err.decode(errors="replace"))
            if problem is not None:
                raise sudo_error(problem, self.target, err)
        return rc, out, err, elapsed

    def _first_sudo_run(self, make_pieces: Callable[[], Iterable[bytes]], timeout: float | None):
        """Settle the sudo mode with the connection's first script itself, in that one command
        (k3swiz.ssh_sudo). Returns that run's outcome, or None for root (nothing to settle)."""
        if self.target.user == "root":
            self._sudo_mode = SudoMode.NONE
            return None
        gate = SudoGate((lambda: password_line(self._sudo_password)) if self._sudo_password is not None else None)
        outcome = self._execute(FIRST_SUDO, make_pieces(), timeout, gate=gate)
        self._sudo_mode = gate.settle(outcome[0], outcome[2], self.target)
        return outcome

    def _stdin(self, send_password: bool, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """stdin for sudo -S: the password line first. Made only as it is sent, so the
        password never sits in a caller's local variable (or a traceback's locals)."""
        if send_password:
            yield password_line(self._sudo_password)
        yield from pieces

    def _execute(self, command: str, stdin: Iterable[bytes], timeout: float | None, gate: Gate | None = None):
        if self._ssh is None or not self._ssh.is_active():
            self.connect()  # nothing is in flight yet, so (re)connecting here is safe
        limit = timeout if timeout is not None else self.target.command_timeout
        outcome = run_channel(self._ssh, command, stdin, limit, open_timeout=self.target.connect_timeout, gate=gate)
        self.stats.commands += 1
        self.stats.bytes_up += outcome.bytes_sent
        self.stats.bytes_down += len(outcome.stdout) + len(outcome.stderr)
        where = dict(where=self.target.endpoint)
        if outcome.timed_out:
            raise CommandTimeout(self.target.node, f"the command did not finish within {limit:g} s and was "
                                 "abandoned (it may still be running on the node)",
                                 "raise the timeout, or look at what the node is waiting for", **where)
        if outcome.rc is None:
            raise ConnectionLost(self.target.node, outcome.lost_reason or "the connection dropped",
                                 "check that the node is up (rebooted? sshd restarted?); the command may or may "
                                 "not have completed, so re-run it", **where)
        return outcome.rc, outcome.stdout, outcome.stderr, outcome.elapsed

    def _result(self, rc: int, out: bytes, err: bytes, elapsed: float) -> CommandResult:
        return CommandResult(rc, self._mask(out.decode(errors="replace")),
                             self._mask(err.decode(errors="replace")), elapsed)

    def _mask(self, text: str) -> str:
        return mask_text(text, [self._sudo_password]) if self._sudo_password else text

