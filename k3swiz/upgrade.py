"""`k3swiz upgrade F --to VERSION|CHANNEL [--batch N] [--drain]`.

First every answer is checked again against the new version (validate_answers on the answers
as they will be), and Traefik values written for the old chart are rewritten for the new one
when asked (traefik_rewrite.py). Then the plan is apply's plan for the new answers (same files,
the installer with the new version, the same wait), regrouped: servers one at a time, the first
server first, each waited for and its version checked; then agents in batches of N, each
optionally drained before and uncordoned after through `k3s kubectl` on the first server. Any
failure stops the waves after it, so the first server that does not come back stops the upgrade.
"""

from __future__ import annotations

import copy
import dataclasses
import shlex
from dataclasses import dataclass, field

from .answers import Answers, K3sRelease, Node
from .catalog import Catalog, K3sVersion, is_channel, load_catalog
from .day2_run import Task
from .facts import NodeFacts, parse_facts, preflight, probe_script
from .plan import FetchKubeconfig, NodePlan, Plan, Run, Wave, bundle_files, build_plan
from .problems import InputError, Problem
from .render import render_node
from .scripts import POLL_SECONDS, service_name
from .secrets import Secret
from .traefik_rewrite import Change, rewrite_values
from .validate import chosen_version, validate_answers


@dataclass
class UpgradeCheck:
    answers: Answers                       # the answers as they will be after the upgrade
    target: K3sVersion | None              # the concrete release (a channel: the catalog's guess)
    changes: list[Change] = field(default_factory=list)    # Traefik values for the new chart
    problems: list[Problem] = field(default_factory=list)  # the new answers' errors and warnings

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def parse_target(text: str) -> K3sRelease:
    if is_channel(text):
        return K3sRelease(channel=text)
    try:
        return K3sRelease(version=str(K3sVersion.parse(text)))
    except ValueError as exc:
        raise InputError([Problem("", f"--to {text}: {exc}", "a release like v1.34.1+k3s1, or a channel: "
                                  "stable, latest, v1.34")]) from None


def check_upgrade(answers: Answers, to: str, rewrite: bool, catalog: Catalog | None = None) -> UpgradeCheck:
    catalog = catalog or load_catalog()
    release = parse_target(to)
    secret = answers.cluster.token.value
    # An inline token is a Secret, which refuses to be copied (pickled): the copy shares it.
    new = copy.deepcopy(answers, {id(secret): secret} if secret is not None else None)
    new.cluster.k3s = release
    current, target = chosen_version(answers, catalog), chosen_version(new, catalog)
    check = UpgradeCheck(new, target)
    if current and target and target < current:
        check.problems.append(Problem("cluster.k3s", f"{to} ({target}) is older than the cluster's {current}",
                                      "k3s cannot be downgraded in place"))
    elif current and target and _minor(target) > _minor(current) + 1:
        check.problems.append(Problem("cluster.k3s", f"{current} -> {target} skips a Kubernetes minor",
                                      "Kubernetes supports upgrading one minor at a time: go through "
                                      f"v1.{_minor(current) + 1} first", severity="warning"))
    if answers.install.method == "apk":
        check.problems.append(Problem("install.method", "Alpine's k3s package upgrades with Alpine",
                                      "run `apk upgrade k3s` (the version follows the Alpine release)"))
    traefik = new.cluster.traefik
    if target and traefik.enabled and traefik.values:
        values, check.changes = rewrite_values(traefik.values, catalog, target)
        if rewrite:
            traefik.values = values
    check.problems += validate_answers(new, catalog).problems
    return check


def _minor(version: K3sVersion) -> int:
    return int(version.line.split(".")[1])


def version_check_script(node: Node, version: str, through_api: bool, timeout: float = 60.0) -> str:
    """Poll until the node runs `version`: as its Node object reports it (the running kubelet) when a
    server's API is at hand, else as its binary says."""
    if through_api:
        probe = (f"k3s kubectl get node {shlex.quote(node.name)} "
                 "-o 'jsonpath={.status.nodeInfo.kubeletVersion}' 2>/dev/null")
    else:
        probe = "k3s --version 2>/dev/null | head -n 1 | awk '{print $3}'"
    tries = max(1, int(timeout / POLL_SECONDS))
    return ("set -u\ni=0\n"
            f'until now=$({probe}); [ "$now" = {shlex.quote(version)} ]; do\n'
            f"  i=$((i + 1)); if [ $i -ge {tries} ]; then\n"
            f'    echo "{node.name} runs k3s ${{now:-(nothing)}} after the upgrade, not {version}: with an airgap '
            'install, point install.airgap at that version\'s files" >&2\n'
            "    exit 1\n  fi\n"
            f"  sleep {POLL_SECONDS}\ndone\n"
            f'echo "{node.name} runs {version}"\n')


def upgrade_install(answers: Answers, step: Run) -> Run:
    """The installer for an upgrade: replay's own install step (which always sets
    INSTALL_K3S_FORCE_RESTART, since an airgap binary already in place looks like "no change")."""
    return Run("install k3s (upgrade)", step.script, "install", step.timeout)


def kubectl_task(verb: str, node: Node, on: Node) -> Task:
    flags = " --ignore-daemonsets --delete-emptydir-data --timeout=300s" if verb == "drain" else ""
    return Task(f"{verb} {node.name} (k3s kubectl on {on.name})",
                f"set -eu\nk3s kubectl {verb} {shlex.quote(node.name)}{flags}\n", verb, timeout=360, on=on.name)


