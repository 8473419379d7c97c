"""Looking at nodes from the wizard: "test connection" (facts + pre-flight) and the review's
"compare with nodes" (the current text of each file), as plain data. No Textual here.

The core does the work: `k3swiz.probe.probe_node` and `look_at_node`, which raise SshError
(one readable line) when a node cannot be reached. This module turns each call into an
outcome the screens show, so a failure on one node is a line beside it, never a crash.
Tests inject their own probe/look functions with the same signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ProbeFn = Callable[[Any, str, Any], tuple[Any, list]]   # (answers, node, access) -> (facts, problems)
LookFn = Callable[[Any, str, Any], Any]                 # (answers, node, access) -> NodeLook


def default_probe(answers, node_name: str, access):
    from k3swiz.probe import probe_node
    return probe_node(answers, node_name, access)


def default_look(answers, node_name: str, access):
    from k3swiz.probe import look_at_node
    return look_at_node(answers, node_name, access)


@dataclass
class ProbeOutcome:
    """What "test connection" found on one node: facts and pre-flight problems, or why not."""
    node: str
    facts: Any = None
    problems: list = field(default_factory=list)
    error: str | None = None

    @property
    def reached(self) -> bool:
        return self.error is None


def failure_text(exc: Exception) -> str:
    """The core's SshError is already one line for a person; anything else gets its type named."""
    from k3swiz.ssh_errors import SshError
    return str(exc) if isinstance(exc, SshError) else f"{type(exc).__name__}: {exc}"


def run_probe(probe_fn: ProbeFn, answers, node_name: str, access) -> ProbeOutcome:
    try:
        facts, problems = probe_fn(answers, node_name, access)
    except Exception as exc:  # noqa: BLE001 - shown beside the node, never raised into the UI
        return ProbeOutcome(node_name, error=failure_text(exc))
    return ProbeOutcome(node_name, facts, list(problems))


def describe_facts(facts: Any) -> str:
    """One line about a probed node: OS, init system, installed k3s, ports taken."""
    os_name = " ".join(part for part in (getattr(facts, "os_id", ""), getattr(facts, "os_version", "")) if part)
    k3s = getattr(facts, "k3s_version", None)
    running = " (running)" if k3s and getattr(facts, "service_active", False) else ""
    taken: dict = getattr(facts, "ports_taken", {}) or {}
    ports = ", ".join(f"{port} ({proc})" for port, proc in sorted(taken.items())) or "none"
    return (f"OS {os_name or 'unknown'}, init {getattr(facts, 'init', 'unknown')}, "
            f"k3s {k3s or 'not installed'}{running}, ports in use by others: {ports}")


def short_status(outcome: ProbeOutcome | None) -> str:
    """The node table's "checked" cell: what a glance needs."""
    if outcome is None:
        return ""
    if not outcome.reached:
        return "✗ unreachable"
    errors = [p for p in outcome.problems if getattr(p, "is_error", True)]
    if errors:
        return f"✗ {len(errors)} problem(s)"
    facts = outcome.facts
    os_id = getattr(facts, "os_id", "") or "?"
    return f"✓ {os_id} {getattr(facts, 'os_version', '')}".rstrip() + f", {getattr(facts, 'init', '?')}"


@dataclass
class NodeCompare:
    """The current text of each file on one node ({path: text, or None when absent}), or why not."""
    node: str
    current: dict[str, str | None] | None = None
    error: str | None = None


def run_look(look_fn: LookFn, answers, node_name: str, access) -> NodeCompare:
    try:
        look = look_fn(answers, node_name, access)
    except Exception as exc:  # noqa: BLE001 - the review says "not compared: <why>" for the node
        return NodeCompare(node_name, error=failure_text(exc))
    return NodeCompare(node_name, dict(look.current))
