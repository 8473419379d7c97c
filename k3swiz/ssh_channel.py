"""One remote command on one paramiko channel: feed stdin, collect output, get the exit status.

stdin is fed by a helper thread while this thread reads stdout and stderr, so
a command that talks back while a 70 MB upload is still going cannot
deadlock on full SSH windows. Nothing here raises for remote trouble: the
outcome says whether the command finished, timed out or lost its connection,
and the caller turns that into an error with the node's name. Only a local
failure to produce stdin (e.g. an unreadable local file) is re-raised.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import paramiko

READ_SIZE = 65536
CHANNEL_ERRORS = (EOFError, OSError, paramiko.SSHException)


@dataclass
class ChannelOutcome:
    rc: int | None  # None: no exit status (connection lost or timed out)
    stdout: bytes
    stderr: bytes
    elapsed: float
    bytes_sent: int
    timed_out: bool = False
    lost_reason: str = ""


@dataclass
class GateAnswer:
    """What a gate says to the stderr it has seen so far (see run_channel's `gate`)."""
    send: Callable[[], bytes] | None = None  # bytes to send now (made only as they are sent)
    open: bool = False                       # the stdin pieces may flow
    close: bool = False                      # give up: send EOF, then collect what the command says
    talk: int = 0                            # with open: leading stderr bytes that were the gate's, not the command's


class Gate(Protocol):
    """Holds stdin back until the command's stderr says go (sudo's first answer, k3swiz.ssh_sudo)."""
    hold_seconds: float   # how long stdin may be held back; then EOF is sent and `expired` set
    expired: bool

    def __call__(self, stderr: bytes) -> GateAnswer | None: ...   # None: keep waiting


class _StdinFeeder(threading.Thread):
    """Sends the stdin pieces, then EOF. If producing a piece fails locally, EOF is sent at once:
    pieces are whole script lines and a write script commits only in its last piece, so the
    remote shell just ends (removing its temps) and the error is re-raised by the caller."""

    def __init__(self, channel: paramiko.Channel, pieces: Iterable[bytes]) -> None:
        super().__init__(name="k3swiz-ssh-stdin", daemon=True)
        self.channel, self.pieces = channel, pieces
        self.sent = 0
        self.local_error: BaseException | None = None

    def run(self) -> None:
        try:
            for piece in self.pieces:  # producing a piece may read a local file, and fail
                if not self._send(piece):
                    return
            self._send(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            self.local_error = exc
            self._send(None)

    def _send(self, piece: bytes | None) -> bool:
        """Send a piece (None: EOF). False when the remote end went away; the reader sees why."""
        try:
            if piece is None:
                self.channel.shutdown_write()
            else:
                self.channel.sendall(piece)
        except CHANNEL_ERRORS:
            return False
        self.sent += len(piece or b"")
        return True


def run_channel(ssh: paramiko.Transport, command: str, stdin: Iterable[bytes], timeout: float,
                *, open_timeout: float, gate: Gate | None = None) -> ChannelOutcome:
    """Run command with stdin; never longer than timeout seconds.

    With a gate, stdin is held back: the gate sees the command's stderr as it arrives and may
    answer it (sudo's password prompt), let stdin flow, or give up, before a byte of stdin is sent.
    """
    started = time.monotonic()
    deadline = started + timeout
    try:
        channel = ssh.open_session(timeout=open_timeout)
        channel.exec_command(command)
    except CHANNEL_ERRORS as exc:
        return ChannelOutcome(None, b"", b"", 0.0, 0, lost_reason=_lost_text(ssh, exc))
    stdout, stderr = bytearray(), bytearray()
    feeder = _StdinFeeder(channel, stdin)
    try:
        opened = gate is None or _hold_stdin(channel, gate, stdout, stderr, deadline, feeder)
        if opened:
            feeder.start()
        finished = _collect(channel, stdout, stderr, deadline)
    finally:
        channel.close()
        if feeder.is_alive():
            feeder.join(timeout=5)
    if feeder.local_error is not None:
        raise feeder.local_error
    outcome = ChannelOutcome(None, bytes(stdout), bytes(stderr), time.monotonic() - started, feeder.sent)
    if not finished:
        outcome.timed_out = True
    elif channel.exit_status_ready() and channel.recv_exit_status() != -1:
        outcome.rc = channel.recv_exit_status()
    else:
        outcome.lost_reason = _lost_text(ssh, None)
    return outcome


def _hold_stdin(channel: paramiko.Channel, gate: Gate, stdout: bytearray, stderr: bytearray,
                deadline: float, feeder: _StdinFeeder) -> bool:
    """Show the gate each new piece of stderr until it opens stdin (True) or gives up, the
    command ends or the deadline passes (False; EOF has been sent where the channel still takes it)."""
    wakeup = select.poll()
    wakeup.register(channel.fileno(), select.POLLIN)
    seen = 0
    hold_until = min(deadline, time.monotonic() + gate.hold_seconds)
    while not (channel.eof_received or channel.closed):
        if time.monotonic() >= hold_until:
            gate.expired = True
            break
        _drain(channel, stdout, stderr)
        answer = gate(bytes(stderr)) if len(stderr) > seen else None
        seen = len(stderr)
        if answer is not None and answer.open:
            del stderr[:answer.talk]
            return True
        if answer is not None and answer.close:
            break
        if answer is not None and answer.send is not None:
            try:
                channel.sendall(answer.send())  # a temporary: never a local of these frames
            except CHANNEL_ERRORS:
                break
        wakeup.poll(min(max(hold_until - time.monotonic(), 0), 1.0) * 1000)
    feeder._send(None)
    return False


def _collect(channel: paramiko.Channel, stdout: bytearray, stderr: bytearray, deadline: float) -> bool:
    """Read both streams until EOF/close, then wait for the exit status. False on timeout."""
    wakeup = select.poll()  # poll, not select: no FD_SETSIZE limit with many nodes at once
    wakeup.register(channel.fileno(), select.POLLIN)  # readable on stdout/stderr data, EOF, close
    while not (channel.eof_received or channel.closed):
        _drain(channel, stdout, stderr)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        wakeup.poll(min(remaining, 1.0) * 1000)
    _drain(channel, stdout, stderr)
    finished = channel.status_event.wait(max(deadline - time.monotonic(), 0))
    _drain(channel, stdout, stderr)
    return finished


def _drain(channel: paramiko.Channel, stdout: bytearray, stderr: bytearray) -> None:
    while channel.recv_ready():
        stdout += channel.recv(READ_SIZE)
    while channel.recv_stderr_ready():
        stderr += channel.recv_stderr(READ_SIZE)


def _lost_text(ssh: paramiko.Transport, exc: BaseException | None) -> str:
    if not ssh.is_active():
        return "the connection dropped while a command was running"
    if exc is not None:
        return f"the node refused to start a command ({exc or type(exc).__name__})"
    return "the remote shell ended without an exit status (killed by a signal?)"
