"""`k3swiz upgrade F --to VERSION|CHANNEL`: the command line (the work is in upgrade.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from . import day2_console as console
from .problems import InputError, Problem


def register(command) -> dict:
    p = command("upgrade", "upgrade k3s: check the answers against the new version, servers one at a time, "
                "then agents in batches", "k3swiz upgrade homelab.k3swiz.yaml --to v1.34.1+k3s1 --batch 2 --drain")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--to", required=True, metavar="VERSION|CHANNEL", help="e.g. v1.34.1+k3s1, stable, v1.34")
    p.add_argument("--batch", type=int, default=1, metavar="N", help="agents upgraded at once (default 1)")
    p.add_argument("--drain", action="store_true", help="drain each agent before (uncordon after) through a server")
    p.add_argument("--rewrite-values", action="store_true",
                   help="rewrite Traefik values for the new version's chart in the answers file")
    console.add_run_options(p)
    return {"upgrade": cmd_upgrade}


def checked_upgrade(args):
    """(loaded answers, UpgradeCheck) or InputError with every problem of the answers-to-be."""
    from .answers import load_answers
    from .upgrade import check_upgrade
    loaded = load_answers(args.file)
    if loaded.report.errors:
        raise InputError(loaded.problems())
    if args.batch < 1:
        raise InputError([Problem("", "--batch must be 1 or more", "")])
    check = check_upgrade(loaded.answers, args.to, args.rewrite_values)
    problems = [p.located(loaded.source.file, loaded.source.lines) for p in check.problems]
    _print_changes(check, args)
    if any(p.is_error for p in problems):
        hint = [Problem("cluster.traefik.values", "the Traefik values above need the new chart's keys",
                        "add --rewrite-values to write them into the answers file")] \
            if check.changes and not args.rewrite_values else []
        raise InputError(problems + hint)
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    return loaded, check


def cmd_upgrade(args) -> int:
    from .upgrade import prepare_upgrade, record_upgrade
    loaded, check = checked_upgrade(args)
    answers = check.answers
    prepared = prepare_upgrade(check, args.file.name, batch=args.batch, drain=args.drain,
                               rewrite=args.rewrite_values)
    lines = console.plan_lines(f"k3swiz upgrade to {prepared.release}", prepared.plan, [prepared.note])
    if args.dry_run:
        print("\n".join(lines) + "\ndry run: nothing was changed")
        return console.EXIT_OK
    if not console.confirm(args, lines, question="Upgrade?"):
        return console.EXIT_OK
    options = console.options_for(answers, args, prepared.job)
    prepared.job.wait_timeout = options.wait_timeout
    result = console.run_on_terminal(answers, prepared.job, args, secrets=[prepared.token], options=options)
    if result.ok:
        backup = record_upgrade(args.file, loaded.answers, answers)
        if backup:
            print(f"{args.file} now records k3s {prepared.release}; the previous file is {backup.name}")
    return console.exit_code(result)


def _print_changes(check, args) -> None:
    if not check.changes:
        return
    verb = "rewritten" if args.rewrite_values else "to rewrite (--rewrite-values)"
    print(f"Traefik values for k3s {check.target}'s chart, {verb}:")
    for change in check.changes:
        print(f"  {change.describe()}")
