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

    `files` travel inside the script; `uploaded` ones are already on the node. Work that
    can be shared is done once for all files (one mkdir, one chmod per mode, one size
    check), so a write costs few processes however many files it has."""
    staged = uploaded.staged if uploaded else []
    check_files([*files, *(s.file for s in staged)])
    token = token or secrets.token_hex(6)
    inline = [(item, temp_path(item.path, f"{token}{index}")) for index, item in enumerate(files)]
    arrived = [(s.file, s.uploaded if s.in_place else temp_path(s.file.path, f"{token}s{index}"))
               for index, s in enumerate(staged)]
    yield (_header([temp for _, temp in inline + arrived], uploaded.staging_dir if uploaded else None, bool(files))
           + _prepare([item for item, _ in inline + arrived], [s.uploaded for s in staged if s.in_place])
           + "".join(_copy_line(s, temp) for s, (_, temp) in zip(staged, arrived) if not s.in_place)).encode()
    for item, temp in inline:  # a piece per step, so a local read error stops before the commit
        yield _create_line(item, temp).encode()
        for chunk in item.chunks():
            line = f"base64 -d >> {quote(temp)} <<'{DATA_END}'" + _fail(item.path, "cannot store the data (disk full?)")
            yield line.encode() + base64.encodebytes(chunk) + f"{DATA_END}\n".encode()
    yield (_size_check(inline) + _modes(inline, arrived) + _commit(inline + arrived)).encode()


def _fail(path: str, reason: str) -> str:
    return f" || k3swiz_fail {quote(path)} {quote(reason)}\n"


def _header(temps: list[str], staging_dir: str | None, needs_base64: bool) -> str:
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
        + ("command -v base64 >/dev/null 2>&1 || "
           "k3swiz_fail 'the files' 'this node has no base64 command (install coreutils or busybox)'\n"
           if needs_base64 else "")
    )


def _prepare(items: list[RemoteFile], keep: list[str]) -> str:
    """No directory in the way; every parent made (0755) by one mkdir; stale temps removed."""
    text = "".join(f"if [ -d {quote(i.path)} ]; then k3swiz_fail {quote(i.path)} 'it is a directory on the node'; fi\n"
                   for i in items)
    folders = list(dict.fromkeys(posixpath.dirname(i.path) for i in items))
    if folders:  # on failure, name the first file whose folder is missing (builtins only)
        find = "".join(f"    [ -d {quote(d)} ] || k3swiz_fail {quote(_first_in(items, d))} "
                       f"{quote('cannot create the directory ' + d)}\n" for d in folders)
        text += (f"umask 022\nmkdir -p -- {' '.join(quote(d) for d in folders)} 2>/dev/null || {{\n{find}}}\n"
                 "umask 077\n")
    # A node that died mid-write (killed, power loss) never ran the EXIT trap: remove such stale
    # temps of these targets (not the ones just uploaded), so they cannot pile up run after run.
    patterns = " ".join(quote(temp_path(i.path, "")) + "*" for i in items)
    skip = "|".join(quote(path) for path in keep) or "''"
    return text + (f"set --\nfor k3swiz_t in {patterns}; do\n"
                   f'    if [ -e "$k3swiz_t" ]; then case "$k3swiz_t" in {skip}) ;; *) set -- "$@" "$k3swiz_t" ;; esac; fi\n'
                   'done\nif [ $# -gt 0 ]; then rm -f -- "$@"; fi\n') if items else text


def _first_in(items: list[RemoteFile], folder: str) -> str:
    return next(i.path for i in items if posixpath.dirname(i.path) == folder)


def _copy_line(entry: Staged, temp: str) -> str:
    """A file from the sudo user's staging folder into its temp beside the target (as root)."""
    return f"cp -- {quote(entry.uploaded)} {quote(temp)}" + _fail(entry.file.path,
                                                                  "cannot copy it from the upload folder (disk full?)")


def _create_line(item: RemoteFile, temp: str) -> str:
    """An empty temp, created with its final mode when a umask can give it (no chmod then)."""
    umask = _creation_umask(item.mode)
    create = f": > {quote(temp)}" + _fail(item.path, f"cannot create a temporary file in {posixpath.dirname(item.path)}")
    return create if umask == 0o077 else f"umask {umask:03o}\n{create}umask 077\n"


def _creation_umask(mode: int) -> int:
    """`: > file` creates 0666 & ~umask: enough for modes without x or special bits (0600, 0644)."""
    return 0o777 & ~mode if not mode & 0o7111 else 0o077


def _size_check(inline: list[tuple[RemoteFile, str]]) -> str:
    """One check of the total bytes; only if it is off, a check per file names the culprit."""
    if not inline:
        return ""
    temps = " ".join(quote(temp) for _, temp in inline)
    per_file = "".join(f"    [ \"$(wc -c < {quote(temp)})\" -eq {item.size()} ]"
                       + _fail(item.path, f"the data arrived incomplete (expected {item.size()} bytes)")
                       for item, temp in inline)
    total = sum(item.size() for item, _ in inline)
    return f'[ "$(cat -- {temps} | wc -c)" -eq {total} ] || {{\n{per_file}}}\n'


def _modes(inline: list[tuple[RemoteFile, str]], arrived: list[tuple[RemoteFile, str]]) -> str:
    """One chmod per mode for the temps a umask could not create right (uploaded ones: all); owners."""
    needs_chmod = [(item, temp) for item, temp in inline if _creation_umask(item.mode) == 0o077] + arrived
    groups: dict[int, list[tuple[RemoteFile, str]]] = {}
    for item, temp in needs_chmod:
        groups.setdefault(item.mode, []).append((item, temp))
    text = ""
    for mode, group in groups.items():
        each = "".join(f"    chmod {mode:04o} {quote(temp)}" + _fail(item.path, f"cannot set its mode to {mode:04o}")
                       for item, temp in group)
        text += f"chmod {mode:04o} -- {' '.join(quote(t) for _, t in group)} 2>/dev/null || {{\n{each}}}\n"
    for item, temp in inline + arrived:
        if item.owner:
            text += f"chown {quote(item.owner)} {quote(temp)}" + _fail(item.path, f"cannot change its owner to {item.owner}")
    return text


def _commit(pairs: list[tuple[RemoteFile, str]]) -> str:
    return "".join(f"mv -f -- {quote(temp)} {quote(item.path)}" + _fail(item.path, "cannot move the new file into place")
                   for item, temp in pairs)


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