def upgrade_plan(answers: Answers, token: Secret, facts: dict[str, NodeFacts] | None, *, batch: int = 1,
                 drain: bool = False, wait_timeout: float = 300.0) -> Plan:
    exact = answers.cluster.k3s.version
    if facts and exact is None:   # a channel: the installer decides, so it always runs
        facts = {name: dataclasses.replace(f, k3s_version=None) for name, f in facts.items()}
    base = build_plan(answers, token=token, facts=facts, wait_timeout=wait_timeout)
    kubectl_on = answers.init_server or next(iter(answers.servers), None)
    waves, agents = [], []
    for np in base.node_plans():
        node = np.node
        steps = [upgrade_install(answers, s) if isinstance(s, Run) and s.kind == "install" else s
                 for s in np.steps if not isinstance(s, FetchKubeconfig)]
        installs = any(getattr(s, "kind", "") == "install" for s in steps)
        if installs and exact:
            steps.append(Task(f"check {node.name} runs {exact}", version_check_script(node, exact, kubectl_on is not None),
                              "check", timeout=90, changing=False, on=kubectl_on.name if kubectl_on else None))
        if installs and drain and node.role == "agent" and kubectl_on is not None:
            steps = [kubectl_task("drain", node, kubectl_on)] + steps + [kubectl_task("uncordon", node, kubectl_on)]
        found = (facts or {}).get(node.name)
        was = found.k3s_version if found and exact else None
        note = (f"{was} -> {exact}" if was else f"to {exact or answers.cluster.k3s.channel}") if installs \
            else f"already {exact}" if exact else "nothing to do"
        upgraded = NodePlan(node, note, steps, np.unchanged)
        if node.role == "server":
            waves.append(Wave(f"{node.name}: server", [upgraded], parallel=False))
        else:
            agents.append(upgraded)
    size = max(1, batch)
    for i in range(0, len(agents), size):
        group = agents[i:i + size]
        waves.append(Wave(f"agents batch {i // size + 1}", group, parallel=True))
    return Plan(answers.cluster.name, base.version_label, waves)


class UpgradeJob:
    command = "upgrade"

    def __init__(self, answers: Answers, token: Secret, *, batch: int = 1, drain: bool = False,
                 wait_timeout: float = 300.0):
        self.answers, self.token = answers, token
        self.batch, self.drain, self.wait_timeout = batch, drain, wait_timeout
        self.nodes = list(answers.nodes)

    def probe(self, node: Node) -> str:
        """apply's own probe: OS, init, installed k3s, the hashes of the files the plan would write."""
        paths = [f.path for f in render_node(self.answers, node, self.token)]
        paths += [f.path for f in bundle_files(self.answers)]
        return probe_script(paths, service_name(self.answers, node))

    def plan(self, probes: dict[str, str]) -> tuple[Plan, list[tuple[str, str]]]:
        facts = {name: parse_facts(text) for name, text in probes.items()}
        refusals = [(node.name, f"{p.message} — {p.fix}") for node in self.nodes
                    for p in preflight(self.answers, node, facts[node.name])]
        return upgrade_plan(self.answers, self.token, facts, batch=self.batch, drain=self.drain,
                            wait_timeout=self.wait_timeout), refusals


@dataclass
class PreparedUpgrade:
    """What the CLI and the wizard both show and run for one upgrade."""
    job: "UpgradeJob"
    token: Secret
    release: str                 # "v1.34.1+k3s1" or "channel stable"
    plan: Plan
    note: str                    # what happens to the answers file afterwards


def prepare_upgrade(check: UpgradeCheck, file_name: str, *, batch: int = 1, drain: bool = False,
                    rewrite: bool = False) -> PreparedUpgrade:
    """The job for `check.answers`; InputError when the cluster's token is not at hand."""
    from .token import TokenSource
    answers = check.answers
    token = TokenSource(answers.cluster.token, answers).read()
    if token is None:
        raise InputError([Problem("cluster.token", "no token: the upgrade writes the token file like replay",
                                  "point cluster.token at the cluster's token")])
    release = answers.cluster.k3s.version or f"channel {answers.cluster.k3s.channel}"
    note = (f"when every node is done, {file_name} records k3s {release}"
            + (" and the rewritten Traefik values" if check.changes and rewrite else "")
            + " (the old file is kept beside it)")
    job = UpgradeJob(answers, token, batch=batch, drain=drain)
    return PreparedUpgrade(job, token, release, upgrade_plan(answers, token, None, batch=batch, drain=drain), note)


def record_upgrade(path, before: Answers, after: Answers):
    """Record the new release (and values) in the answers file after a successful upgrade.

    Returns the backup of the previous file, or None when nothing changed in it.
    """
    import shutil
    import time
    from pathlib import Path

    from .answers import save_answers
    if before.cluster.k3s == after.cluster.k3s and before.cluster.traefik == after.cluster.traefik:
        return None
    path = Path(path)
    backup = path.with_name(f"{path.name}.before-upgrade-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)   # keeps the file's mode (0600 when it holds an inline token)
    save_answers(after, path, include_secrets=bool(after.cluster.token.value))
    return backup
