"""Unit tests of the SSH transport that need no sshd: target resolution from the
answers and ~/.ssh/config, how the first script settles sudo, and the error messages. (The remote
scripts and the known_hosts policy have their own test_ssh_scripts.py and
test_ssh_hostkeys.py; real sshd is in test_ssh_lab.py.)"""

from __future__ import annotations

import pickle
import socket
import threading
import time
from pathlib import Path

import pytest

from k3swiz.hostkeys import HostKeyPolicy
from k3swiz.secrets import Secret
from k3swiz.ssh import Transport
from k3swiz.ssh_config import SshConfigError, SshTarget, parse_jump_spec, resolve_target
from k3swiz.ssh_errors import ConnectTimeout, SshError, SudoFailed, Unreachable
from k3swiz.ssh_sudo import FIRST_SUDO, PROMPT, READY, SUDO_NOPASSWD, SUDO_PASSWORD, SudoGate, SudoMode

# ---------------------------------------------------------------------------------------------
# resolve_target: explicit > ~/.ssh/config > defaults


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fake $HOME with an empty ~/.ssh, so ~ and defaults are under our control."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    return tmp_path


def write_config(home: Path, text: str) -> Path:
    path = home / ".ssh" / "config"
    path.write_text(text)
    return path


def test_defaults_without_config(home):
    (home / ".ssh/id_ed25519").write_text("key")
    target = resolve_target("cp1", "192.168.1.10")
    assert (target.host, target.port, target.user) == ("192.168.1.10", 22, "root")
    assert target.known_hosts == home / ".ssh/known_hosts"
    assert target.identity_files == (home / ".ssh/id_ed25519",)
    assert target.proxy_jump is None and target.connect_timeout == 10.0


def test_config_matches_address_and_name_first_value_wins(home):
    write_config(home, """
# comment
Host 192.168.1.*
    User alpine
    Port=2222
    IdentityFile ~/.ssh/lan_%h
Host cp? !cp9
    User ignored-because-address-block-came-first
    IdentityFile ~/.ssh/cp_key
Host *
    User fallback
    Port 22
""")
    target = resolve_target("cp1", "192.168.1.10")
    assert (target.user, target.port) == ("alpine", 2222)
    # IdentityFile accumulates across matching blocks, %h expanded
    assert target.identity_files == (home / ".ssh/lan_192.168.1.10", home / ".ssh/cp_key")
    other = resolve_target("w1", "10.0.0.1")
    assert (other.user, other.port) == ("fallback", 22)
    negated = resolve_target("cp9", "10.0.0.9")
    assert negated.identity_files == ()  # `!cp9` excluded the block, no id_* exists


def test_name_block_applies_when_it_comes_first(home):
    write_config(home, "Host cp1\n  User deploy\nHost *\n  User fallback\n")
    assert resolve_target("cp1", "192.168.1.10").user == "deploy"
    assert resolve_target("CP1", "192.168.1.10").user == "deploy"  # host patterns ignore case


def test_hostname_only_from_a_block_that_matched_the_address(home):
    write_config(home, "Host alias\n  HostName 10.9.9.9\nHost cp1\n  HostName 10.7.7.7\n")
    assert resolve_target("node-a", "alias").host == "10.9.9.9"
    # Matching the node NAME never moves the node away from its explicit address.
    assert resolve_target("cp1", "192.168.1.10").host == "192.168.1.10"


def test_explicit_settings_beat_the_config(home):
    write_config(home, "Host 10.*\n  User alpine\n  Port 2222\n  IdentityFile ~/.ssh/cfg\n"
                       "  UserKnownHostsFile ~/.ssh/cfg_known\n  ProxyJump bastion\n")
    target = resolve_target("cp1", "10.0.0.1", user="root", port=22, identity_file="~/k",
                            known_hosts="/tmp/kh", proxy_jump="none", connect_timeout=2)
    assert (target.user, target.port, target.identity_files) == ("root", 22, (home / "k",))
    assert target.known_hosts == Path("/tmp/kh") and target.proxy_jump is None
    assert target.connect_timeout == 2
    from_config = resolve_target("cp1", "10.0.0.1")
    assert from_config.known_hosts == home / ".ssh/cfg_known"
    assert from_config.identity_files == (home / ".ssh/cfg",)


