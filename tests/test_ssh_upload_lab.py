"""Local files (the airgap bundle) over SFTP on real lab nodes: straight to a temp beside the
target for root, through a private staging folder for sudo users; then one write script
commits them. Nothing half-written, no temp, no staging folder may stay behind."""

from __future__ import annotations

import os

import pytest

from k3swiz import ssh as ssh_module
from k3swiz.remote_script import RemoteFile
from k3swiz.ssh_upload import STAGING_PARENT, STAGING_PREFIX, SftpUnavailable
from tests.lab import reset_node
from tests.ssh_lab_helpers import transport_for

pytestmark = pytest.mark.lab
BINARY = "/usr/local/bin/k3s"
IMAGES = "/var/lib/rancher/k3s/agent/images/images.tar"


def staging_folders(node) -> list[str]:
    return [name for name in node.exec(f"ls -A {STAGING_PARENT}").stdout.split() if name.startswith(STAGING_PREFIX)]


def temps(node) -> list[str]:
    return node.exec("find /usr/local/bin /var/lib/rancher /etc/rancher -name '*.k3swiz-*'").stdout.split()


@pytest.fixture
def bundle(tmp_path):
    binary, images = tmp_path / "k3s", tmp_path / "images.tar"
    binary.write_bytes(os.urandom(3 << 20))
    images.write_bytes(os.urandom(1 << 20) + b"\0" * 1000)
    return [RemoteFile(BINARY, binary, 0o755), RemoteFile(IMAGES, images, 0o644),
            RemoteFile("/etc/rancher/k3s/config.yaml", b"node-name: x\n", 0o600)]


@pytest.mark.parametrize("user", ["root", "deploy", "sudoer"])
def test_local_files_go_over_sftp_and_land_like_the_others(lab5, bundle, user):
    node = lab5.node("n5")
    reset_node(node)
    with transport_for(lab5, node, user, lab5.users[user]) as ssh:
        result = ssh.write_files(bundle)
        assert result.rc == 0, result.stderr
    for item in bundle:
        on_node = node.host_path(item.path)
        expected = item.content if isinstance(item.content, bytes) else item.content.read_bytes()
        assert on_node.read_bytes() == expected
        assert (on_node.stat().st_mode & 0o7777, on_node.stat().st_uid) == (item.mode, 0)
    assert node.host_path("/var/lib/rancher/k3s/agent/images").stat().st_mode & 0o777 == 0o755
    assert ssh.stats.transfers == 1 and ssh.stats.files_written == 3
    assert ssh.stats.bytes_up > (4 << 20)  # the bundle's bytes are counted once
    assert temps(node) == [] and staging_folders(node) == []


def test_a_failing_commit_removes_uploaded_temps_and_the_staging_folder(lab5, bundle):
    node = lab5.node("n5")
    for user in ("root", "deploy"):
        reset_node(node)
        node.exec("mkdir -p /var/lib/rancher/k3s/agent/images/images.tar")  # a directory in the way
        with transport_for(lab5, node, user) as ssh:
            result = ssh.write_files(bundle)
        assert result.rc == 1 and f"cannot write {IMAGES}: it is a directory on the node" in result.stderr
        assert not node.host_path(BINARY).exists(), user  # one commit for all: the binary did not land
        assert temps(node) == [] and staging_folders(node) == [], user


def test_a_refused_upload_names_the_path_and_leaves_nothing(lab5, bundle):
    node = lab5.node("n5")
    reset_node(node)
    node.exec("mkdir -p /var/lib/rancher/k3s/agent && chattr +i /var/lib/rancher/k3s/agent 2>/dev/null"
              " || mount -o bind,ro /var/lib/rancher/k3s/agent /var/lib/rancher/k3s/agent")
    try:
        with transport_for(lab5, node) as ssh:
            result = ssh.write_files(bundle)
    finally:
        node.exec("chattr -i /var/lib/rancher/k3s/agent 2>/dev/null; umount /var/lib/rancher/k3s/agent 2>/dev/null")
    assert result.rc == 1
    assert result.stderr.startswith(f"k3swiz: cannot write {IMAGES}: cannot create the directory "
                                    "/var/lib/rancher/k3s/agent/images ("), result.stderr
    assert not node.host_path(BINARY).exists() and temps(node) == []


def test_stale_temps_and_staging_folders_of_a_killed_run_are_removed(lab5, bundle):
    node = lab5.node("n5")
    reset_node(node)
    deploy = node.exec("id -u deploy").stdout.strip()
    node.exec(f"touch /usr/local/bin/.k3s.k3swiz-dead01 && mkdir -m 700 {STAGING_PARENT}/{STAGING_PREFIX}dead "
              f"&& touch {STAGING_PARENT}/{STAGING_PREFIX}dead/0 && chown -R {deploy} {STAGING_PARENT}/{STAGING_PREFIX}dead "
              f"&& mkdir {STAGING_PARENT}/{STAGING_PREFIX}roots")  # root's: not deploy's to remove
    with transport_for(lab5, node, "deploy") as ssh:
        assert ssh.write_files(bundle).rc == 0
    assert temps(node) == [] and staging_folders(node) == [f"{STAGING_PREFIX}roots"]
    node.exec(f"rmdir {STAGING_PARENT}/{STAGING_PREFIX}roots")


def test_a_node_without_sftp_gets_the_files_inside_the_script(lab5, bundle, monkeypatch):
    def no_sftp(*args, **kwargs):
        raise SftpUnavailable("subsystem request failed on channel 0")
    monkeypatch.setattr(ssh_module, "upload", no_sftp)
    node = lab5.node("n5")
    reset_node(node)
    with transport_for(lab5, node, "deploy") as ssh:
        assert ssh.write_files(bundle).rc == 0
    assert node.host_path(BINARY).read_bytes() == bundle[0].content.read_bytes()
    assert ssh.stats.transfers == 0 and ssh.stats.commands == 1
