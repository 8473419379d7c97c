"""`k3swiz etcd ...`: the command line of etcd snapshots, restore, env and members."""

from __future__ import annotations

from pathlib import Path

from . import day2_console as console
from . import snapshot_tokens
from .problems import InputError, Problem
from .token import TokenSource


def register(command) -> dict:
    p = command("etcd", "etcd snapshots (save, list, delete, prune, restore), etcdctl's environment, members",
                "k3swiz etcd snapshot save homelab.k3swiz.yaml --yes")
    sub = p.add_subparsers(dest="etcd_command", metavar="WHAT", required=True)
    snap = sub.add_parser("snapshot", help="save, list, delete, prune or restore etcd snapshots")
    what = snap.add_subparsers(dest="snapshot_command", metavar="ACTION", required=True)

    def action(name: str, help_: str, *, changes: bool = True, typed: bool = False):
        q = what.add_parser(name, help=help_, description=help_)
        q.add_argument("file", type=Path, help="answers file")
        if changes:
            console.add_run_options(q, typed=typed)
        else:
            console.add_ssh_options(q)
        return q

    q = action("save", "take a snapshot now on a server (`k3s etcd-snapshot save`); its token's digest is recorded")
    q.add_argument("--name", help="name prefix (k3s's default: on-demand)")
    q.add_argument("--node", metavar="SERVER", help="the server to take it on (default: the first server)")
    q = action("list", "list the snapshots on the servers, with how their token compares", changes=False)
    q.add_argument("--node", metavar="SERVER", help="only this server")
    q = action("delete", "delete snapshots by name, on the servers that have them")
    q.add_argument("names", nargs="+", metavar="NAME")
    q.add_argument("--node", metavar="SERVER", help="only on this server")
    q = action("prune", "keep the newest N snapshots of a name prefix on each server")
    q.add_argument("--retention", type=int, metavar="N", help="how many to keep (default: the answers' retention)")
    q.add_argument("--name", help="name prefix (k3s's default: on-demand)")
    q.add_argument("--node", metavar="SERVER", help="only on this server")
    q = action("restore", "restore a snapshot: stop every server, cluster-reset the first, rejoin the others",
               typed=True)
    q.add_argument("name", metavar="NAME", help="snapshot file name (see `etcd snapshot list`)")
    q = sub.add_parser("env", help="print the ETCDCTL_* variables and certificate paths for etcdctl on a server")
    q.add_argument("file", type=Path, help="answers file")
    q.add_argument("--node", metavar="SERVER", help="the server (default: the first server)")
    q = sub.add_parser("members", help="list etcd members with etcdctl on a server (or say how to get etcdctl)")
    q.add_argument("file", type=Path, help="answers file")
    q.add_argument("--node", metavar="SERVER", help="the server (default: the first server)")
    console.add_ssh_options(q)
    return {"etcd": cmd_etcd}


def cmd_etcd(args) -> int:
    from .cli import load_valid
    from .etcd import require_etcd
    answers = load_valid(args.file)
    require_etcd(answers)
    if args.etcd_command == "env":
        return cmd_env(answers, args)
    if args.etcd_command == "members":
        return cmd_members(answers, args)
    if args.snapshot_command == "restore":
        return cmd_restore(answers, args)
    return cmd_snapshot(answers, args)


def cmd_env(answers, args) -> int:
    from .etcd import env_text, pick_server
    print(env_text(answers, pick_server(answers, args.node)), end="")
    return console.EXIT_OK


def cmd_members(answers, args) -> int:
    from .etcd import MembersJob, how_to_get_etcdctl, pick_server
    job = MembersJob(answers, pick_server(answers, args.node))
    result = console.run_on_terminal(answers, job, args)
    if not result.ok:
        return console.exit_code(result)
    texts = result.outputs[job.nodes[0].name]
    if not texts:
        print(how_to_get_etcdctl(job.nodes[0], job.facts.version if job.facts else None))
        return console.EXIT_FAILED
    print(texts[-1], end="")
    return console.EXIT_OK


def _current_token(answers):
    return TokenSource(answers.cluster.token, answers).read()


