"""`k3swiz etcd`: snapshots through `k3s etcd-snapshot` on a server, etcdctl's environment, the
member list (k3s-facts §8). The restore is in etcd_restore.py.

Every etcd job probes its servers with one read-only script (is k3s running, its version,
the snapshot files, the reset flag, etcdctl, the token file's hash) and plans from that.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from .answers import Answers, Node
from .catalog import K3sVersion, load_catalog
from .day2_run import Task
from .node_paths import DEFAULT_DATA_DIR, data_dir, db_dir, snapshot_dir
from .plan import NodePlan, Plan, Wave, version_label
from .problems import InputError, Problem
from .render import TOKEN_FILE

SUBCOMMANDS = ("save", "list", "delete", "prune")
SAVED = re.compile(r"Snapshot (\S+?) saved")
NEWEST = "k3swiz-newest-snapshot="


@dataclass
class ServerFacts:
    active: bool = False
    version: str | None = None
    snapshots: list[str] = field(default_factory=list)
    reset_flag: bool = False
    etcdctl: str | None = None
    token_sha256: str | None = None      # of the token file on the node


def require_etcd(answers: Answers) -> None:
    if answers.cluster.datastore != "etcd":
        raise InputError([Problem("cluster.datastore", "this cluster uses SQLite: there is no etcd to snapshot",
                                  "etcd snapshots need datastore: etcd")])
    if not answers.servers:
        raise InputError([Problem("nodes", "no server in the answers file", "etcd runs on servers")])


def pick_server(answers: Answers, name: str | None) -> Node:
    if name is None:
        return answers.init_server or answers.servers[0]
    for node in answers.servers:
        if node.name == name:
            return node
    raise InputError([Problem("", f"--node {name}: no such server in the answers file",
                              f"servers: {', '.join(n.name for n in answers.servers)}")])


def server_probe(answers: Answers, node: Node) -> str:
    folder = shlex.quote(snapshot_dir(answers, node))
    return (f'if [ -x /sbin/openrc-run ]; then rc-service k3s status >/dev/null 2>&1 && echo active=1\n'
            f'else systemctl is-active --quiet k3s 2>/dev/null && echo active=1; fi\n'
            "if command -v k3s >/dev/null 2>&1; then echo \"version=$(k3s --version | head -n 1 | awk '{print $3}')\"; fi\n"
            f'if [ -d {folder} ]; then for f in {folder}/*; do [ -f "$f" ] && echo "snapshot=${{f##*/}}"; done; fi\n'
            f'[ -e {shlex.quote(db_dir(answers, node))}/reset-flag ] && echo reset_flag=1\n'
            'command -v etcdctl >/dev/null 2>&1 && echo "etcdctl=$(command -v etcdctl)"\n'
            f'[ -f {TOKEN_FILE} ] && echo "token_sha256=$(sha256sum {TOKEN_FILE} | cut -d" " -f1)"\n'
            "true\n")


def parse_server_probe(text: str) -> ServerFacts:
    facts = ServerFacts()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "active":
            facts.active = True
        elif key == "version":
            facts.version = value or None
        elif key == "snapshot":
            facts.snapshots.append(value)
        elif key == "reset_flag":
            facts.reset_flag = True
        elif key in ("etcdctl", "token_sha256"):
            setattr(facts, key, value or None)
    return facts


def has_snapshot_cli(answers: Answers, installed: str | None) -> bool:
    """`etcd-snapshot save/ls/delete/prune` subcommands (1.21+); judged by the installed k3s."""
    catalog = load_catalog()
    try:
        version = K3sVersion.parse(installed) if installed else catalog.resolve(
            answers.cluster.k3s.version or answers.cluster.k3s.channel or "stable")
    except ValueError:
        return True
    return catalog.supports("etcd-snapshot-cli", version)


def dir_flags(answers: Answers, node: Node) -> list[str]:
    """Where snapshots live, said explicitly when the answers move them."""
    flags = []
    if data_dir(answers, node) != DEFAULT_DATA_DIR:
        flags.append(f"--data-dir={data_dir(answers, node)}")
    if answers.cluster.etcd_snapshots.dir:
        flags.append(f"--etcd-snapshot-dir={snapshot_dir(answers, node)}")
    return flags


def snapshot_argv(answers: Answers, node: Node, sub: str, *, cli: bool, name: str | None = None,
                  names: list[str] = (), retention: int | None = None) -> list[str]:
    """`k3s etcd-snapshot ...` with the flags this version takes (before 1.21: only a bare save)."""
    argv = ["k3s", "etcd-snapshot"] + ([{"list": "ls"}.get(sub, sub)] if cli else [])
    argv += dir_flags(answers, node)
    if name:
        argv += ["--name", name]
    if sub == "prune":
        argv += ["--snapshot-retention", str(retention)]
    return argv + list(names)


class SnapshotJob:
    """save / list / delete / prune on the servers that need it."""

    def __init__(self, answers: Answers, sub: str, servers: list[Node], *, name: str | None = None,
                 names: list[str] = (), retention: int | None = None, token_sha256: str | None = None):
        self.answers, self.sub, self.nodes = answers, sub, servers
        self.command = f"snapshot-{sub}"
        self.name, self.names, self.retention = name, list(names), retention
        self.token_sha256 = token_sha256

    def probe(self, node: Node) -> str:
        return server_probe(self.answers, node)

    def plan(self, probes: dict[str, str] | None) -> tuple[Plan, list[tuple[str, str]]]:
        facts = {n: parse_server_probe(t) for n, t in (probes or {}).items()}
        refusals, plans = [], []
        for node in self.nodes:
            found = facts.get(node.name)
            if found and not found.active:
                refusals.append((node.name, f"k3s is not running on {node.name}: `k3s etcd-snapshot` needs the "
                                            "running server (start it, or pick another server with --node)"))
            elif found and self.sub != "save" and not has_snapshot_cli(self.answers, found.version):
                refusals.append((node.name, f"k3s {found.version} has no `etcd-snapshot {self.sub}` "
                                            "(it came in 1.21): list the files in the snapshot dir instead"))
            targets = [n for n in self.names if found is None or n in found.snapshots]
            if self.sub == "delete" and found is not None and not targets:
                continue
            plans.append(self._node_plan(node, found, targets))
        if self.sub == "delete" and facts and not plans:
            refusals.append((self.nodes[0].name, f"no server has {', '.join(self.names)}: "
                                                 "`k3swiz etcd snapshot list` shows what there is"))
        title = f"etcd-snapshot {self.sub}"
        return Plan(self.answers.cluster.name, version_label(self.answers),
                    [Wave(title, plans, parallel=True)]), refusals

    def _node_plan(self, node: Node, found: ServerFacts | None, names: list[str]) -> NodePlan:
        cli = has_snapshot_cli(self.answers, found.version if found else None)
        argv = snapshot_argv(self.answers, node, self.sub, cli=cli, name=self.name,
                             names=names or self.names, retention=self.retention)
        script = "set -eu\n" + " ".join(shlex.quote(a) for a in argv) + "\n"
        if self.sub == "save":   # the name, should this k3s word its log line differently
            script += f'echo "{NEWEST}$(ls -t {shlex.quote(snapshot_dir(self.answers, node))} | head -n 1)"\n'
        title = " ".join(argv[1:3]) if self.sub != "delete" else f"etcd-snapshot delete ({len(names or self.names)})"
        task = Task(title, script, f"snapshot-{self.sub}", timeout=900, keep=True, changing=self.sub != "list")
        return NodePlan(node, f"snapshots in {snapshot_dir(self.answers, node)}", [task])

    def saved(self, outputs: dict[str, list[str]]) -> list[dict]:
        """{"name", "node", "token_sha256"} of each snapshot `save` reported."""
        found = []
        for node, texts in outputs.items():
            for text in texts:
                newest = [line[len(NEWEST):] for line in text.splitlines() if line.startswith(NEWEST)]
                for name in SAVED.findall(text) or [n for n in newest if n]:
                    found.append({"name": name, "node": node, "token_sha256": self.token_sha256})
        return found

    def summary(self, outputs: dict[str, list[str]]) -> dict:
        return {"snapshots": self.saved(outputs)} if self.sub == "save" else {}


def etcdctl_env(answers: Answers, node: Node) -> dict[str, str]:
    tls = f"{data_dir(answers, node)}/server/tls/etcd"
    return {"ETCDCTL_API": "3", "ETCDCTL_ENDPOINTS": "https://127.0.0.1:2379",
            "ETCDCTL_CACERT": f"{tls}/server-ca.crt", "ETCDCTL_CERT": f"{tls}/client.crt",
            "ETCDCTL_KEY": f"{tls}/client.key"}


def env_text(answers: Answers, node: Node) -> str:
    tls = f"{data_dir(answers, node)}/server/tls/etcd"
    exports = "".join(f"export {k}={v}\n" for k, v in etcdctl_env(answers, node).items())
    return (f"# etcdctl on {node.name} ({node.address}), as root: k3s does not ship etcdctl "
            "(`k3swiz etcd members` says how to get it)\n" + exports +
            f"# also there: {tls}/server-client.crt/.key (etcd's own client cert), peer certs {tls}/peer-ca.crt,\n"
            f"# {tls}/peer-server-client.crt/.key; etcd config {db_dir(answers, node)}/etcd/config,\n"
            f"# data {db_dir(answers, node)}/etcd; peers on :2380, metrics on http://127.0.0.1:2381\n"
            "# then: etcdctl member list -w table\n")


def members_script(answers: Answers, node: Node) -> str:
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in etcdctl_env(answers, node).items())
    return "set -eu\n" + exports + "etcdctl member list -w table\n"


def how_to_get_etcdctl(node: Node, installed: str | None) -> str:
    minor = None
    try:
        minor = load_catalog().minor(K3sVersion.parse(installed).line) if installed else None
    except ValueError:
        pass
    etcd = (minor.components.get("etcd") or "") if minor else ""
    release = f"etcd-v{etcd.split('-')[0]}-linux-amd64.tar.gz (or your architecture's)" if etcd else \
        "the etcd 3.x release the cluster's k3s runs"
    return (f"etcdctl is not installed on {node.name} (k3s does not ship it).\n"
            f"  k3s {installed or '?'} runs etcd {etcd or '3.x'}: download {release}\n"
            "  from https://github.com/etcd-io/etcd/releases, put its etcdctl in /usr/local/bin on "
            f"{node.name}, then run this again.\n"
            "  `k3swiz etcd env` prints the ETCDCTL_* variables and certificate paths it needs.")


class MembersJob:
    """`etcdctl member list` on one server, when etcdctl is there."""

    command = "members"

    def __init__(self, answers: Answers, server: Node):
        self.answers, self.nodes = answers, [server]
        self.facts: ServerFacts | None = None

    def probe(self, node: Node) -> str:
        return server_probe(self.answers, node)

    def plan(self, probes: dict[str, str]) -> tuple[Plan, list[tuple[str, str]]]:
        node = self.nodes[0]
        self.facts = parse_server_probe(probes[node.name])
        if not self.facts.active:
            return Plan(self.answers.cluster.name, "", []), [(node.name, f"k3s is not running on {node.name}: "
                                                                          "its etcd cannot be asked")]
        steps = [Task("etcdctl member list", members_script(self.answers, node), "members", timeout=60,
                      keep=True, changing=False)] if self.facts.etcdctl else []
        return Plan(self.answers.cluster.name, version_label(self.answers),
                    [Wave("etcd members", [NodePlan(node, "etcdctl on the server", steps)], parallel=False)]), []
