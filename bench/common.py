"""What the benchmarks share: a lab of real sshd nodes, running `k3swiz replay` as a
subprocess, reading its journal, and printing a small table.

Benchmarks run from the repository root (`python bench/fanout.py`); they reuse
the test lab (tests/lab) and the stand-in airgap bundle (tests/apply_util), so
the nodes are the same kind the integration tests use.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/x.py` puts bench/, not the repo, on the path
    sys.path.insert(0, str(REPO))

from tests.apply_util import lab_answers  # noqa: E402
from tests.lab import Lab, lab_prerequisites_missing, reset_node  # noqa: E402


@contextlib.contextmanager
def bench_lab(count: int, install_seconds: float = 1.0):
    """A started lab of `count` nodes in its own temp folder: yields (lab, nodes, folder).

    The lab is stopped and its folder removed on any exit, also on Ctrl-C.
    """
    missing = lab_prerequisites_missing()
    if missing:
        raise SystemExit(f"cannot run this benchmark: {missing}")
    folder = Path(tempfile.mkdtemp(prefix=f"k3swiz-bench-{count}-"))
    lab = Lab(folder / "lab", install_seconds=install_seconds)
    try:
        nodes = lab.start(count)
        yield lab, nodes, folder
    finally:
        lab.stop()
        shutil.rmtree(folder, ignore_errors=True)


def write_answers(lab, nodes, folder: Path, *, servers: int = 3, name: str = "bench", user: str = "root") -> Path:
    """An answers file: the first `servers` nodes are servers, the rest agents; SSH as `user`."""
    return lab_answers(lab, nodes, folder, servers=servers, name=name, user=user)


def reset_nodes(nodes) -> None:
    """Wipe what an apply left, so the next replay is a first apply again."""
    for node in nodes:
        reset_node(node)


@dataclass
class ReplayRun:
    seconds: float
    cpu: float          # CPU seconds of the k3swiz process (user + system, all its threads)
    machine_cpu: float  # CPU seconds the whole machine was busy meanwhile (k3swiz + every lab node)
    rc: int
    output: str
    journal: Path | None

    def summary(self) -> dict:
        return json.loads((self.journal / "summary.json").read_text()) if self.journal else {}

    def events(self) -> list[dict]:
        if not self.journal:
            return []
        text = (self.journal / "events.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def replay(answers: Path, folder: Path, *, concurrency: int, extra_env: dict | None = None,
           extra_args: list[str] | None = None, runner: list[str] | None = None) -> ReplayRun:
    """`k3swiz replay F --yes --concurrency N` as a subprocess with CI-like plain output.

    `runner` replaces `python -m k3swiz.cli` (e.g. a wrapper that patches the product).
    The journal goes to folder/state (XDG_STATE_HOME), the kubeconfig into folder.
    """
    state = folder / "state"
    before = set(_runs(state))
    env = {**os.environ, "XDG_STATE_HOME": str(state), "CI": "1", "TERM": "dumb", "NO_COLOR": "1",
           "PYTHONPATH": str(REPO), **(extra_env or {})}
    command = (runner or [sys.executable, "-m", "k3swiz.cli"]) + [
        "replay", str(answers), "--yes", "--concurrency", str(concurrency), *(extra_args or [])]
    cpu_before, machine_before = _children_cpu(), machine_busy_seconds()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)
    seconds = time.perf_counter() - started
    new = sorted(set(_runs(state)) - before)
    return ReplayRun(seconds, _children_cpu() - cpu_before, machine_busy_seconds() - machine_before,
                     done.returncode, done.stdout + done.stderr,
                     new[-1] if new else None)


def _children_cpu() -> float:
    """CPU time of waited-for children (the lab's sshds are not waited for until they stop)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (/proc/stat): the lab nodes run on
    this machine, so this minus k3swiz's own CPU is what the nodes (sshd, scripts, stand-ins) used."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _runs(state: Path) -> list[Path]:
    runs = state / "k3swiz" / "runs"
    return [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []


def require_ok(run: ReplayRun, what: str) -> None:
    if run.rc != 0:
        tail = "\n".join(run.output.splitlines()[-30:])
        raise SystemExit(f"{what}: k3swiz replay exited {run.rc}; last output:\n{tail}")


def timed(command: list[str], **kw) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, **kw)
    return time.perf_counter() - started


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    """A plain fixed-width table (no colours: it ends up in reports and issues)."""
    cells = [headers] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
