"""Big local files (the airgap bundle) to a node over SFTP, on the connection the scripts use.

The write script carries file contents as base64 heredocs (k3swiz.remote_script):
right for small files and secrets, but ~4x slower than SFTP for a 70 MB binary,
and ~50x slower where /bin/sh is bash (it reads a piped script byte by byte).
So files whose content is a local Path are uploaded ahead, and the write script
that follows only commits them (checks size, sets mode, renames into place):

* when the script runs as the login user (root, or sudo=False), each file goes
  straight to its temp name beside the target (`.<name>.k3swiz-<random>`), so
  the rename is atomic and nothing but the temp exists until the commit;
* a sudo user cannot write there, so the files go into a private staging
  folder it owns (/var/tmp/k3swiz-upload-<random>, 0700, created by SFTP's
  exclusive mkdir like mktemp -d); the root script copies each into a temp
  beside its target and removes the folder, also when it fails.

A node killed mid-upload leaves a temp (no trap runs): the next commit of that
target removes stale temps, and the next upload removes this user's stale
staging folders. An SFTP upload is one channel on the node's one connection.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
import socket
import stat
from collections.abc import Sequence

import paramiko

from k3swiz.remote_script import RemoteFile, Staged, Upload, temp_path

STAGING_PARENT = "/var/tmp"  # on disk on every distribution (/tmp is often a small tmpfs)
STAGING_PREFIX = "k3swiz-upload-"


class SftpUnavailable(Exception):
    """The node offers no SFTP subsystem (e.g. no sftp-server installed): use the write script."""


class UploadInterrupted(Exception):
    """The connection dropped (or stalled past the timeout) during the upload."""


class _Refused(Exception):
    """The node answered an SFTP request with an error: the message says what could not be done."""


def upload(ssh: paramiko.Transport, files: Sequence[RemoteFile], *, in_place: bool, timeout: float) -> Upload:
    """Send `files` (local Path contents) ahead of the write script that commits them.

    A file the node refuses (read-only folder, disk full) ends the upload with `failure`
    set and what was sent removed again. Raises SftpUnavailable or UploadInterrupted.
    """
    sftp = _open_sftp(ssh, timeout)
    result = Upload([], None)
    try:
        _send_all(sftp, files, in_place, result)
    except _Refused as refused:
        result.failure = str(refused)
        discard_with(sftp, result)
    except (EOFError, OSError, paramiko.SSHException) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, socket.timeout) and _link_alive(sftp):
            discard_with(sftp, result)
            raise  # a local error (reading the file): the caller reports it like any other
        raise UploadInterrupted(_lost_reason(ssh, exc)) from None
    finally:
        _close_quietly(sftp)
    return result


def _send_all(sftp: paramiko.SFTPClient, files: Sequence[RemoteFile], in_place: bool, result: Upload) -> None:
    if not in_place:
        with _refusal(sftp, f"k3swiz: cannot write the files: cannot create a folder in {STAGING_PARENT}"):
            result.staging_dir = _make_staging_dir(sftp)
            _remove_stale_staging(sftp, result.staging_dir)
    for index, item in enumerate(files):
        if result.staging_dir:
            destination = f"{result.staging_dir}/{index}"
        else:
            folder = posixpath.dirname(item.path)
            with _refusal(sftp, f"k3swiz: cannot write {item.path}: cannot create the directory {folder}"):
                _makedirs(sftp, folder)
            destination = temp_path(item.path, secrets.token_hex(6))
        result.staged.append(Staged(item, destination, in_place))
        with item.content.open("rb") as local:  # opened here: a local error is not the node's refusal
            with _refusal(sftp, f"k3swiz: cannot write {item.path}: "
                                f"cannot upload it to {posixpath.dirname(destination)}"):
                sftp.putfo(local, destination, file_size=item.size(), confirm=True)  # confirm checks the size


@contextlib.contextmanager
def _refusal(sftp: paramiko.SFTPClient, what: str):
    """Turn an SFTP status error (permission, read-only, no space) on a live link into _Refused."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, socket.timeout) or not _link_alive(sftp):
            raise
        raise _Refused(f"{what} ({_reason(exc)})") from None


