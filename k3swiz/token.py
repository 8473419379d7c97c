"""Cluster tokens: generate, read from a file or the environment, check the format.

A new token is two random UUIDv4s as 64 hex characters (244 random bits).
uuid-utils 1.2 builds uuid4 with Rust's `rand::ThreadRng`: ChaCha12, a CSPRNG
seeded and periodically reseeded from the OS (`getrandom`), checked by reading
the symbols of its extension module. Python's own `uuid.uuid4` would draw from
os.urandom; both are fine for a secret, we keep the project's dependency.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import uuid_utils

from .answers import Answers, TokenRef
from .problems import Report
from .secrets import Secret

MAX_TOKEN_FILE = 64 * 1024
FULL_TOKEN = re.compile(r"^K10(?P<hash>[0-9a-f]{64})::(?P<user>[^:\s]+):(?P<password>\S+)$")


def generate_token() -> Secret:
    return Secret(uuid_utils.uuid4().hex + uuid_utils.uuid4().hex)


def check_token_format(token: str) -> str | None:
    """Why k3s would refuse this token, or None. (k3s treats anything not K10... as a password.)"""
    if not token:
        return "the token is empty"
    if any(c.isspace() for c in token) or any(c in token for c in "\"'"):
        return "the token contains whitespace or quotes"
    if token.startswith("K10") and not FULL_TOKEN.match(token):
        return ("starts with K10, so k3s parses it as a full token, but it is not "
                "K10<64 hex CA hash>::<user>:<password>")
    return None


def create_token_file(path: Path) -> Secret:
    """Create the file with a new token, 0600 from the first byte (O_EXCL: never overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token.reveal() + "\n")
    return token


@dataclass
class TokenSource:
    """Where the token comes from, resolved against the answers file's folder."""
    ref: TokenRef
    answers: Answers

    @property
    def path(self) -> Path | None:
        return self.answers.local_path(self.ref.file) if self.ref.file else None

    def describe(self) -> str:
        if self.ref.file:
            return f"file {self.ref.file}"
        if self.ref.env:
            return f"environment variable {self.ref.env}"
        return "inline value in the answers file"

    def read(self, *, create: bool = False) -> Secret | None:
        """The token, or None when it is not available (yet). Creates a missing file if asked."""
        if self.ref.value:
            return self.ref.value
        if self.ref.env:
            value = os.environ.get(self.ref.env, "").strip()
            return Secret(value) if value else None
        path = self.path
        if path is None:
            return None
        if not path.exists():
            return create_token_file(path) if create else None
        if not path.is_file() or path.stat().st_size > MAX_TOKEN_FILE:
            return None   # a folder, a device or a huge file holds no token; validation says so
        return Secret(path.read_text(encoding="utf-8", errors="replace").strip())


def check_token(answers: Answers, report: Report) -> None:
    """Validation rules for cluster.token (nothing is created here)."""
    ref = answers.cluster.token
    where = "cluster.token"
    given = [k for k in ("file", "env", "value") if getattr(ref, k)]
    if not given:
        report.add(where, "no token source", f"add `token: {{file: ./{answers.cluster.name}.token}}` "
                   "(created with a new token) or `token: {env: K3S_TOKEN}`")
        return
    if len(given) > 1:
        report.add(where, f"give one token source, not {' and '.join(given)}", "keep one of them")
        return
    source = TokenSource(ref, answers)
    if ref.value:
        report.warn(f"{where}.value", "the token is stored inline in the answers file",
                    "prefer token.file or token.env; keep this file private (0600)")
    if ref.env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ref.env):
        report.add(f"{where}.env", f"`{ref.env}` is not an environment variable name", "e.g. K3S_TOKEN")
        return
    if ref.file and source.path and source.path.exists():
        mode = stat.S_IMODE(source.path.stat().st_mode)
        if mode & 0o077:
            report.warn(f"{where}.file", f"{ref.file} is readable by group or others (mode {mode:04o})",
                        f"chmod 600 {ref.file}")
    if answers.cluster.mode == "join" and source.read() is None:
        # The file is fine as written; the token must be there by the time it is applied.
        report.warn(where, f"joining an existing cluster needs its token, but {source.describe()} "
                    "gives none here", "provide it before `k3swiz replay` (a server's "
                    "/var/lib/rancher/k3s/server/token)")
    token = source.read()
    if token is not None:
        why = check_token_format(token.reveal())
        if why:
            report.add(where, f"token from {source.describe()}: {why}",
                       "use `k3swiz token` for a new one, or the full token from a server")
