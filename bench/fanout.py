"""Fan-out: how long `k3swiz replay` takes on N real sshd nodes, against the ideal and a serial run.

Run (as root, from the repository root):
    python bench/fanout.py                      # N = 5, 20, 50; serial runs up to 50 (~3 min)
    python bench/fanout.py --nodes 5,20 --serial-max 20 --plot fanout.png
    python bench/fanout.py --nodes 20 --images-mib 32 --fix stage-uploads   # a fix, measured

Topology 3 servers + (N-3) agents; the lab's stand-in k3s takes T seconds to
install and start (--install-seconds, default 1). The ideal for k3swiz's order is
3*T (servers one after another) + T (all agents at once). Each N is measured in
one lab, so the machine's noise mostly cancels in the ratios:
  1. k3swiz replay --concurrency N (a first apply), with CI-like plain output;
  2. the lab floor: the same install scripts run directly in the nodes, no SSH
     (what the stand-ins alone cost here; see lab_floor.py);
  3. with --fix: the same first apply with a product fix patched in (fixes.py);
  4. k3swiz replay --concurrency 1 (one node at a time, like k3sup), up to --serial-max.
The nodes are wiped between the applies. The critical path is split by step kind
from the run's own journal (timeline.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_lab, print_table, replay, require_ok, reset_nodes, write_answers  # noqa: E402
from fixes import FIXES, fixed_runner  # noqa: E402
from lab_floor import lab_floor  # noqa: E402
from timeline import HEADERS, CriticalPath, critical_path  # noqa: E402

SERVERS = 3
GOAL_IDEAL = 1.3      # at N = 50: within 1.3x of the ideal
GOAL_SERIAL = 10.0    # at N = 50: >= 10x faster than serial


@dataclass
class FanoutRow:
    nodes: int
    ideal: float
    k3swiz: float
    floor: float
    serial: float | None
    path: CriticalPath
    fixed: dict[str, tuple[float, CriticalPath]]   # fix set -> (seconds, critical path)

    @property
    def speedup(self) -> float | None:
        return self.serial / self.k3swiz if self.serial else None


def timed_replay(answers, folder, nodes, concurrency: int, runner=None):
    """One first apply; returns (seconds, critical path)."""
    servers = {n.name for n in nodes[:SERVERS]}
    started = time.time()
    run = replay(answers, folder, concurrency=concurrency, runner=runner)
    require_ok(run, f"N={len(nodes)} --concurrency {concurrency}" + (" (fixed)" if runner else ""))
    return run.seconds, critical_path(run.events(), started, run.seconds, servers)


def measure(count: int, args) -> FanoutRow:
    with bench_lab(count, args.install_seconds) as (lab, nodes, folder):
        answers = write_answers(lab, nodes, folder, servers=SERVERS)
        if args.images_mib:
            _pad_images(folder, args.images_mib)
        seconds, path = timed_replay(answers, folder, nodes, count)
        floor = lab_floor(answers, nodes)
        fixed, serial = {}, None
        for fixes in args.fix or []:
            reset_nodes(nodes)
            fixed[fixes] = timed_replay(answers, folder, nodes, count, fixed_runner(fixes))
        if count <= args.serial_max:
            reset_nodes(nodes)
            serial, _ = timed_replay(answers, folder, nodes, 1)
    ideal = (SERVERS + 1) * args.install_seconds
    return FanoutRow(count, ideal, seconds, floor, serial, path, fixed)


def _pad_images(folder: Path, mib: int) -> None:
    """Make the stand-in images archive `mib` MiB, so uploads weigh like a real airgap bundle."""
    images = folder / "bundle" / "k3s-airgap-images-amd64.tar.zst"
    with images.open("ab") as out:
        block = b"\0" * (1 << 20)
        for _ in range(mib):
            out.write(block)


def report(rows: list[FanoutRow], args) -> None:
    fix_sets = args.fix or []
    title = f"Fan-out: k3swiz replay, 3 servers + (N-3) agents, stand-in install T = {args.install_seconds:g} s"
    if args.images_mib:
        title += f", images archive {args.images_mib} MiB"
    headers = ["N", "ideal s", "lab floor s", "k3swiz s", "x ideal", "x floor", "serial s", "serial/k3swiz"]
    headers += [f"+{fixes} s" for fixes in fix_sets]
    table = []
    for r in rows:
        line = [r.nodes, r.ideal, r.floor, r.k3swiz, r.k3swiz / r.ideal, r.k3swiz / r.floor,
                r.serial or "-", r.speedup or "-"]
        table.append(line + [f"{r.fixed[f][0]:.2f} ({r.fixed[f][0] / r.k3swiz:.2f}x)" for f in fix_sets])
    print_table(title, headers, table)
    paths = [[r.nodes, "k3swiz", *r.path.row()] for r in rows]
    paths += [[r.nodes, f"+{f}", *r.fixed[f][1].row()] for r in rows for f in fix_sets]
    print_table("Critical path of the first apply (s), from the journal", ["N", "run", *HEADERS], paths)
    at50 = next((r for r in rows if r.nodes == 50), None)
    if at50:
        print(f"\ngoal at N=50: within {GOAL_IDEAL}x of ideal -> {at50.k3swiz / at50.ideal:.2f}x "
              f"({'met' if at50.k3swiz / at50.ideal <= GOAL_IDEAL else 'NOT met'}; "
              f"the lab floor alone is {at50.floor / at50.ideal:.2f}x)")
        if at50.speedup:
            print(f"goal at N=50: >= {GOAL_SERIAL:g}x faster than serial -> {at50.speedup:.1f}x "
                  f"({'met' if at50.speedup >= GOAL_SERIAL else 'NOT met'})")


def plot(rows: list[FanoutRow], path: Path) -> None:
    """Wall time vs N for k3swiz, ideal, lab floor and serial (matplotlib: a bench-only extra)."""
    try:
        import matplotlib
    except ImportError:
        import subprocess
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6.4, 4.2))
    xs = [r.nodes for r in rows]
    axes.plot(xs, [r.k3swiz for r in rows], "o-", label="k3swiz replay")
    axes.plot(xs, [r.ideal for r in rows], "--", label="ideal (3T + T)")
    axes.plot(xs, [r.floor for r in rows], ":", label="lab floor (stand-ins alone)")
    serial = [(r.nodes, r.serial) for r in rows if r.serial]
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
    parser.add_argument("--images-mib", type=int, default=0, help="pad the airgap images archive to weigh this much")
    parser.add_argument("--fix", metavar="FIX[,FIX]", action="append",
                        help=f"also measure a first apply with fixes patched in (repeatable, one run each): "
                        f"{', '.join(sorted(FIXES))} (see fixes.py)")
    parser.add_argument("--plot", nargs="?", const="fanout.png", metavar="PNG", help="write a chart (default fanout.png)")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",")]
    unknown = {f for fixes in args.fix or [] for f in fixes.split(",")} - set(FIXES)
    if unknown:
        parser.error(f"unknown fix {', '.join(sorted(unknown))}; known: {', '.join(sorted(FIXES))}")
    if min(counts) <= SERVERS:
        parser.error(f"each N must be more than {SERVERS} (3 servers + at least one agent)")
    rows = []
    for count in counts:
        print(f"N={count} ...", file=sys.stderr, flush=True)
        rows.append(measure(count, args))
    report(rows, args)
    if args.plot:
        plot(rows, Path(args.plot))


if __name__ == "__main__":
    main()
