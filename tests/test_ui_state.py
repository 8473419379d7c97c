"""The wizard's plain-Python parts: which step owns a problem, marks, where a file opens,
form value parsing, saving (token file 0600, by reference only), the review's diffs."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from k3swiz.answers import Answers, TokenRef, load_answers
from k3swiz.secrets import Secret
from screens.form_values import FormError, parse_int, parse_mapping, split_list
from screens.review_data import build_review, unified
from screens.saving import save_wizard
from screens.wizard_state import WizardState, matches, owner_of, state_from_file
from tests.ui_keys import FIXTURES, fixture_answers


@pytest.mark.parametrize(("path", "step"), [
    ("cluster.name", "cluster"), ("", "cluster"), ("apiVersion", "cluster"), ("cluster.join-url", "cluster"),
    ("cluster.k3s.version", "version"), ("install.airgap", "version"),
    ("nodes", "nodes"), ("nodes[3].address", "nodes"), ("ssh.port", "nodes"),
    ("nodes[1].init", "datastore"), ("cluster.datastore", "datastore"),
    ("cluster.etcd-snapshots.retention", "datastore"),
    ("cluster.network.cluster-cidr[1]", "network"), ("cluster.token", "token"),
    ("cluster.traefik.values.ssl.enforced", "traefik"), ("cluster.disable[0]", "extras"),
    ("cluster.server-config.kubelet-arg", "extras"), ("cluster.tls-san[2]", "extras"),
])
def test_each_problem_belongs_to_the_step_that_edits_its_key(path, step):
    assert owner_of(path) == step


def test_prefix_matching_respects_key_boundaries():
    assert matches("cluster.network", "cluster.network.dual-stack")
    assert matches("nodes[*].init", "nodes[12].init")
    assert not matches("nodes[*].init", "nodes[1].initial")
    assert not matches("cluster.token", "cluster.tokens")
    assert matches("", "") and not matches("", "cluster")


def test_marks_show_invalid_only_for_reached_steps():
    state = WizardState(Answers())                       # no nodes, no token
    state.revalidate()
    assert state.marks()["nodes"] == "todo"
    state.reach("token")
    marks = state.marks()
    assert marks["cluster"] == "done" and marks["nodes"] == "invalid" and marks["token"] == "invalid"
    assert marks["traefik"] == "todo"


def test_a_missing_file_starts_a_new_cluster_saved_there(tmp_path):
    state, step, notices = state_from_file(tmp_path / "new.k3swiz.yaml")
    assert step == "cluster" and not notices and state.save_path == tmp_path / "new.k3swiz.yaml"


def test_form_values():
    assert split_list(" a, b,,c d ") == ["a", "b", "c", "d"]
    assert parse_int(" 22 ", "port") == 22
    with pytest.raises(FormError, match="whole number"):
        parse_int("2x", "the SSH port")
    assert parse_mapping("", "x") == {} and parse_mapping("a: 1", "x") == {"a": 1}
    with pytest.raises(FormError, match="line 1"):
        parse_mapping("a: [", "registries")
    with pytest.raises(FormError, match="mapping"):
        parse_mapping("- a", "registries")


def test_saving_writes_the_generated_token_0600_and_only_its_reference(tmp_path):
    answers = fixture_answers("homelab.k3swiz.yaml")
    state = WizardState(answers, new_token=Secret("f" * 64))
    written = save_wizard(state, tmp_path / "out.k3swiz.yaml")
    token_file = tmp_path / "homelab.token"
    assert token_file.read_text() == "f" * 64 + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    text = (tmp_path / "out.k3swiz.yaml").read_text()
    assert "f" * 64 not in text and "file: ./homelab.token" in text
    assert not state.dirty and state.new_token is None and len(written) == 2
    # A second generated token never overwrites the file.
    state.new_token = Secret("0" * 64)
    save_wizard(state, tmp_path / "out.k3swiz.yaml")
    assert token_file.read_text() == "f" * 64 + "\n"
    assert load_answers(tmp_path / "out.k3swiz.yaml").answers.nodes == answers.nodes


def test_an_inline_token_moves_to_a_0600_file_when_saved(tmp_path):
    answers = fixture_answers("homelab.k3swiz.yaml")
    answers.cluster.token = TokenRef(value=Secret("inline-token-0123"))
    save_wizard(WizardState(answers), tmp_path / "h.k3swiz.yaml")
    assert (tmp_path / "homelab.token").read_text() == "inline-token-0123\n"
    assert stat.S_IMODE((tmp_path / "homelab.token").stat().st_mode) == 0o600
    text = (tmp_path / "h.k3swiz.yaml").read_text()
    assert "inline-token-0123" not in text and "file: ./homelab.token" in text


def test_review_diffs_against_current_contents_and_never_shows_the_token():
    answers = fixture_answers("homelab.k3swiz.yaml")
    answers.cluster.token = TokenRef(value=Secret("s3cr3t-token-value"))
    current = {"cp1": {"/etc/rancher/k3s/config.yaml": "node-name: old\n",
                       "/etc/rancher/k3s/cluster-token": "s3cr3t-token-value\n"}}
    _plan, reviews = build_review(answers, current)
    cp1 = next(r for r in reviews if r.name == "cp1")
    files = {f.path: f for f in cp1.files}
    config = files["/etc/rancher/k3s/config.yaml"]
    assert config.status == "changed" and "-node-name: old" in config.diff and "+node-name: cp1" in config.diff
    token = files["/etc/rancher/k3s/cluster-token"]
    assert token.diff is None and "s3cr3t" not in token.text
    assert all(f.status == "unknown" for r in reviews if r.name != "cp1" for f in r.files)
    assert "s3cr3t" not in "".join(r.steps + "".join(f.text + (f.diff or "") for f in r.files) for r in reviews)
    assert unified("a\n", "a\n", "x") == ""


def test_the_core_does_not_import_the_ui():
    code = "import k3swiz.cli, k3swiz.validate, k3swiz.plan, sys; print('textual' in sys.modules, 'screens' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent, env={**os.environ, "PYTHONPATH": ""})
    assert out.stdout.split() == ["False", "False"]


def test_pure_ui_modules_do_not_import_textual():
    code = ("import screens.wizard_state, screens.traefik_form, screens.review_data, screens.saving, "
            "screens.apply_bridge, screens.form_values, screens.node_looks, screens.day2_actions, screens.prompts, "
            "sys; print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=FIXTURES.parent.parent)
    assert out.stdout.strip() == "False"
