"""Day-2 commands (reset, upgrade, etcd, adopt, export) registered on the main parser.

Kept apart from cli.py so these commands grow without touching the core CLI.
`register(command)` adds subparsers through cli.py's `command(name, help, example)`
factory and returns {command name: handler(args) -> exit code}. Each handler loads the
answers file like replay, shows the plan (`--dry-run` stops there), asks, and runs.
"""

from __future__ import annotations

import sys
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

    p = command("upgrade", "upgrade k3s: check the answers against the new version, servers one at a time, "
                "then agents in batches", "k3swiz upgrade homelab.k3swiz.yaml --to v1.34.1+k3s1 --batch 2 --drain")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--to", required=True, metavar="VERSION|CHANNEL", help="e.g. v1.34.1+k3s1, stable, v1.34")
    p.add_argument("--batch", type=int, default=1, metavar="N", help="agents upgraded at once (default 1)")
    p.add_argument("--drain", action="store_true", help="drain each agent before (uncordon after) through a server")
    p.add_argument("--rewrite-values", action="store_true",
                   help="rewrite Traefik values for the new version's chart in the answers file")
    console.add_run_options(p)
    handlers["upgrade"] = cmd_upgrade

    p = command("adopt", "read a running cluster's nodes and write an answers file that reproduces it",
                "k3swiz adopt --node 10.0.0.5 --node 10.0.0.6 -o homelab.k3swiz.yaml --ssh-user ubuntu")
    p.add_argument("--node", action="append", required=True, metavar="ADDRESS", dest="addresses",
                   help="a node of the cluster (repeatable; every node you want in the answers)")
    p.add_argument("-o", "--out", required=True, type=Path, metavar="FILE", help="answers file to write")
    p.add_argument("--name", help="cluster name (default: the one k3swiz wrote in config.yaml, else k3s)")
    p.add_argument("--ssh-user", metavar="USER", help="login user (default: ~/.ssh/config, else root)")
    p.add_argument("--ssh-port", type=int, metavar="PORT", help="SSH port (default: ~/.ssh/config, else 22)")
    p.add_argument("--identity-file", metavar="KEY", help="private key (default: ~/.ssh/config and the agent)")
    p.add_argument("--known-hosts", metavar="FILE", help="known_hosts file (default ~/.ssh/known_hosts)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--dry-run", action="store_true", help="print the answers instead of writing any file")
    console.add_ssh_options(p)
    handlers["adopt"] = cmd_adopt

    p = command("export", "cloud-init user-data per node, or an inventory for the k3s-ansible playbooks",
                "k3swiz export homelab.k3swiz.yaml --format cloud-init -o seeds/")
    p.add_argument("file", type=Path, help="answers file")
    p.add_argument("--format", required=True, choices=("cloud-init", "ansible"))
    p.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="folder to write into")
    p.add_argument("--dry-run", action="store_true", help="list the files and write nothing")
    handlers["export"] = cmd_export
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


def cmd_upgrade(args) -> int:
    from .answers import load_answers
    from .token import TokenSource
    from .upgrade import UpgradeJob, check_upgrade, upgrade_plan
    loaded = load_answers(args.file)
    if loaded.report.errors:
        raise InputError(loaded.problems())
    if args.batch < 1:
        raise InputError([Problem("", "--batch must be 1 or more", "")])
    check = check_upgrade(loaded.answers, args.to, args.rewrite_values)
    problems = [p.located(loaded.source.file, loaded.source.lines) for p in check.problems]
    _print_changes(check, args)
    errors = [p for p in problems if p.is_error]
    if errors:
        hint = [Problem("cluster.traefik.values", "the Traefik values above need the new chart's keys",
                        "add --rewrite-values to write them into the answers file")] \
            if check.changes and not args.rewrite_values else []
        raise InputError(problems + hint)
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    answers = check.answers
    token = TokenSource(answers.cluster.token, answers).read()
    if token is None:
        raise InputError([Problem("cluster.token", "no token: the upgrade writes the token file like replay",
                                  "point cluster.token at the cluster's token")])
    job = UpgradeJob(answers, token, batch=args.batch, drain=args.drain)
    release = answers.cluster.k3s.version or f"channel {answers.cluster.k3s.channel}"
    note = f"when every node is done, {args.file.name} records k3s {release}" + \
        (" and the rewritten Traefik values" if check.changes and args.rewrite_values else "") + \
        " (the old file is kept beside it)"
    lines = console.plan_lines(f"k3swiz upgrade to {release}", upgrade_plan(
        answers, token, None, batch=args.batch, drain=args.drain), [note])
    if args.dry_run:
        print("\n".join(lines) + "\ndry run: nothing was changed")
        return console.EXIT_OK
    if not console.confirm(args, lines, question="Upgrade?"):
        return console.EXIT_OK
    options = console.options_for(answers, args, job)
    job.wait_timeout = options.wait_timeout
    result = console.run_on_terminal(answers, job, args, secrets=[token], options=options)
    if result.ok:
        _save_upgraded(args.file, loaded.answers, answers)
    return console.exit_code(result)


