"""Catalog data beyond versions (Alpine, ports, critical keys), its sources, the `versions` view,
load errors and load speed."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from k3swiz.assets import asset_path
from k3swiz.catalog import Catalog, CatalogError, K3sVersion
from k3swiz.catalog_view import print_versions

CATALOG_TEXT = asset_path("catalog.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_alpine_3_15_ships_k3s_1_22(catalog):
    rows = catalog.alpine_for("1.22")
    assert [row.alpine for row in rows] == ["3.15"]
    assert rows[0].k3s_version == K3sVersion.parse("v1.22.15+k3s1")   # 1.22.15.1 -> +k3s1
    assert [row.alpine for row in catalog.alpine_for("1.20")] == ["3.13"]
    assert catalog.alpine_for("1.19") == []
    assert {row.alpine for row in catalog.alpine} >= {f"3.{n}" for n in range(13, 25)}


def test_apk_layout(catalog):
    assert catalog.apk.binary == "/usr/bin/k3s"
    assert catalog.apk.conf_file == "/etc/conf.d/k3s"
    assert catalog.apk.conf_keys == ("K3S_EXEC", "K3S_OPTS")
    assert catalog.apk.init_script == "/etc/init.d/k3s"


def test_ports_and_loopback_only_ports(catalog):
    loopback = {row.port for row in catalog.ports if row.loopback_only}
    assert loopback == {2381, 2382, 6444, 10010, 10248, 10249, 10256, 10257, 10258, 10259}
    open_ports = {(row.proto, row.label) for row in catalog.ports if not row.loopback_only}
    assert {("TCP", "6443"), ("TCP", "2379-2380"), ("UDP", "8472"), ("TCP", "10250"),
            ("UDP", "51820"), ("UDP", "51821"), ("TCP", "5001")} <= open_ports


def test_critical_server_keys(catalog):
    assert set(catalog.critical_server_keys) == {
        "agent-token", "cluster-cidr", "cluster-dns", "cluster-domain", "disable-cloud-controller",
        "disable-helm-controller", "disable-network-policy", "disable=servicelb", "egress-selector-mode",
        "embedded-registry", "flannel-backend", "flannel-external-ip", "flannel-ipv6-masq",
        "secrets-encryption", "secrets-encryption-provider", "service-cidr"}


def _blocks(section: str) -> dict[str, list[str]]:
    """The lines of each two-space-indented entry under a top-level `section:` of the YAML."""
    blocks: dict[str, list[str]] = {}
    inside, current = False, None
    for line in CATALOG_TEXT.splitlines():
        if re.match(r"^\S", line):
            inside, current = line.startswith(f"{section}:"), None
        elif inside and (entry := re.match(r"^  (\"?[\w.-]+\"?):", line)):
            current = entry.group(1).strip('"')
            blocks[current] = []
        elif inside and current:
            blocks[current].append(line)
    return blocks


@pytest.mark.parametrize("section", ["minors", "features"])
def test_every_minor_and_feature_block_cites_a_source(catalog, section):
    blocks = _blocks(section)
    expected = [m.line for m in catalog.minors] if section == "minors" else list(catalog.features)
    assert sorted(blocks) == sorted(expected)
    for name, lines in blocks.items():
        assert any(line.strip().startswith("# ") for line in lines), f"{section}.{name} has no `# source` line"


def test_every_row_has_a_source(catalog):
    rows = [*catalog.minors, *catalog.features.values(), *catalog.alpine, *catalog.ports,
            *catalog.traefik_generations.values()]
    assert all(row.source.strip() for row in rows)


def test_guesses_are_marked_unverified(catalog):
    for minor in catalog.minors:
        marker = f'  "{minor.line}":'
        block = CATALOG_TEXT.split(marker, 1)[1].split('\n  "', 1)[0]
        newest_line = next(line for line in block.splitlines() if "newest:" in line)
        assert ("unverified" in newest_line) == (not minor.newest_verified), minor.line


def _output(catalog: Catalog, as_json: bool) -> str:
    buffer = io.StringIO()
    print_versions(Console(file=buffer, width=80, color_system=None), catalog, as_json)
    return buffer.getvalue()


def test_json_parses_sorts_its_keys_and_rebuilds_the_same_catalog(catalog, tmp_path):
    text = _output(catalog, as_json=True)
    document = json.loads(text)
    assert text.strip() == json.dumps(document, indent=2, sort_keys=True)
    assert document["channels"] == {"stable": "v1.36.3+k3s1", "latest": "v1.37.1+k3s1"}
    assert document["features"]["token-rotate"]["since"][0] == "v1.25.15+k3s1"
    rebuilt = Catalog.from_dict(document, tmp_path / "versions.json")
    for field in dataclasses.fields(Catalog):
        if field.name != "source_path":
            assert getattr(rebuilt, field.name) == getattr(catalog, field.name), field.name


def test_tables_fit_80_columns_and_show_every_minor_and_feature(catalog):
    text = _output(catalog, as_json=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    for minor in catalog.minors:
        assert f" {minor.line} " in text
    for name in catalog.features:
        assert name in text
    assert "v1.19.16+k3s1?" in text              # guessed newest release is marked
    assert "1.22.15.1-r0" in text and "10259" in text


def _broken_catalog(tmp_path: Path, old: str, new: str) -> Path:
    assert old in CATALOG_TEXT
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG_TEXT.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    since: v1.22.9+k3s1\n", "    since: v1.22.9\n", r"features\.ipv6-only\.since: .*write v1\.22\.9\+k3s1"),
    ('  "1.20":', "  1.20:", r"minors\.1\.2: minor key 1\.2 must be a quoted string"),
    ("    newest: v1.37.1+k3s1", "    newest: v1.36.3+k3s1", r"minors\.1\.37: v1\.36\.3\+k3s1 is not in the 1\.37 line"),
    ("  - {proto: TCP, port: \"6443\"", "  - {proto: TCP, port: \"64x\"", r"ports\[1\]: port '64x'"),
    ("critical_server_keys:", "critical_keys:", r"\(top\): missing key `critical_server_keys`"),
])
def test_a_malformed_catalog_names_the_file_and_key(tmp_path, old, new, expected):
    path = _broken_catalog(tmp_path, old, new)
    with pytest.raises(CatalogError, match=expected) as raised:
        Catalog.load(path)
    assert str(path) in str(raised.value)


def test_unparseable_yaml_is_a_catalog_error(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("minors: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="cannot read the version catalog"):
        Catalog.load(path)


def test_loading_takes_under_50_ms():
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        Catalog.load()
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.050, f"best of 5 loads took {min(timings) * 1000:.1f} ms"


def test_first_load_in_a_fresh_process_takes_under_50_ms():
    """What every `k3swiz` start pays to read the YAML (cold file, nothing cached yet)."""
    code = ("import time; from k3swiz.catalog import load_catalog; t = time.perf_counter(); "
            "load_catalog(); print(time.perf_counter() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    assert min(runs) < 0.050, f"best of 3 first loads took {min(runs) * 1000:.1f} ms"


def test_the_catalog_does_not_pull_in_the_ui():
    code = ("import sys; import k3swiz.catalog, k3swiz.catalog_view; "
            "print(any(m == 'textual' or m.startswith(('textual.', 'screens')) for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
