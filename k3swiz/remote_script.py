"""POSIX sh scripts, fed on stdin to `sh -s`, that write or read remote files.

`write_files_script` writes any number of files in ONE remote command, each
atomically: the data goes to a temp file in the target's own directory
(`.<name>.k3swiz-<random>`, created 0600 under umask 077), its size is checked,
its mode and owner are set, and only when EVERY file has arrived intact are
they renamed into place with `mv -f`. On any failure the temps are removed and
the script exits 1 with "k3swiz: cannot write PATH: reason" on stderr. Temps
that a killed node left behind (no trap runs then) are removed by the next write
of the same target.

Files uploaded ahead over SFTP (k3swiz.ssh_upload: the airgap bundle) are only
committed here: a temp already beside its target is checked and kept, a file in
a staging folder is copied into a temp beside its target; the EXIT trap removes
those temps and the staging folder too, so a failed write leaves nothing behind.

Content travels inside the script as base64 heredocs, one per ~768 KiB chunk:
a shell reading its script from a pipe may read ahead, so data must never be
read from stdin by a separate command; heredocs are parsed by the shell itself
and work alike in dash, bash and busybox ash. Chunking keeps both the local and
the remote shell's memory small for a 70 MB binary. The script is a generator
of bytes, so a local file is read chunk by chunk while it is sent.
"""

from __future__ import annotations

import base64
import posixpath
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shlex import quote

CHUNK_BYTES = 768 * 1024  # raw bytes per heredoc: ~1 MiB of base64 in the remote shell's memory
DATA_END = "K3SWIZ_DATA_END"  # heredoc delimiter: '_' is not in base64's alphabet, so never in the data
ABSENT_RC = 44  # read_file_script's exit status for "no such file"
_OWNER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?")


@dataclass(frozen=True)
class RemoteFile:
    """One file to put on a node: content is bytes or a local file to stream."""

    path: str
    content: bytes | Path = field(repr=False)  # may be a token: an error that shows a file must not show it
    mode: int
    owner: str | None = None  # "user" or "user:group"

    def size(self) -> int:
        return self.content.stat().st_size if isinstance(self.content, Path) else len(self.content)

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.content, bytes):
            for start in range(0, len(self.content), CHUNK_BYTES):
                yield self.content[start:start + CHUNK_BYTES]
            return
        with self.content.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk


@dataclass(frozen=True)
class Staged:
    """A file uploaded ahead (k3swiz.ssh_upload): where its bytes are on the node."""

    file: RemoteFile
    uploaded: str       # the remote path holding the bytes
    in_place: bool      # True: a temp beside the target (commit = rename); False: in a staging folder


@dataclass
class Upload:
    """What an SFTP upload left on the node for the write script to commit."""

    staged: list[Staged]
    staging_dir: str | None        # the sudo user's private folder; the script removes it
    failure: str | None = None     # "k3swiz: cannot write PATH: why" when the node refused a file

    @property
    def files(self) -> list[RemoteFile]:
        return [s.file for s in self.staged]


def check_files(files: Sequence[RemoteFile]) -> None:
    """Refuse what the script could not write safely, naming the offending file."""
    seen: set[str] = set()
    for item in files:
        path = item.path
        if not path.startswith("/") or path == "/" or posixpath.normpath(path) != path:
            raise ValueError(f"remote path {path!r} must be absolute and normalised (no '..', '//' or trailing '/')")
        if "\n" in path or "\0" in path:
            raise ValueError(f"remote path {path!r} contains a newline or NUL byte")
        if path in seen:
            raise ValueError(f"remote path {path} is listed twice in one write")
        if not 0 <= item.mode <= 0o7777:
            raise ValueError(f"mode {item.mode:o} for {path} is not a file mode (0 to 7777 octal)")
        if isinstance(item.content, Path) and not item.content.is_file():
            raise ValueError(f"local file {item.content} (to become {path}) does not exist or is not a file")
        if item.owner is not None and not _OWNER.fullmatch(item.owner):
            raise ValueError(f"owner {item.owner!r} for {path} is not 'user' or 'user:group'")
        seen.add(path)


