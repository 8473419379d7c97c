"""`k3swiz etcd snapshot restore F NAME`: the documented cluster-reset procedure (k3s-facts §8).

1. stop k3s on every server (together);
2. on the first server: `k3s server --cluster-reset --cluster-reset-restore-path=<snapshot>`
   (it reads config.yaml: `cluster-init`, `token-file`; a `server:` there would be refused,
   which is why the first server restores), then start it and wait until it is ready;
3. on each other server, one at a time: move its db dir aside (kept, not deleted: it also
   holds its snapshots), start it, wait until it has rejoined.

The snapshot's bootstrap data only opens with the token it was taken with (§4): the command
checks the recorded digest first (snapshot_tokens.py), and a node whose token file differs
from the answers' token gets the answers' token while k3s is stopped.
"""

from __future__ import annotations

import shlex

from .answers import Answers, Node
from .day2_run import Task
from .etcd import parse_server_probe, server_probe
from .node_paths import db_dir, snapshot_dir
from .plan import NodePlan, Plan, Run, Wave, WriteFiles, version_label
from .render import TOKEN_FILE, render_node, server_url
from .scripts import restart_script, service_name, wait_script
from .secrets import Secret


def stop_script(answers: Answers, node: Node) -> str:
    svc = service_name(answers, node)
    return f"set -eu\nif [ -x /sbin/openrc-run ]; then rc-service {svc} stop; else systemctl stop {svc}; fi\n"


def reset_script(answers: Answers, node: Node, name: str) -> str:
    db = shlex.quote(db_dir(answers, node))
    path = shlex.quote(f"{snapshot_dir(answers, node)}/{name}")
    return ("set -eu\n"
            f'if [ -e {db}/reset-flag ]; then echo "removing the reset-flag an earlier reset left"; '
            f"rm -f {db}/reset-flag; fi\n"
            f"k3s server --cluster-reset --cluster-reset-restore-path={path}\n")


def move_db_script(answers: Answers, node: Node) -> str:
    db = shlex.quote(db_dir(answers, node))
    return ("set -eu\n"
            f'if [ -d {db} ]; then dest={db}.k3swiz-$(date +%Y%m%d-%H%M%S); mv {db} "$dest"; '
            f'echo "moved {db} to $dest"; else echo "no {db} here"; fi\n')


def token_file(answers: Answers, node: Node, token: Secret):
    return next(f for f in render_node(answers, node, token) if f.path == TOKEN_FILE)


def _token_steps(answers: Answers, node: Node, token: Secret, found_sha: str | None, probed: bool) -> list:
    wanted = token_file(answers, node, token)
    if not probed or found_sha == wanted.sha256:
        return []
    return [WriteFiles((wanted,), title="write the answers' token file")]


def _start_steps(answers: Answers, node: Node, wait_timeout: float) -> list:
    return [Run("start k3s", restart_script(answers, node), "restart"),
            Run(f"wait until {node.name} is ready", wait_script(answers, node, wait_timeout), "wait",
                timeout=wait_timeout + 30)]


class RestoreJob:
    command = "restore"

    def __init__(self, answers: Answers, name: str, token: Secret, wait_timeout: float = 300.0):
        self.answers, self.name, self.token, self.wait_timeout = answers, name, token, wait_timeout
        self.restorer = answers.init_server
        others = [n for n in answers.servers if n is not self.restorer]
        self.nodes = [self.restorer] + others + answers.agents

    def probe(self, node: Node) -> str:
        if node.role == "server":
            return server_probe(self.answers, node)
        return f'[ -f {TOKEN_FILE} ] && echo "token_sha256=$(sha256sum {TOKEN_FILE} | cut -d" " -f1)"\ntrue\n'

    def plan(self, probes: dict[str, str] | None) -> tuple[Plan, list[tuple[str, str]]]:
        facts = {n: parse_server_probe(t) for n, t in (probes or {}).items()}
        refusals = []
        mine = facts.get(self.restorer.name)
        if mine is not None and self.name not in mine.snapshots:
            elsewhere = [n for n, f in facts.items() if self.name in f.snapshots]
            hint = (f"it is on {', '.join(elsewhere)}: copy it into {snapshot_dir(self.answers, self.restorer)} "
                    f"on {self.restorer.name} first") if elsewhere else "`k3swiz etcd snapshot list` shows what there is"
            refusals.append((self.restorer.name, f"snapshot {self.name} is not in "
                                                 f"{snapshot_dir(self.answers, self.restorer)} on {self.restorer.name}: {hint}"))
        return self.build(facts), refusals

    def build(self, facts: dict) -> Plan:
        probed = bool(facts)
        sha = lambda node: facts[node.name].token_sha256 if node.name in facts else None  # noqa: E731
        servers = [n for n in self.nodes if n.role == "server"]
        waves = [Wave("stop k3s on every server", [NodePlan(s, "stops", [Task("stop k3s", stop_script(self.answers, s),
                                                                                    "stop")]) for s in servers],
                      parallel=True)]
        first = self.restorer
        steps = _token_steps(self.answers, first, self.token, sha(first), probed)
        steps.append(Task(f"cluster-reset from {self.name}", reset_script(self.answers, first, self.name),
                          "restore", timeout=900))
        waves.append(Wave(f"{first.name}: restore {self.name}",
                          [NodePlan(first, "restores the snapshot", steps + _start_steps(self.answers, first,
                                                                                         self.wait_timeout))],
                          parallel=False))
        for node in servers[1:]:
            steps = _token_steps(self.answers, node, self.token, sha(node), probed)
            steps.append(Task("move the db dir aside", move_db_script(self.answers, node), "move-db"))
            waves.append(Wave(f"{node.name}: rejoin", [NodePlan(node, f"rejoins {server_url(self.answers)}",
                                                                steps + _start_steps(self.answers, node,
                                                                                     self.wait_timeout))],
                              parallel=False))
        stale = [a for a in self.answers.agents if _token_steps(self.answers, a, self.token, sha(a), probed)]
        if stale:
            waves.append(Wave("agents with another token", [NodePlan(
                a, "gets the answers' token", _token_steps(self.answers, a, self.token, sha(a), probed)
                + _start_steps(self.answers, a, self.wait_timeout)) for a in stale], parallel=True))
        return Plan(self.answers.cluster.name, version_label(self.answers), waves)

    def summary(self, outputs: dict) -> dict:
        return {"snapshot": self.name, "restored_on": self.restorer.name}
