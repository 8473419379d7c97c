"""Where and how to reach a node: answers, then ~/.ssh/config, then defaults.

`resolve_target` turns a node's name and address (plus whatever the answers
file says about SSH) into a fully resolved `SshTarget`. The user's OpenSSH
config is honoured the way `ssh` would, so a node that works with
`ssh <address>` works here too:

* A `Host`/`Match host` block applies when it matches the node's address OR its
  name; like OpenSSH, the first value found for a keyword wins (IdentityFile
  accumulates).
* `HostName` is taken only from blocks that matched the *address* (the address
  is then an alias); a block that matched only the name never moves the node
  away from the address the answers give.
* Supported keywords: HostName, User, Port, IdentityFile, ProxyJump,
  UserKnownHostsFile, Include. `Match` supports `all`, `host` and
  `originalhost`; a Match block with any other criterion is not applied.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field, replace
from pathlib import Path

from k3swiz.ssh_config_file import SshConfigError, parse_config_file

__all__ = ["SshTarget", "SshConfigError", "resolve_target", "parse_jump_spec"]

DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
MAX_JUMP_DEPTH = 5


def _default_known_hosts() -> Path:
    return Path("~/.ssh/known_hosts").expanduser()


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to reach one node, fully resolved."""

    node: str  # node name, for messages
    host: str
    port: int = 22
    user: str = "root"
    identity_files: tuple[Path, ...] = ()
    known_hosts: Path = field(default_factory=_default_known_hosts)
    proxy_jump: SshTarget | None = None  # the hop before this one (a chain is allowed)
    connect_timeout: float = 10.0
    command_timeout: float = 600.0

    @property
    def endpoint(self) -> str:
        """host:port as people write it ([v6]:port for IPv6 literals)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def resolve_target(
    node_name: str,
    address: str,
    *,
    user: str | None = None,
    port: int | None = None,
    identity_file: str | Path | None = None,
    known_hosts: str | Path | None = None,
    proxy_jump: str | SshTarget | None = None,
    ssh_config_path: str | Path = Path("~/.ssh/config"),
    connect_timeout: float = 10.0,
    _depth: int = 0,
) -> SshTarget:
    """Resolve one node's connection settings: explicit > ~/.ssh/config > defaults.

    `proxy_jump` may be "[user@]host[:port][,...]", "none" (ignore the config's
    ProxyJump) or an already resolved SshTarget. Jump hosts are resolved through
    the same config and inherit the explicit identity file and known_hosts.
    """
    if _depth > MAX_JUMP_DEPTH:
        raise SshConfigError(f"ProxyJump for {node_name} nests deeper than {MAX_JUMP_DEPTH} hops (a loop?)")
    config = _collect(Path(ssh_config_path).expanduser(), address, node_name)
    host = config.get("hostname", address)
    final_user = user or config.get("user") or "root"
    final_port = int(port) if port is not None else _config_port(config) or 22
    tokens = {"h": host, "n": address, "p": str(final_port), "r": final_user}
    identities = _identity_files(identity_file, config.get("identityfile", []), tokens)
    hosts_file = known_hosts or _first_word(config.get("userknownhostsfile")) or "~/.ssh/known_hosts"
    target = SshTarget(
        node=node_name,
        host=host,
        port=final_port,
        user=final_user,
        identity_files=identities,
        known_hosts=Path(_expand_tokens(str(hosts_file), tokens)).expanduser(),
        connect_timeout=connect_timeout,
    )
    jump_spec = proxy_jump if proxy_jump is not None else config.get("proxyjump")
    hop_settings = dict(identity_file=identity_file, known_hosts=target.known_hosts,
                        ssh_config_path=ssh_config_path, connect_timeout=connect_timeout)
    return _with_jump(target, address, jump_spec, hop_settings, _depth)


def parse_jump_spec(spec: str) -> tuple[str | None, str, int | None]:
    """Split one ProxyJump hop "[user@]host[:port]" (or ssh://..., [v6]:port)."""
    text = spec.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://"):].rstrip("/")
    user, _, hostport = text.rpartition("@")
    if hostport.startswith("["):  # [v6] or [v6]:port
        host, _, rest = hostport[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:  # a bare host or an unbracketed IPv6 literal
        host, port_text = hostport, ""
    if not host or (port_text and not port_text.isdigit()):
        raise SshConfigError(f"ProxyJump hop {spec!r} is not [user@]host[:port]")
    return (user or None), host, (int(port_text) if port_text else None)


def _with_jump(target: SshTarget, address: str, jump_spec, hop_settings: dict, depth: int) -> SshTarget:
    if isinstance(jump_spec, SshTarget):
        return replace(target, proxy_jump=jump_spec)
    if not jump_spec or jump_spec.lower() == "none":
        return target
    if any(parse_jump_spec(hop)[1] in (address, target.host) for hop in jump_spec.split(",")):
        raise SshConfigError(f"ProxyJump {jump_spec!r} for {address} points at {address} itself; exclude it "
                             f"from the matching Host block (e.g. `Host * !{address}`)")
    return replace(target, proxy_jump=_resolve_chain(target.node, jump_spec, hop_settings, depth))


def _resolve_chain(node_name: str, spec: str, settings: dict, depth: int) -> SshTarget:
    """ProxyJump a,b: a is contacted first, b through a, the node through b."""
    previous: SshTarget | str | None = None  # None: the first hop may use its own config's ProxyJump
    label = node_name if node_name.startswith("jump host for ") else f"jump host for {node_name}"
    for hop in spec.split(","):
        hop_user, hop_host, hop_port = parse_jump_spec(hop)
        previous = resolve_target(
            label, hop_host, user=hop_user, port=hop_port,
            proxy_jump=previous, _depth=depth + 1, **settings)
    assert isinstance(previous, SshTarget)
    return previous


def _collect(config_path: Path, address: str, node_name: str) -> dict:
    """Walk the config's blocks in order, keeping the first value of each keyword."""
    found: dict = {}
    for block in parse_config_file(config_path):
        by_address = block.matches(address)
        by_name = block.matches(node_name)
        if not (by_address or by_name):
            continue
        for keyword, value, where in block.options:
            if keyword == "hostname" and not by_address:
                continue
            if keyword == "identityfile":
                found.setdefault(keyword, []).append(value)
            elif keyword not in found:
                found[keyword] = value if keyword != "port" else (value, where)
    return found


def _config_port(config: dict) -> int | None:
    if "port" not in config:
        return None
    value, where = config["port"]
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SshConfigError(f"{where}: Port {value!r} is not a TCP port number (1-65535)")
    return int(value)


def _identity_files(explicit, from_config: list[str], tokens: dict) -> tuple[Path, ...]:
    """Explicit key replaces the config's; with neither, the usual ~/.ssh/id_* that exist."""
    if explicit:
        return (Path(_expand_tokens(str(explicit), tokens)).expanduser(),)
    if from_config:
        return tuple(Path(_expand_tokens(value, tokens)).expanduser() for value in from_config)
    ssh_dir = Path("~/.ssh").expanduser()
    return tuple(ssh_dir / name for name in DEFAULT_KEY_NAMES if (ssh_dir / name).is_file())


def _first_word(value: str | None) -> str | None:
    return value.split()[0] if value else None


def _expand_tokens(text: str, tokens: dict) -> str:
    """OpenSSH's %-tokens that make sense here: %d %u %h %n %p %r %%."""
    values = dict(tokens, d=str(Path.home()), u=getpass.getuser())
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            letter = text[i + 1]
            out.append("%" if letter == "%" else values.get(letter, "%" + letter))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
