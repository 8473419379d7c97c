"""Golden plans: for each answers file, the rendered files and steps equal checked-in output.

Regenerate after an intended change with `UPDATE_GOLDEN=1 bash tests/run.sh -k golden`
and review the diff like code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from k3swiz.answers import load_answers
from k3swiz.plan import build_plan
from k3swiz.plan_view import write_plan_dir
from k3swiz.validate import validate

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
INPUTS = sorted((ROOT / "assets" / "examples").glob("*.yaml")) + sorted((GOLDEN / "inputs").glob("*.yaml"))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_there_are_enough_golden_cases():
    assert len(INPUTS) >= 8


@pytest.mark.parametrize("answers_file", INPUTS, ids=lambda p: p.stem)
def test_plan_matches_golden(answers_file: Path, tmp_path: Path):
    loaded = load_answers(answers_file)
    assert [p.format() for p in validate(loaded) if p.is_error] == []
    write_plan_dir(build_plan(loaded.answers), tmp_path)
    expected_dir = GOLDEN / "expected" / answers_file.stem
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(tmp_path, expected_dir)
    got, expected = tree(tmp_path), tree(expected_dir)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name].decode() == expected[name].decode(), name


@pytest.mark.parametrize("answers_file", INPUTS, ids=lambda p: p.stem)
def test_rendering_is_deterministic(answers_file: Path, tmp_path: Path):
    answers = load_answers(answers_file).answers
    write_plan_dir(build_plan(answers), tmp_path / "a")
    write_plan_dir(build_plan(load_answers(answers_file).answers), tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
