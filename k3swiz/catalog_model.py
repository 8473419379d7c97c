"""The value types of the version catalog: k3s versions, version gates and table rows.

Import them from `k3swiz.catalog`; this module only holds the types so that the
loader and the queries can share them without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)")
_CHANNEL_LINE = re.compile(r"v(\d+)\.(\d+)")
NAMED_CHANNELS = ("stable", "latest", "testing")
VERSION_FORMAT = "expected vMAJOR.MINOR.PATCH+k3sN, e.g. v1.33.6+k3s1"


@dataclass(frozen=True, order=True)
class K3sVersion:
    """A k3s release such as v1.33.6+k3s1; orders like the releases do."""

    major: int
    minor: int
    patch: int
    k3s: int = 1

    @classmethod
    def parse(cls, text: str) -> K3sVersion:
        """Parse a release tag. Strict: the `v` and the `+k3sN` suffix are required,
        because both are part of the tag the installer and the release URLs use."""
        if not isinstance(text, str):
            raise ValueError(f"k3s version must be text, not {type(text).__name__}: {VERSION_FORMAT}")
        found = _VERSION.fullmatch(text.strip())
        if found:
            return cls(*(int(part) for part in found.groups()))
        raise ValueError(_parse_hint(text.strip()))

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}+k3s{self.k3s}"

    @property
    def line(self) -> str:
        """The Kubernetes minor this release belongs to, e.g. "1.33"."""
        return f"{self.major}.{self.minor}"


def _parse_hint(text: str) -> str:
    """Say why `text` is not a release tag and how to write it."""
    if _VERSION.fullmatch("v" + text):
        return f"k3s version {text!r} lacks the leading 'v': write v{text} ({VERSION_FORMAT})"
    if is_channel(text):
        return (f"{text!r} is a channel, not a version: use it as a channel, or give a full "
                f"version ({VERSION_FORMAT})")
    if re.fullmatch(r"v?\d+\.\d+\.\d+", text):
        plain = text.lstrip("v")
        return f"k3s version {text!r} lacks the +k3sN suffix: write v{plain}+k3s1 ({VERSION_FORMAT})"
    if re.fullmatch(r"v?\d+\.\d+\.\d+-[0-9A-Za-z.]+\+k3s\d+", text):
        return f"k3s pre-release {text!r} is not supported: pick a release ({VERSION_FORMAT})"
    return f"{text!r} is not a k3s version: {VERSION_FORMAT}"


def is_channel(text: str) -> bool:
    """True for the channel names the installer accepts: stable, latest, testing, v1.NN."""
    return isinstance(text, str) and (text in NAMED_CHANNELS or bool(_CHANNEL_LINE.fullmatch(text)))


def line_key(line: str) -> tuple[int, int]:
    """Sort key of a minor line: "1.9" < "1.21"."""
    major, minor = line.split(".")
    return int(major), int(minor)


@dataclass(frozen=True)
class PerMinor:
    """A gate that was backported: the first release that has it, in each minor.

    A minor absent from the map has the feature when it is newer than every minor
    listed (it branched after the change) and lacks it when it is older.
    """

    firsts: tuple[K3sVersion, ...]

    def first_in(self, line: str) -> K3sVersion | None:
        return next((first for first in self.firsts if first.line == line), None)

    def includes(self, version: K3sVersion) -> bool:
        first = self.first_in(version.line)
        if first is not None:
            return version >= first
        newest_listed = max(line_key(first.line) for first in self.firsts)
        return line_key(version.line) > newest_listed

    @property
    def oldest(self) -> K3sVersion:
        return min(self.firsts)

    def __str__(self) -> str:
        return ", ".join(str(first) for first in sorted(self.firsts))


Gate = K3sVersion | PerMinor | None


def gate_open(gate: Gate, version: K3sVersion) -> bool:
    """Whether `version` is at or past `gate` (no gate: always)."""
    if gate is None:
        return True
    if isinstance(gate, PerMinor):
        return gate.includes(version)
    return version >= gate


@dataclass(frozen=True)
class Feature:
    """Something k3s gained (since), made stable (stable_since) or removed (until)."""

    name: str
    description: str
    source: str
    since: Gate = None
    until: K3sVersion | None = None  # first version WITHOUT it
    stable_since: Gate = None
    instead: str | None = None  # what to use once it is gone (or before it exists)


@dataclass(frozen=True)
class MinorInfo:
    """One Kubernetes minor line of k3s, e.g. 1.21."""

    line: str
    first_release: K3sVersion
    date: str | None
    newest: K3sVersion
    newest_verified: bool
    notes: tuple[str, ...]
    components: Mapping[str, str]
    traefik: str  # Traefik chart generation of the line's first release: v1 | v2 | v3
    source: str = ""
    components_release: K3sVersion | None = None  # the release `components` were read from
    first_verified: bool = True


@dataclass(frozen=True)
class AlpineRow:
    """The k3s package an Alpine release ships (package version like 1.22.15.1-r0)."""

    alpine: str
    k3s_line: str | None
    package_version: str | None
    source: str
    verified: bool = True

    @property
    def k3s_version(self) -> K3sVersion | None:
        """The release the package was built from: Alpine writes +k3sN as .N."""
        if not self.package_version:
            return None
        numbers = self.package_version.split("-")[0].split(".")
        if len(numbers) != 4:
            return None
        return K3sVersion(*(int(number) for number in numbers))


@dataclass(frozen=True)
class ApkLayout:
    """Where Alpine's k3s package puts things (used by the `apk` install method)."""

    binary: str
    conf_file: str
    conf_keys: tuple[str, ...]
    init_script: str
    log_file: str
    subpackages: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class PortRow:
    """A port k3s uses; loopback_only ports must not be opened in a firewall."""

    proto: str
    port: int
    direction: str
    purpose: str
    loopback_only: bool
    port_end: int | None = None
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.port}-{self.port_end}" if self.port_end else str(self.port)


@dataclass(frozen=True)
class TraefikKey:
    """A chart value key that only some Traefik chart generations accept."""

    path: str  # dotted, e.g. "ssl.enabled"; marks every key below it too
    generations: tuple[str, ...]
    equivalents: Mapping[str, str] = field(default_factory=dict)  # generation -> key there
    note: str = ""


@dataclass(frozen=True)
class TraefikGeneration:
    """One generation of the packaged Traefik chart (v1, v2, v3)."""

    name: str
    charts: str
    top_level_keys: tuple[str, ...]  # a hint for "unknown key" messages, not a schema
    redirect_key: str  # dotted key that turns on the HTTP -> HTTPS redirect
    source: str
    # chart v25 changed `ports.web.redirectTo: websecure` to `redirectTo.port: websecure`
    later_redirect_key: str | None = None
    later_redirect_since: Gate = None


@dataclass(frozen=True)
class ForeignKey:
    """A values key that belongs to another Traefik chart generation than the version's."""

    path: str
    generation: str
    message: str
    replacement: str | None
