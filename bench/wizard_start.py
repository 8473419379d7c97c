"""Wizard start: launch to first screen painted (in tmux), next to Python and Textual themselves;
and `k3swiz plan` on a 200-node answers file.

Run (from the repository root; tmux must be installed):
    python bench/wizard_start.py [--repeat 3] [--marker "1. Cluster"]

Each figure is the best of --repeat, all in one run:
  * python -c pass / python -c "import textual": the interpreter and the library alone;
  * import k3swiz.plan / k3swiz.apply / k3swiz.cli: what any k3swiz command pays first;
  * a minimal Textual app in tmux: launch to its one line painted (Textual's floor);
  * k3swiz in tmux: launch to the first step's title painted, polled with
    `tmux capture-pane -p` (never a sleep), once through the `k3swiz` console
    script on PATH and once as `python -m k3swiz.cli`;
  * k3swiz plan F --out DIR on 200 nodes (answers from bench/plan_200.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, timed  # noqa: E402
from fixes import FIXES, fixed_runner  # noqa: E402
from plan_200 import answers_doc  # noqa: E402

HELLO_APP = '''
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("textual-hello-painted")

Hello().run()
'''
PAINT_TIMEOUT = 30.0
# k3swiz.cli is imported by every command; k3swiz.apply brings paramiko; k3swiz.plan is what `plan` needs.
IMPORTS = ("k3swiz.plan", "k3swiz.apply", "k3swiz.cli")


def first_paint(command: str, marker: str, folder: Path, env: dict) -> float:
    """Seconds from `tmux new-session` running `command` to `marker` in the pane."""
    socket = folder / f"tmux-{time.monotonic_ns()}"
    tmux = ["tmux", "-S", str(socket), "-f", "/dev/null"]
    started = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", "-c", str(folder), command],
                   check=True, env=env)
    try:
        deadline = started + PAINT_TIMEOUT
        while time.perf_counter() < deadline:
            pane = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True, env=env).stdout
            if marker in pane:
                return time.perf_counter() - started
            time.sleep(0.005)  # the poll interval, not a wait for the result
        raise SystemExit(f"`{command}` did not paint {marker!r} within {PAINT_TIMEOUT:g} s; the pane shows:\n{pane}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, env=env)


def wizard_starts(folder: Path, marker: str, repeat: int, fixes: str | None) -> list[list]:
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state"), "TERM": "xterm-256color"}
    env.pop("TMUX", None)
    hello = folder / "hello.py"
    hello.write_text(HELLO_APP)
    python = sys.executable
    runs = [("minimal Textual app, first paint", f"{python} {hello}", "textual-hello-painted")]
    if shutil.which("k3swiz"):
        runs.append(("k3swiz (console script), first step painted", "k3swiz", marker))
    runs.append(("python -m k3swiz.cli, first step painted", f"{python} -m k3swiz.cli", marker))
    if fixes:
        runs.append((f"  +{fixes}, first step painted", " ".join(fixed_runner(fixes)), marker))
    rows = [["python -c pass", min(timed([python, "-c", "pass"]) for _ in range(repeat))],
            ['python -c "import textual"', min(timed([python, "-c", "import textual"]) for _ in range(repeat))]]
    for module in IMPORTS:  # what every k3swiz command pays before doing anything
        seconds = min(timed([python, "-c", f"import {module}"]) for _ in range(repeat))
        rows.append([f'python -c "import {module}"', seconds])
    for label, command, text in runs:
        rows.append([label, min(first_paint(command, text, folder, env) for _ in range(repeat))])
    return rows


def plan_200(folder: Path, repeat: int, fixes: str | None, count: int = 200) -> list[list]:
    answers = folder / "bench.yaml"
    answers.write_text(yaml.safe_dump(answers_doc(count), sort_keys=False))
    runners = [(f"k3swiz plan, {count} nodes (whole command)", [sys.executable, "-m", "k3swiz.cli"])]
    if fixes:
        runners.append((f"  +{fixes}, plan {count} nodes", fixed_runner(fixes)))
    rows = []
    for label, runner in runners:
        command = [*runner, "plan", str(answers), "--out"]
        rows.append([label, min(timed([*command, str(folder / f"out{label[:3]}{i}")], cwd=folder)
                                for i in range(repeat))])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--marker", default="1. Cluster", help="text of the wizard's first screen to wait for")
    parser.add_argument("--fix", metavar="FIX[,FIX]", help=f"also time the wizard and plan with fixes patched in: "
                        f"{', '.join(sorted(FIXES))} (see fixes.py)")
    args = parser.parse_args()
    unknown = set(args.fix.split(",")) - set(FIXES) if args.fix else set()
    if unknown:
        parser.error(f"unknown fix {', '.join(sorted(unknown))}; known: {', '.join(sorted(FIXES))}")
    if shutil.which("tmux") is None:
        raise SystemExit("wizard start needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory(prefix="k3swiz-bench-start-") as tmp:
        folder = Path(tmp)
        rows = wizard_starts(folder, args.marker, args.repeat, args.fix) + plan_200(folder, args.repeat, args.fix)
    base = rows[0][1]
    textual_paint = next(s for label, s in rows if label.startswith("minimal Textual"))
    print_table(f"Start-up (best of {args.repeat})", ["what", "ms", "x python -c pass", "x minimal Textual app"],
                [[label, round(s * 1000), s / base, s / textual_paint] for label, s in rows])


if __name__ == "__main__":
    main()
