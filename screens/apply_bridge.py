"""Where the wizard meets the apply engine (no Textual here; node probes: node_looks.py).

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

ApplyFn = Callable[[Any, Any, Callable[[Any], None]], Any]


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
