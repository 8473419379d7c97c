"""Load: 50 lab nodes (3 servers + 47 agents) applied with concurrency 50.

The apply runs in-process in a fresh Python (so the RSS figure is k3swiz's own, not the test
run's): open file descriptors are counted before and after in that same process, twice (the
first apply, then a rerun that changes nothing), and ru_maxrss must stay under 200 MB.
Threads are only checked to go back to one: paramiko's transport threads end on their own
shortly (~0.1 s) after close().
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.apply_util import apply_file, lab_answers

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parent.parent
NODES, SERVERS, CONCURRENCY = 50, 3, 50
MAX_RSS_MB = 200


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def measure(answers: str, folder: str) -> None:
    """Runs in the child: apply twice, print the figures as one JSON line."""
    figures: dict = {"fds_before": open_fds(), "threads_before": threading.active_count()}
    for run in ("first", "rerun"):
        started = time.monotonic()
        result = apply_file(Path(answers), Path(folder), concurrency=CONCURRENCY, wait_timeout=60)
        figures[f"{run}_seconds"] = round(time.monotonic() - started, 2)
        figures[f"{run}_ok"] = result.ok
        figures[f"{run}_changes"] = result.changes
        figures[f"{run}_failed"] = [(o.node, o.phase, o.message[:200]) for o in result.failed]
        gc.collect()
        figures[f"fds_after_{run}"] = open_fds()
    figures["threads_at_end"] = threading.active_count()
    started = time.monotonic()
    while threading.active_count() > figures["threads_before"] and time.monotonic() - started < 10:
        time.sleep(0.05)  # paramiko's transport threads end on their own shortly after close()
    figures["threads_after"] = threading.active_count()
    figures["threads_settled_s"] = round(time.monotonic() - started, 2)
    figures["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    peak = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    figures["vm_hwm_mb"] = round(int(peak.split()[1]) / 1024, 1)  # the same peak, from the kernel's mm
    print(json.dumps(figures))


def test_50_nodes_concurrency_50_no_fd_leak_under_200_mb(lab_factory, tmp_path, record_property):
    lab, nodes = lab_factory(NODES)
    path = lab_answers(lab, nodes, tmp_path, servers=SERVERS, name="load")
    # Through sh: a child exec'ed straight from pytest inherits pytest's own peak in ru_maxrss
    # (Linux keeps the peak of the mm it replaced at exec: 270 MB after the fuzz tests).
    child = subprocess.run(
        ["sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c",
         f"from tests.test_load import measure; measure({str(path)!r}, {str(tmp_path)!r})"],
        cwd=ROOT, capture_output=True, text=True, timeout=500, env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    assert child.returncode == 0, child.stderr[-3000:]
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    for key, value in figures.items():
        record_property(key, value)
    print("load figures:", json.dumps(figures))
    assert figures["first_ok"], figures["first_failed"]
    assert figures["first_changes"] > 0 and figures["rerun_ok"] and figures["rerun_changes"] == 0
    assert figures["fds_after_first"] == figures["fds_before"] == figures["fds_after_rerun"], figures
    assert figures["threads_after"] == figures["threads_before"], figures
    assert figures["max_rss_mb"] < MAX_RSS_MB, figures
    registered = sorted(p.name for p in (lab.shared_dir / "nodes").iterdir())
    assert registered == sorted(n.name for n in nodes)
