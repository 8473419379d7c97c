"""Unit tests of the SSH transport's parts that need no sshd: target resolution,
the remote write/read scripts (run locally by dash and busybox), the known_hosts
policy, the sudo probe and the error messages."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import paramiko
import pytest

from k3swiz.hostkeys import HostKeyPolicy, fingerprint, known_hosts_name
from k3swiz.remote_script import (ABSENT_RC, CHUNK_BYTES, RemoteFile, read_file_script, script_with_stdin,
                                  write_files_script)
from k3swiz.secrets import Secret
from k3swiz.ssh import Transport
from k3swiz.ssh_config import SshConfigError, SshTarget, parse_jump_spec, resolve_target
from k3swiz.ssh_errors import (ConnectTimeout, HostKeyChanged, HostKeyUnknown, SshError, SudoFailed,
                               Unreachable)
from k3swiz.ssh_sudo import SudoMode, choose_sudo_mode

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
# remote_script: the write script run locally by sh (dash) and by busybox


def shells() -> list[tuple[str, dict | None]]:
    """dash with GNU tools, and (when installed) busybox sh with busybox applets only."""
    found = [("sh", None)]
    busybox = shutil.which("busybox")
    if busybox:
        applets = Path(os.environ.get("TMPDIR", "/tmp")) / f"k3swiz-busybox-{os.getpid()}"
        applets.mkdir(exist_ok=True)
        for name in ("sh", "base64", "wc", "mkdir", "chmod", "chown", "mv", "rm", "cat", "printf", "head"):
            if not (applets / name).exists():
                (applets / name).symlink_to(busybox)
        found.append((str(applets / "sh"), {"PATH": str(applets)}))
    return found


SHELLS = shells()
SHELL_IDS = ["dash", "busybox"][: len(SHELLS)]


def run_locally(pieces, shell=("sh", None)) -> subprocess.CompletedProcess:
    """Feed the script to `sh -s` piece by piece, as the transport does over SSH."""
    program, env = shell
    process = subprocess.Popen([program, "-s"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    for piece in pieces:
        process.stdin.write(piece)
    process.stdin.close()
    out, err = process.stdout.read(), process.stderr.read()
    return subprocess.CompletedProcess(program, process.wait(timeout=60), out, err)


TRICKY = (b"quotes ' \" and $(touch /tmp/k3swiz-pwned) and `id` and $HOME\n"
          b"K3SWIZ_DATA_END\nEOF\n\x00\x01\xff binary\r\n\\ no newline at end")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("shell", SHELLS, ids=SHELL_IDS)
def test_write_script_writes_exact_bytes_with_modes(tmp_path, shell):
    big = os.urandom(5 * 1024 * 1024 + 7)
    source = tmp_path / "source.bin"
    source.write_bytes(big)
    files = [RemoteFile(str(tmp_path / "etc/rancher/k3s/config.yaml"), TRICKY, 0o600),
             RemoteFile(str(tmp_path / "deep/a b/it's here.sh"), b"#!/bin/sh\n", 0o755),
             RemoteFile(str(tmp_path / "bin/k3s"), source, 0o755),
             RemoteFile(str(tmp_path / "empty"), b"", 0o644)]
    result = run_locally(write_files_script(files), shell)
    assert result.returncode == 0, result.stderr
    for item, expected in zip(files, (TRICKY, b"#!/bin/sh\n", big, b"")):
        assert Path(item.path).read_bytes() == expected
        assert mode_of(Path(item.path)) == item.mode
    assert mode_of(tmp_path / "etc") == mode_of(tmp_path / "etc/rancher/k3s") == 0o755
    assert not Path("/tmp/k3swiz-pwned").exists()
    assert not list(tmp_path.rglob("*.k3swiz-*")), "no temp file may be left behind"


def test_big_content_is_streamed_in_bounded_pieces(tmp_path):
    source = tmp_path / "big"
    source.write_bytes(b"\0" * (3 * CHUNK_BYTES + 5))
    pieces = list(write_files_script([RemoteFile("/x/big", source, 0o644)]))
    assert max(len(piece) for piece in pieces) < CHUNK_BYTES * 1.4  # base64 of one chunk, not the file
    assert sum(b"base64 -d" in piece for piece in pieces) == 4


@pytest.mark.parametrize("shell", SHELLS, ids=SHELL_IDS)
def test_failure_removes_temps_and_replaces_nothing(tmp_path, shell):
    (tmp_path / "keep.yaml").write_bytes(b"old\n")
    (tmp_path / "blocker").write_text("a file where a directory is needed")
    files = [RemoteFile(str(tmp_path / "keep.yaml"), b"new\n", 0o600),
             RemoteFile(str(tmp_path / "blocker/sub/file"), b"x", 0o600)]
    result = run_locally(write_files_script(files), shell)
    assert result.returncode != 0
    assert f"cannot write {tmp_path}/blocker/sub/file: cannot create the directory" in result.stderr.decode()
    assert (tmp_path / "keep.yaml").read_bytes() == b"old\n"  # nothing renamed before all arrived
    assert not list(tmp_path.rglob("*.k3swiz-*"))


def test_a_directory_in_the_way_is_refused(tmp_path):
    (tmp_path / "config.yaml").mkdir()
    result = run_locally(write_files_script([RemoteFile(str(tmp_path / "config.yaml"), b"x", 0o600)]))
    assert result.returncode == 1 and b"it is a directory" in result.stderr


@pytest.mark.parametrize("shell", SHELLS, ids=SHELL_IDS)
def test_truncated_stream_never_replaces_the_target(tmp_path, shell):
    target = tmp_path / "config.yaml"
    target.write_bytes(b"old\n")
    script = b"".join(write_files_script([RemoteFile(str(target), os.urandom(200_000), 0o600)]))
    run_locally([script[: len(script) // 2]], shell)  # the connection died half way
    assert target.read_bytes() == b"old\n"  # the commit (mv) never arrived
    assert not list(tmp_path.rglob("*.k3swiz-*"))  # and the shell's EXIT trap removed the temp


def test_owner_is_set(tmp_path):
    if os.getuid() != 0:
        pytest.fail("these tests run as root (CI does)")
    path = tmp_path / "owned"
    result = run_locally(write_files_script([RemoteFile(str(path), b"x", 0o640, owner="nobody")]))
    assert result.returncode == 0, result.stderr
    assert path.stat().st_uid == int(subprocess.check_output(["id", "-u", "nobody"]))


@pytest.mark.parametrize("files, message", [
    ([RemoteFile("relative/path", b"", 0o600)], "must be absolute"),
    ([RemoteFile("/etc/../etc/x", b"", 0o600)], "normalised"),
    ([RemoteFile("/etc/x\n", b"", 0o600)], "newline"),
    ([RemoteFile("/x", b"", 0o600), RemoteFile("/x", b"", 0o600)], "listed twice"),
    ([RemoteFile("/x", b"", 0o10000)], "not a file mode"),
    ([RemoteFile("/x", b"", 0o600, owner="root; rm -rf /")], "is not 'user'"),
    ([RemoteFile("/x", Path("/nonexistent/k3s"), 0o755)], "local file /nonexistent/k3s .* does not exist"),
])
def test_bad_files_are_refused_before_anything_is_sent(files, message):
    with pytest.raises(ValueError, match=message):
        list(write_files_script(files))


@pytest.mark.parametrize("shell", SHELLS, ids=SHELL_IDS)
def test_read_script(tmp_path, shell):
    path = tmp_path / "data"
    path.write_bytes(TRICKY)
    assert run_locally([read_file_script(str(path)).encode()], shell).stdout == TRICKY
    assert run_locally([read_file_script(str(tmp_path / "absent")).encode()], shell).returncode == ABSENT_RC
    assert run_locally([read_file_script(str(tmp_path)).encode()], shell).returncode == 1


@pytest.mark.parametrize("shell", SHELLS, ids=SHELL_IDS)
def test_script_with_stdin_gives_the_script_exact_bytes(shell):
    data = TRICKY * 1000
    script = script_with_stdin("cat\nexit 7", data)
    result = run_locally([script.encode()], shell)
    assert (result.returncode, result.stdout) == (7, data)


# ---------------------------------------------------------------------------------------------
# known_hosts policy


def host_target(tmp_path: Path, port: int = 2222, host: str = "127.0.0.9") -> SshTarget:
    return SshTarget(node="n9", host=host, port=port, known_hosts=tmp_path / "ssh" / "known_hosts")


@pytest.fixture(scope="module")
def keys():
    return paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()


def test_fingerprint_is_what_ssh_keygen_prints(tmp_path, keys):
    public = tmp_path / "key.pub"
    public.write_text(f"{keys[0].get_name()} {keys[0].get_base64()} comment\n")
    printed = subprocess.run(["ssh-keygen", "-lf", str(public)], capture_output=True, text=True).stdout
    bits, digest, _, kind = printed.split()
    assert fingerprint(keys[0]) == f"{bits} {digest} {kind}"


def test_unknown_host_is_refused_with_fingerprint_and_fix(tmp_path, keys):
    target = host_target(tmp_path)
    with pytest.raises(HostKeyUnknown) as caught:
        HostKeyPolicy().check(target, keys[0])
    text = str(caught.value)
    assert text.startswith("n9 (127.0.0.9:2222): the host is not in")
    assert keys[0].fingerprint in text and "(ECDSA)" in text
    assert f"ssh-keyscan -p 2222 127.0.0.9 >> {target.known_hosts}" in text
    assert "--accept-new-hosts" in text
    assert not target.known_hosts.exists()


def test_accept_new_records_then_strict_accepts(tmp_path, keys):
    target = host_target(tmp_path)
    HostKeyPolicy(accept_new=True).check(target, keys[0])
    line = target.known_hosts.read_text()
    assert line == f"[127.0.0.9]:2222 {keys[0].get_name()} {keys[0].get_base64()}\n"
    assert mode_of(target.known_hosts) == 0o600
    HostKeyPolicy().check(target, keys[0])  # now known: strict accepts
    HostKeyPolicy(accept_new=True).check(target, keys[0])
    assert target.known_hosts.read_text() == line  # not recorded twice


def test_accept_new_keeps_existing_lines_and_mode(tmp_path, keys):
    target = host_target(tmp_path, port=22)
    target.known_hosts.parent.mkdir()
    target.known_hosts.write_text("other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0=")  # no final newline
    target.known_hosts.chmod(0o644)
    HostKeyPolicy(accept_new=True).check(target, keys[0])
    lines = target.known_hosts.read_text().splitlines()
    assert lines[0].startswith("other.example") and lines[1].startswith("127.0.0.9 ecdsa-")
    assert mode_of(target.known_hosts) == 0o644
    assert known_hosts_name("127.0.0.9", 22) == "127.0.0.9"


def test_changed_key_is_always_refused_with_both_fingerprints(tmp_path, keys):
    target = host_target(tmp_path)
    HostKeyPolicy(accept_new=True).check(target, keys[0])
    for policy in (HostKeyPolicy(), HostKeyPolicy(accept_new=True)):
        with pytest.raises(HostKeyChanged) as caught:
            policy.check(target, keys[1])
        text = str(caught.value)
        assert keys[0].fingerprint in text and keys[1].fingerprint in text
        assert f"ssh-keygen -R '[127.0.0.9]:2222' -f {target.known_hosts}" in text


def test_hashed_known_hosts_entries_are_understood(tmp_path, keys):
    target = host_target(tmp_path)
    target.known_hosts.parent.mkdir()
    hashed = paramiko.HostKeys.hash_host("[127.0.0.9]:2222")
    target.known_hosts.write_text(f"{hashed} {keys[0].get_name()} {keys[0].get_base64()}\n")
    HostKeyPolicy().check(target, keys[0])
    with pytest.raises(HostKeyChanged):
        HostKeyPolicy().check(target, keys[1])


def test_parallel_accept_new_loses_no_line_and_adds_no_duplicate(tmp_path, keys):
    targets = [host_target(tmp_path, port=3000 + index) for index in range(16)] * 3
    barrier = threading.Barrier(len(targets))
    errors = []

    def accept(target):
        barrier.wait()
        try:
            HostKeyPolicy(accept_new=True).check(target, keys[0])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=accept, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    lines = targets[0].known_hosts.read_text().splitlines()
    assert sorted(lines) == sorted({f"[127.0.0.9]:{3000 + i} {keys[0].get_name()} {keys[0].get_base64()}"
                                    for i in range(16)})


# ---------------------------------------------------------------------------------------------
# sudo: chosen once per connection, secrets only on stdin

PASSWORD = Secret("s3cret-pw")


class FakeSudo:
    """Answers the probe commands like sudo would; records what was asked."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[tuple[str, bytes]] = []

    def __call__(self, command, stdin):
        self.calls.append((command, stdin))
        return self.answers.pop(0)


