"""SSH operations per node: a first apply and a rerun with nothing to do, from the journal.

Run (as root, from the repository root):
    python bench/ssh_ops.py                 # 3 servers + 2 agents, as root, deploy and sudoer (~40 s)
    python bench/ssh_ops.py --users root

For each login user (root; deploy: NOPASSWD sudo; sudoer: sudo with a password)
one lab is set up and `k3swiz replay` runs twice. The figures per node come from
the run's summary.json (the transport's own counters: connections, remote
commands, SFTP transfers, bytes, files written); what the nodes saw comes from
the stand-ins' call records (installs and restarts) and the mtimes of the files
k3swiz writes. An SFTP upload (the airgap bundle, k3swiz.ssh_upload) is a
channel on the node's one connection but runs no remote command: it is counted
apart, as the issue asks ("connections, commands and file transfers").

Goals (issue 7): 1 connection per node per run; the facts in one command; a
rerun with nothing to change does no uploads and no restarts; at most 5 remote
commands per node on the first apply (the official Ansible playbooks: 34-54).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_lab, print_table, replay, require_ok, write_answers  # noqa: E402
from fixes import FIXES, fixed_runner  # noqa: E402

SERVERS = 3
WATCHED = ("/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/cluster-token", "/usr/local/bin/k3s")
CHANGES = {("install.sh", None), ("systemctl", "restart"), ("systemctl", "start"), ("rc-service", "restart")}
MAX_FIRST_COMMANDS = 5
PASSWORD_VAR = "K3SWIZ_BENCH_SUDO_PW"


@dataclass
class RunFigures:
    user: str
    run: str                   # "first" or "rerun"
    seconds: float
    stats: dict[str, dict]     # node -> transport stats
    restarts: dict[str, int]   # node -> installs + service (re)starts the node saw
    rewritten: int             # watched files whose mtime changed
    probes: dict[str, int]     # node -> facts events (one per probe)


def node_changes(node, since: int) -> int:
    """Installs and service starts recorded by the stand-ins after call number `since`."""
    calls = node.calls()[since:]
    return sum(1 for c in calls if (c["prog"], None) in CHANGES or (c["prog"], (c["argv"] or [None])[0]) in CHANGES)


def mtimes(nodes) -> dict:
    return {(n.name, p): n.host_path(p).stat().st_mtime_ns for n in nodes for p in WATCHED if n.host_path(p).exists()}


def one_run(label: str, user: str, answers, folder, nodes, extra) -> RunFigures:
    before_calls = {n.name: len(n.calls()) for n in nodes}
    before_files = mtimes(nodes)
    run = replay(answers, folder, concurrency=len(nodes), **extra)
    require_ok(run, f"{label} apply as {user}")
    after_files = mtimes(nodes)
    rewritten = sum(1 for key, value in after_files.items() if before_files.get(key) != value)
    stats = {name: o["stats"] for name, o in run.summary()["nodes"].items()}
    probes = {n.name: sum(1 for e in run.events() if e["node"] == n.name and e["phase"] == "facts") for n in nodes}
    restarts = {n.name: node_changes(n, before_calls[n.name]) for n in nodes}
    return RunFigures(user, label, run.seconds, stats, restarts, rewritten, probes)


def measure_user(user: str, install_seconds: float, fix: str | None = None) -> list[RunFigures]:
    with bench_lab(SERVERS + 2, install_seconds) as (lab, nodes, folder):
        answers = write_answers(lab, nodes, folder, servers=SERVERS, user=user)
        extra = {"runner": fixed_runner(fix)} if fix else {}
        if lab.users.get(user):  # this user's sudo wants a password: hand it over as the CLI expects
            extra |= {"extra_env": {PASSWORD_VAR: lab.users[user]}, "extra_args": ["--sudo-password-env", PASSWORD_VAR]}
        label = user + (" +fix" if fix else "")
        first = one_run("first", label, answers, folder, nodes, extra)
        rerun = one_run("rerun", label, answers, folder, nodes, extra)
    return [first, rerun]


def _spread(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def report(figures: list[RunFigures]) -> list[str]:
    rows = []
    for f in figures:
        names = list(f.stats)
        first, others, agents = names[:1], names[1:SERVERS], names[SERVERS:]

        def spread(key: str, group: list[str]) -> str:
            return _spread([f.stats[n].get(key, 0) for n in group])
        rows.append([f.user, f.run, f.seconds, spread("connections", names),
                     spread("commands", first), spread("commands", others), spread("commands", agents),
                     _spread([f.probes[n] for n in names]), spread("transfers", names), spread("files_written", names),
                     _spread([round(f.stats[n].get("bytes_up", 0) / 1024) for n in names]),
                     sum(f.restarts.values()), f.rewritten])
    print_table("SSH operations per node (3 servers + 2 agents), from summary.json and the nodes' records",
                ["user", "run", "wall s", "conns/node", "cmds first srv", "cmds other srv", "cmds agent",
                 "probes/node", "sftp/node", "files/node", "KiB up/node", "installs+restarts", "files rewritten"], rows)
    return goals(figures)


def goals(figures: list[RunFigures]) -> list[str]:
    misses = []
    for f in figures:
        where = f"{f.user}, {f.run}"
        if any(s.get("connections") != 1 for s in f.stats.values()):
            misses.append(f"{where}: a node did not get exactly one connection")
        if any(count != 1 for count in f.probes.values()):
            misses.append(f"{where}: a node was not probed exactly once")
        if f.run == "first":
            worst = max(f.stats, key=lambda n: f.stats[n].get("commands", 0))
            if f.stats[worst]["commands"] > MAX_FIRST_COMMANDS:
                misses.append(f"{where}: {worst} ran {f.stats[worst]['commands']} remote commands "
                              f"(goal <= {MAX_FIRST_COMMANDS})")
        else:
            if any(s.get("files_written") or s.get("transfers") for s in f.stats.values()) or f.rewritten:
                misses.append(f"{where}: files were uploaded on a rerun with nothing to do")
            if sum(f.restarts.values()):
                misses.append(f"{where}: {sum(f.restarts.values())} install(s)/restart(s) on a rerun")
    print("\ngoals: " + ("all met" if not misses else "NOT met:\n  " + "\n  ".join(misses)))
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="root,deploy,sudoer", help="login users to measure (lab users)")
    parser.add_argument("--install-seconds", type=float, default=1.0, help="stand-in install + start time T")
    parser.add_argument("--fix", metavar="FIX[,FIX]", help=f"also measure with fixes patched in: "
                        f"{', '.join(sorted(FIXES))} (see fixes.py)")
    args = parser.parse_args()
    unknown = set(args.fix.split(",")) - set(FIXES) if args.fix else set()
    if unknown:
        parser.error(f"unknown fix {', '.join(sorted(unknown))}; known: {', '.join(sorted(FIXES))}")
    figures = []
    for user in args.users.split(","):
        print(f"user {user} ...", file=sys.stderr, flush=True)
        figures += measure_user(user, args.install_seconds)
        if args.fix:
            figures += measure_user(user, args.install_seconds, args.fix)
    report(figures)


if __name__ == "__main__":
    main()
