"""Fan-out: how long `k3swiz replay` takes on N real sshd nodes, against the ideal and a serial run.

Run (as root, from the repository root):
    python bench/fanout.py                      # N = 5, 20, 50; serial runs up to 50 (~3 min)
    python bench/fanout.py --nodes 5,20 --serial-max 20 --plot fanout.png
    python bench/fanout.py --nodes 20 --images-mib 64 --fix install-and-wait

Topology 3 servers + (N-3) agents; the lab's stand-in k3s takes T seconds to
install and start (--install-seconds, default 1). The ideal for k3swiz's order is
3*T (servers one after another) + T (all agents at once). Each N is measured in
one lab, so the machine's noise mostly cancels in the ratios:
  1. k3swiz replay --concurrency N (a first apply), with CI-like plain output;
  2. with --fix (repeatable): the same first apply with product fixes patched in (fixes.py);
  3. k3swiz replay --concurrency 1 (one node at a time, like k3sup), up to --serial-max.
The nodes are wiped between the applies.

The critical path is split by step kind from the run's own journal (timeline.py).
On one 2-core machine the stand-in installs of 47 agents cannot all run at once
(each starts ~6 python3 processes), so the install steps take longer than T.
The "as if" table replaces every measured install step by exactly T, which is
what separate machines would give: it shows k3swiz's own overhead against the goals.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_lab, print_table, replay, require_ok, reset_nodes, write_answers  # noqa: E402
from fixes import FIXES, fixed_runner  # noqa: E402
from timeline import HEADERS, CriticalPath, critical_path, install_total  # noqa: E402

SERVERS = 3
GOAL_IDEAL = 1.3      # at N = 50: within 1.3x of the ideal
GOAL_SERIAL = 10.0    # at N = 50: >= 10x faster than serial
# The reference, measured on this kind of machine and lab with a 1 s stand-in start:
# the official k3s Ansible playbooks, 3+2 and 3+17 nodes; k3swiz's goals against them.
ANSIBLE = {5: (58.0, 10.0), 20: (149.0, 25.0)}   # N -> (seconds, goal: k3swiz at least this many times faster)


@dataclass
class Apply:
    seconds: float
    cpu: float             # CPU seconds of the k3swiz process
    nodes_cpu: float       # CPU seconds the lab nodes used meanwhile (sshd, scripts, stand-ins)
    path: CriticalPath
    installs: float        # all install steps added up (the serial run's share of stand-in time)


@dataclass
class FanoutRow:
    nodes: int
    T: float
    k3swiz: Apply
    serial: Apply | None
    fixed: dict[str, Apply] = field(default_factory=dict)

    @property
    def ideal(self) -> float:
        return (SERVERS + 1) * self.T

    def lab_floor(self, run: Apply) -> float:
        """No run on this lab can beat the ideal, nor the nodes' own CPU spread over every core."""
        return max(self.ideal, run.nodes_cpu / (os.cpu_count() or 1))

    def as_if(self, run: Apply) -> float:
        """The wall time had each install step on the critical path taken exactly T."""
        return run.seconds - run.path.steps.get("install k3s", 0.0) + self.ideal

    def serial_as_if(self) -> float | None:
        return self.serial.seconds - self.serial.installs + self.nodes * self.T if self.serial else None


def timed_replay(answers, folder, nodes, concurrency: int, runner=None) -> Apply:
    servers = {n.name for n in nodes[:SERVERS]}
    started = time.time()
    run = replay(answers, folder, concurrency=concurrency, runner=runner)
    require_ok(run, f"N={len(nodes)} --concurrency {concurrency}" + (" (fixed)" if runner else ""))
    events = run.events()
    return Apply(run.seconds, run.cpu, max(0.0, run.machine_cpu - run.cpu), critical_path(events, started, run.seconds, servers), install_total(events))


def measure(count: int, args) -> FanoutRow:
    with bench_lab(count, args.install_seconds) as (lab, nodes, folder):
        answers = write_answers(lab, nodes, folder, servers=SERVERS)
        if args.images_mib:
            _pad_images(folder, args.images_mib)
        row = FanoutRow(count, args.install_seconds, timed_replay(answers, folder, nodes, count), None)
        for fixes in args.fix or []:
            reset_nodes(nodes)
            row.fixed[fixes] = timed_replay(answers, folder, nodes, count, fixed_runner(fixes))
        if count <= args.serial_max:
            reset_nodes(nodes)
            row.serial = timed_replay(answers, folder, nodes, 1)
    return row


