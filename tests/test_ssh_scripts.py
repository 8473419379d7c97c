"""The remote write/read scripts of k3swiz.remote_script, run locally by dash and
(when installed) by busybox sh with busybox applets only, as on an Alpine node."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from k3swiz.remote_script import (ABSENT_RC, CHUNK_BYTES, RemoteFile, Staged, Upload, read_file_script,
                                  script_with_stdin, write_files_script)

SHELL_NAMES = ["dash"] + (["busybox"] if shutil.which("busybox") else [])


@pytest.fixture(scope="session")
def busybox_applets(tmp_path_factory) -> Path:
    """A PATH holding only busybox applets, as on an Alpine node."""
    applets = tmp_path_factory.mktemp("busybox-applets")
    for name in ("sh", "base64", "wc", "mkdir", "chmod", "chown", "mv", "rm", "cat", "printf", "head", "cp"):
        (applets / name).symlink_to(shutil.which("busybox"))
    return applets


@pytest.fixture(params=SHELL_NAMES)
def shell(request) -> tuple[str, dict | None]:
    """(program, environment): dash with GNU tools, or busybox sh with busybox applets only."""
    if request.param == "dash":
        return "sh", None
    applets = request.getfixturevalue("busybox_applets")
    return str(applets / "sh"), {"PATH": str(applets)}


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


def test_read_script(tmp_path, shell):
    path = tmp_path / "data"
    path.write_bytes(TRICKY)
    assert run_locally([read_file_script(str(path)).encode()], shell).stdout == TRICKY
    assert run_locally([read_file_script(str(tmp_path / "absent")).encode()], shell).returncode == ABSENT_RC
    assert run_locally([read_file_script(str(tmp_path)).encode()], shell).returncode == 1


def test_script_with_stdin_gives_the_script_exact_bytes(shell):
    data = TRICKY * 1000
    script = script_with_stdin("cat\nexit 7", data)
    result = run_locally([script.encode()], shell)
    assert (result.returncode, result.stdout) == (7, data)


def uploaded_bundle(tmp_path: Path) -> tuple[Upload, list[RemoteFile]]:
    """As k3swiz.ssh_upload leaves it: the binary as a temp beside its target (root), the images
    in a staging folder (a sudo user's), and a stale temp of the binary from a killed run."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/.k3s.k3swiz-dead00").write_bytes(b"half of an old upload")
    (tmp_path / "bin/.k3s.k3swiz-a1b2c3").write_bytes(b"binary")
    staging = tmp_path / "stage"
    staging.mkdir(mode=0o700)
    (staging / "0").write_bytes(TRICKY)
    binary = RemoteFile(str(tmp_path / "bin/k3s"), tmp_path / "local-k3s", 0o755)
    images = RemoteFile(str(tmp_path / "var/images/a b.tar"), tmp_path / "local-images", 0o644)
    binary.content.write_bytes(b"binary")
    images.content.write_bytes(TRICKY)
    upload = Upload([Staged(binary, str(tmp_path / "bin/.k3s.k3swiz-a1b2c3"), True),
                     Staged(images, str(staging / "0"), False)], str(staging))
    return upload, [binary, images]


def test_uploaded_files_are_committed_beside_the_inline_ones(tmp_path, shell):
    upload, bundle = uploaded_bundle(tmp_path)
    config = RemoteFile(str(tmp_path / "etc/config.yaml"), b"a: 1\n", 0o600)
    result = run_locally(write_files_script([config], uploaded=upload), shell)
    assert result.returncode == 0, result.stderr
    for item, expected in ((bundle[0], b"binary"), (bundle[1], TRICKY), (config, b"a: 1\n")):
        assert Path(item.path).read_bytes() == expected and mode_of(Path(item.path)) == item.mode
    assert mode_of(tmp_path / "var/images") == 0o755
    assert not (tmp_path / "stage").exists()  # the staging folder is gone
    assert not list(tmp_path.rglob("*.k3swiz-*"))  # and so is the stale temp of the killed run


def test_a_failed_commit_removes_the_uploaded_temps_and_the_staging_folder(tmp_path, shell):
    upload, bundle = uploaded_bundle(tmp_path)
    (tmp_path / "etc").write_text("a file where a directory is needed")
    result = run_locally(write_files_script([RemoteFile(str(tmp_path / "etc/config.yaml"), b"x", 0o600)],
                                            uploaded=upload), shell)
    assert result.returncode == 1 and b"cannot create the directory" in result.stderr
    assert not Path(bundle[0].path).exists() and not Path(bundle[1].path).exists()
    assert not (tmp_path / "stage").exists()
    assert [p.name for p in tmp_path.rglob("*.k3swiz-*")] == [".k3s.k3swiz-dead00"]  # ours gone; that one next time