def _print_changes(check, args) -> None:
    if not check.changes:
        return
    verb = "rewritten" if args.rewrite_values else "to rewrite (--rewrite-values)"
    print(f"Traefik values for k3s {check.target}'s chart, {verb}:")
    for change in check.changes:
        print(f"  {change.describe()}")


def _save_upgraded(path: Path, before, after) -> None:
    """Record the new release (and values) in the answers file; the old file stays beside it."""
    import shutil
    import time

    from .answers import save_answers
    if before.cluster.k3s == after.cluster.k3s and before.cluster.traefik == after.cluster.traefik:
        return
    backup = path.with_name(f"{path.name}.before-upgrade-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    save_answers(after, path, include_secrets=bool(after.cluster.token.value))
    print(f"{path} now records k3s {after.cluster.k3s.version or after.cluster.k3s.channel}; "
          f"the previous file is {backup.name}")


def _local(path: str | None) -> str | None:
    """A local path for the answers file: `~/...` kept, others made absolute."""
    if path is None or path.startswith("~"):
        return path
    return str(Path(path).resolve())


def cmd_adopt(args) -> int:
    from .adopt import AdoptJob, ReadError, build_answers, parse_probe
    from .answers import Answers
    from .schema import from_data
    from .problems import Report
    if args.out.exists() and not (args.force or args.dry_run):
        raise InputError([Problem("", f"{args.out} exists", "add --force to overwrite it, or pick another -o")])
    if len(set(args.addresses)) != len(args.addresses):
        raise InputError([Problem("", "a --node address is given twice", "give each node once")])
    ssh = {k: v for k, v in {"user": args.ssh_user, "port": args.ssh_port, "identity-file": _local(args.identity_file),
                             "known-hosts": _local(args.known_hosts)}.items() if v}
    doc = {"apiVersion": "k3swiz/v1", "cluster": {"name": args.name or "adopt"}, "ssh": ssh,
           "nodes": [{"name": a, "address": a, "role": "server"} for a in args.addresses]}
    reading_answers = from_data(Answers, doc, "", Report())
    job = AdoptJob(reading_answers)
    result = console.run_on_terminal(reading_answers, job, args)
    if not result.ok:
        return console.exit_code(result)
    readings = [parse_probe(a, result.probes[a]) for a in args.addresses]
    try:
        adopted = build_answers(readings, ssh, args.name)
    except ReadError as exc:
        print(f"k3swiz adopt: {exc}", file=sys.stderr)
        return console.EXIT_FAILED
    return _write_adopted(adopted, readings, args)


def _write_adopted(adopted, readings, args) -> int:
    from .adopt import predicted_changes
    from .answers import TokenRef, save_answers, to_yaml
    from .validate import validate_answers
    answers, out = adopted.answers, args.out
    answers.base_dir = out.resolve().parent
    token_name = f"{answers.cluster.name}.token"
    if adopted.token is None:
        answers.cluster.token = TokenRef(env="K3S_TOKEN")
        adopted.notes.append("no token found on the nodes: the answers read it from $K3S_TOKEN")
    else:
        answers.cluster.token = TokenRef(file=f"./{token_name}")
    changes = predicted_changes(adopted, {r.address: r for r in readings})
    problems = validate_answers(answers).problems
    if args.dry_run:
        print(to_yaml(answers), end="")
    else:
        if adopted.token is not None:
            _write_token(answers.base_dir / token_name, adopted.token)
        save_answers(answers, out)
        print(f"wrote {out}" + (f" and {token_name} (0600)" if adopted.token is not None else ""))
    for note in adopted.notes:
        print(f"note: {note}")
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    pending = {node: paths for node, paths in changes.items() if paths}
    if not pending:
        print(f"a replay of {out.name} changes nothing on these nodes")
    for node, paths in pending.items():
        print(f"a replay of {out.name} would still change on {node}: {', '.join(paths)}")
    return console.EXIT_FAILED if any(p.is_error for p in problems) else console.EXIT_OK


def _write_token(path: Path, token) -> None:
    """0600 from the first byte; an existing file must hold the same token."""
    import os
    if path.exists():
        if path.read_text().strip() != token.reveal():
            raise InputError([Problem("", f"{path} exists and holds another token",
                                      "move it away, or adopt into another folder")])
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(token.reveal() + "\n")


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
