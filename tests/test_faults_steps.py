"""Fault matrix rows 6 and 7 on real lab nodes: a step fails on one node.

Row 6 extends tests/test_replay_lab.py::test_failing_agent_others_finish_exit_1_rerun_touches_only_it
(exit code, summary lines, installs counted on the rerun) with what it does not
check: the reason in the summary, the journal's record of which node failed and
why, and the rerun's journal showing that only that agent changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k3swiz.journal import DONE, FAILED, read_events
from k3swiz.render import BIN_K3S, CONFIG, LOCAL_INSTALLER, TOKEN_FILE
from tests.apply_util import apply_file, lab_answers
from tests.faults_util import file_states, install_count, leftovers
from tests.test_replay_lab import replay

pytestmark = pytest.mark.lab
WATCHED = (CONFIG, TOKEN_FILE, BIN_K3S, LOCAL_INSTALLER)
INJECTED = "disk full while unpacking (injected by the test)"


def journal_of(stdout: str) -> Path:
    """The journal folder replay names on its last line (one line, however long the path)."""
    journal = Path(stdout.split("journal: ")[1].splitlines()[0])
    assert journal.is_dir(), f"`journal: {journal}` is not the folder (wrapped?)"
    return journal


def test_6_install_fails_on_one_agent_journal_says_which_and_why(lab_factory, tmp_path):
    lab, nodes = lab_factory(4)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="agentfail")
    broken = nodes[2]
    broken.write_file_inside("/etc/k3s-standin.fail-install", INJECTED.encode())
    first = replay(path, "--yes")
    assert first.returncode == 1
    line = next(l for l in first.stdout.splitlines() if l.startswith(broken.name + " "))
    assert "failed" in line and "install k3s" in line and "exit 1" in line
    assert INJECTED in first.stdout  # the node's own reason reaches the terminal
    assert "1 node(s) failed" in first.stdout
    journal = journal_of(first.stdout)
    summary = json.loads((journal / "summary.json").read_text())
    assert summary["ok"] is False
    assert {name: n["state"] for name, n in summary["nodes"].items()} == \
        {n.name: (FAILED if n is broken else DONE) for n in nodes}
    assert summary["nodes"][broken.name]["phase"] == "install k3s"
    assert INJECTED in summary["nodes"][broken.name]["message"]
    failed_events = [e for e in read_events(journal) if e["state"] == FAILED]
    assert [(e["node"], e["phase"]) for e in failed_events] == [(broken.name, "install k3s")]
    log = (journal / "nodes" / f"{broken.name}.log").read_text()
    assert "exit 1" in log and INJECTED in log and "INSTALL_K3S_EXEC" in log  # what ran and what it said
    broken.exec("rm -f /etc/k3s-standin.fail-install")
    before = file_states([n for n in nodes if n is not broken], WATCHED)
    installs = {n.name: install_count(n) for n in nodes}
    again = replay(path, "--yes")
    assert again.returncode == 0, again.stdout
    rerun = json.loads((journal_of(again.stdout) / "summary.json").read_text())
    assert {name for name, n in rerun["nodes"].items() if n["changes"]} == {broken.name}
    assert file_states([n for n in nodes if n is not broken], WATCHED) == before
    assert {n.name for n in nodes if install_count(n) != installs[n.name]} == {broken.name}


def test_7_read_only_target_directory_names_node_and_path(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="readonly")
    victim, others = nodes[2], nodes[:2]
    locked = victim.exec("mount -o remount,ro,bind /etc/rancher && touch /etc/rancher/probe")
    assert locked.returncode != 0 and "Read-only" in locked.stderr  # the bind really is read-only now
    result = apply_file(path, tmp_path)
    outcome = result.outcomes[victim.name]
    assert outcome.state == FAILED and outcome.phase == "write files"
    assert "k3swiz: cannot write /etc/rancher/k3s/config.yaml: cannot create the directory /etc/rancher/k3s" \
        in outcome.message, outcome.message
    assert all(result.outcomes[n.name].state == DONE for n in others)
    # one write script for all files: nothing landed, not even the binary that came before
    assert all(state is None for state in file_states([victim], WATCHED).values())
    assert leftovers(victim) == [] and install_count(victim) == 0
    victim.exec("mount -o remount,rw,bind /etc/rancher")
    before = file_states(others, WATCHED)
    again = apply_file(path, tmp_path)
    assert again.ok and {n for n, o in again.outcomes.items() if o.changes} == {victim.name}
    assert file_states(others, WATCHED) == before
