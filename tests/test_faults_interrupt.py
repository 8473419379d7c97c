"""Fault matrix row 8: SIGINT to `k3swiz replay` (a subprocess) while an install runs.

First Ctrl-C: no new step starts, the running one finishes, exit 130, the journal
says what was done. Second Ctrl-C: the running steps are abandoned at once (their
connections closed), still exit 130 with a journal. Either way the next run
resumes and completes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from k3swiz.journal import DONE, FAILED, SKIPPED, read_events
from tests.apply_util import lab_answers
from tests.faults_util import install_count, wait_for, wait_until_idle
from tests.test_replay_lab import replay

pytestmark = pytest.mark.lab
EXIT_INTERRUPTED = 130


class Replay:
    """`k3swiz replay F --yes` running in the background, its output collected line by line."""

    def __init__(self, path: Path) -> None:
        env = {**os.environ, "XDG_STATE_HOME": str(path.parent / "state")}
        self.proc = subprocess.Popen([sys.executable, "-m", "k3swiz.cli", "replay", str(path), "--yes"],
                                     cwd=path.parent, env=env, stdin=subprocess.DEVNULL, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, l), daemon=True)
                         for s, l in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def saw(self, *words: str, stream: str = "out") -> bool:
        return any(all(w in line for w in words) for line in (self.out if stream == "out" else self.err))

    def interrupt(self) -> float:
        self.proc.send_signal(signal.SIGINT)
        return time.monotonic()

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        rc = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(10)
        return rc, "".join(self.out), "".join(self.err)


def journal_summary(stdout: str) -> tuple[Path, dict]:
    journal = Path(stdout.split("journal: ")[1].splitlines()[0])
    return journal, json.loads((journal / "summary.json").read_text())


def test_8a_first_sigint_lets_the_running_install_finish_then_stops(lab_factory, tmp_path):
    lab, nodes = lab_factory(3, install_seconds=2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="sigint")
    first, agents = nodes[0], nodes[1:]
    run = Replay(path)
    wait_for(lambda: run.saw(first.name, "install k3s", "running"), 60, "the first server's install to run")
    run.interrupt()
    rc, out, err = run.finish()
    assert rc == EXIT_INTERRUPTED, out + err
    assert "stopping after the running steps" in err and "Traceback" not in out + err
    assert "interrupted: " in out
    journal, summary = journal_summary(out)
    assert summary["interrupted"] is True and summary["ok"] is False
    done = [(e["node"], e["phase"]) for e in read_events(journal) if e["state"] == DONE]
    assert (first.name, "install k3s") in done  # the running step finished and says so
    states = {name: (n["state"], n["message"]) for name, n in summary["nodes"].items()}
    assert states[first.name] == (SKIPPED, f"interrupted before `wait until {first.name} is ready`")
    for agent in agents:
        assert states[agent.name] == (SKIPPED, "interrupted before it started")
        assert install_count(agent) == 0 and not agent.host_path("/etc/rancher/k3s/config.yaml").exists()
    assert install_count(first) == 1
    again = replay(path, "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert install_count(first) == 1 and all(install_count(a) == 1 for a in agents)  # resumed, not redone


def test_8b_second_sigint_abandons_the_running_installs(lab_factory, tmp_path, record_property):
    lab, nodes = lab_factory(3, install_seconds=4)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="abandon")
    agents = nodes[1:]
    run = Replay(path)
    wait_for(lambda: all(run.saw(a.name, "install k3s", "running") for a in agents), 90,
             "both agents' installs to run")
    run.interrupt()
    wait_for(lambda: run.saw("stopping after the running steps", stream="err"), 10, "the first Ctrl-C to register")
    abandoned_at = run.interrupt()
    rc, out, err = run.finish()
    took = time.monotonic() - abandoned_at
    record_property("exit_after_second_sigint_s", round(took, 2))
    print(f"exited {took:.2f} s after the second Ctrl-C (installs take 4 s)")
    assert rc == EXIT_INTERRUPTED, out + err
    assert took < 2.5, "the second Ctrl-C must not wait for the 4 s installs"
    assert "abandon" in err and "Traceback" not in out + err
    journal, summary = journal_summary(out)
    assert summary["interrupted"] is True
    assert summary["nodes"][nodes[0].name]["state"] == DONE
    for agent in agents:
        node = summary["nodes"][agent.name]
        assert node["state"] == FAILED and node["phase"] == "install k3s"
        assert "abandoned" in node["message"] and "run again" in node["message"]
    for agent in agents:
        wait_until_idle(agent)
    again = replay(path, "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    _, rerun = journal_summary(again.stdout)
    assert rerun["nodes"][nodes[0].name]["changes"] == 0
