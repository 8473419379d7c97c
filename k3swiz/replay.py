"""`k3swiz replay F`: show the plan, ask, apply with live progress, summarise. No UI.

On a terminal: a live table (node, phase, state, elapsed) and a summary table.
Without one (CI, pipes): plain timestamped lines. Exit 0 ok, 1 a node failed,
130 interrupted. The first Ctrl-C stops starting new steps and lets running ones
finish; the second one abandons them (their connections are closed, the journal
says which). Either way the next run picks up what is still missing.
"""

from __future__ import annotations

import getpass
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table

from .answers import Answers
from .apply import ApplyOptions, ApplyResult, apply_plan
from .connect import Access
from .journal import DONE, FAILED, RUNNING, SKIPPED, Event
from .plan import build_plan
from .plan_view import plan_summary
from .problems import InputError, Problem
from .secrets import Secret

EXIT_INTERRUPTED = 130
STATE_STYLE = {DONE: "green", FAILED: "bold red", RUNNING: "cyan", SKIPPED: "yellow", "pending": "dim"}


def options_from_args(answers: Answers, args) -> ApplyOptions:
    sudo_password = None
    if args.sudo_password_env:
        value = os.environ.get(args.sudo_password_env)
        if not value:
            raise InputError([Problem("", f"--sudo-password-env {args.sudo_password_env}: the variable is not set",
                                      f"export {args.sudo_password_env}=... first")])
        sudo_password = Secret(value)
    interactive = sys.stdin.isatty()
    access = Access(accept_new_hosts=args.accept_new_hosts, sudo_password=sudo_password,
                    ask_sudo_password=_ask_password if interactive and not sudo_password else None)
    return ApplyOptions(concurrency=args.concurrency, only=list(args.only), access=access,
                        merge_kubeconfig=Path("~/.kube/config").expanduser() if args.merge_kubeconfig else None,
                        use_context=args.use_context)


def _ask_password(prompt: str) -> Secret | None:
    value = getpass.getpass(f"{prompt}: ")
    return Secret(value) if value else None


def run_replay(answers: Answers, args) -> int:
    options = options_from_args(answers, args)
    console = Console(stderr=False)
    if not args.yes:
        print("\n".join(plan_summary(build_plan(answers, only=args.only or None))))
        if not sys.stdin.isatty():
            raise InputError([Problem("", "replay changes nodes and there is no terminal to confirm it",
                                      "add --yes to apply without asking, or --dry-run to only look")])
        if input("Apply this plan? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing was changed")
            return 0
    result = run_with_progress(answers, options, console)
    if result.interrupted:
        return EXIT_INTERRUPTED  # like a shell's 128 + SIGINT: the run is incomplete, run it again
    return 0 if result.ok else 1


def run_with_progress(answers: Answers, options: ApplyOptions, console: Console | None = None,
                      run: Callable[..., ApplyResult] | None = None) -> ApplyResult:
    """`run(answers, options, on_event)` with replay's progress, Ctrl-C handling and summary.

    Day-2 commands (k3swiz/cli_day2.py) pass their own runner, so every command shows the same
    live table or plain lines and ends with the same summary.
    """
    console = console or Console(stderr=False)
    run = run or apply_plan  # looked up now, so tests may still patch replay.apply_plan
    with _interrupts(options):
        if console.is_terminal:
            result = _run_live(answers, options, console, run)
        else:
            result = run(answers, options, _plain_printer(answers))
    _print_summary(result, console)
    return result


class _interrupts:
    """First SIGINT: stop starting steps. Second: abandon the running ones (options.abandon:
    the run closes their connections and still writes its journal). Third: KeyboardInterrupt,
    for a runner that does not watch options.abandon."""

    def __init__(self, options: ApplyOptions) -> None:
        self.options = options
        self.count = 0

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.count += 1
        if self.count == 1:
            self.options.stop.set()
            print("\nk3swiz: stopping after the running steps (Ctrl-C again to abandon them)", file=sys.stderr)
        elif self.count == 2:
            self.options.abandon.set()
            print("\nk3swiz: abandoning the running steps; the journal and summary will say which "
                  "(Ctrl-C once more quits at once)", file=sys.stderr)
        else:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self.previous)


def _plain_printer(answers: Answers):
    lock = threading.Lock()

    def printer(event: Event) -> None:
        if event.state == RUNNING and event.phase == "connect":
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        text = f"{stamp} {event.node or '-':<16} {event.phase:<28} {event.state:<8} {event.elapsed:6.1f}s"
        if event.message:
            text += "  " + event.message.splitlines()[0] if event.state != FAILED else "  " + event.message.replace("\n", "\n    ")
        with lock:
            print(text, flush=True)
    return printer


def _run_live(answers: Answers, options: ApplyOptions, console: Console,
              run: Callable[..., ApplyResult] = apply_plan) -> ApplyResult:
    rows: dict[str, Event] = {}
    lock = threading.Lock()

    def table() -> Table:
        grid = Table(title=f"k3swiz: {answers.cluster.name}", expand=False)
        for column in ("node", "role", "phase", "state", "elapsed"):
            grid.add_column(column)
        with lock:
            for node in answers.nodes:
                if options.only and node.name not in options.only:
                    continue
                event = rows.get(node.name)
                state = event.state if event else "pending"
                grid.add_row(node.name, node.role, event.phase if event else "", f"[{STATE_STYLE[state]}]{state}",
                             f"{event.elapsed:.1f}s" if event else "")
        return grid

    def on_event(event: Event) -> None:
        with lock:
            rows[event.node] = event

    with Live(table(), console=console, refresh_per_second=8, get_renderable=table):
        return run(answers, options, on_event)


def _print_summary(result: ApplyResult, console: Console) -> None:
    # soft_wrap: without a terminal rich wraps at 80 columns, which split the journal and
    # kubeconfig paths over two lines (unusable to copy, or for a script to read).
    say = lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
    for outcome in result.outcomes.values():
        line = f"{outcome.node:<16} {outcome.state:<8} {outcome.phase}"
        if outcome.state in (FAILED, SKIPPED):
            line += f": {outcome.message}"
        elif outcome.state == DONE:
            line += f" ({outcome.changes} change(s), {outcome.elapsed:.1f}s)" if outcome.changes else " (unchanged)"
        say(line)
    verdict = "interrupted" if result.interrupted else ("ok" if result.ok else f"{len(result.failed)} node(s) failed")
    say(f"{verdict}: {result.changes} changed")
    if result.kubeconfig:
        say(f"kubeconfig: {result.kubeconfig}")
    say(f"journal: {result.journal}")