def _pad_images(folder: Path, mib: int) -> None:
    """Make the stand-in images archive `mib` MiB, so uploads weigh like a real airgap bundle."""
    images = folder / "bundle" / "k3s-airgap-images-amd64.tar.zst"
    with images.open("ab") as out:
        for _ in range(mib):
            out.write(b"\0" * (1 << 20))


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def report(rows: list[FanoutRow], args) -> None:
    fix_sets = args.fix or []
    title = f"Fan-out: k3swiz replay, 3 servers + (N-3) agents, stand-in install T = {args.install_seconds:g} s"
    title += f", images archive +{args.images_mib} MiB" if args.images_mib else ""
    print_table(title, ["N", "ideal s", "k3swiz s", "k3swiz CPU s", "nodes CPU s", "lab floor s", "x ideal",
                        "serial s", "serial/k3swiz", *(f"+{f} s" for f in fix_sets)],
                [[r.nodes, r.ideal, r.k3swiz.seconds, r.k3swiz.cpu, r.k3swiz.nodes_cpu, r.lab_floor(r.k3swiz),
                  _ratio(r.k3swiz.seconds, r.ideal),
                  r.serial.seconds if r.serial else "-", _ratio(r.serial and r.serial.seconds, r.k3swiz.seconds),
                  *(f"{r.fixed[f].seconds:.2f} ({r.fixed[f].seconds / r.k3swiz.seconds:.2f}x, CPU {r.fixed[f].cpu:.1f})"
                    for f in fix_sets)]
                 for r in rows])
    paths = [[r.nodes, "k3swiz", *r.k3swiz.path.row()] for r in rows]
    paths += [[r.nodes, f"+{f}", *r.fixed[f].path.row()] for r in rows for f in fix_sets]
    print_table("Critical path of the first apply (s), from the journal", ["N", "run", *HEADERS], paths)
    print_table("As if every install step took exactly T (separate machines): k3swiz's own overhead",
                ["N", "k3swiz s", "x ideal", "serial s", "serial/k3swiz", *(f"+{f} x ideal" for f in fix_sets)],
                [[r.nodes, r.as_if(r.k3swiz), _ratio(r.as_if(r.k3swiz), r.ideal), r.serial_as_if() or "-",
                  _ratio(r.serial_as_if(), r.as_if(r.k3swiz)),
                  *(_ratio(r.as_if(r.fixed[f]), r.ideal) for f in fix_sets)] for r in rows])
    cores = os.cpu_count() or 1
    print(f"\nThe lab's nodes share this machine's {cores} cores: their own work (nodes CPU s: sshd, scripts, "
          f"stand-ins) needs at least nodes CPU / {cores} s of wall time (lab floor s), which separate "
          "machines would do in parallel.")
    versus = [[r.nodes, ANSIBLE[r.nodes][0], r.k3swiz.seconds, _ratio(ANSIBLE[r.nodes][0], r.k3swiz.seconds),
               _ratio(ANSIBLE[r.nodes][0], r.as_if(r.k3swiz)), f">= {ANSIBLE[r.nodes][1]:g}"]
              for r in rows if r.nodes in ANSIBLE]
    if versus:
        print_table("Against the issue's reference: the k3s Ansible playbooks on this kind of lab (not re-run here)",
                    ["N", "ansible s", "k3swiz s", "faster", "faster, installs at T", "goal"], versus)
    at50 = next((r for r in rows if r.nodes == 50), None)
    if at50:
        _goal(f"within {GOAL_IDEAL}x of ideal", at50.k3swiz.seconds / at50.ideal, at50.as_if(at50.k3swiz) / at50.ideal,
              lambda x: x <= GOAL_IDEAL)
        if at50.serial:
            _goal(f">= {GOAL_SERIAL:g}x faster than serial", at50.serial.seconds / at50.k3swiz.seconds,
                  at50.serial_as_if() / at50.as_if(at50.k3swiz), lambda x: x >= GOAL_SERIAL)


def _goal(text: str, measured: float, as_if: float, met) -> None:
    print(f"goal at N=50, {text}: measured {measured:.2f}x ({'met' if met(measured) else 'NOT met'}); "
          f"installs at T: {as_if:.2f}x ({'met' if met(as_if) else 'NOT met'})")


def plot(rows: list[FanoutRow], path: Path) -> None:
    """Wall time vs N for k3swiz, ideal and serial (matplotlib: a bench-only extra)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.4, 4.2))
    xs = [r.nodes for r in rows]
    axes.plot(xs, [r.k3swiz.seconds for r in rows], "o-", label="k3swiz replay")
    axes.plot(xs, [r.as_if(r.k3swiz) for r in rows], "o:", label="k3swiz, installs at T")
    axes.plot(xs, [r.ideal for r in rows], "--", label="ideal (3T + T)")
    axes.plot(xs, [r.lab_floor(r.k3swiz) for r in rows], "-.", label="lab floor (nodes CPU / cores)")
    serial = [(r.nodes, r.serial.seconds) for r in rows if r.serial]
    if serial:
        axes.plot(*zip(*serial), "s-", label="--concurrency 1 (serial)")
    axes.set(xlabel="nodes (3 servers + N-3 agents)", ylabel="wall time, s", title="k3swiz fan-out on lab nodes")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"\nchart: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="5,20,50", help="comma-separated N values (each >= 4)")
    parser.add_argument("--serial-max", type=int, default=50, help="run the serial comparison only up to this N")
    parser.add_argument("--install-seconds", type=float, default=1.0, help="stand-in install + start time T")
    parser.add_argument("--images-mib", type=int, default=0, help="add this many MiB to the airgap images archive")
    parser.add_argument("--fix", metavar="FIX[,FIX]", action="append",
                        help=f"also measure a first apply with fixes patched in (repeatable, one run each): "
                        f"{', '.join(sorted(FIXES))} (see fixes.py)")
    parser.add_argument("--plot", nargs="?", const="fanout.png", metavar="PNG",
                        help="write a chart (default fanout.png)")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",")]
    if min(counts) <= SERVERS:
        parser.error(f"each N must be more than {SERVERS} (3 servers + at least one agent)")
    unknown = {f for fixes in args.fix or [] for f in fixes.split(",")} - set(FIXES)
    if unknown:
        parser.error(f"unknown fix {', '.join(sorted(unknown))}; known: {', '.join(sorted(FIXES))}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:  # before minutes of measuring
        parser.error("--plot needs matplotlib: pip install -e '.[bench]'")
    rows = []
    for count in counts:
        print(f"N={count} ...", file=sys.stderr, flush=True)
        rows.append(measure(count, args))
    report(rows, args)
    if args.plot:
        plot(rows, Path(args.plot))


if __name__ == "__main__":
    main()
