"""Reading an OpenSSH client config file into ordered, matchable blocks.

Only what k3swiz needs: `Host` and `Match` blocks, `Include`, keyword/value
pairs ("Keyword value" or "Keyword=value", double quotes allowed). Patterns use
OpenSSH's `*` and `?` (not fnmatch's [...]), are case-insensitive, and `!pat`
excludes. Lines before the first Host/Match apply to every host.
"""

from __future__ import annotations

import glob
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

WANTED = {"hostname", "user", "port", "identityfile", "proxyjump", "userknownhostsfile"}
MAX_INCLUDE_DEPTH = 8


class SshConfigError(ValueError):
    """The SSH config (or a ProxyJump spec) cannot be understood; says file and line."""


@dataclass
class ConfigBlock:
    """One Host/Match block: a condition and the options under it, in file order."""

    patterns: tuple[str, ...] = ("*",)  # Host patterns ("!x" negates)
    applies_always: bool = False  # Match all
    never_applies: bool = False  # a Match criterion we do not evaluate
    options: list[tuple[str, str, str]] = field(default_factory=list)  # (keyword, value, "file:line")

    def matches(self, name: str) -> bool:
        if self.never_applies:
            return False
        if self.applies_always:
            return True
        positive = False
        for pattern in self.patterns:
            if pattern.startswith("!"):
                if _pattern_matches(pattern[1:], name):
                    return False
            elif _pattern_matches(pattern, name):
                positive = True
        return positive


def parse_config_file(path: Path) -> list[ConfigBlock]:
    """The blocks of an ssh config file; a missing file is an empty config."""
    blocks = [ConfigBlock()]
    _read_into(Path(path), blocks, depth=0)
    return blocks


def _read_into(path: Path, blocks: list[ConfigBlock], depth: int) -> None:
    if depth > MAX_INCLUDE_DEPTH:
        raise SshConfigError(f"{path}: Include nests deeper than {MAX_INCLUDE_DEPTH} levels (a loop?)")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SshConfigError(f"{path}: cannot read the SSH config ({exc.strerror})") from exc
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        keyword, args = _split_line(line, where)
        if keyword is None:
            continue
        if keyword == "host":
            blocks.append(ConfigBlock(patterns=tuple(args)))
        elif keyword == "match":
            blocks.append(_match_block(args))
        elif keyword == "include":
            for pattern in args:
                for included in _include_paths(pattern, path):
                    _read_into(included, blocks, depth + 1)
        elif keyword in WANTED:
            blocks[-1].options.append((keyword, " ".join(args), where))


def _split_line(line: str, where: str) -> tuple[str | None, list[str]]:
    text = line.strip()
    if not text or text.startswith("#"):
        return None, []
    match = re.match(r"([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$", text)
    if not match:
        raise SshConfigError(f"{where}: expected 'Keyword value', got {text!r}")
    try:
        args = shlex.split(match.group(2), comments=True, posix=True)
    except ValueError as exc:
        raise SshConfigError(f"{where}: {exc} in {text!r}") from exc
    if not args:
        raise SshConfigError(f"{where}: {match.group(1)} needs a value")
    return match.group(1).lower(), args


def _match_block(args: list[str]) -> ConfigBlock:
    """`Match all` and `Match [original]host a,b` are evaluated; anything else never applies."""
    words = [word.lower() for word in args]
    if words == ["all"]:
        return ConfigBlock(applies_always=True)
    if len(args) == 2 and words[0] in ("host", "originalhost"):
        return ConfigBlock(patterns=tuple(args[1].split(",")))
    return ConfigBlock(never_applies=True)


def _include_paths(pattern: str, including_file: Path) -> list[Path]:
    """Relative Include paths are relative to ~/.ssh (OpenSSH's rule for user configs)."""
    expanded = Path(pattern).expanduser()
    if not expanded.is_absolute():
        expanded = Path("~/.ssh").expanduser() / expanded
    return [Path(found) for found in sorted(glob.glob(str(expanded))) if Path(found) != including_file]


def _pattern_matches(pattern: str, name: str) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, flags=re.IGNORECASE) is not None
