"""Where the wizard meets the apply engine and the fact probes (no Textual here).

The engine (k3swiz/apply.py) is `apply_plan(answers, options, on_event) -> ApplyResult`;
its events carry .node, .phase, .state ("pending" | "running" | "done" | "failed" |
"skipped"), .message and .elapsed. The wizard passes the engine's ApplyOptions with
two callbacks that the engine calls from its thread when it needs a person: an
unknown host key, a sudo password. Tests inject their own apply function.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from k3swiz.secrets import Secret

class NotAvailable(RuntimeError):
    """A part of the core the wizard calls has not been written yet."""


ApplyFn = Callable[[Any, Any, Callable[[Any], None]], Any]
ProbeFn = Callable[[Any, str], Any]


def make_options(only: list[str] | None, ask_host_key: Callable[[Any], bool],
                 ask_sudo_password: Callable[[str], Secret | None]):
    """The engine's options for one run from the wizard: which nodes, and the two prompts."""
    from k3swiz.apply import ApplyOptions
    from k3swiz.connect import Access
    return ApplyOptions(only=list(only or []),
                        access=Access(ask_host_key=ask_host_key, ask_sudo_password=ask_sudo_password))


def default_apply(answers, options, on_event: Callable[[Any], None]):
    from k3swiz.apply import apply_plan
    return apply_plan(answers, options, on_event)


def host_key_fingerprint(unknown: Any) -> str:
    """The fingerprint an unknown host presented ("256 SHA256:... (ED25519)"), from the error."""
    text = getattr(unknown, "message", "") or str(unknown)
    found = re.search(r"presents the key (.+)$", text)
    return found.group(1) if found else text


def default_probe(answers, node_name: str):
    from k3swiz import facts
    probe = getattr(facts, "probe_node", None)
    if probe is None:
        raise NotAvailable("test connection: not available yet (k3swiz.facts.probe_node is being written)")
    return probe(answers, node_name)


def describe_facts(facts: Any) -> str:
    """One line about a probed node: OS, init system, installed k3s, ports taken."""
    os_name = " ".join(part for part in (getattr(facts, "os_id", ""), getattr(facts, "os_version", "")) if part)
    k3s = getattr(facts, "k3s_version", None)
    taken: dict = getattr(facts, "ports_taken", {}) or {}
    ports = ", ".join(f"{port} ({proc})" for port, proc in sorted(taken.items())) or "none"
    return (f"OS {os_name or 'unknown'}, init {getattr(facts, 'init', 'unknown')}, "
            f"k3s {k3s or 'not installed'}, ports in use by others: {ports}")


@dataclass
class ApplyOutcome:
    """The end of a run, as the summary shows it."""
    ok: bool
    failed: list[str] = field(default_factory=list)
    kubeconfig: str | None = None
    journal: str | None = None


def outcome_of(result: Any, node_states: dict[str, str]) -> ApplyOutcome:
    """Read the engine's result (duck-typed: tests pass simpler ones), falling back on the rows."""
    failed = [getattr(o, "node", o) for o in (getattr(result, "failed", None) or [])]
    failed = failed or [n for n, s in node_states.items() if s == "failed"]
    ok = getattr(result, "ok", None)
    if ok is None:
        ok = not failed
    kubeconfig = getattr(result, "kubeconfig", None) or getattr(result, "kubeconfig_path", None)
    journal = getattr(result, "journal", None) or getattr(result, "journal_path", None)
    return ApplyOutcome(bool(ok), failed, str(kubeconfig) if kubeconfig else None,
                        str(journal) if journal else None)


def event_line(event: Any) -> str:
    """One log line: node, phase, state, seconds, message (columns line up: no leading blanks)."""
    elapsed = getattr(event, "elapsed", None)
    when = f"{elapsed:.1f}s" if isinstance(elapsed, (int, float)) else ""
    node = getattr(event, "node", None) or "(run)"
    phase = getattr(event, "phase", "") or ""
    state = getattr(event, "state", "") or ""
    message = getattr(event, "message", "") or ""
    return f"{node:<12} {phase:<18} {state:<8} {when:>7}  {message}".rstrip()