def test_proxy_jump_from_config_is_resolved_through_the_config(home):
    write_config(home, """
Host 10.0.*
    ProxyJump ops@bastion:2200
Host bastion
    HostName 203.0.113.5
    IdentityFile ~/.ssh/bastion_key
""")
    target = resolve_target("cp1", "10.0.0.1", known_hosts=home / "kh")
    jump = target.proxy_jump
    assert jump is not None and jump.proxy_jump is None
    assert (jump.host, jump.port, jump.user) == ("203.0.113.5", 2200, "ops")
    assert jump.identity_files == (home / ".ssh/bastion_key",)
    assert jump.known_hosts == home / "kh"  # hops share the node's known_hosts
    assert "cp1" in jump.node


def test_proxy_jump_chain_first_hop_is_contacted_first(home):
    target = resolve_target("cp1", "10.0.0.1", proxy_jump="a@first,[2001:db8::1]:2022")
    second = target.proxy_jump
    assert (second.host, second.port) == ("2001:db8::1", 2022)
    assert second.endpoint == "[2001:db8::1]:2022"
    assert (second.proxy_jump.host, second.proxy_jump.user) == ("first", "a")


def test_proxy_jump_as_a_target_and_loops_refused(home):
    hop = SshTarget(node="hop", host="h")
    assert resolve_target("cp1", "10.0.0.1", proxy_jump=hop).proxy_jump is hop
    write_config(home, "Host loop\n  ProxyJump loop\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n")
    with pytest.raises(SshConfigError, match="points at loop itself"):
        resolve_target("cp1", "loop")
    with pytest.raises(SshConfigError, match="deeper than 5 hops"):
        resolve_target("cp1", "a")


@pytest.mark.parametrize("spec, expected", [
    ("host", (None, "host", None)),
    ("u@host:2200", ("u", "host", 2200)),
    ("ssh://u@host:22/", ("u", "host", 22)),
    ("[::1]:22", (None, "::1", 22)),
    ("2001:db8::1", (None, "2001:db8::1", None)),
])
def test_parse_jump_spec(spec, expected):
    assert parse_jump_spec(spec) == expected


def test_config_errors_name_file_and_line(home):
    path = write_config(home, "Host *\n  Port twenty-two\n")
    with pytest.raises(SshConfigError, match=f"{path}:2: Port 'twenty-two'"):
        resolve_target("cp1", "10.0.0.1")
    with pytest.raises(SshConfigError, match="not \\[user@\\]host"):
        parse_jump_spec("host:abc")


def test_match_blocks_and_include(home):
    (home / ".ssh/extra").write_text("Host 10.1.*\n  User included\n")
    write_config(home, "Include extra\nMatch exec \"true\"\n  Port 1\nMatch host 10.2.*,10.3.*\n"
                       "  User matched\nMatch all\n  Port 2200\n")
    assert resolve_target("a", "10.1.0.1").user == "included"
    second = resolve_target("b", "10.3.0.1")
    assert (second.user, second.port) == ("matched", 2200)  # `Match exec` is never applied


# ---------------------------------------------------------------------------------------------
# sudo: settled by the first script of a connection, secrets only on stdin

PASSWORD = Secret("s3cret-pw")


