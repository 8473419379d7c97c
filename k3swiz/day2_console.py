"""What every day-2 command does on the terminal: show its plan, ask before changing anything,
run its job with replay's progress and summary, and turn the result into an exit code.

Asking follows replay: `--yes` skips the question; with no terminal and no `--yes` the command
refuses (exit 2). Destructive commands (a full reset, a restore) ask for the cluster name to be
typed; with `--yes` they need `--confirm-name NAME` instead.
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

from typing import TYPE_CHECKING

from .problems import InputError, Problem

if TYPE_CHECKING:  # the SSH engine loads only when a command runs, so `--help` and `plan` start fast
    from .answers import Answers
    from .apply import ApplyOptions
    from .day2_run import Day2Result, Job
    from .plan import Plan
    from .secrets import Secret

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_run_options(parser: argparse.ArgumentParser, *, typed: bool = False, dry_run: bool = True) -> None:
    """The options every day-2 command that changes nodes shares with replay."""
    if dry_run:
        parser.add_argument("--dry-run", action="store_true", help="print the plan and touch nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before changing nodes")
    if typed:
        parser.add_argument("--confirm-name", metavar="NAME",
                            help="with --yes: the cluster name, as you would type it when asked")
    add_ssh_options(parser)


def add_ssh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=10, metavar="N", help="nodes worked on at once (default 10)")
    parser.add_argument("--accept-new-hosts", action="store_true",
                        help="record unknown host keys in known_hosts (changed keys are always refused)")
    parser.add_argument("--sudo-password-env", metavar="VAR", help="read the sudo password from environment variable VAR")


def plan_lines(title: str, plan: Plan, notes: list[str] = ()) -> list[str]:
    """The plan as the terminal shows it before asking (and as --dry-run prints it)."""
    lines = [f"{title}: cluster {plan.cluster}, {len(plan.waves)} wave(s)"]
    for i, wave in enumerate(plan.waves, 1):
        how = "in parallel" if wave.parallel else "one at a time"
        lines.append(f"  wave {i}: {wave.title} ({how})")
        for np in wave.nodes:
            steps = ", ".join(s.title for s in np.steps) or "nothing to do"
            lines.append(f"    {np.node.name:<16} {np.role_note}: {steps}")
    lines += [f"  note: {note}" for note in notes]
    return lines


def confirm(args, lines: list[str], *, typed_name: str | None = None, question: str = "Go ahead?") -> bool:
    """Show the plan and ask; True to go ahead. Raises InputError when nobody can be asked."""
    print("\n".join(lines), flush=True)
    if typed_name is not None:
        return _confirm_typed(args, typed_name)
    if args.yes:
        return True
    _need_terminal()
    if input(f"{question} [y/N] ").strip().lower() in ("y", "yes"):
        return True
    print("nothing was changed")
    return False


def _confirm_typed(args, name: str) -> bool:
    if args.yes:
        given = getattr(args, "confirm_name", None)
        if given == name:
            return True
        said = f"--confirm-name {given} does not match" if given else "--yes alone is not enough"
        raise InputError([Problem("", f"{said}: this removes cluster {name} for good",
                                  f"add --confirm-name {name} to confirm without a terminal")])
    _need_terminal()
    if input(f"This cannot be undone. Type the cluster name ({name}) to go ahead: ").strip() == name:
        return True
    print("the name does not match: nothing was changed")
    return False


def _need_terminal() -> None:
    if not sys.stdin.isatty():
        raise InputError([Problem("", "this command changes nodes and there is no terminal to confirm it",
                                  "add --yes to go ahead without asking, or --dry-run to only look")])


def options_for(answers: Answers, args, job: Job) -> ApplyOptions:
    """Replay's options (SSH, sudo, host keys) for the job's nodes."""
    from .replay import options_from_args
    shaped = SimpleNamespace(**{"only": [], "merge_kubeconfig": False, "use_context": False, **vars(args)})
    if shaped.concurrency < 1:
        raise InputError([Problem("", "--concurrency must be 1 or more", "")])
    options = options_from_args(answers, shaped)
    options.only = [n.name for n in job.nodes]   # the live table shows only these
    return options


def run_on_terminal(answers: Answers, job: Job, args, secrets: list[Secret] = (),
                    options: ApplyOptions | None = None) -> Day2Result:
    """Run the job with replay's live table (or plain lines), Ctrl-C handling and summary."""
    from .day2_run import Runner
    from .replay import run_with_progress
    options = options or options_for(answers, args, job)
    return run_with_progress(answers, options, run=lambda a, o, on_event: Runner(a, job, o, on_event,
                                                                                 list(secrets)).run())


def exit_code(result: Day2Result) -> int:
    if result.interrupted:
        return EXIT_INTERRUPTED   # as replay: Ctrl-C stopped it before the end, run it again
    return EXIT_OK if result.ok else EXIT_FAILED
