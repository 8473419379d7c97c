"""Bad input never ends in a traceback: exit 2 and a message with the place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def k3swiz(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "k3swiz.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd or ROOT, timeout=60)


GARBAGE = {
    "binary": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4,
    "empty": b"",
    "whitespace": b"   \n\n",
    "top-level-list": b"- a\n- b\n",
    "top-level-scalar": b"hello\n",
    "malformed": b"cluster: {name: [x\n",
    "tabs": b"cluster:\n\tname: x\n",
    "non-utf8": b"cluster:\n  name: caf\xe9\n",
    "duplicate-keys": b"apiVersion: k3swiz/v1\ncluster: {name: a}\ncluster: {name: b}\nnodes: []\n",
    "alias-bomb": (b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((98 + i,) * 2 + (97 + i,) * 10)
        for i in range(8))),
    "merge-key": b"base: &b {user: root}\nssh:\n  <<: *b\n",
    "deep": b"a: " + b"[" * 200 + b"]" * 200 + b"\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_exits_2_with_a_message(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(GARBAGE[name])
    started = time.monotonic()
    result = k3swiz("validate", str(path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert str(path) in result.stderr
    assert time.monotonic() - started < 10


def test_ten_megabyte_file_refused_fast(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * 1_000_000)
    result = k3swiz("validate", str(path))
    assert result.returncode == 2
    assert "MB" in result.stderr and "Traceback" not in result.stderr


def test_missing_file(tmp_path):
    result = k3swiz("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_duplicate_key_names_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_bytes(GARBAGE["duplicate-keys"])
    result = k3swiz("validate", str(path))
    assert f"{path}:3 cluster: duplicate key `cluster` (first at line 2)" in result.stderr


def test_examples_validate_and_plan(tmp_path):
    for example in sorted((ROOT / "assets" / "examples").glob("*.yaml")):
        assert k3swiz("validate", str(example)).returncode == 0
        out = tmp_path / example.stem
        result = k3swiz("plan", str(example), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert any(out.glob("*/steps.sh"))


def test_plan_out_layout_and_token_masked(tmp_path):
    result = k3swiz("plan", "assets/examples/ha-3-2-dual-stack.yaml", "--out", str(tmp_path))
    assert result.returncode == 0
    assert (tmp_path / "cp1/etc/rancher/k3s/config.yaml").read_text().count("cluster-init: true") == 1
    assert "server: https://192.168.1.10:6443" in (tmp_path / "w1/etc/rancher/k3s/config.yaml").read_text()
    assert "***" in (tmp_path / "cp2/etc/rancher/k3s/cluster-token").read_text()


def test_dry_run_prints_plan_and_touches_nothing(tmp_path):
    result = k3swiz("replay", "assets/examples/single-server.yaml", "--dry-run")
    assert result.returncode == 0 and "dry run: nothing was changed" in result.stdout
    assert not (ROOT / "assets/examples/single.token").exists()


def test_replay_unknown_only_node_is_bad_input():
    result = k3swiz("replay", "assets/examples/single-server.yaml", "--dry-run", "--only", "nope")
    assert result.returncode == 2 and "no such node" in result.stderr


def test_token_command_prints_64_hex():
    out = k3swiz("token").stdout.strip()
    assert len(out) == 64 and int(out, 16) >= 0


def test_schema_is_json_with_our_keys():
    import json
    schema = json.loads(k3swiz("schema").stdout)
    assert "cluster" in schema["properties"] and schema["additionalProperties"] is False
    cluster = schema["properties"]["cluster"]
    assert "etcd-snapshots" in cluster["properties"]


def test_every_command_has_help_with_an_example():
    for command in ("replay", "plan", "validate", "versions", "token", "schema"):
        result = k3swiz(command, "--help")
        assert result.returncode == 0 and "example" in result.stdout, command
