"""Day-2 commands (reset, upgrade, etcd, adopt, export) registered on the main parser.

Kept apart from cli.py so these commands grow without touching the core CLI.
`register(command)` adds subparsers through cli.py's `command(name, help, example)`
factory and returns {command name: handler(args) -> exit code}. Each handler loads the
answers file like replay, shows the plan (`--dry-run` stops there), asks, and runs.
"""

from __future__ import annotations

from pathlib import Path

from . import cli_adopt, cli_etcd, cli_upgrade
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
    for module in (cli_upgrade, cli_etcd, cli_adopt):
        handlers.update(module.register(command))
    p = command("export", "cloud-init user-data per node, or an inventory for the k3s-ansible playbooks",
                "k3swiz export homelab.k3swiz.yaml --format cloud-init -o seeds/")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--format", required=True, choices=("cloud-init", "ansible"))
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="folder to write into")
    p.add_argument("--dry-run", action="store_true", help="list the files and write nothing")
    handlers["export"] = cmd_export
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


def cmd_export(args) -> int:
    from .export import cloud_init_files, write_files
    from .export_ansible import inventory_files
    from .token import TokenSource
    answers = _answers(args)
    files = cloud_init_files(answers) if args.format == "cloud-init" else inventory_files(answers, args.out)
    for relative, text in files.items():
        print(f"{args.out / relative}  ({len(text.encode())} bytes)")
    if args.dry_run:
        print("dry run: nothing was written")
        return console.EXIT_OK
    write_files(args.out, files)
    print(f"wrote {len(files)} file(s) (0600); the token is referenced, not included")
    source = TokenSource(answers.cluster.token, answers)
    if answers.cluster.mode == "init" and source.path is not None and not source.path.exists():
        source.read(create=True)   # like replay: a new cluster's token file is made once, 0600
        print(f"created {answers.cluster.token.file} with a new token (0600): the machines need it")
    return console.EXIT_OK
