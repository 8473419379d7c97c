"""Run a day-2 job over SSH: connect and probe its nodes, plan from what the probes found, then
run the plan's waves, with the events, journal and result of apply (k3swiz/apply.py).

A job (reset, upgrade, an etcd command, adopt) says which nodes it needs, the read-only script
that probes each one, and the Plan it makes of the probes' output. Three things differ from
apply, and are why this is its own small engine:
- a node may be in several waves (a restore stops a server, later starts it again);
- a step may run over another node's connection (`k3s kubectl drain` of an agent runs on a server);
- any failure stops the waves after it (day-2 work is sequential by nature: a server that does
  not come back must stop an upgrade, a failed stop must stop a restore).
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable, Protocol

from .answers import Answers, Node
from .apply import AbandonWatch, ApplyOptions, ApplyResult, NodeOutcome
from .journal import DONE, FAILED, PENDING, RUNNING, SKIPPED, Event, Journal
from .plan import NodePlan, Plan, Run, WriteFiles
from .secrets import Secret
from .ssh import SshError, Transport
from .steps import StepFailed, run_step

TAIL_LINES = 12


@dataclass(frozen=True)
class Task(Run):
    """A script step of a day-2 plan."""
    on: str | None = None      # run over this node's connection (e.g. kubectl on a server)
    keep: bool = False         # keep its output for the command's report
    changing: bool = True      # counts as a change in the summary


class Job(Protocol):
    command: str               # reset, upgrade, ... (journal folder name, summary)
    nodes: list[Node]          # every node to connect to, in the order they are shown

    def probe(self, node: Node) -> str: ...                         # read-only sh script
    def plan(self, probes: dict[str, str]) -> tuple[Plan, list[tuple[str, str]]]: ...
    # plan(): the plan, and (node, reason) pairs that refuse the job before any change.
    # Optional: summary(outputs) -> dict, merged into the journal's summary.json.


@dataclass
class Day2Result(ApplyResult):
    command: str = ""
    probes: dict[str, str] = field(default_factory=dict)           # node -> probe stdout
    outputs: dict[str, list[str]] = field(default_factory=dict)    # node -> kept step outputs


def change_count(step) -> int:
    if isinstance(step, Task):
        return 1 if step.changing else 0
    if isinstance(step, WriteFiles):
        return len(step.files)
    return 1 if isinstance(step, Run) and step.kind in ("install", "restart") else 0


class Runner:
    def __init__(self, answers: Answers, job: Job, options: ApplyOptions,
                 on_event: Callable[[Event], None] | None = None, secrets: list[Secret] = ()):
        self.answers, self.job, self.options = answers, job, options
        self.on_event = on_event or (lambda event: None)
        self.journal = Journal.create(f"{answers.cluster.name}-{job.command}",
                                      [*secrets, options.access.sudo_password], options.journal_root)
        self.outcomes = {n.name: NodeOutcome(n.name, n.role) for n in job.nodes}
        self.transports: dict[str, Transport] = {}
        self.locks = {n.name: threading.Lock() for n in job.nodes}
        self.probes: dict[str, str] = {}
        self.outputs: dict[str, list[str]] = {n.name: [] for n in job.nodes}
        self.started: dict[str, float] = {}

    def run(self) -> Day2Result:
        plan = None
        try:
            # The second Ctrl-C closes every connection so running steps end at once, as in replay.
            with AbandonWatch(self.options, self.transports):
                self._fan_out(self.job.nodes, self._connect)
                plan = None if self._failed() else self._plan_or_refuse()
                if plan is None:
                    self._skip_pending("not started: another node failed before any change was made")
                else:
                    self._run_waves(plan)
        finally:
            for name, transport in self.transports.items():
                self.outcomes[name].stats = asdict(transport.stats)
                transport.close()
        return self._finish(plan)

    # -- phases --------------------------------------------------------------------------------

    def _plan_or_refuse(self) -> Plan | None:
        """The job's plan, or None when the job refused it (each refusal fails its node)."""
        plan, refusals = self.job.plan(dict(self.probes))
        for node, reason in refusals:
            self._fail(node, "pre-flight", reason)
        return None if refusals else plan

    def _connect(self, node: Node) -> None:
        self.started[node.name] = time.monotonic()
        self._emit(node.name, "connect", RUNNING)
        try:
            transport, result = self.options.access.open(self.answers, node, self.job.probe(node))
        except SshError as exc:
            self._fail(node.name, "connect", str(exc))
            return
        self.transports[node.name] = transport
        if not result.ok:
            self._fail(node.name, "probe", f"the read-only probe failed (exit {result.rc}): "
                                           f"{result.stderr.strip()[-300:]}")
            return
        self.probes[node.name] = result.stdout   # may hold secrets (adopt): never logged
        self._emit(node.name, "probe", DONE)

    def _run_waves(self, plan: Plan) -> None:
        for wave in plan.waves:
            if wave.parallel:
                blocker = self._blocker()
                for np in wave.nodes:
                    if blocker:
                        self._skip(np.node.name, f"{blocker} (before `{wave.title}`)")
                self._fan_out([] if blocker else wave.nodes, self._run_node)
                continue
            for np in wave.nodes:
                blocker = self._blocker()
                if blocker:
                    self._skip(np.node.name, f"{blocker} (before `{wave.title}`)")
                else:
                    self._run_node(np)

    def _run_node(self, np: NodePlan) -> None:
        name = np.node.name
        outcome = self.outcomes[name]
        outcome.state = RUNNING
        self.started.setdefault(name, time.monotonic())
        for step in np.steps:
            if self.options.stop.is_set():
                self._skip(name, f"interrupted before `{step.title}`")
                return
            self._emit(name, step.title, RUNNING)
            try:
                detail = self._run_step(name, step)
            except (StepFailed, SshError) as exc:
                self._fail(name, step.title, str(exc))
                return
            outcome.changes += change_count(step)
            self._emit(name, step.title, DONE, detail)
        outcome.state = DONE

    def _run_step(self, name: str, step) -> str:
        if not isinstance(step, Task):
            return run_step(step, self.transports[name], self.answers, self.options, self.journal)
        where = step.on or name
        if where not in self.transports:
            raise StepFailed(f"{step.title}: no connection to {where}")
        self.journal.node_log(name, f"run ({step.kind}{f' on {where}' if step.on else ''}):\n{step.script}")
        # Steps of several nodes may share one server's connection: one command there at a time.
        with self.locks[where] if step.on else nullcontext():
            result = self.transports[where].run(step.script, timeout=step.timeout)
        self.journal.node_log(name, f"exit {result.rc} after {result.elapsed:.1f}s\n{result.stdout}{result.stderr}")
        if not result.ok:
            text = (result.stderr.strip() or result.stdout.strip()).splitlines()[-TAIL_LINES:]
            raise StepFailed(f"{step.title} failed (exit {result.rc}):\n" + "\n".join(text))
        if step.keep:   # k3s logs (e.g. "Snapshot ... saved.") go to stderr
            self.outputs[name].append(result.stdout + result.stderr)
        return f"{result.elapsed:.1f}s"

    # -- bookkeeping ---------------------------------------------------------------------------

    def _failed(self) -> list[str]:
        return [o.node for o in self.outcomes.values() if o.state == FAILED]

    def _blocker(self) -> str | None:
        if self.options.stop.is_set():
            return "interrupted"
        failed = self._failed()
        return f"not started: {failed[0]} failed" if failed else None

    def _fan_out(self, items: list, work: Callable) -> None:
        if items:
            with ThreadPoolExecutor(max_workers=min(max(1, self.options.concurrency), len(items))) as pool:
                list(pool.map(work, items))

    def _emit(self, node: str, phase: str, state: str, message: str = "") -> None:
        message = self.journal.mask(message)
        elapsed = time.monotonic() - self.started.get(node, time.monotonic())
        outcome = self.outcomes[node]
        outcome.phase, outcome.message, outcome.elapsed = phase, message, elapsed
        event = Event(node, phase, state, message, elapsed)
        self.journal.event(event)
        if message:
            self.journal.node_log(node, f"{phase}: {state}: {message}")
        self.on_event(event)

    def _fail(self, node: str, phase: str, message: str) -> None:
        self.outcomes[node].state = FAILED
        self._emit(node, phase, FAILED, message)

    def _skip(self, node: str, reason: str) -> None:
        if self.outcomes[node].state != FAILED:
            self.outcomes[node].state = SKIPPED
            self._emit(node, "skipped", SKIPPED, reason)

    def _skip_pending(self, reason: str) -> None:
        for outcome in self.outcomes.values():
            if outcome.state == PENDING:
                self._skip(outcome.node, reason)

    def _finish(self, plan: Plan | None) -> Day2Result:
        for outcome in self.outcomes.values():
            if outcome.state == PENDING:
                outcome.state = DONE   # connected, probed, and the plan had nothing for it
                self._emit(outcome.node, "done", DONE, "nothing to do")
            elif outcome.state == DONE:
                self._emit(outcome.node, "done", DONE,
                           f"{outcome.changes} change(s)" if outcome.changes else "unchanged")
        interrupted = self.options.stop.is_set()
        result = Day2Result(self.outcomes, self.journal.folder, None, interrupted, plan,
                            command=self.job.command, probes=self.probes, outputs=self.outputs)
        summary = {"command": self.job.command, "cluster": self.answers.cluster.name, "ok": result.ok,
                   "changes": result.changes, "interrupted": interrupted,
                   "nodes": {name: asdict(o) for name, o in self.outcomes.items()}}
        summary.update(getattr(self.job, "summary", lambda outputs: {})(self.outputs))
        self.journal.write_summary(summary)
        self.journal.close()
        return result


def run_job(answers: Answers, job: Job, options: ApplyOptions | None = None,
            on_event: Callable[[Event], None] | None = None, secrets: list[Secret] = ()) -> Day2Result:
    return Runner(answers, job, options or ApplyOptions(), on_event, list(secrets)).run()
