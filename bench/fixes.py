"""Product fixes the benchmarks suggest, patched into one k3swiz process to measure them.

Nothing under k3swiz/ is edited: `python bench/fixes.py FIX[,FIX] replay F --yes ...`
patches the running process, then runs the normal CLI. The owner of each module
applies the real fix; these patches are the evidence of what it would give.

  install-and-wait    k3swiz/plan.py plan_node: the install (or restart) and the
                      wait until ready as ONE remote command. One command and one
                      round trip less per node on a first apply.
                      Measured (fanout.py --fix install-and-wait, N = 5/20/50):
                      0.95x / 0.97x / 0.93x of the wall time. Not adopted: the
                      progress view and the journal would lose the separate
                      "wait until ready" phase (which tells an install that
                      failed from a k3s that never became ready), for one LAN
                      round trip per node, which real k3s start times dwarf.

The patch that stood here for lazy-day2 is gone: the day-2 commands import the SSH
engine only when they run (k3swiz/day2_console.py) since commit def92d2.
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXES: dict = {}


def fix(name: str):
    def register(function):
        FIXES[name] = function
        return function
    return register


@fix("install-and-wait")
def install_and_wait() -> None:
    from k3swiz import plan
    original = plan.plan_node

    def plan_node(*args, **kwargs):
        node_plan = original(*args, **kwargs)
        steps = node_plan.steps
        for i in range(len(steps) - 1):
            start, wait = steps[i], steps[i + 1]
            if getattr(start, "kind", "") in ("install", "restart") and getattr(wait, "kind", "") == "wait":
                script = f"(\n{start.script}) || exit $?\n{wait.script}"
                steps[i:i + 2] = [plan.Run(f"{start.title}, {wait.title}", script, start.kind,
                                           timeout=start.timeout + wait.timeout)]
                break
        return node_plan

    plan.plan_node = plan_node


def fixed_runner(names: str) -> list[str]:
    """The command that runs the k3swiz CLI with these fixes (comma-separated) patched in."""
    return [sys.executable, str(Path(__file__).resolve()), names]


if __name__ == "__main__":
    if len(sys.argv) < 2 or not set(sys.argv[1].split(",")) <= set(FIXES):
        sys.exit(f"usage: python bench/fixes.py FIX[,FIX] [k3swiz arguments...]; fixes: {', '.join(sorted(FIXES))}")
    for name in sys.argv[1].split(","):
        FIXES[name]()
    from k3swiz.cli import main  # after the patches
    sys.exit(main(sys.argv[2:]))
