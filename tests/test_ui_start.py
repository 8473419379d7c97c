"""Pilot tests of the start screen that `k3swiz --answers F` shows when F describes a whole cluster:
the choices and their CLI commands, into the wizard, reset (typed name) and upgrade (version picker,
the core's check, the Traefik rewrite) run through an injected day-2 runner."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from screens.app import build_app
from tests.test_ui_behaviour import SIZE, copy_fixture
from tests.ui_keys import fill, focus, send, until

pytestmark = pytest.mark.timeout(60)
V2_REDIRECT = {"ports": {"web": {"redirectTo": {"port": "websecure"}}}}


def run(coro):
    return asyncio.run(coro)


def screen_name(app) -> str:
    return type(app.screen).__name__


def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


class FakeRunner:
    """Stands in for day2_run.Runner: records the job and reports every node done."""

    def __init__(self, outputs=None):
        self.calls: list = []
        self.outputs = outputs or {}

    def __call__(self, action, options, on_event):
        self.calls.append((action, options))
        for node in action.job.nodes:
            on_event(SimpleNamespace(node=node.name, phase="uninstall k3s", state="running", message="", elapsed=0.5))
            on_event(SimpleNamespace(node=node.name, phase="done", state="done", message="", elapsed=1.5))
        return SimpleNamespace(ok=True, interrupted=False, outputs=self.outputs, journal=Path("/tmp/j/reset-1"))


async def open_start(pilot, app) -> None:
    await until(pilot, lambda: screen_name(app) == "StartScreen", "start screen")
    await until(pilot, lambda: app.screen.query_one("#start-choices").option_count == 6, "choices listed")


async def choose(pilot, app, key: str) -> None:
    options = app.screen.query_one("#start-choices")
    options.highlighted = options.get_option_index(key)
    await focus(pilot, "#start-choices")
    await send(pilot, "enter")


def test_a_complete_file_opens_on_the_start_screen_with_each_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = copy_fixture(tmp_path)

    async def journey():
        app = build_app(path, offer_day2=True)
        async with app.run_test(size=SIZE) as pilot:
            await open_start(pilot, app)
            options = app.screen.query_one("#start-choices")
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            assert "Cluster homelab: 5 node(s): servers cp1, cp2, cp3; agents w1, w2; k3s v1.33.6+k3s1" \
                in text(app, "#start-summary")
            for expected in ("$ k3swiz replay homelab.k3swiz.yaml", "$ k3swiz reset homelab.k3swiz.yaml",
                             "$ k3swiz upgrade homelab.k3swiz.yaml --to VERSION",
                             "$ k3swiz etcd snapshot save homelab.k3swiz.yaml",
                             "$ k3swiz export homelab.k3swiz.yaml --format cloud-init -o homelab-seeds"):
                assert any(expected in prompt for prompt in prompts), (expected, prompts)
            await choose(pilot, app, "etcd")
            await until(pilot, lambda: screen_name(app) == "CommandDialog", "command dialog")
            assert "$ k3swiz etcd snapshot save homelab.k3swiz.yaml" in text(app, "#command")
            await send(pilot, "escape")
            await until(pilot, lambda: screen_name(app) == "StartScreen", "back on start")
            await choose(pilot, app, "review")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "review", "review step")
            await until(pilot, lambda: app.screen.built >= 1, "plan rendered")
            assert len(app.screen.query_one("#review-tabs").query("TabPane")) == 5
    run(journey())


@pytest.mark.parametrize(("fixture", "edit", "start"), [
    ("homelab.k3swiz.yaml", lambda t: t.replace("10.43.0.0/16", "10.43.0.0/99"), False),   # invalid: the wizard
    ("journey_sqlite.k3swiz.yaml", lambda t: t, True),                                       # SQLite: no etcd
])
def test_only_a_complete_valid_file_gets_the_start_screen(tmp_path, fixture, edit, start):
    async def journey():
        app = build_app(copy_fixture(tmp_path, fixture, edit), offer_day2=True)
        async with app.run_test(size=SIZE) as pilot:
            if not start:
                await until(pilot, lambda: getattr(app.screen, "STEP", "") == "network", "wizard on network")
                return
            await open_start(pilot, app)
            etcd = app.screen.query_one("#start-choices").get_option("etcd")
            assert etcd.disabled and "not available: this cluster uses SQLite" in str(etcd.prompt)
    run(journey())


def test_new_cluster_opens_the_wizard_on_step_1(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path), offer_day2=True)
        async with app.run_test(size=SIZE) as pilot:
            await open_start(pilot, app)
            await choose(pilot, app, "new")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "cluster", "cluster step")
            assert app.screen.query_one("#name").value == "homelab"
            assert [type(s).__name__ for s in app.screen_stack][-1] == "ClusterStep"
            assert "StartScreen" not in [type(s).__name__ for s in app.screen_stack]
    run(journey())


def test_reset_needs_the_typed_cluster_name_then_runs_the_core_job(tmp_path):
    runner = FakeRunner(outputs={"cp1": ["left=/var/lib/rancher/k3s/server/db\n"], "w1": [""]})
    path = copy_fixture(tmp_path)

    async def journey():
        app = build_app(path, offer_day2=True, day2_fn=runner)
        async with app.run_test(size=SIZE) as pilot:
            await open_start(pilot, app)
            await choose(pilot, app, "reset")
            await until(pilot, lambda: screen_name(app) == "Day2RunScreen", "reset screen")
            assert text(app, "#day2-command") == f"$ k3swiz reset {path}"
            plan = text(app, "#day2-plan")
            assert "k3swiz reset: cluster homelab" in plan and "wave 1: agents (in parallel)" in plan
            assert plan.index("cp2") < plan.index("cp1")                       # the first server last
            await send(pilot, "enter")                                          # Run
            await until(pilot, lambda: screen_name(app) == "TypedConfirmDialog", "typed confirmation")
            await fill(pilot, "#typed-name", "homelb")
            await send(pilot, "enter")
            await until(pilot, lambda: "does not match" in text(app, "#typed-refusal"), "refused")
            assert runner.calls == []
            await fill(pilot, "#typed-name", "homelab")
            await send(pilot, "enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "reset finished")
            summary = text(app, "#day2-summary")
            assert "Done." in summary and "cp1: left: /var/lib/rancher/k3s/server/db" in summary
            assert "w1: nothing left" in summary and "journal: /tmp/j/reset-1" in summary
            table = app.screen.query_one("#progress")
            assert [table.get_cell(n, "state") for n in ("cp1", "cp2", "cp3", "w1", "w2")] == ["✓ done"] * 5
            (action, options), = runner.calls
            assert type(action.job).__name__ == "ResetJob" and action.job.full
            assert options.only == ["cp1", "cp2", "cp3", "w1", "w2"] and options.access.ask_host_key is not None
            assert app.exit_code == 0
            await send(pilot, "enter")                                          # Back to start
            await until(pilot, lambda: screen_name(app) == "StartScreen", "back on start")
    run(journey())


async def run_confirmed(pilot, app) -> None:
    """On a run screen: Run, confirm, wait for the end."""
    await send(pilot, "enter")                                              # Run
    await until(pilot, lambda: screen_name(app) == "ConfirmDialog", "confirmation")
    await send(pilot, "enter")
    await until(pilot, lambda: getattr(app.screen, "finished", False), "run finished")


def old_cluster(tmp_path) -> Path:
    """v1.31 with a v2-chart redirect, and its token file (an upgrade writes the token like replay)."""
    path = copy_fixture(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["cluster"]["k3s"] = {"version": "v1.31.4+k3s1"}
    doc["cluster"]["traefik"]["values"] = V2_REDIRECT
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (tmp_path / "homelab.token").write_text("f" * 64 + "\n")
    return path


def test_upgrade_picks_a_catalog_version_checks_it_rewrites_traefik_values_and_records_it(tmp_path):
    runner = FakeRunner()
    path = old_cluster(tmp_path)

    async def journey():
        app = build_app(path, offer_day2=True, day2_fn=runner)
        async with app.run_test(size=SIZE) as pilot:
            await open_start(pilot, app)
            await choose(pilot, app, "upgrade")
            await until(pilot, lambda: screen_name(app) == "UpgradeScreen", "upgrade screen")
            select = app.screen.query_one("#to")
            values = [value for _label, value in select._options]
            assert values[-2:] == ["stable", "latest"] and "v1.31.4+k3s1" not in values
            assert select.value.startswith("v1.31.")                         # the smallest step: 1.31's newest
            select.value = next(v for v in values if v.startswith("v1.33."))  # crosses 1.32.2: Traefik v3
            await until(pilot, lambda: "to rewrite" in text(app, "#upgrade-check"), "values change shown")
            check = text(app, "#upgrade-check")
            assert "ports.web.redirectTo: {port: websecure}  ->  ports.web.redirections.entryPoint" in check
            await focus(pilot, "#continue")
            await send(pilot, "enter")
            assert screen_name(app) == "UpgradeScreen" and "Continue refused" in text(app, "#day2-summary")
            app.screen.query_one("#rewrite").value = True
            await fill(pilot, "#batch", "2")
            await until(pilot, lambda: "--rewrite-values" in text(app, "#day2-command"), "command updated")
            command = text(app, "#day2-command")
            assert f"upgrade {path} --to {select.value} --batch 2 --rewrite-values" in command
            plan = text(app, "#day2-plan")
            assert "wave 1: cp1: server (one at a time)" in plan and "wave 4: agents batch 1 (in parallel)" in plan
            await focus(pilot, "#continue")
            await send(pilot, "enter")
            await until(pilot, lambda: screen_name(app) == "Day2RunScreen", "run screen")
            assert text(app, "#day2-command") == command
            await run_confirmed(pilot, app)
            assert "now records k3s" in text(app, "#day2-summary")
            (action, options), = runner.calls
            assert type(action.job).__name__ == "UpgradeJob" and action.job.batch == 2
            return select.value
    target = run(journey())
    doc = yaml.safe_load(path.read_text())
    assert doc["cluster"]["k3s"] == {"version": target}
    assert "redirections" in doc["cluster"]["traefik"]["values"]["ports"]["web"]
    assert len(list(tmp_path.glob("homelab.k3swiz.yaml.before-upgrade-*"))) == 1
