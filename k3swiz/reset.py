"""`k3swiz reset F [--only NODE]`: take k3s off the answers' nodes again.

Per node: the uninstall scripts the install script left (k3s-agent-uninstall.sh,
k3s-uninstall.sh; Alpine's package is removed with apk), then the files k3swiz wrote itself,
then a read-only look at what is still there. Agents go first, all at once; then the servers,
one at a time, the first server last. A partial reset (--only) first deletes each node's Node
object through a server that stays, so its etcd member goes too and it can join again later
(k3s-facts §2.3, §9). A node with nothing of k3s or k3swiz on it is left alone, so a second
reset changes nothing.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .answers import Answers, Node
from .day2_run import Task
from .node_paths import KILLALL, UNINSTALLERS, data_dir, footprint, k3swiz_files, snapshot_dir
from .plan import NodePlan, Plan, Wave, version_label
from .render import BIN_K3S, IMAGES_DIR, LOCAL_INSTALLER


@dataclass
class ResetFacts:
    existing: list[str] = field(default_factory=list)      # footprint paths present now
    uninstallers: list[str] = field(default_factory=list)
    snapshots: int = 0                                      # files in the server's snapshot dir


def _exists_loop(paths: list[str], label: str) -> str:
    quoted = " ".join(shlex.quote(p) for p in paths)
    return f'for p in {quoted}; do if [ -e "$p" ] || [ -L "$p" ]; then echo "{label}=$p"; fi; done\n'


def probe_script(answers: Answers, node: Node) -> str:
    script = _exists_loop(footprint(answers, node), "exists")
    script += "".join(f'if [ -x {s} ]; then echo "uninstall={s}"; fi\n' for s in UNINSTALLERS)
    if node.role == "server":
        folder = shlex.quote(snapshot_dir(answers, node))
        script += f'if [ -d {folder} ]; then echo "snapshots=$(ls -A {folder} | wc -l)"; fi\n'
    return script + "true\n"


def parse_probe(output: str) -> ResetFacts:
    facts = ResetFacts()
    for line in output.splitlines():
        key, _, value = line.partition("=")
        if key == "exists":
            facts.existing.append(value)
        elif key == "uninstall":
            facts.uninstallers.append(value)
        elif key == "snapshots" and value.strip().isdigit():
            facts.snapshots = int(value.strip())
    return facts


def uninstall_script(answers: Answers) -> str:
    """Run every uninstall script present (agent's first: it stops early while k3s remains)."""
    lines = ["set -u", "ran=0"]
    if answers.install.method == "apk":
        lines.append("if command -v apk >/dev/null && apk info -e k3s >/dev/null 2>&1; then "
                     "rc-service k3s stop || true; rc-update del k3s default || true; apk del k3s || exit 1; ran=1; fi")
    for script in UNINSTALLERS:
        lines.append(f'if [ -x {script} ]; then echo "running {script}"; {script}; rc=$?; '
                     f'if [ $rc -ne 0 ]; then echo "k3swiz: {script} failed (exit $rc)" >&2; exit 1; fi; ran=1; fi')
    killall = " ".join(KILLALL)
    lines.append(f'if [ $ran = 0 ]; then for k in {killall}; do if [ -x "$k" ]; then "$k"; fi; done; '
                 'echo "no uninstall script here: k3s was not installed by its install script, or is gone"; fi')
    return "\n".join(lines) + "\n"


def remove_script(answers: Answers, node: Node) -> str:
    """Remove k3swiz's files; the binary and bundle stay while another k3s service still needs them."""
    bundle = {BIN_K3S, LOCAL_INSTALLER} | {p for p in k3swiz_files(answers, node) if p.startswith(IMAGES_DIR)}
    config = [p for p in k3swiz_files(answers, node) if p not in bundle]
    quoted = lambda paths: " ".join(shlex.quote(p) for p in paths)  # noqa: E731
    return ("set -u\n"
            f'for p in {quoted(config)}; do if [ -e "$p" ]; then rm -f "$p" && echo "removed $p"; fi; done\n'
            "remains=\n"
            'for unit in /etc/systemd/system/k3s*.service /etc/init.d/k3s*; do [ -e "$unit" ] && remains=$unit; done\n'
            'if [ -n "$remains" ]; then echo "$remains remains: keeping the k3s binary and bundle"; else\n'
            f'  for p in {quoted(sorted(bundle))}; do if [ -e "$p" ]; then rm -f "$p" && echo "removed $p"; fi; done\n'
            "fi\n"
            f"rmdir {shlex.quote(LOCAL_INSTALLER.rsplit('/', 1)[0])} 2>/dev/null || true\n")


def leftover_script(answers: Answers, node: Node) -> str:
    return (_exists_loop(footprint(answers, node), "left")
            + "for s in k3s k3s-agent; do\n"
            + '  if [ -x /sbin/openrc-run ]; then rc-service "$s" status >/dev/null 2>&1 && echo "running=$s"\n'
            + '  else systemctl is-active --quiet "$s" 2>/dev/null && echo "running=$s"; fi\n'
            + "done\ntrue\n")


def delete_node_script(node: Node) -> str:
    return f"set -eu\nk3s kubectl delete node {shlex.quote(node.name)} --ignore-not-found\n"


class ResetJob:
    """The reset of `targets` (all nodes, or --only); `helper` is a server that stays (partial reset)."""

    command = "reset"

    def __init__(self, answers: Answers, only: list[str] | None = None):
        self.answers = answers
        chosen = set(only or [n.name for n in answers.nodes])
        self.targets = [n for n in answers.nodes if n.name in chosen]
        self.full = len(self.targets) == len(answers.nodes)
        staying = [n for n in answers.servers if n.name not in chosen]
        init = answers.init_server
        self.helper = None if self.full or not staying else (init if init in staying else staying[0])
        self.nodes = self.targets + ([self.helper] if self.helper else [])

    def probe(self, node: Node) -> str:
        return probe_script(self.answers, node)

    def plan(self, probes: dict[str, str]) -> tuple[Plan, list]:
        facts = {name: parse_probe(text) for name, text in probes.items()}
        return build_plan(self.answers, self.targets, self.helper, facts), []

    def notes(self, facts: dict[str, ResetFacts] | None = None) -> list[str]:
        notes = []
        for node in self.targets:
            found = facts.get(node.name) if facts else None
            if node.role != "server" or self.answers.cluster.datastore != "etcd" or (found and not found.snapshots):
                continue
            folder = snapshot_dir(self.answers, node)
            if folder.startswith(data_dir(self.answers, node) + "/"):
                notes.append(f"{node.name}: the uninstall deletes its etcd snapshots in {folder}: copy the ones "
                             "you need first (`k3swiz etcd snapshot list`)")
            else:
                notes.append(f"{node.name}: etcd snapshots in {folder} are kept (outside k3s's data dir)")
        if not self.full and not self.helper:
            notes.append("no server stays: the remaining nodes' Node objects are not deleted")
        if not self.full:
            notes.append("the answers file still lists these nodes: a replay installs them again")
        return notes


def node_plan(answers: Answers, node: Node, helper: Node | None, facts: ResetFacts | None) -> NodePlan:
    if facts is not None and not facts.existing:
        return NodePlan(node, "nothing of k3s or k3swiz found")
    how = ", ".join(p.rsplit("/", 1)[1] for p in facts.uninstallers) if facts and facts.uninstallers else None
    note = f"uninstall with {how}" if how else "uninstall"
    plan = NodePlan(node, note)
    if helper is not None:
        plan.steps.append(Task(f"delete node object (k3s kubectl on {helper.name})", delete_node_script(node),
                               "delete-node", timeout=120, on=helper.name))
    plan.steps.append(Task("uninstall k3s", uninstall_script(answers), "uninstall"))
    plan.steps.append(Task("remove k3swiz's files", remove_script(answers, node), "remove"))
    plan.steps.append(Task("check what is left", leftover_script(answers, node), "report",
                           keep=True, changing=False))
    return plan


def build_plan(answers: Answers, targets: list[Node], helper: Node | None,
               facts: dict[str, ResetFacts] | None = None) -> Plan:
    """Agents together, then servers one at a time with the first server last."""
    facts = facts or {}
    plans = {n.name: node_plan(answers, n, helper, facts.get(n.name) if facts else None) for n in targets}
    waves = []
    agents = [plans[n.name] for n in targets if n.role == "agent"]
    if agents:
        waves.append(Wave("agents", agents, parallel=True))
    init = answers.init_server
    servers = [n for n in targets if n.role == "server"]
    servers.sort(key=lambda n: n is init)   # stable: join order, the first server last
    for server in servers:
        waves.append(Wave(f"{server.name}: server", [plans[server.name]], parallel=False))
    return Plan(answers.cluster.name, version_label(answers), waves)


def leftovers(outputs: dict[str, list[str]]) -> dict[str, list[str]]:
    """node -> what the last check found (`left=PATH`, `running=SERVICE`)."""
    found = {}
    for node, texts in outputs.items():
        if not texts:
            continue
        lines = texts[-1].splitlines()
        left = [line[5:] for line in lines if line.startswith("left=")]
        # a folder that is left says enough: its files are not listed again
        left = [p for p in left if not any(p.startswith(other + "/") for other in left)]
        found[node] = left + [f"service {line[8:]} still running" for line in lines if line.startswith("running=")]
    return found
