"""The day-2 commands the start screen offers, as data: the exact CLI command, the plan lines the
CLI prints before asking, the core's job, and how to report its end. No Textual here.

Everything is built from the same core calls the CLI handlers make (k3swiz/cli_day2.py,
cli_upgrade.py): ResetJob + reset.build_plan, check_upgrade + UpgradeJob + upgrade_plan,
day2_console.plan_lines, day2_run.Runner. Only the wiring lives here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from k3swiz.answers import Answers


def cli_command(*words: str) -> str:
    """The command as a person would type it (quoted where the shell needs it)."""
    return " ".join(["k3swiz", *(shlex.quote(str(word)) for word in words)])


@dataclass
class Day2Action:
    title: str                       # "Reset cluster homelab"
    command: str                     # the CLI command that does the same
    plan_lines: list[str]            # what the CLI prints before asking
    job: Any                         # the core's job (ResetJob, UpgradeJob)
    answers: Answers                 # the answers the job runs with
    question: str = "Go ahead?"
    typed_name: str | None = None    # a destructive run asks for this name to be typed
    secrets: list = field(default_factory=list)            # masked in the journal
    report: Callable[[Any], list[str]] = lambda result: []  # lines for the summary after the run
    after_ok: Callable[[], list[str]] | None = None        # e.g. record the new version in the file


def reset_action(answers: Answers, path: Path, only: list[str] | None = None) -> Day2Action:
    from k3swiz.day2_console import plan_lines
    from k3swiz.reset import ResetJob, build_plan, leftovers
    job = ResetJob(answers, only or None)
    words = ["reset", path, *[w for name in (only or []) for w in ("--only", name)]]
    lines = plan_lines("k3swiz reset", build_plan(answers, job.targets, job.helper), job.notes())

    def report(result) -> list[str]:
        return [f"{node}: " + ("nothing left" if not left else "left: " + ", ".join(left))
                for node, left in leftovers(getattr(result, "outputs", {}) or {}).items()]
    return Day2Action(f"Reset cluster {answers.cluster.name}", cli_command(*words), lines, job, answers,
                      question="Reset these nodes?", typed_name=answers.cluster.name if job.full else None,
                      report=report)


def upgrade_choices(answers: Answers) -> list[tuple[str, str]]:
    """(label, --to value): channels, then each newer minor's newest release, from the catalog."""
    from k3swiz.catalog import load_catalog
    from k3swiz.validate import chosen_version
    catalog = load_catalog()
    current = chosen_version(answers, catalog)
    choices = []
    for minor in reversed(catalog.minors):
        if current is not None and minor.newest <= current:
            break
        choices.append((f"{minor.newest}  (newest of {minor.line}, Traefik {minor.traefik})", str(minor.newest)))
    for channel in ("stable", "latest"):
        choices.append((f"channel {channel} (now {catalog.resolve(channel)})", channel))
    return choices


def upgrade_words(path: Path, to: str, batch: int, drain: bool, rewrite: bool) -> list:
    return ["upgrade", path, "--to", to, *(["--batch", str(batch)] if batch != 1 else []),
            *(["--drain"] if drain else []), *(["--rewrite-values"] if rewrite else [])]


def upgrade_action(answers: Answers, path: Path, check, to: str, *, batch: int = 1, drain: bool = False,
                   rewrite: bool = False) -> Day2Action:
    """The upgrade of `check.answers` (core's check_upgrade); InputError when no token is at hand."""
    from k3swiz.day2_console import plan_lines
    from k3swiz.upgrade import prepare_upgrade, record_upgrade
    prepared = prepare_upgrade(check, path.name, batch=batch, drain=drain, rewrite=rewrite)
    new = check.answers
    lines = plan_lines(f"k3swiz upgrade to {prepared.release}", prepared.plan, [prepared.note])

    def record() -> list[str]:
        record_upgrade(path, answers, new)
        return [f"{path} now records k3s {prepared.release} (the previous file is kept beside it)"]
    return Day2Action(f"Upgrade cluster {answers.cluster.name} to {prepared.release}",
                      cli_command(*upgrade_words(path, to, batch, drain, rewrite)), lines, prepared.job, new,
                      question="Upgrade?", secrets=[prepared.token], after_ok=record)


def run_action(action: Day2Action, options, on_event):
    """Run the job like the CLI does (day2_run.Runner): events, journal, result."""
    from k3swiz.day2_run import Runner
    if hasattr(action.job, "wait_timeout"):
        action.job.wait_timeout = options.wait_timeout
    return Runner(action.answers, action.job, options, on_event, list(action.secrets)).run()


def day2_options(action: Day2Action, access):
    """Replay's options for the job's nodes (the progress table shows only these)."""
    from k3swiz.apply import ApplyOptions
    return ApplyOptions(only=[node.name for node in action.job.nodes], access=access)


def exit_code(result, error: str | None = None) -> int:
    """As the CLI: 0 ok, 1 a node failed, 130 interrupted."""
    if error is not None or result is None:
        return 1
    if getattr(result, "interrupted", False):
        return 130
    return 0 if getattr(result, "ok", False) else 1


def command_only(answers: Answers, path: Path) -> dict[str, tuple[str, str]]:
    """Day-2 commands the wizard shows to copy: {key: (command, why it is not run here)}."""
    return {
        "etcd": (cli_command("etcd", "snapshot", "save", path),
                 "Run it in a shell: it takes a snapshot on the first server and records its token's digest. "
                 "`k3swiz etcd snapshot list` shows them; restore, prune and delete are there too."),
        "export": (cli_command("export", path, "--format", "cloud-init", "-o", f"{answers.cluster.name}-seeds"),
                   "Run it in a shell: it writes cloud-init user-data per node (or, with --format ansible, an "
                   "inventory for the k3s-ansible playbooks); the token is referenced, never included."),
    }