class FakeSudoNode:
    """Stands in for Transport._execute: answers like sudo with a NOPASSWD rule (nopasswd=True)
    or one that wants PASSWORD, talking to FIRST_SUDO's gate as real sudo does on stderr;
    records each command line and what reached it on stdin (the password line included)."""

    def __init__(self, nopasswd: bool, refuse: tuple[int, bytes] | None = None):
        self.nopasswd, self.refuse = nopasswd, refuse
        self.calls: list[tuple[str, bytes]] = []

    def __call__(self, command, stdin, timeout, gate=None):
        password = PASSWORD.reveal().encode() + b"\n"
        if command == FIRST_SUDO:
            return self._first(stdin, gate, password)
        sent = b"".join(stdin)
        self.calls.append((command, sent))
        if command == SUDO_PASSWORD:
            assert sent.startswith(password)
            sent = sent[len(password):]
        return 0, b"ran: " + sent, b"", 0.01

    def _first(self, stdin, gate, password):
        """What the gate gets to see, step by step; stdin is read only once the gate opens it."""
        if self.refuse is not None:
            self.calls.append((FIRST_SUDO, b""))
            return self.refuse[0], b"", self.refuse[1], 0.01
        heard, stderr = b"", b""
        if not self.nopasswd:
            stderr = PROMPT
            answer = gate(stderr)
            while answer is not None and answer.send is not None:
                heard += answer.send()
                stderr += b"" if heard == password else b"Sorry, try again.\n" + PROMPT
                answer = gate(stderr) if heard != password else None
                if heard == password:
                    break
            if heard != password:
                self.calls.append((FIRST_SUDO, heard))
                return 1, b"", stderr + b"\nsudo: no password was provided\n", 0.01
        answer = gate(stderr + READY + b"a warning of the script\n")
        assert answer.open
        sent = b"".join(stdin)
        self.calls.append((FIRST_SUDO, heard + sent))
        return 0, b"ran: " + sent, (stderr + READY + b"a warning of the script\n")[answer.talk:], 0.01


def fake_transport(user: str, nopasswd: bool, password: Secret | None = PASSWORD,
                   refuse: tuple[int, bytes] | None = None):
    transport = Transport(sudo_target(user), host_keys=HostKeyPolicy(), sudo_password=password)
    transport._execute = FakeSudoNode(nopasswd, refuse)
    return transport, transport._execute


def sudo_target(user="deploy"):
    return SshTarget(node="n2", host="127.0.0.12", user=user)


def test_root_runs_plain_sh():
    transport, node = fake_transport("root", nopasswd=False, password=None)
    assert transport.run("id -u").stdout == "ran: id -u\n"
    assert node.calls == [("sh -s", b"id -u\n")]


def test_nopasswd_runs_the_first_script_in_one_command_and_never_sees_the_password():
    transport, node = fake_transport("deploy", nopasswd=True)
    first = transport.run("first")
    assert (first.stdout, first.stderr) == ("ran: first\n", "a warning of the script\n")  # sudo's talk is gone
    assert transport.run("second").stdout == "ran: second\n"
    assert node.calls == [(FIRST_SUDO, b"first\n"), (SUDO_NOPASSWD, b"second\n")]  # 1 command per script
    assert all(b"s3cret" not in stdin for _, stdin in node.calls)


def test_password_answers_the_prompt_once_and_the_first_script_runs_in_that_command():
    transport, node = fake_transport("sudoer", nopasswd=False)
    assert transport.run("first").stdout == "ran: first\n"
    assert transport.run("second").stdout == "ran: second\n"
    assert node.calls == [(FIRST_SUDO, b"s3cret-pw\nfirst\n"), (SUDO_PASSWORD, b"s3cret-pw\nsecond\n")]
    assert all("s3cret" not in command for command, _ in node.calls)


def test_a_wrong_password_is_tried_once_and_no_script_line_reaches_sudo():
    wrong = Secret("not-it")
    transport = Transport(sudo_target("sudoer"), host_keys=HostKeyPolicy(), sudo_password=wrong)
    transport._execute = node = FakeSudoNode(nopasswd=False)
    with pytest.raises(SudoFailed, match="sudo refused the password for sudoer on n2"):
        transport.run("first")
    assert node.calls == [(FIRST_SUDO, b"not-it\n")]  # one attempt, then EOF: "first" was never sent


