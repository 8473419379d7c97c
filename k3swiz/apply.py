"""Run a plan over SSH: connect and probe every node, check, plan with the facts, then
apply wave by wave, reporting events and writing the journal.

Order and failure rules (design.md): the first server alone and waited for;
each other server alone; agents together, at most `concurrency` at once. If the
first server fails nothing else can join; a failing server stops the servers
after it; agents go on whenever the first server is up. The airgap bundle of
every node is uploaded in the background from the start of the first wave
(k3swiz.uploads_ahead), to temp names only, so no node changes before its turn.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .answers import Answers, Node
from .connect import Access
from .facts import NodeFacts, parse_facts, preflight, probe_script
from .journal import DONE, FAILED, PENDING, RUNNING, SKIPPED, Event, Journal
from .plan import Plan, bundle_files, build_plan
from .problems import InputError, Problem
from .render import render_node
from .scripts import service_name
from .secrets import Secret
from .ssh import SshError, Transport
from .ssh_config import SshConfigError
from .steps import StepFailed, run_step
from .token import TokenSource
from .uploads_ahead import UploadsAhead


@dataclass
class ApplyOptions:
    concurrency: int = 10
    only: list[str] = field(default_factory=list)
    wait_timeout: float = 300.0
    kubeconfig_path: Path | None = None          # default ./<cluster>.kubeconfig
    merge_kubeconfig: Path | None = None         # e.g. ~/.kube/config
    use_context: bool = False
    journal_root: Path | None = None
    access: Access = field(default_factory=Access)
    stop: threading.Event = field(default_factory=threading.Event)   # set it to stop starting steps
    abandon: threading.Event = field(default_factory=threading.Event)  # also set: cut running steps short


@dataclass
class NodeOutcome:
    node: str
    role: str
    state: str = PENDING
    phase: str = ""
    message: str = ""
    changes: int = 0
    elapsed: float = 0.0
    stats: dict = field(default_factory=dict)


@dataclass
class ApplyResult:
    outcomes: dict[str, NodeOutcome]
    journal: Path
    kubeconfig: Path | None = None
    interrupted: bool = False
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(o.state == DONE for o in self.outcomes.values())

    @property
    def changes(self) -> int:
        return sum(o.changes for o in self.outcomes.values())

    @property
    def failed(self) -> list[NodeOutcome]:
        return [o for o in self.outcomes.values() if o.state == FAILED]


ABANDONED = ("abandoned on the second Ctrl-C while `{}` was running: it may or may not have finished "
             "on the node; run again to check and complete it")


class AbandonWatch:
    """Watches options.abandon (the second Ctrl-C) during a run, then closes every connection so
    running steps end at once. A thread does it: the signal handler runs on the main thread,
    which may be inside paramiko holding its locks."""

    POLL_SECONDS = 0.1

    def __init__(self, options: ApplyOptions, transports: dict[str, Transport]) -> None:
        self.options, self.transports = options, transports
        self.triggered = False
        self._over = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="k3swiz-abandon-watch", daemon=True)

    def __enter__(self) -> "AbandonWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._over.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._over.wait(self.POLL_SECONDS):
            if self.options.abandon.is_set():
                self.triggered = True
                for transport in list(self.transports.values()):
                    transport.close()
                return


def read_token(answers: Answers) -> Secret:
    """The token for this run; a missing token file of a new cluster is created (0600)."""
    source = TokenSource(answers.cluster.token, answers)
    token = source.read(create=answers.cluster.mode == "init")
    if token is None:
        raise InputError([Problem("cluster.token", f"no token in {source.describe()}",
                                  "joining an existing cluster needs its token")])
    return token


class Applier:
    def __init__(self, answers: Answers, options: ApplyOptions, on_event: Callable[[Event], None] | None = None):
        self.answers = answers
        self.options = options
        self.on_event = on_event or (lambda event: None)
        self.token = read_token(answers)
        self.journal = Journal.create(answers.cluster.name, [self.token, options.access.sudo_password],
                                      options.journal_root)
        names = set(options.only) or {n.name for n in answers.nodes}
        self.nodes = [n for n in answers.nodes if n.name in names]
        self.outcomes = {n.name: NodeOutcome(n.name, n.role) for n in self.nodes}
        self.transports: dict[str, Transport] = {}
        self.facts: dict[str, NodeFacts] = {}
        self.started: dict[str, float] = {}
        self.kubeconfig: Path | None = None
        self.abandon_watch = AbandonWatch(options, self.transports)
        self.uploads = UploadsAhead(options.concurrency)

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        plan = None
        try:
            with self.abandon_watch:
                plan = self._check_then_apply()
        finally:
            for transport in self.transports.values():
                self._record_stats(transport)
                transport.close()
        return self._finish(plan)

    def _check_then_apply(self) -> Plan | None:
        """Connect and probe all nodes; only when every one passes pre-flight, plan and apply."""
        self._fan_out(self.nodes, self._connect_and_probe)
        problems = [p for n in self.nodes if n.name in self.facts
                    for p in preflight(self.answers, n, self.facts[n.name])]
        for problem in problems:
            node = problem.path.split(".", 1)[1]
            self._fail(node, "pre-flight", f"{problem.message} — {problem.fix}")
        if problems or any(o.state == FAILED for o in self.outcomes.values()):
            self._skip_rest("not started: another node failed before any change was made")
            return None
        plan = build_plan(self.answers, token=self.token, facts=self.facts,
                          only=self.options.only or None, wait_timeout=self.options.wait_timeout)
        try:
            if self.options.concurrency > 1:  # --concurrency 1 is one node at a time: nothing overlaps
                self.uploads.start(plan, self.transports)
            self._run_waves(plan)
        finally:
            self.uploads.close()  # removes what skipped nodes were sent
        return plan

    def _run_waves(self, plan: Plan) -> None:
        init = self.answers.init_server
        for wave in plan.waves:
            for np in wave.nodes:
                reason = self._blocked(np.node, init)
                if reason:
                    self._skip(np.node.name, reason)
            runnable = [np for np in wave.nodes if self.outcomes[np.node.name].state == PENDING]
            if wave.parallel:
                self._fan_out(runnable, self._run_node)
            else:
                for np in runnable:
                    self._run_node(np)

    def _blocked(self, node: Node, init: Node | None) -> str | None:
        if self.options.stop.is_set():
            return "interrupted before it started"
        if init is not None and node is not init and self.outcomes.get(init.name, NodeOutcome("", "")).state == FAILED:
            return f"the first server {init.name} failed"
        if node.role == "server":
            failed = [o.node for o in self.outcomes.values() if o.role == "server" and o.state == FAILED]
            if failed:
                return f"server {failed[0]} failed before it (etcd joins one server at a time)"
        return None

    def _fan_out(self, items: list, work: Callable) -> None:
        if not items:
            return
        with ThreadPoolExecutor(max_workers=min(self.options.concurrency, len(items))) as pool:
            list(pool.map(work, items))

    # -- per node ----------------------------------------------------------------------------------

    def _connect_and_probe(self, node: Node) -> None:
        self.started[node.name] = time.monotonic()
        self._emit(node.name, "connect", RUNNING)
        paths = [f.path for f in render_node(self.answers, node, self.token)]
        paths += [f.path for f in bundle_files(self.answers)]
        script = probe_script(paths, service_name(self.answers, node))
        try:
            transport, result = self.options.access.open(self.answers, node, script)
        except SshError as exc:
            self._fail(node.name, "connect", str(exc))
            return
        except SshConfigError as exc:  # ~/.ssh/config (or a ProxyJump) that cannot be understood
            self._fail(node.name, "connect", f"{exc} — fix that SSH setting, or point ssh.* in the answers "
                                             "at what this node needs")
            return
        self.transports[node.name] = transport
        if not result.ok:
            self._fail(node.name, "facts", f"the read-only probe failed (exit {result.rc}): {result.stderr.strip()[-300:]}")
            return
        self.facts[node.name] = parse_facts(result.stdout)
        facts = self.facts[node.name]
        self.journal.node_log(node.name, f"facts: {facts.os_id} {facts.os_version}, {facts.init}, "
                                         f"k3s {facts.k3s_version or 'not installed'}")
        self._emit(node.name, "facts", DONE, f"{facts.os_id or '?'} {facts.os_version}, {facts.init}, "
                                             f"k3s {facts.k3s_version or 'not installed'}")

    def _run_node(self, np) -> None:
        name = np.node.name
        transport = self.transports[name]
        outcome = self.outcomes[name]
        self.started[name] = time.monotonic()
        for step in np.steps:
            if self.options.stop.is_set():
                self._skip(name, f"interrupted before `{step.title}`")
                return
            self._emit(name, step.title, RUNNING)
            self.journal.node_log(name, f"step: {step.title}")
            try:
                uploaded = self.uploads.take(name) if step.kind == "write" else None
                detail = run_step(step, transport, self.answers, self.options, self.journal, uploaded=uploaded)
            except (StepFailed, SshError) as exc:
                self._fail(name, step.title, ABANDONED.format(step.title) if self.abandon_watch.triggered
                           else str(exc))
                return
            if step.kind == "kubeconfig":
                self.kubeconfig = Path(detail)
            elif step.kind in ("write", "install", "restart"):
                outcome.changes += len(step.files) if step.kind == "write" else 1
            self._emit(name, step.title, DONE, detail)
        outcome.state = DONE
        summary = f"{outcome.changes} change(s)" if outcome.changes else "unchanged"
        self._emit(name, "done", DONE, summary)

    # -- bookkeeping ---------------------------------------------------------------------------------

    def _elapsed(self, node: str) -> float:
        return time.monotonic() - self.started.get(node, time.monotonic())

    def _emit(self, node: str, phase: str, state: str, message: str = "") -> None:
        message = self.journal.mask(message)
        outcome = self.outcomes.get(node)
        if outcome is not None:
            outcome.phase, outcome.message, outcome.elapsed = phase, message, self._elapsed(node)
        event = Event(node, phase, state, message, self._elapsed(node))
        self.journal.event(event)
        if message:
            self.journal.node_log(node, f"{phase}: {state}: {message}")
        self.on_event(event)

    def _fail(self, node: str, phase: str, message: str) -> None:
        self.outcomes[node].state = FAILED
        self._emit(node, phase, FAILED, message)

    def _skip(self, node: str, reason: str) -> None:
        self.outcomes[node].state = SKIPPED
        self._emit(node, "skipped", SKIPPED, reason)

    def _skip_rest(self, reason: str) -> None:
        for outcome in self.outcomes.values():
            if outcome.state == PENDING:
                self._skip(outcome.node, reason)

    def _record_stats(self, transport: Transport) -> None:
        self.outcomes[transport.target.node].stats = asdict(transport.stats)

    def _finish(self, plan: Plan | None) -> ApplyResult:
        interrupted = self.options.stop.is_set()
        result = ApplyResult(self.outcomes, self.journal.folder, self.kubeconfig, interrupted, plan)
        self.journal.write_summary({
            "cluster": self.answers.cluster.name, "ok": result.ok, "changes": result.changes,
            "interrupted": interrupted, "kubeconfig": str(self.kubeconfig) if self.kubeconfig else None,
            "nodes": {name: asdict(o) for name, o in self.outcomes.items()}})
        self.journal.close()
        return result


def apply_plan(answers: Answers, options: ApplyOptions | None = None,
               on_event: Callable[[Event], None] | None = None) -> ApplyResult:
    """Apply the answers to their nodes; the one entry point for replay and the wizard."""
    return Applier(answers, options or ApplyOptions(), on_event).run()
