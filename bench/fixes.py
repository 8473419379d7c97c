"""Product fixes the benchmarks suggest, patched into one k3swiz process to measure them.

Nothing under k3swiz/ is edited: `python bench/fixes.py FIX[,FIX] replay F --yes ...`
patches the running process, then runs the normal CLI. The owner of each module
applies the real fix; these patches are the evidence of what it would give.

  install-and-wait    k3swiz/plan.py plan_node: the install (or restart) and the
                      wait until ready as ONE remote command. One command and one
                      round trip less per node on a first apply.
  lazy-day2           k3swiz/cli_day2.py imports day2_console (-> apply -> paramiko,
                      replay -> rich) at module level, so every command, the wizard
                      and `plan` included, pays for the SSH stack before it starts.
                      This patch stands in for the fix (import day2_console inside
                      the handlers; the shared argparse options in a light module)
                      by registering no day-2 commands: right for timing `plan` and
                      the wizard's start, which never use them.
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


@fix("lazy-day2")
def lazy_day2() -> None:
    import types
    stub = types.ModuleType("k3swiz.cli_day2")
    stub.register = lambda command: {}
    sys.modules["k3swiz.cli_day2"] = stub


def fixed_runner(names: str) -> list[str]:
    """The command that runs the k3swiz CLI with these fixes (comma-separated) patched in."""
    return [sys.executable, str(Path(__file__).resolve()), names]


if __name__ == "__main__":
    if len(sys.argv) < 2 or not set(sys.argv[1].split(",")) <= set(FIXES):
        sys.exit(f"usage: python bench/fixes.py FIX[,FIX] [k3swiz arguments...]; fixes: {', '.join(sorted(FIXES))}")
    for name in sys.argv[1].split(","):
        FIXES[name]()
    from k3swiz.cli import main  # after the patches: lazy-day2 must come before this import
    sys.exit(main(sys.argv[2:]))
