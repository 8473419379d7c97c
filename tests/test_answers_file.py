"""Saving answers: stable, readable, schema line first, secrets only when asked, round trip exact."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from k3swiz.answers import answers_from_text, load_answers, save_answers, to_yaml
from k3swiz.plan import build_plan
from k3swiz.plan_view import steps_sh
from k3swiz.secrets import Secret

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "assets/examples").glob("*.yaml")) + sorted((ROOT / "tests/golden/inputs").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_save_load_round_trip_gives_the_same_plan(path, tmp_path):
    answers = load_answers(path).answers
    saved = save_answers(answers, tmp_path / "saved.yaml")
    again = load_answers(saved)
    assert again.report.problems == []
    again.answers.base_dir = answers.base_dir   # relative paths stay relative to the original folder
    first, second = build_plan(answers), build_plan(again.answers)
    assert [steps_sh(first, np) for np in first.node_plans()] == [steps_sh(second, np) for np in second.node_plans()]
    assert to_yaml(again.answers) == to_yaml(answers)   # stable: saving twice gives the same text


def test_saved_file_starts_with_schema_line_and_keeps_key_order(tmp_path):
    answers = load_answers(ROOT / "assets/examples/ha-3-2-dual-stack.yaml").answers
    text = save_answers(answers, tmp_path / "a.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    keys = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(("#", " ", "-"))]
    assert keys == ["apiVersion", "cluster", "install", "ssh", "nodes"]


def test_inline_token_saved_only_when_asked_and_then_0600(tmp_path):
    loaded = answers_from_text("apiVersion: k3swiz/v1\ncluster:\n  name: s\n  token: {value: hunter2hunter2}\n"
                               "nodes:\n  - {name: a, address: 10.0.0.1, role: server}\n")
    answers = loaded.answers
    assert isinstance(answers.cluster.token.value, Secret)
    plain = save_answers(answers, tmp_path / "plain.yaml")
    assert "hunter2" not in plain.read_text()
    assert stat.S_IMODE(plain.stat().st_mode) == 0o644
    secret = save_answers(answers, tmp_path / "secret.yaml", include_secrets=True)
    assert "hunter2hunter2" in secret.read_text()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