def cmd_snapshot(answers, args) -> int:
    from .etcd import SnapshotJob, pick_server
    sub = args.snapshot_command
    node = getattr(args, "node", None)
    servers = [pick_server(answers, node)] if node or sub == "save" else list(answers.servers)
    token = _current_token(answers)
    digest = snapshot_tokens.token_digest(token) if token else None
    retention = args.retention if sub == "prune" and args.retention is not None else \
        answers.cluster.etcd_snapshots.retention
    if sub == "prune" and retention < 1:
        raise InputError([Problem("", "--retention must be 1 or more", "")])
    job = SnapshotJob(answers, sub, servers, name=getattr(args, "name", None), names=getattr(args, "names", []),
                      retention=retention, token_sha256=digest)
    if sub != "list":
        notes = [] if digest or sub != "save" else ["no token available: the snapshot's token cannot be recorded"]
        lines = console.plan_lines(f"k3swiz etcd snapshot {sub}", job.plan(None)[0], notes)
        if args.dry_run:
            print("\n".join(lines) + "\ndry run: nothing was changed")
            return console.EXIT_OK
        if not console.confirm(args, lines, question=f"Run `etcd-snapshot {sub}`?"):
            return console.EXIT_OK
    result = console.run_on_terminal(answers, job, args, secrets=[token] if token else [])
    if sub == "save":
        _record_saved(answers, job.saved(result.outputs), result)
    elif sub == "list":
        _print_listing(answers, result.outputs, digest)
    return console.exit_code(result)


def _record_saved(answers, saved: list[dict], result) -> None:
    if not saved:
        if result.ok:
            print("k3s did not say the snapshot's name: its token was not recorded")
        return
    entries = [{**entry, "journal": str(result.journal)} for entry in saved if entry["token_sha256"]]
    path = snapshot_tokens.record(answers.cluster.name, entries) if entries else None
    for entry in saved:
        where = f"; its token's sha256 is recorded in {path}" if path and entry["token_sha256"] else ""
        print(f"saved {entry['name']} on {entry['node']}{where}")


def _print_listing(answers, outputs: dict[str, list[str]], digest: str | None) -> None:
    records = snapshot_tokens.load(answers.cluster.name)
    for node, texts in outputs.items():
        if not texts:
            continue
        print(f"--- {node}")
        for line in texts[-1].rstrip("\n").splitlines():
            name = line.split()[0] if line.strip() else ""
            known = name in records or (name and not line.startswith(("Name", "level=", "time=")))
            extra = f"   [{snapshot_tokens.verdict(records.get(name), digest or '')}]" if known else ""
            print(line + extra)


def cmd_restore(answers, args) -> int:
    from .etcd_restore import RestoreJob
    if answers.init_server is None:
        raise InputError([Problem("cluster.mode", "these answers join an existing cluster",
                                  "restore with the answers file of the cluster's first server")])
    token = _current_token(answers)
    if token is None:
        raise InputError([Problem("cluster.token", "no token: a restore needs the token the snapshot was taken with",
                                  "make cluster.token point at it")])
    digest = snapshot_tokens.token_digest(token)
    entry = snapshot_tokens.load(answers.cluster.name).get(args.name)
    if entry and entry.get("token_sha256") != digest:
        raise InputError([Problem("cluster.token", (
            f"snapshot {args.name} was taken with another token (sha256 {entry['token_sha256'][:12]}…) than "
            f"the answers' ({TokenSource(answers.cluster.token, answers).describe()}, sha256 {digest[:12]}…); "
            "k3s cannot open it with this one"), "point cluster.token at the token the snapshot was taken with")])
    notes = [f"token check: {snapshot_tokens.verdict(entry, digest)}"
             + ("" if entry else " (k3s refuses a restore with another token; k3swiz records only the "
                                  "snapshots it saves)"),
             "a node whose token file differs from the answers' token gets the answers' token while k3s is stopped",
             "the other servers' db dirs are moved aside (db.k3swiz-<time>), not deleted"]
    job = RestoreJob(answers, args.name, token)
    lines = console.plan_lines(f"k3swiz etcd snapshot restore {args.name}", job.build({}), notes)
    if args.dry_run:
        print("\n".join(lines) + "\ndry run: nothing was changed")
        return console.EXIT_OK
    if not console.confirm(args, lines, typed_name=answers.cluster.name):
        return console.EXIT_OK
    options = console.options_for(answers, args, job)
    job.wait_timeout = options.wait_timeout
    return console.exit_code(console.run_on_terminal(answers, job, args, secrets=[token], options=options))
