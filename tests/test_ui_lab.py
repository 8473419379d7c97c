"""The wizard against real sshd lab nodes (tests/lab; k3s and install.sh are stand-ins): test
connection reads the real OS and init system (after the host-key modal), and the review's
compare reads what an apply wrote, showing a diff of exactly the file a wizard edit changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from screens.app import build_app
from tests.apply_util import apply_file, lab_answers
from tests.ui_keys import fill, focus, goto, send, until

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]
SIZE = (100, 32)
CONFIG = "/etc/rancher/k3s/config.yaml"


def host_os() -> tuple[str, str]:
    """The lab's nodes overlay the host's /usr and /etc: they run the host's OS."""
    fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    return fields["ID"].strip('"'), fields.get("VERSION_ID", "").strip('"')


def detail(app) -> str:
    return str(app.screen.query_one("#probe-result").render())


def test_test_connection_on_lab_nodes_shows_their_os_and_init(lab_factory, tmp_path):
    lab, nodes = lab_factory(1)
    nodes += lab.start(1, names=["n2"], init="openrc")
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="looks")
    known_hosts = tmp_path / "known_hosts"          # empty: the first connection asks about the key
    known_hosts.write_text("")
    doc = yaml.safe_load(path.read_text())
    doc["ssh"]["known-hosts"] = str(known_hosts)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    os_id, os_version = host_os()

    async def journey():
        app = build_app(path)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await send(pilot, "t")                               # n1
            await until(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", "host key modal", rounds=500)
            assert "SHA256:" in str(app.screen.query_one("#fingerprint").render())
            await focus(pilot, "#accept")
            await send(pilot, "enter")
            await until(pilot, lambda: "n1" in app.state.ui.get("probes", {}), "n1 tested", rounds=500)
            await until(pilot, lambda: "n1: OS" in detail(app), "n1's facts shown")
            assert f"n1: OS {os_id} {os_version}, init systemd, k3s not installed" in detail(app)
            assert "nothing here stops an apply" in detail(app)
            await send(pilot, "down", "t")                       # n2 runs OpenRC
            await until(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", "n2's host key", rounds=500)
            await focus(pilot, "#accept")
            await send(pilot, "enter")
            await until(pilot, lambda: "n2" in app.state.ui.get("probes", {}), "n2 tested", rounds=500)
            await until(pilot, lambda: "n2: OS" in detail(app), "n2's facts shown")
            assert f"n2: OS {os_id} {os_version}, init openrc" in detail(app)
            assert str(app.screen.query_one("#nodes").get_cell("n2", "checked")) == f"✓ {os_id} {os_version}, openrc"
    asyncio.run(journey())
    assert known_hosts.read_text().count("ssh-ed25519") == 2      # accepted keys were recorded


def test_review_after_an_apply_shows_a_diff_of_exactly_the_edited_nodes_config(lab_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="diffs")
    assert apply_file(path, tmp_path).ok

    async def journey():
        app = build_app(path)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await send(pilot, "down", "e")                       # edit n2
            await until(pilot, lambda: type(app.screen).__name__ == "NodeFormDialog", "node form")
            await fill(pilot, "#labels", "disk=ssd")
            await focus(pilot, "#address")
            await send(pilot, "enter")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "nodes", "form saved")
            assert app.state.answers.nodes[1].labels == ["disk=ssd"]
            await goto(pilot, "review")
            await send(pilot, "c")
            await until(pilot, lambda: app.screen.compared == 1, "compared with the nodes", rounds=1000)
            assert app.compare_errors == {}
            tabs = app.screen.query_one("#review-tabs")
            seen = {}
            for index, node in enumerate(nodes):
                pane = tabs.query_one(f"#node-{index}")
                titles = [str(label.render()) for label in pane.query(".file-title")]
                diffs = [view.text for view in pane.query("CodeView") if view.lexer == "diff"]
                seen[node.name] = (titles, diffs)
            return seen
    seen = asyncio.run(journey())
    changed = {(name, title) for name, (titles, _) in seen.items() for title in titles if title.endswith("changes)")}
    assert changed == {("n2", f"{CONFIG}  (mode 0600, changes)")}
    statuses = {title.rsplit(", ", 1)[-1] for titles, _ in seen.values() for title in titles if "(mode" in title}
    assert statuses == {"changes)", "unchanged)", "holds a secret: never read back)", "uploaded as it is: not compared)"}
    (diff,) = seen["n2"][1]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert removed == [] and added and all("disk=ssd" in line or "node-label" in line for line in added), diff
    assert seen["n1"][1] == [] and seen["n3"][1] == []


async def start_and_choose(pilot, app, key: str) -> None:
    await until(pilot, lambda: type(app.screen).__name__ == "StartScreen", "start screen")
    options = app.screen.query_one("#start-choices")
    await until(pilot, lambda: options.option_count == 6, "choices listed")
    options.highlighted = options.get_option_index(key)
    await focus(pilot, "#start-choices")
    await send(pilot, "enter")


def test_reset_from_the_start_screen_takes_k3s_off_the_lab_nodes(lab_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="gone")
    assert apply_file(path, tmp_path).ok
    assert all(n.host_path(CONFIG).exists() for n in nodes)

    async def journey():
        app = build_app(path, offer_day2=True)
        async with app.run_test(size=SIZE) as pilot:
            await start_and_choose(pilot, app, "reset")
            await until(pilot, lambda: type(app.screen).__name__ == "Day2RunScreen", "reset screen")
            await send(pilot, "enter")                                   # Run
            await until(pilot, lambda: type(app.screen).__name__ == "TypedConfirmDialog", "typed confirmation")
            await fill(pilot, "#typed-name", "gone")
            await send(pilot, "enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "reset finished", rounds=3000)
            summary = str(app.screen.query_one("#day2-summary").render())
            states = app.screen.query_one("#progress").node_states
            return summary, states, app.exit_code
    summary, states, code = asyncio.run(journey())
    assert code == 0 and states == {"n1": "done", "n2": "done"}, summary
    assert "n1: nothing left" in summary and "n2: nothing left" in summary and "journal:" in summary
    assert not any(n.host_path(CONFIG).exists() for n in nodes)


def test_upgrade_from_the_start_screen_upgrades_the_lab_nodes_and_records_the_version(lab_factory, tmp_path,
                                                                                        monkeypatch):
    from k3swiz.catalog import load_catalog
    from tests.day2_util import k3s_version, standin_bundle
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    target = str(load_catalog().minor("1.33").newest)          # the picker's default: 1.33's newest patch
    lab, nodes = lab_factory(2)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="up")
    assert apply_file(path, tmp_path).ok and k3s_version(nodes[0]) == "v1.33.6+k3s1"
    doc = yaml.safe_load(path.read_text())
    doc["install"]["airgap"] = standin_bundle(tmp_path / "next", target)   # the new release's files
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    async def journey():
        app = build_app(path, offer_day2=True)
        async with app.run_test(size=SIZE) as pilot:
            await start_and_choose(pilot, app, "upgrade")
            await until(pilot, lambda: type(app.screen).__name__ == "UpgradeScreen", "upgrade screen")
            assert app.screen.query_one("#to").value == target
            await until(pilot, lambda: app.screen.action is not None, "the choice is accepted")
            await focus(pilot, "#continue")
            await send(pilot, "enter")
            await until(pilot, lambda: type(app.screen).__name__ == "Day2RunScreen", "run screen")
            await send(pilot, "enter")                                   # Run
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirmation")
            await send(pilot, "enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "upgrade finished", rounds=3000)
            return str(app.screen.query_one("#day2-summary").render()), app.exit_code
    summary, code = asyncio.run(journey())
    assert code == 0 and "Done." in summary, summary
    assert [k3s_version(n) for n in nodes] == [target, target]
    assert yaml.safe_load(path.read_text())["cluster"]["k3s"] == {"version": target}
    assert len(list(tmp_path.glob("up.k3swiz.yaml.before-upgrade-*"))) == 1


def test_wizard_apply_brings_up_lab_nodes_and_shows_each_done(lab_factory, tmp_path, monkeypatch):
    """Review -> Apply with the real engine over real sshd: every row ends done, the summary
    names the kubeconfig and journal, and the nodes hold what replay would have written."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    lab, nodes = lab_factory(3)
    path = lab_answers(lab, nodes, tmp_path, servers=1, name="wiz")

    async def journey():
        app = build_app(path)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "review"
                        and getattr(app.screen, "form_ready", False), "review ready")
            await focus(pilot, "#next")
            await send(pilot, "enter")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "apply confirmation")
            await send(pilot, "enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "apply finished", rounds=3000)
            states = dict(app.screen.node_states)
            summary = str(app.screen.query_one("#summary").render())
            return states, summary, app.exit_code
    states, summary, exit_code = asyncio.run(journey())
    assert states == {n.name: "done" for n in nodes}, states
    assert "wiz.kubeconfig" in summary and "journal:" in summary
    assert (tmp_path / "wiz.kubeconfig").exists() and exit_code in (None, 0)
    for node in nodes:
        assert node.host_path(CONFIG).exists()
        assert [c for c in node.calls() if c["prog"] == "install.sh"]