def _link_alive(sftp: paramiko.SFTPClient) -> bool:
    channel = sftp.get_channel()
    return channel.get_transport().is_active() and not channel.closed


def discard(ssh: paramiko.Transport, uploaded: Upload, timeout: float) -> None:
    """Remove what an upload left on the node (its node was skipped); best effort."""
    if not ssh.is_active() or not (uploaded.staged or uploaded.staging_dir):
        return
    try:
        sftp = _open_sftp(ssh, timeout)
    except (SftpUnavailable, UploadInterrupted):
        return
    try:
        discard_with(sftp, uploaded)
    finally:
        _close_quietly(sftp)


def discard_with(sftp: paramiko.SFTPClient, uploaded: Upload) -> None:
    for staged in uploaded.staged:
        _quietly(sftp.remove, staged.uploaded)
    if uploaded.staging_dir:
        _quietly(sftp.rmdir, uploaded.staging_dir)


def _open_sftp(ssh: paramiko.Transport, timeout: float) -> paramiko.SFTPClient:
    try:
        sftp = paramiko.SFTPClient.from_transport(ssh)
    except (EOFError, OSError, paramiko.SSHException) as exc:
        if not ssh.is_active():
            raise UploadInterrupted(_lost_reason(ssh, exc)) from None
        raise SftpUnavailable(str(exc) or type(exc).__name__) from None
    if sftp is None:
        raise SftpUnavailable("the node refused the SFTP subsystem")
    sftp.get_channel().settimeout(timeout)  # per request: a node frozen mid-upload ends it
    return sftp


def _makedirs(sftp: paramiko.SFTPClient, folder: str) -> None:
    """mkdir -p over SFTP (0755, like the write script's own)."""
    try:
        if stat.S_ISDIR(sftp.stat(folder).st_mode):
            return
    except FileNotFoundError:
        pass
    _makedirs(sftp, posixpath.dirname(folder))
    try:
        sftp.mkdir(folder, 0o755)
    except OSError as refused:
        try:
            if stat.S_ISDIR(sftp.stat(folder).st_mode):
                return  # made by someone else meanwhile: fine
        except OSError:
            pass
        raise refused from None


def _make_staging_dir(sftp: paramiko.SFTPClient) -> str:
    folder = f"{STAGING_PARENT}/{STAGING_PREFIX}{secrets.token_hex(8)}"
    sftp.mkdir(folder, 0o700)  # fails if it exists: nobody can slip in a folder of their own
    if stat.S_IMODE(sftp.stat(folder).st_mode) & 0o077:
        sftp.chmod(folder, 0o700)  # a node whose sftp-server ignored the mode; still empty
    return folder


def _remove_stale_staging(sftp: paramiko.SFTPClient, ours: str) -> None:
    """Staging folders of this user that a killed node left (no trap ran there). Two runs of
    k3swiz against one node at once are not supported anyway: their installs would collide."""
    own_uid = sftp.stat(ours).st_uid
    for entry in sftp.listdir_attr(STAGING_PARENT):
        folder = f"{STAGING_PARENT}/{entry.filename}"
        if (entry.filename.startswith(STAGING_PREFIX) and folder != ours and entry.st_uid == own_uid
                and stat.S_ISDIR(entry.st_mode or 0)):
            for name in sftp.listdir(folder):
                _quietly(sftp.remove, f"{folder}/{name}")
            _quietly(sftp.rmdir, folder)


def _reason(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc) or type(exc).__name__


def _lost_reason(ssh: paramiko.Transport, exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "the node stopped answering during an upload"
    if isinstance(exc, EOFError) or not ssh.is_active():  # EOFError: paramiko's word for a dead link
        return "the connection dropped during an upload"
    return f"the upload failed ({exc or type(exc).__name__})"


def _close_quietly(sftp: paramiko.SFTPClient) -> None:
    try:
        sftp.close()
    except (OSError, EOFError, paramiko.SSHException):
        pass  # the link is gone already: nothing left to close on the node


def _quietly(action, path: str) -> None:
    try:
        action(path)
    except (OSError, EOFError, paramiko.SSHException):
        pass