def sudo_target(user="deploy"):
    return SshTarget(node="n2", host="127.0.0.12", user=user)


def test_root_needs_no_sudo_and_nopasswd_is_detected():
    assert choose_sudo_mode(FakeSudo(), sudo_target("root"), None) is SudoMode.NONE
    fake = FakeSudo((0, b"", b""))
    assert choose_sudo_mode(fake, sudo_target(), PASSWORD) is SudoMode.NOPASSWD
    assert fake.calls == [("sudo -k -n true", b"")]  # the password was not even sent


def test_password_is_checked_once_on_stdin():
    fake = FakeSudo((1, b"", b"sudo: a password is required\n"), (0, b"", b""))
    assert choose_sudo_mode(fake, sudo_target(), PASSWORD) is SudoMode.PASSWORD
    assert fake.calls[1] == ("sudo -k -S -p '' true", b"s3cret-pw\n")
    assert all("s3cret" not in command for command, _ in fake.calls)


def test_sudo_failures_say_what_to_do():
    cases = [
        (FakeSudo((1, b"", b"sudo: a password is required\n")), None,
         "n2 (127.0.0.12:22): sudo on n2 needs a password for deploy — pass --sudo-password-env"),
        (FakeSudo((1, b"", b"sudo: a password is required\n"),
                  (1, b"", b"Sorry, try again.\nsudo: no password was provided\n")), PASSWORD,
         "sudo refused the password for deploy on n2"),
        (FakeSudo((1, b"", b"sudo: a password is required\n"),
                  (1, b"", b"sudo: deploy is not in the sudoers file.\n")), PASSWORD, "deploy may not use sudo on n2"),
        (FakeSudo((127, b"", b"sh: 1: sudo: not found\n")), PASSWORD, "sudo is not installed on n2"),
    ]
    for fake, password, expected in cases:
        with pytest.raises(SudoFailed) as caught:
            choose_sudo_mode(fake, sudo_target(), password)
        assert expected in str(caught.value)
        assert "s3cret" not in str(caught.value) and "s3cret" not in repr(caught.value)


def test_password_with_a_line_break_is_refused():
    fake = FakeSudo((1, b"", b"sudo: a password is required\n"))
    with pytest.raises(ValueError, match="line break"):
        choose_sudo_mode(fake, sudo_target(), Secret("two\nlines"))


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
