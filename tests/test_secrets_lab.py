"""The token and the sudo password on real lab nodes: never in a remote process's argv or
environment (stand-in records AND process listings sampled while installs run), never in the
terminal, journal or error messages, and the files holding them 0600 from their first byte."""

from __future__ import annotations

import json
import os
import stat

import pytest

import k3swiz.ssh
from k3swiz import cli
from k3swiz.connect import Access
from k3swiz.secrets import Secret
from tests.apply_util import apply_file, lab_answers
from tests.faults_util import Background, wait_for
from tests.test_replay_lab import replay

pytestmark = pytest.mark.lab
TOKEN = "k3swiztesttoken" + "5e" * 20
# Every process of the node: its argv line, then its environment, one variable a line.
PROCESS_DUMP = ("for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; "
                "tr '\\0' '\\n' < $p/environ 2>/dev/null; done")


def token_file(folder, name: str) -> None:
    path = folder / f"{name}.token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(TOKEN + "\n")


def test_no_secret_in_any_remote_process_while_installs_run(lab_factory, tmp_path, record_property):
    lab, nodes = lab_factory(3, install_seconds=1.5)
    password = lab.users["sudoer"]
    token_file(tmp_path, "procs")
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="procs", user="sudoer")
    access = Access(sudo_password=Secret(password), ssh_config_path=tmp_path / "none")
    run = Background(apply_file, path, tmp_path, access=access)
    samples: list[str] = []
    while run.is_alive():
        for node in nodes:
            samples.append(node.exec(PROCESS_DUMP).stdout)
    result = run.outcome()
    assert result.ok, [(o.node, o.message) for o in result.outcomes.values()]
    during_install = [s for s in samples if "standin_install" in s or "k3s server" in s or "k3s agent" in s]
    record_property("process_samples", len(samples))
    record_property("samples_during_install", len(during_install))
    assert len(during_install) >= 3, "the sampling must see installs running"
    assert any("sudo -k -S -p  sh -s" in s for s in samples)  # the password's sudo, caught live
    leaks = [s for s in samples if TOKEN in s or password in s]
    assert leaks == []
    for node in nodes:
        for call in node.calls():
            text = json.dumps(call)
            assert TOKEN not in text and password not in text
        assert node.host_path("/etc/rancher/k3s/cluster-token").read_text().strip() == TOKEN


def test_no_secret_in_terminal_journal_or_error_messages(lab_factory, tmp_path):
    """The node itself prints both secrets in its error: k3swiz must mask them everywhere it repeats it."""
    lab, nodes = lab_factory(2)
    password = lab.users["sudoer"]
    token_file(tmp_path, "talk")
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="talk", user="sudoer")
    nodes[1].write_file_inside("/etc/k3s-standin.fail-install",
                               f"token {TOKEN} rejected, sudo password was {password}".encode())
    result = replay(path, "--yes", "--sudo-password-env", "LAB_SUDO", "--debug", env={"LAB_SUDO": password})
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "token *** rejected, sudo password was ***" in output  # the message survives, masked
    assert TOKEN not in output and password not in output
    state = tmp_path / "state" / "k3swiz"
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "summary.json" for p in files)
    for file in files:
        text = file.read_text(errors="replace")
        assert TOKEN not in text and password not in text, file
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_secret_files_are_0600_on_nodes_and_never_readable_while_written(lab_factory, tmp_path, monkeypatch):
    lab, nodes = lab_factory(1)
    node = nodes[0]
    token_file(tmp_path, "modes")
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="modes",
                       extra_cluster={"registries": {"configs": {"r.example": {"auth": {"password": "pw"}}}}})
    seen: list[tuple[str, int, int]] = []
    folder = node.host_path("/etc/rancher/k3s")
    real_script = k3swiz.ssh.write_files_script

    def watched_script(files, **kwargs):
        """Pause after each piece until the shell has acted on it; record the token temp's mode and size."""
        for index, piece in enumerate(real_script(files, **kwargs)):
            yield piece
            if b"cluster-token.k3swiz-" not in piece or index == 0:  # not the header (trap, stale temps)
                continue
            temp = wait_for(lambda: list(folder.glob(".cluster-token.k3swiz-*")), 20, "the token's temp file")[0]
            if b"base64 -d" in piece:
                wait_for(lambda: temp.stat().st_size, 20, "the token's bytes")
            info = temp.stat()
            seen.append((temp.name, stat.S_IMODE(info.st_mode), info.st_size))

    monkeypatch.setattr(k3swiz.ssh, "write_files_script", watched_script)
    assert apply_file(path, tmp_path).ok
    assert seen and all(mode == 0o600 for _, mode, _ in seen), seen
    # seen when created (empty), after its bytes arrived, at the commit: 0600 each time
    assert len(seen) >= 3 and [size > 0 for _, _, size in seen] == [False] + [True] * (len(seen) - 1), seen
    script = b"".join(real_script([k3swiz.ssh.RemoteFile("/etc/rancher/k3s/cluster-token", b"t\n", 0o600)]))
    assert script.index(b"umask 077\n") < script.index(b": > ")  # every temp is created under umask 077 or stricter
    assert b"umask 177\n: > /etc/rancher/k3s/.cluster-token.k3swiz-" in script  # born 0600, no chmod window
    for remote in ("/etc/rancher/k3s/cluster-token", "/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/registries.yaml"):
        assert stat.S_IMODE(node.host_path(remote).stat().st_mode) == 0o600, remote
    for local in (tmp_path / "modes.token", tmp_path / "modes.kubeconfig"):
        assert stat.S_IMODE(local.stat().st_mode) == 0o600, local


@pytest.mark.parametrize("debug", [True, False])
def test_forced_error_after_the_token_is_read_shows_no_secret(lab_factory, tmp_path, monkeypatch, capsys, debug):
    """An unexpected error whose message formats the files being written (a common pattern):
    neither the --debug traceback nor the crash log may show the token."""
    lab, nodes = lab_factory(1)
    token_file(tmp_path, "boom")
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="boom")

    def failing_write(self, files, **kwargs):
        raise RuntimeError(f"forced failure while writing {list(files)!r}")

    monkeypatch.setattr(k3swiz.ssh.Transport, "write_files", failing_write)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    rc = cli.main(["replay", str(path), "--yes", *(["--debug"] if debug else [])])
    out, err = capsys.readouterr()
    assert rc == 1 and "forced failure while writing" in (err if debug else "".join(
        p.read_text() for p in (tmp_path / "state").rglob("crash-*.log")))
    logs = "".join(p.read_text() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert ("Traceback" in err) == debug
    assert TOKEN not in out + err + logs