def temp_path(path: str, token: str) -> str:
    """The temp name beside the target: same directory, so `mv` is an atomic rename."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name[:200]}.k3swiz-{token}")


def write_files_script(files: Sequence[RemoteFile], *, token: str | None = None,
                       uploaded: Upload | None = None) -> Iterator[bytes]:
    """The whole write script, piece by piece (see the module docstring).

    `files` travel inside the script; `uploaded` ones are already on the node."""
    staged = uploaded.staged if uploaded else []
    check_files([*files, *(s.file for s in staged)])
    token = token or secrets.token_hex(6)
    temps = [temp_path(item.path, f"{token}{index}") for index, item in enumerate(files)]
    staged_temps = [s.uploaded if s.in_place else temp_path(s.file.path, f"{token}s{index}")
                    for index, s in enumerate(staged)]
    yield _header(temps + staged_temps, uploaded.staging_dir if uploaded else None).encode()
    for item, temp in zip(files, temps):
        yield from _file_part(item, temp)
    for entry, temp in zip(staged, staged_temps):
        yield _staged_part(entry, temp).encode()
    pairs = [*zip(files, temps), *((s.file, temp) for s, temp in zip(staged, staged_temps))]
    commits = [f"mv -f -- {quote(temp)} {quote(item.path)} || "
               f"k3swiz_fail {quote(item.path)} 'cannot move the new file into place'\n"
               for item, temp in pairs]
    yield "".join(commits).encode()


def _header(temps: list[str], staging_dir: str | None) -> str:
    removal = "rm -f -- " + (" ".join(quote(temp) for temp in temps) or "/nonexistent/k3swiz")
    if staging_dir:
        removal += f"; rm -rf -- {quote(staging_dir)}"
    return (
        "umask 077\n"
        # However the shell ends (failure, signal, or its input cut short by a dropped
        # connection), no temp stays behind; after the commit they no longer exist.
        f"trap {quote(removal)} EXIT\n"
        "k3swiz_fail() {\n"
        "    printf 'k3swiz: cannot write %s: %s\\n' \"$1\" \"$2\" >&2\n"
        "    exit 1\n"
        "}\n"
        "trap 'k3swiz_fail \"the files\" \"interrupted by a signal\"' HUP INT TERM\n"
        "command -v base64 >/dev/null 2>&1 || "
        "k3swiz_fail 'the files' 'this node has no base64 command (install coreutils or busybox)'\n"
    )


def _file_part(item: RemoteFile, temp: str) -> Iterator[bytes]:
    """Create the temp, append the data chunk by chunk, check its size, set mode and owner."""
    path, qtemp = quote(item.path), quote(temp)
    directory = quote(posixpath.dirname(item.path))
    size = item.size()

    def fail(reason: str) -> str:
        return f" || k3swiz_fail {path} {quote(reason)}\n"

    head = (
        f"if [ -d {path} ]; then k3swiz_fail {path} 'it is a directory on the node'; fi\n"
        # umask 022 in a subshell: missing parents are created 0755, not 0700.
        f"(umask 022 && mkdir -p -- {directory})" + fail(f"cannot create the directory {posixpath.dirname(item.path)}")
        # A node that died mid-upload (killed, power loss) never ran the EXIT trap: remove
        # such stale temps of this same target first, so they cannot pile up run after run.
        + f"rm -f -- {quote(temp_path(item.path, ''))}* 2>/dev/null || :\n"
        + f": > {qtemp}" + fail(f"cannot create a temporary file in {posixpath.dirname(item.path)}")
    )
    yield head.encode()
    for chunk in item.chunks():
        line = f"base64 -d >> {qtemp} <<'{DATA_END}'" + fail("cannot store the data (disk full?)")
        yield line.encode() + base64.encodebytes(chunk) + f"{DATA_END}\n".encode()
    tail = (
        f"k3swiz_size=$(wc -c < {qtemp}) && [ $k3swiz_size -eq {size} ]"
        + fail(f"the data arrived incomplete (expected {size} bytes)")
        + f"chmod {item.mode:04o} {qtemp}" + fail(f"cannot set its mode to {item.mode:04o}")
    )
    if item.owner:
        tail += f"chown {quote(item.owner)} {qtemp}" + fail(f"cannot change its owner to {item.owner}")
    yield tail.encode()


def _staged_part(entry: Staged, temp: str) -> str:
    """Bring an uploaded file to its temp beside the target (copy from staging), check, set mode."""
    item = entry.file
    path, qtemp = quote(item.path), quote(temp)
    stale = quote(temp_path(item.path, ""))

    def fail(reason: str) -> str:
        return f" || k3swiz_fail {path} {quote(reason)}\n"

    text = f"if [ -d {path} ]; then k3swiz_fail {path} 'it is a directory on the node'; fi\n"
    if entry.in_place:  # stale temps of this target, but not the one just uploaded
        text += (f'for k3swiz_t in {stale}*; do if [ "$k3swiz_t" != {qtemp} ] && [ -e "$k3swiz_t" ]; '
                 'then rm -f -- "$k3swiz_t"; fi; done\n')
    else:
        directory = posixpath.dirname(item.path)
        text += (f"(umask 022 && mkdir -p -- {quote(directory)})" + fail(f"cannot create the directory {directory}")
                 + f"rm -f -- {stale}* 2>/dev/null || :\n"
                 + f"cp -- {quote(entry.uploaded)} {qtemp}" + fail("cannot copy it from the upload folder (disk full?)"))
    text += (f"k3swiz_size=$(wc -c < {qtemp}) && [ $k3swiz_size -eq {item.size()} ]"
             + fail(f"the data arrived incomplete (expected {item.size()} bytes)")
             + f"chmod {item.mode:04o} {qtemp}" + fail(f"cannot set its mode to {item.mode:04o}"))
    if item.owner:
        text += f"chown {quote(item.owner)} {qtemp}" + fail(f"cannot change its owner to {item.owner}")
    return text


def read_file_script(path: str) -> str:
    """Prints the file's bytes; exits ABSENT_RC when it does not exist."""
    quoted = quote(path)
    return (
        f"if [ -d {quoted} ]; then printf 'k3swiz: %s is a directory\\n' {quoted} >&2; exit 1; fi\n"
        f"[ -e {quoted} ] || exit {ABSENT_RC}\n"
        f"exec cat -- {quoted}\n"
    )


def script_with_stdin(script: str, data: bytes) -> str:
    """The script, run in a subshell whose stdin is `data`.

    The data cannot simply follow the script on the channel's stdin: dash and
    busybox read their script ahead in blocks and would swallow (or execute) it.
    So it travels as a base64 heredoc piped into the subshell.
    """
    body = script if script.endswith("\n") else script + "\n"
    encoded = base64.encodebytes(data).decode()
    return f"base64 -d <<'{DATA_END}' | (\n{encoded}{DATA_END}\n{body})\n"
