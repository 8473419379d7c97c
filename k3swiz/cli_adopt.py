"""`k3swiz adopt --node ADDRESS ... -o F`: the command line (the work is in adopt.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from . import day2_console as console
from .problems import InputError, Problem


def register(command) -> dict:
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
    return {"adopt": cmd_adopt}


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
