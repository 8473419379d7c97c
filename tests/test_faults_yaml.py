"""YAML edge cases in answers files: duplicate keys, tabs, an alias bomb (billion laughs), a
50 MB file, NUL bytes, non-UTF-8. Each is refused fast (timed here) with a message naming the
file, exit 2, never a traceback. (tests/test_cli_input.py runs similar files as a subprocess.)"""

from __future__ import annotations

import time

import pytest

from tests.test_fuzz_answers import validate_in_process, workdir  # noqa: F401 (fixture)


def alias_bomb(levels: int = 9) -> bytes:
    lines = [b'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        refs = b", ".join(b"*a%d" % (i - 1) for _ in range(10))
        lines.append(b"a%d: &a%d [%s]" % (i, i, refs))
    return b"\n".join(lines) + b"\n"


YAML_EDGES = {
    "duplicate-keys": (b"apiVersion: k3swiz/v1\nnodes: []\nnodes: []\n", "duplicate key `nodes`"),
    "tab-indent": (b"apiVersion: k3swiz/v1\ncluster:\n\tname: x\n", "tabs"),
    "alias-bomb": (alias_bomb(), "alias bomb"),
    "non-utf8": (b"apiVersion: k3swiz/v1\ncluster: {name: caf\xe9}\n", "not valid UTF-8"),
    "nul-bytes": (b"apiVersion: k3swiz/v1\n\0\0\0", "binary"),
    "50-mb": (b"# " + b"x" * 98 + b"\n", "MB"),  # repeated to 50 MB below
}


@pytest.mark.parametrize("name", sorted(YAML_EDGES))
def test_yaml_edge_cases_refused_fast(workdir, name, record_property):
    data, expected = YAML_EDGES[name]
    if name == "50-mb":
        data = data * (50 * 1024 * 1024 // len(data))
    path = workdir / f"{name}.yaml"
    path.write_bytes(data)
    started = time.monotonic()
    rc, out, err = validate_in_process(path)
    elapsed = time.monotonic() - started
    record_property(f"{name}_seconds", round(elapsed, 3))
    print(f"{name}: refused in {elapsed * 1000:.0f} ms")
    assert rc == 2 and expected in err and "Traceback" not in err, err
    assert elapsed < 1.0, f"{name} took {elapsed:.2f} s"