def test_a_prompt_with_no_password_to_give_asks_for_one():
    transport, node = fake_transport("sudoer", nopasswd=False, password=None)
    with pytest.raises(SudoFailed, match="sudo on n2 needs a password for sudoer — pass --sudo-password-env"):
        transport.run("first")
    assert node.calls == [(FIRST_SUDO, b"")]


def test_gate_opens_on_ready_only_and_keeps_sudo_s_talk_out_of_the_script_s_stderr():
    gate = SudoGate(lambda: b"pw\n")
    assert gate(b"We trust you have received the usual lecture\n") is None
    assert gate(PROMPT).send() == b"pw\n"
    assert gate(PROMPT + b"more of the same line") is None        # no new prompt: nothing more sent
    opened = gate(PROMPT + READY + b"script")
    assert opened.open and (PROMPT + READY + b"script")[opened.talk:] == b"script"
    assert gate.settle(0, b"", sudo_target()) is SudoMode.PASSWORD
    nopasswd = SudoGate(None)
    assert nopasswd(READY).open and nopasswd.settle(0, b"", sudo_target()) is SudoMode.NOPASSWD


def test_sudo_failures_say_what_to_do():
    cases = [
        ((1, b"sudo: deploy is not in the sudoers file.\n"), "deploy may not use sudo on n2"),
        ((127, b"sh: 1: sudo: not found\n"), "sudo is not installed on n2"),
        ((1, b"sudo: sorry, you must have a tty to run sudo\n"), "insists on a terminal"),
        ((1, b"sudo: account validation failure\n"), "sudo failed for deploy on n2"),
    ]
    for refuse, expected in cases:
        transport, _ = fake_transport("deploy", nopasswd=True, refuse=refuse)
        with pytest.raises(SudoFailed) as caught:
            transport.run("first")
        assert expected in str(caught.value)
        assert "s3cret" not in str(caught.value) and "s3cret" not in repr(caught.value)


def test_password_with_a_line_break_is_refused_before_connecting():
    with pytest.raises(ValueError, match="line break") as caught:
        Transport(sudo_target(), host_keys=HostKeyPolicy(), sudo_password=Secret("two\nlines"))
    assert "two" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# errors: one readable line; connection failures mapped without sshd


def test_error_line_and_pickling():
    error = Unreachable("n3", "connection refused", "is sshd running?", where="127.0.0.13:22")
    assert str(error) == "n3 (127.0.0.13:22): connection refused — is sshd running?"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is Unreachable and str(copy) == str(error)
    assert isinstance(copy, SshError)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_refused_port_is_unreachable(tmp_path):
    target = SshTarget(node="n3", host="127.0.0.1", port=free_port(), known_hosts=tmp_path / "kh")
    with pytest.raises(Unreachable) as caught:
        Transport(target, host_keys=HostKeyPolicy(), agent=False).connect()
    assert str(caught.value).startswith(f"n3 (127.0.0.1:{target.port}): connection refused — is sshd running")


def test_silent_server_is_a_connect_timeout_within_the_limit(tmp_path):
    with socket.socket() as silent:  # accepts TCP (backlog) but never says a word: a frozen sshd
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        target = SshTarget(node="n4", host="127.0.0.1", port=silent.getsockname()[1],
                           known_hosts=tmp_path / "kh", connect_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ConnectTimeout) as caught:
            Transport(target, host_keys=HostKeyPolicy(), agent=False).connect()
        assert time.monotonic() - started < 0.5 + 0.5
    assert "n4 (127.0.0.1:" in str(caught.value) and "0.5 s" in str(caught.value)


def test_server_hanging_up_is_unreachable(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        closer = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
        closer.start()
        target = SshTarget(node="n5", host="127.0.0.1", port=server.getsockname()[1],
                           known_hosts=tmp_path / "kh", connect_timeout=3)
        with pytest.raises(Unreachable, match="n5 .*closed the connection during the SSH handshake"):
            Transport(target, host_keys=HostKeyPolicy(), agent=False).connect()
