"""The known_hosts policy (k3swiz.hostkeys): strict, accept-new, changed keys, hashed
entries, parallel appends, and fingerprints exactly as ssh-keygen prints them."""

from __future__ import annotations

import stat
import subprocess
import threading
from pathlib import Path

import paramiko
import pytest

from k3swiz.hostkeys import HostKeyPolicy, fingerprint, known_hosts_name
from k3swiz.ssh_config import SshTarget
from k3swiz.ssh_errors import HostKeyChanged, HostKeyUnknown


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)



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
