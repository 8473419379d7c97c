"""Answers (+ optional node facts) -> Plan: ordered waves of per-node steps, as data.

Pure: the same inputs give the same plan. The plan drives `plan --out`,
`replay --dry-run`, the review screen and apply alike. Order (k3s facts §9):
the init server first and waited for; every other server alone in its own
wave (etcd admits one learner at a time); then all agents in one wave.
With facts, steps whose result is already on the node are dropped, so a rerun
with nothing to change plans nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .answers import Answers, Node
from .facts import NodeFacts
from .render import BIN_K3S, IMAGES_DIR, KUBECONFIG, LOCAL_INSTALLER, RenderedFile, render_node, server_url
from .scripts import install_script, restart_script, wait_script
from .secrets import Secret

PLACEHOLDER_TOKEN = Secret("<cluster token>")


@dataclass(frozen=True)
class WriteFiles:
    files: tuple[RenderedFile, ...]
    title: str = "write files"
    kind: str = "write"


@dataclass(frozen=True)
class Run:
    title: str
    script: str              # sent on stdin to `sh -s`; never holds a secret
    kind: str                # install | restart | wait
    timeout: float = 600.0


@dataclass(frozen=True)
class FetchKubeconfig:
    path: str = KUBECONFIG
    title: str = "fetch kubeconfig"
    kind: str = "kubeconfig"


Step = WriteFiles | Run | FetchKubeconfig


@dataclass
class NodePlan:
    node: Node
    role_note: str                      # "initialises the cluster", "joins https://...", ...
    steps: list[Step] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)   # paths already right on the node

    @property
    def changes(self) -> int:
        return sum(len(s.files) if isinstance(s, WriteFiles) else 1
                   for s in self.steps if s.kind in ("write", "install", "restart"))


@dataclass
class Wave:
    title: str
    nodes: list[NodePlan]
    parallel: bool


@dataclass
class Plan:
    cluster: str
    version_label: str
    waves: list[Wave]

    def node_plans(self) -> list[NodePlan]:
        return [np for wave in self.waves for np in wave.nodes]

    def for_node(self, name: str) -> NodePlan | None:
        return next((np for np in self.node_plans() if np.node.name == name), None)

    @property
    def changes(self) -> int:
        return sum(np.changes for np in self.node_plans())


def version_label(answers: Answers) -> str:
    release = answers.cluster.k3s
    return release.version or f"channel {release.channel or 'stable'}"


def bundle_files(answers: Answers) -> list[RenderedFile]:
    """Local files uploaded as they are: the airgap bundle or a local install script."""
    install = answers.install
    files = []
    if install.method == "airgap" and install.airgap:
        air = install.airgap
        if air.k3s_binary:
            files.append(RenderedFile(BIN_K3S, answers.local_path(air.k3s_binary), 0o755, origin=air.k3s_binary))
        if air.images:
            name = Path(air.images).name
            files.append(RenderedFile(f"{IMAGES_DIR}/{name}", answers.local_path(air.images), 0o644, origin=air.images))
        if air.install_script:
            files.append(RenderedFile(LOCAL_INSTALLER, answers.local_path(air.install_script), 0o755,
                                      origin=air.install_script))
    elif install.script_from == "local" and install.install_script:
        files.append(RenderedFile(LOCAL_INSTALLER, answers.local_path(install.install_script), 0o755,
                                  origin=install.install_script))
    return files


def plan_node(answers: Answers, node: Node, token: Secret, facts: NodeFacts | None,
              note: str, wait_timeout: float) -> NodePlan:
    rendered = render_node(answers, node, token)
    bundle = bundle_files(answers)
    plan = NodePlan(node, note)
    config_files = [f for f in rendered if facts is None or facts.file_hashes.get(f.path) != f.sha256]
    bundle_files_ = [f for f in bundle if facts is None or facts.file_hashes.get(f.path) != f.sha256]
    plan.unchanged = [f.path for f in rendered + bundle if f not in config_files + bundle_files_]
    to_write = tuple(bundle_files_ + config_files)
    if to_write:
        plan.steps.append(WriteFiles(to_write))
    needs_install = facts is None or not facts.k3s_installed(answers, node) or bool(bundle_files_)
    if needs_install:
        plan.steps.append(Run("install k3s", install_script(answers, node), "install"))
    elif config_files or not facts.service_active:
        why = "configuration changed" if config_files else "service not running"
        plan.steps.append(Run(f"restart k3s ({why})", restart_script(answers, node), "restart"))
    if needs_install or config_files or (facts is not None and not facts.service_active):
        plan.steps.append(Run(f"wait until {node.name} is ready", wait_script(answers, node, wait_timeout),
                              "wait", timeout=wait_timeout + 30))
    return plan


def build_plan(answers: Answers, *, token: Secret | None = None,
               facts: dict[str, NodeFacts] | None = None, only: list[str] | None = None,
               wait_timeout: float = 300.0) -> Plan:
    """The whole plan. `only` keeps the named nodes (order and waves stay as they are)."""
    token = token or PLACEHOLDER_TOKEN
    facts = facts or {}
    init = answers.init_server
    waves: list[Wave] = []

    def node_plan(node: Node, note: str) -> NodePlan:
        return plan_node(answers, node, token, facts.get(node.name), note, wait_timeout)

    if init is not None:
        note = "initialises the cluster" + (" (embedded etcd)" if answers.cluster.datastore == "etcd" else " (SQLite)")
        waves.append(Wave(f"{init.name}: first server", [node_plan(init, note)], parallel=False))
    url = server_url(answers)
    for node in answers.servers:
        if node is not init:
            waves.append(Wave(f"{node.name}: join as server", [node_plan(node, f"joins {url} as a server")],
                              parallel=False))
    if answers.agents:
        waves.append(Wave("agents", [node_plan(n, f"joins {url} as an agent") for n in answers.agents],
                          parallel=True))
    if only:
        for wave in waves:
            wave.nodes = [np for np in wave.nodes if np.node.name in only]
        waves = [w for w in waves if w.nodes]
    kube_source = init or next(iter(answers.servers), None)
    if kube_source is not None and (not only or kube_source.name in only):
        target = next(np for w in waves for np in w.nodes if np.node is kube_source)
        target.steps.append(FetchKubeconfig())
    return Plan(answers.cluster.name, version_label(answers), waves)
