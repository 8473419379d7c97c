"""Fault matrix rows 1-5 on real lab nodes: the link to a node breaks, or never comes up.

Each test: the failing node is reported with a clear reason, no half-written file
is left at any target path, nothing else is corrupted, and a rerun afterwards
completes and changes only what is still missing.
"""

from __future__ import annotations

import hashlib
import os
import time

import pytest
import yaml

from k3swiz.connect import Access
from k3swiz.journal import DONE, FAILED, SKIPPED
from k3swiz.render import BIN_K3S, CONFIG, LOCAL_INSTALLER, TOKEN_FILE
from k3swiz.secrets import Secret
from tests.apply_util import apply_file, lab_answers
from tests.faults_util import (Background, big_k3s_binary, file_states, install_count, leftovers,
                               session_sshd_pids, wait_for, wait_until_idle)
from tests.lab.files import new_ed25519_key, write_atomic

pytestmark = pytest.mark.lab
WATCHED = (CONFIG, TOKEN_FILE, BIN_K3S, LOCAL_INSTALLER)


def states(result) -> dict[str, str]:
    return {name: o.state for name, o in result.outcomes.items()}


def changed(result) -> set[str]:
    return {name for name, o in result.outcomes.items() if o.changes}


def no_change_anywhere(nodes) -> None:
    assert all(state is None for state in file_states(nodes, WATCHED).values())
    assert all(install_count(n) == 0 for n in nodes)


def test_1_node_killed_during_upload(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="upload")
    digest = big_k3s_binary(tmp_path / "bundle" / "k3s", 40)
    victim, healthy = nodes[2], nodes[:2]
    run = Background(apply_file, path, tmp_path)
    temps = lambda: [p for p in victim.host_path("/usr/local/bin").glob(".k3s.k3swiz-*")  # noqa: E731
                     if p.stat().st_size > 4 * 1024 * 1024]
    wait_for(temps, 90, f"4 MiB of the binary to reach {victim.name}")
    victim.kill()  # the whole node: sshd and the writing shell die, no trap runs (paramiko: bare EOFError)
    result = run.outcome()
    outcome = result.outcomes[victim.name]
    assert outcome.state == FAILED and outcome.phase == "write files"
    assert f"{victim.name} (" in outcome.message and "connection dropped" in outcome.message
    assert states(result) == {**{n.name: DONE for n in healthy}, victim.name: FAILED}
    assert all(not victim.host_path(p).exists() for p in WATCHED)  # nothing half-written in place
    assert leftovers(victim), "the killed shell could not remove its temp (the next write does)"
    victim.restart()
    lab.rekey_known_hosts()
    before = file_states(healthy, WATCHED)
    again = apply_file(path, tmp_path)
    assert again.ok and changed(again) == {victim.name}
    assert file_states(healthy, WATCHED) == before
    assert hashlib.sha256(victim.host_path(BIN_K3S).read_bytes()).hexdigest() == digest
    assert [leftovers(n) for n in nodes] == [[], [], []]


def test_2_sshd_killed_during_a_remote_command(lab_factory, tmp_path):
    lab, nodes = lab_factory(3, install_seconds=2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="cmd")
    victim, healthy = nodes[2], nodes[:2]
    run = Background(apply_file, path, tmp_path)
    wait_for(lambda: install_count(victim), 60, f"the install to start on {victim.name}")
    for pid in session_sshd_pids(victim):  # the connection's sshd, not the node: the install goes on alone
        victim.exec(f"kill -KILL {pid}")
    result = run.outcome()
    outcome = result.outcomes[victim.name]
    assert outcome.state == FAILED and outcome.phase == "install k3s", outcome
    assert "connection dropped while a command was running" in outcome.message
    assert "re-run" in outcome.message  # never reported as success: it may or may not have completed
    assert states(result) == {**{n.name: DONE for n in healthy}, victim.name: FAILED}
    wait_until_idle(victim)  # the orphaned install goes on alone: let it end before the rerun
    before = file_states(healthy, WATCHED)
    again = apply_file(path, tmp_path)
    assert again.ok and changed(again) <= {victim.name}
    assert file_states(healthy, WATCHED) == before
    assert [leftovers(n) for n in nodes] == [[], [], []]


