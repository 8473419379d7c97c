"""Fuzzed answers documents: `k3swiz validate` exits 0 or 2 with messages, never a traceback.

Documents start from a valid answers file and are then mutated at random
places: keys deleted, values replaced by junk of any type (huge numbers,
unicode, deep nesting, random CIDRs and versions, awkward paths), extra keys
added. 2,000 examples here, in-process (cli.main) to stay fast;
bench/fuzz_long.py runs the same property 20,000 times.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k3swiz import cli
from k3swiz.answers import load_answers
from k3swiz.connect import target_for
from k3swiz.plan import build_plan

CI_EXAMPLES = 2000
# Values that have broken parsers before: paths that are not plain files, odd numbers, shell text.
AWKWARD_TEXT = [
    "", " ", "/", ".", "..", "/etc", "/dev/null", "/dev/zero", "/proc/self/status", "~", "~root/x",
    "./missing.token", "a\0b", "\t", "\n\n", "K10", "K10" + "a" * 64 + "::server:x", "$(touch /tmp/pwned)",
    "`id`", "; rm -rf /", "'\"", "é✓漢字", "\u202e", "x" * 300, "0 */12 * * *", "* * *", "@daily",
    "-1", "1e999", "NaN", "null", "https://", "https://[::1]:6443", "http://x:6443", "10.42.0.0/16",
    "2001:db8::/56", "10.0.0.1/33", "::/0", "256.1.1.1", "v1.33.6+k3s1", "v1.33.6", "1.33", "v1.99.0+k3s1",
    "v1.18.20+k3s1", "v0.0.0+k3s0", "stable", "latest", "v1.21", "v1.99", "server", "agent", "etcd",
    "sqlite", "airgap", "apk", "script", "vxlan", "wireguard", "ipsec", "none", "traefik",
]
TEXT = st.one_of(st.sampled_from(AWKWARD_TEXT),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
NUMBER = st.one_of(st.integers(), st.integers(min_value=-10**40, max_value=10**40),
                   st.floats(allow_nan=True, allow_infinity=True))
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
KEY = st.one_of(st.sampled_from(["name", "address", "role", "file", "env", "value", "version", "mirrors",
                                 "configs", "enabled", "values", "dir", "user", "port", "kubelet-arg"]), TEXT,
                st.integers(-5, 5))
JUNK = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4),
                    max_leaves=25)


def deep(depth: int):
    value: object = "bottom"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


CIDR = st.one_of(st.builds(lambda ip, bits: f"{ip}/{bits}", st.ip_addresses(), st.integers(-2, 140)),
                 st.sampled_from(["10.42.0.0/16", "2001:db8:42::/56", "10.43.0.0/16", "2001:db8:43::/112"]), TEXT)
VERSION = st.one_of(st.builds(lambda a, b, c, d: f"v{a}.{b}.{c}+k3s{d}", st.integers(0, 2), st.integers(0, 40),
                              st.integers(0, 30), st.integers(0, 5)), TEXT)
ADDRESS = st.one_of(st.ip_addresses().map(str), TEXT)


def mostly(valid, junk=JUNK):
    """Nine times in ten a valid value, else junk: documents fail for few reasons at once."""
    return st.integers(0, 9).flatmap(lambda n: junk if n == 5 else valid)  # hypothesis favours 0 and 9


GOOD_VERSION = st.sampled_from(["v1.33.6+k3s1", "v1.21.0+k3s1", "v1.23.7+k3s1", "v1.36.3+k3s1"])


@st.composite
def base_doc(draw) -> dict:
    """A plausible answers document: mostly valid, with random versions, CIDRs and addresses."""
    roles = [draw(mostly(st.just("server")))] + draw(st.lists(mostly(st.sampled_from(["agent", "server"])),
                                                              max_size=4))
    nodes = [{"name": draw(mostly(st.sampled_from(["cp", "w", "node-"]).map(lambda s, i=i: f"{s}{i}"))),
              "address": draw(mostly(st.sampled_from(["192.168.1.", "10.9.0."]).map(lambda s, i=i: f"{s}{i + 1}"),
                                     ADDRESS)), "role": role,
              **({"labels": draw(st.lists(mostly(st.just("disk=ssd"), TEXT), max_size=2))} if draw(st.booleans()) else {}),
              **({"taints": draw(st.lists(mostly(st.just("gpu=yes:NoSchedule"), TEXT), max_size=2))}
                 if draw(st.booleans()) else {})}
             for i, role in enumerate(roles)]
    release = draw(mostly(st.one_of(GOOD_VERSION.map(lambda v: {"version": v}),
                                    st.sampled_from(["stable", "latest", "v1.33"]).map(lambda c: {"channel": c})),
                          st.one_of(VERSION.map(lambda v: {"version": v}), TEXT.map(lambda c: {"channel": c}))))
    token = draw(mostly(st.just({"file": "./f.token"}), st.sampled_from([{"file": draw(TEXT)}, {"env": draw(TEXT)},
                                                                         {"value": draw(TEXT)}, {}])))
    dual = draw(st.booleans())
    cidrs = (["10.42.0.0/16", "2001:db8:42::/56"], ["10.43.0.0/16", "2001:db8:43::/112"]) if dual \
        else (["10.42.0.0/16"], ["10.43.0.0/16"])
    return {
        "apiVersion": draw(mostly(st.just("k3swiz/v1"), st.sampled_from(["k3swiz/v2", ""]))),
        "cluster": {"name": draw(mostly(st.just("fuzz"), TEXT)), "mode": draw(mostly(st.just("init"))),
                    "k3s": release, "token": token,
                    "network": {"dual-stack": dual,
                                "cluster-cidr": draw(mostly(st.just(cidrs[0]), st.lists(CIDR, max_size=3))),
                                "service-cidr": draw(mostly(st.just(cidrs[1]), st.lists(CIDR, max_size=3)))},
                    "tls-san": draw(st.lists(mostly(st.ip_addresses().map(str), ADDRESS), max_size=2)),
                    "server-config": draw(mostly(st.just({"kubelet-arg": ["max-pods=200"]}),
                                                 st.dictionaries(TEXT, JUNK, max_size=2)))},
        "install": {"method": draw(mostly(st.sampled_from(["script", "apk"]), st.sampled_from(["airgap", "x"])))},
        "ssh": {"port": draw(mostly(st.sampled_from([22, 2222]), NUMBER)),
                "connect-timeout": draw(mostly(st.sampled_from([5, 0.5, 30]), NUMBER))},
        "nodes": nodes,
    }


def _containers(value, out: list) -> list:
    if isinstance(value, (dict, list)):
        out.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            _containers(child, out)
    return out


@st.composite
def answers_docs(draw) -> object:
    """A base document after 0-5 random mutations (delete, replace, add a key, nest deeply)."""
    doc = draw(base_doc())
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3, 5]))):
        places = _containers(doc, [])
        place = draw(st.sampled_from(places))
        keys = list(place.keys()) if isinstance(place, dict) else list(range(len(place)))
        action = draw(st.sampled_from(["delete", "replace", "add", "deep"]))
        if action in ("delete", "replace", "deep") and not keys:
            continue
        if action == "delete":
            del place[draw(st.sampled_from(keys))]
        elif action == "replace":
            place[draw(st.sampled_from(keys))] = draw(JUNK)
        elif action == "deep":
            place[draw(st.sampled_from(keys))] = deep(draw(st.integers(10, 90)))
        elif isinstance(place, dict):
            place[draw(KEY)] = draw(JUNK)
        else:
            place.append(draw(JUNK))
    if draw(st.integers(0, 30)) == 0:
        return draw(JUNK)  # now and then not even a mapping at the top
    return doc


def dump(doc: object) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@pytest.fixture(scope="module")
def workdir():
    """One folder for all examples; crash logs (there must be none) would land in it too."""
    with tempfile.TemporaryDirectory(prefix="k3swiz-fuzz-") as folder:
        previous = os.environ.get("XDG_STATE_HOME")
        os.environ["XDG_STATE_HOME"] = str(Path(folder) / "state")
        yield Path(folder)
        if previous is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = previous


def validate_in_process(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["validate", str(path)])
    return rc, out.getvalue(), err.getvalue()


def _crash_log(err: str) -> str:
    """The traceback k3swiz saved, for the failure message."""
    found = re.search(r"the traceback is in (\S+);", err)
    return Path(found.group(1)).read_text() if found and Path(found.group(1)).exists() else ""


def check_verdict(rc: int, out: str, err: str, path: Path) -> None:
    assert rc in (0, 2), f"exit {rc}\n{err}\n{_crash_log(err)}\n--- document:\n{path.read_text(errors='replace')[:3000]}"
    assert "Traceback" not in out + err and "unexpected error" not in err, err
    if rc == 2:
        assert str(path) in err and "error" in err, err   # every problem names the file
    else:
        assert "ok (" in out


def check_usable(path: Path) -> None:
    """What validate accepts, the rest of k3swiz can use: a plan, and an SSH target per node."""
    answers = load_answers(path).answers
    plan = build_plan(answers)
    assert {np.node.name for np in plan.node_plans()} == {n.name for n in answers.nodes}
    for node in answers.nodes:
        target = target_for(answers, node, ssh_config_path=path.parent / "no-ssh-config")
        assert 0 < target.connect_timeout < float("inf") and 1 <= target.port <= 65535


def fuzz_validate(workdir: Path, doc: object) -> None:
    path = workdir / "answers.yaml"
    path.write_bytes(dump(doc))
    rc, out, err = validate_in_process(path)
    check_verdict(rc, out, err, path)
    if rc == 0:
        check_usable(path)
    assert not (workdir / "state").exists() or not list((workdir / "state").rglob("crash-*"))


@settings(max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
@given(doc=answers_docs())
def test_validate_never_crashes_in_process(workdir, doc):
    fuzz_validate(workdir, doc)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=answers_docs())
def test_validate_never_crashes_as_a_command(workdir, doc):
    path = workdir / "sub.yaml"
    path.write_bytes(dump(doc))
    result = subprocess.run([sys.executable, "-m", "k3swiz.cli", "validate", str(path)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "XDG_STATE_HOME": str(workdir / "state")})
    check_verdict(result.returncode, result.stdout, result.stderr, path)


# -- what the fuzzer found, kept as plain regression tests --------------------------------------------

BASE_DOC = {"apiVersion": "k3swiz/v1", "cluster": {"name": "f", "k3s": {"version": "v1.33.6+k3s1"},
                                                   "token": {"file": "./f.token"}},
            "nodes": [{"name": "cp1", "address": "10.0.0.1", "role": "server"}]}


def with_changes(**changes) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(BASE_DOC))
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value
    return doc


@pytest.mark.parametrize("change, expected", [
    ({"cluster.token": {"file": "/"}}, "cluster.token.file: /: is a directory"),
    ({"cluster.token": {"file": "/dev/zero"}}, "is not a regular file"),
    ({"cluster.token": {"file": "x" * 300}}, "cannot use it (File name too long)"),
    ({"cluster.token": {"file": "a\0b"}}, "NUL byte"),
    ({"ssh": {"identity-file": "k" * 300}}, "ssh.identity-file: " + "k" * 300 + ": cannot use it"),
    ({"nodes.0.labels": [{"a": "b"}, None, "disk=ssd"]}, "nodes[0].labels[0]: must be text, not a mapping"),
    ({"nodes.0.taints": [None]}, "nodes[0].taints[0]: needs a value"),
    ({"cluster.tls-san": [["nested"]]}, "cluster.tls-san[0]: must be text, not a list"),
    ({"ssh": {"connect-timeout": 0}}, "ssh.connect-timeout: 0 seconds cannot bound"),
    ({"ssh": {"connect-timeout": -3}}, "ssh.connect-timeout: -3 seconds"),
    ({"ssh": {"connect-timeout": float("inf")}}, "ssh.connect-timeout: inf seconds"),
    ({"ssh": {"connect-timeout": float("nan")}}, "ssh.connect-timeout: nan seconds"),
])
def test_found_by_fuzzing_is_reported_not_crashed(workdir, change, expected):
    path = workdir / "found.yaml"
    path.write_bytes(dump(with_changes(**change)))
    rc, out, err = validate_in_process(path)
    check_verdict(rc, out, err, path)
    assert rc == 2 and expected in err, err


def test_huge_token_file_is_refused_without_reading_it(workdir):
    token = workdir / "huge.token"
    with token.open("wb") as out:
        out.truncate(2 * 1024**3)  # sparse: 2 GiB that would all be read by read_text()
    path = workdir / "huge.yaml"
    path.write_bytes(dump(with_changes(**{"cluster.token": {"file": str(token)}})))
    started = time.monotonic()
    rc, out, err = validate_in_process(path)
    assert rc == 2 and "not a token file" in err and time.monotonic() - started < 2
