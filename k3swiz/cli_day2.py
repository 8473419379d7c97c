"""Day-2 commands (reset, upgrade, etcd, adopt, export) registered on the main parser.

Kept apart from cli.py so these commands grow without touching the core CLI.
`register(command)` adds subparsers through cli.py's `command(name, help, example)`
factory and returns {command name: handler(args) -> exit code}. Each handler loads the
answers file like replay, shows the plan (`--dry-run` stops there), asks, and runs.
"""

from __future__ import annotations

from pathlib import Path

from . import cli_etcd
from . import day2_console as console
from .problems import InputError, Problem


def register(command) -> dict:
    handlers = {}
    p = command("reset", "uninstall k3s from the answers' nodes (agents first), remove k3swiz's files, "
                "report what is left", "k3swiz reset homelab.k3swiz.yaml --only w3 --yes")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--only", action="append", metavar="NODE", default=[], help="only this node (repeatable)")
    console.add_run_options(p, typed=True)
    handlers["reset"] = cmd_reset
    handlers.update(cli_etcd.register(command))
    return handlers


def _answers(args):
    from .cli import load_valid
    return load_valid(args.file)


def check_only(answers, names: list[str], flag: str = "--only") -> None:
    known = [n.name for n in answers.nodes]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputError([Problem("", f"{flag} {name}: no such node in the answers file",
                                  f"nodes: {', '.join(known)}") for name in unknown])


def cmd_reset(args) -> int:
    from .reset import ResetJob, build_plan, leftovers
    answers = _answers(args)
    check_only(answers, args.only)
    job = ResetJob(answers, args.only or None)
    lines = console.plan_lines("k3swiz reset", build_plan(answers, job.targets, job.helper), job.notes())
    if args.dry_run:
        print("\n".join(lines) + "\ndry run: nothing was changed")
        return console.EXIT_OK
    typed = answers.cluster.name if job.full else None
    if not console.confirm(args, lines, typed_name=typed, question="Reset these nodes?"):
        return console.EXIT_OK
    result = console.run_on_terminal(answers, job, args)
    for node, left in leftovers(result.outputs).items():
        print(f"{node}: " + ("nothing left" if not left else "left: " + ", ".join(left)))
    return console.exit_code(result)