def test_3a_wrong_key_is_refused_and_nothing_changes(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    stranger = tmp_path / "stranger_ed25519"
    write_atomic(stranger, new_ed25519_key()[0], 0o600)
    victim = nodes[1]
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="key",
                       node_extra={victim.name: {"ssh": {"identity-file": str(stranger)}}})
    result = apply_file(path, tmp_path)
    outcome = result.outcomes[victim.name]
    assert outcome.state == FAILED and outcome.phase == "connect"
    assert "refused every key for user root" in outcome.message and str(stranger) in outcome.message
    assert "ssh-copy-id" in outcome.message
    assert {n: s for n, s in states(result).items() if n != victim.name} == {nodes[0].name: SKIPPED,
                                                                             nodes[2].name: SKIPPED}
    no_change_anywhere(nodes)
    doc = yaml.safe_load(path.read_text())
    doc["nodes"][1].pop("ssh")
    path.write_text(yaml.safe_dump(doc))
    assert apply_file(path, tmp_path).ok


def test_3b_wrong_sudo_password_is_refused_and_nothing_changes(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="sudo", user="sudoer")
    wrong = Secret("not-the-password-" + os.urandom(4).hex())
    result = apply_file(path, tmp_path, access=Access(sudo_password=wrong, ssh_config_path=tmp_path / "none"))
    assert set(states(result).values()) == {FAILED}
    for outcome in result.outcomes.values():
        assert outcome.phase == "connect" and "sudo refused the password for sudoer" in outcome.message
        assert "--sudo-password-env" in outcome.message and wrong.reveal() not in outcome.message
    no_change_anywhere(nodes)
    right = Access(sudo_password=Secret(lab.users["sudoer"]), ssh_config_path=tmp_path / "none")
    assert apply_file(path, tmp_path, access=right).ok


def test_4_changed_host_key_is_refused_then_a_rerun_finishes(lab_factory, tmp_path):
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="hostkey")
    assert apply_file(path, tmp_path).ok
    victim = nodes[2]
    victim.restart()  # a new host key; known_hosts still has the old one
    before = file_states(nodes, WATCHED)
    refused = apply_file(path, tmp_path)
    outcome = refused.outcomes[victim.name]
    assert outcome.state == FAILED and outcome.phase == "connect"
    assert "ssh-keygen -R" in outcome.message and victim.address in outcome.message
    assert file_states(nodes, WATCHED) == before
    lab.rekey_known_hosts()  # the user checked the new key and trusts it
    again = apply_file(path, tmp_path)
    assert again.ok and changed(again) <= {victim.name}  # at most a restart there; others untouched
    assert file_states(nodes, WATCHED) == before


def test_5_frozen_and_refusing_nodes_fail_within_the_connect_timeout(lab_factory, tmp_path, record_property):
    lab, nodes = lab_factory(5)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="timeouts")
    doc = yaml.safe_load(path.read_text())
    doc["ssh"]["connect-timeout"] = 2
    path.write_text(yaml.safe_dump(doc))
    frozen, refusing, healthy = nodes[3], nodes[4], nodes[:3]
    refusing.kill()
    frozen.freeze()
    events: list = []
    try:
        started = time.monotonic()
        result = apply_file(path, tmp_path, events=events)
        total = time.monotonic() - started
    finally:
        frozen.thaw()
    failed_at = {e.node: e.elapsed for e in events if e.state == FAILED}
    facts_at = {e.node: e.elapsed for e in events if e.phase == "facts" and e.state == DONE}
    record_property("frozen_fail_s", round(failed_at[frozen.name], 2))
    record_property("refused_fail_s", round(failed_at[refusing.name], 2))
    record_property("healthy_facts_max_s", round(max(facts_at.values()), 2))
    record_property("apply_total_s", round(total, 2))
    print(f"frozen failed after {failed_at[frozen.name]:.2f}s, refusing after {failed_at[refusing.name]:.2f}s, "
          f"healthy probed by {max(facts_at.values()):.2f}s, whole run {total:.2f}s (connect-timeout 2s)")
    assert "handshake did not finish within 2 s" in result.outcomes[frozen.name].message \
        or "no SSH answer within 2 s" in result.outcomes[frozen.name].message
    assert "connection refused" in result.outcomes[refusing.name].message
    assert 1.9 <= failed_at[frozen.name] < 2.6 and failed_at[refusing.name] < 0.5
    assert set(facts_at) == {n.name for n in healthy} and max(facts_at.values()) < 1.5
    assert total < 2 + 1.0  # nobody waited on the frozen node longer than the timeout
    no_change_anywhere(nodes)
    refusing.restart()
    lab.rekey_known_hosts()
    assert apply_file(path, tmp_path).ok



def test_3c_unreadable_ssh_config_fails_the_nodes_not_the_run(lab_factory, tmp_path):
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="sshconfig")
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n    HostName\n")
    result = apply_file(path, tmp_path, access=Access(ssh_config_path=config))
    for outcome in result.outcomes.values():
        assert outcome.state == FAILED and outcome.phase == "connect"
        assert f"{config}:2" in outcome.message and "Keyword value" in outcome.message
    assert (result.journal / "summary.json").exists()
    no_change_anywhere(nodes)
