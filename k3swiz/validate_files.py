"""Validation of the local files an answers file names: the install bundle, SSH keys, the token file.

Every check stats a path once and never raises: pathlib's is_file()/exists() do raise for a
name that is too long, and a directory or a device (e.g. /dev/zero as the token file) must be
refused before anything reads it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .answers import Answers
from .problems import Report

MAX_TOKEN_FILE = 64 * 1024  # a full token is ~110 bytes; anything this big is the wrong file


def check_install(answers: Answers, report: Report) -> None:
    install = answers.install
    files: list[tuple[str, str | None]] = []
    if install.method == "airgap":
        if install.airgap is None:
            report.add("install.airgap", "method airgap needs the bundle's files",
                       "add airgap: {k3s-binary: ./k3s, images: ./k3s-airgap-images-amd64.tar.zst, install-script: ./install.sh}")
        else:
            for key in ("k3s-binary", "install-script"):
                if not getattr(install.airgap, key.replace("-", "_")):
                    report.add(f"install.airgap.{key}", "missing", "the local path of the file")
            files += [(f"install.airgap.{k}", getattr(install.airgap, k.replace("-", "_")))
                      for k in ("k3s-binary", "images", "install-script")]
            images_name = Path(install.airgap.images or "x").name
            if any(c in images_name for c in "\n\r"):
                # Its name becomes a file name on the nodes, where the writer refuses line breaks.
                report.add("install.airgap.images", f"the file name {images_name!r} has a line break",
                           "rename the images archive, e.g. k3s-airgap-images-amd64.tar.zst")
    elif install.airgap is not None:
        report.warn("install.airgap", f"ignored with method {install.method}", "remove it or use method: airgap")
    if install.script_from == "local":
        if not install.install_script:
            report.add("install.install-script", "script-from: local needs the local install.sh", "")
        files.append(("install.install-script", install.install_script))
    files.append(("ssh.identity-file", answers.ssh.identity_file))
    files += [(f"nodes[{i}].ssh.identity-file", n.ssh.identity_file) for i, n in enumerate(answers.nodes) if n.ssh]
    for path, value in files:
        problem = local_file_problem(answers, value) if value else None
        if problem:
            report.add(path, f"{value}: {problem}", "check the path (relative paths start at the answers file)")


def local_file_problem(answers: Answers, value: str, *, missing_ok: bool = False) -> str | None:
    """Why a local path from the answers is not a readable regular file, or None."""
    try:
        info = os.stat(answers.local_path(value))
    except FileNotFoundError:
        return None if missing_ok else "no such file"
    except ValueError:
        return "the path contains a NUL byte"
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return "a folder in the path is a file"
        return f"cannot use it ({exc.strerror or exc})"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, pipe or socket)"
    return None


def check_token_file(answers: Answers, report: Report) -> bool:
    """A token file must be a small regular file (or missing: then it is created); False: stop there."""
    ref = answers.cluster.token
    if not ref.file:
        return True
    problem = local_file_problem(answers, ref.file, missing_ok=True)
    path = answers.local_path(ref.file)
    if problem is None and path.exists() and path.stat().st_size > MAX_TOKEN_FILE:
        problem = f"is larger than {MAX_TOKEN_FILE // 1024} KiB: not a token file"
    if problem:
        report.add("cluster.token.file", f"{ref.file}: {problem}",
                   "give the path of the file holding the token (created 0600 when missing)")
        return False
    return True
