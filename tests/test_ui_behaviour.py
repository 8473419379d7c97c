"""Pilot tests of the wizard's behaviour: version gates, live validation, where a prefilled
wizard opens, saving and quitting, the host-key modal, and the apply screen with a fake apply."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from k3swiz.secrets import Secret
from k3swiz.ssh_errors import HostKeyUnknown
from screens.app import build_app
from screens.widgets import StepBar
from tests.ui_keys import FIXTURES, fill, focus, goto, next_step, until

SIZE = (100, 32)
pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(coro)


def copy_fixture(tmp_path: Path, name: str = "homelab.k3swiz.yaml", edit=None) -> Path:
    target = tmp_path / name
    text = (FIXTURES / name).read_text()
    target.write_text(edit(text) if edit else text)
    return target


# --- version gates -----------------------------------------------------------------------

def test_dual_stack_is_disabled_on_1_20_with_the_reason(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path, "journey_sqlite.k3swiz.yaml"))
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "network")
            switch = app.screen.query_one("#dual-stack")
            reason = str(app.screen.query_one("#dual-reason").render())
            assert switch.disabled and not switch.value
            assert "dual-stack needs k3s v1.21.0+k3s1 or newer" in reason
            # The same screen on a version that can do it: the switch is free.
            await goto(pilot, "version")
            await fill(pilot, "#exact", "v1.33.6+k3s1")
            await goto(pilot, "network")
            assert not app.screen.query_one("#dual-stack").disabled
            assert "needs" not in str(app.screen.query_one("#dual-reason").render())
    run(journey())


def test_changing_the_version_marks_steps_that_became_invalid(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path))          # v1.33, dual-stack, Traefik v3 redirect
        async with app.run_test(size=SIZE) as pilot:
            assert app.screen.STEP == "review"
            await goto(pilot, "version")
            await fill(pilot, "#exact", "v1.20.15+k3s1")
            marks = app.state.marks()
            assert marks["network"] == "invalid" and marks["traefik"] == "invalid"
            assert marks["nodes"] == "done" and marks["version"] == "done"
            bar = str(app.screen.query_one(StepBar).render())
            assert "✗Network" in bar and "✗Traefik" in bar
            # Visiting Traefik rewrites the common settings in the v1 chart's keys: valid again.
            await goto(pilot, "traefik")
            await until(pilot, lambda: app.state.marks()["traefik"] == "done", "traefik valid again")
            assert app.state.answers.cluster.traefik.values == {"ssl": {"enforced": True}}
    run(journey())


# --- live validation ---------------------------------------------------------------------

def test_bad_cidr_shows_under_the_field_and_next_is_refused(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "network")
            await fill(pilot, "#cluster-cidr", "10.42.0.0/33, 2001:db8:42::/56")
            field = app.screen.query_one("#cluster-cidr").parent
            message = str(field.message.render())
            assert "`10.42.0.0/33` is not a network" in message and field.message.display
            await pilot.press("enter")                     # Enter = Next: refused
            await pilot.pause()
            assert app.screen.STEP == "network"
            assert "Next refused" in str(app.screen.query_one("#refusal").render())
            await fill(pilot, "#cluster-cidr", "10.42.0.0/16, 2001:db8:42::/56")
            assert not field.message.display
            await next_step(pilot, "datastore")
    run(journey())


def test_node_form_refuses_a_duplicate_name(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "nodes")
            await focus(pilot, "#nodes")
            await pilot.press("a")
            await until(pilot, lambda: type(app.screen).__name__ == "NodeFormDialog", "node form")
            await fill(pilot, "#address", "192.168.1.30")
            await fill(pilot, "#name", "cp1")
            await pilot.press("enter")
            await pilot.pause()
            assert type(app.screen).__name__ == "NodeFormDialog"
            assert "used 2 times" in str(app.screen.query_one("#node-refusal").render())
            await pilot.press("escape")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "nodes", "back on nodes")
            assert [n.name for n in app.state.answers.nodes] == ["cp1", "cp2", "cp3", "w1", "w2"]
    run(journey())


# --- prefilled wizard --------------------------------------------------------------------

@pytest.mark.parametrize(("edit", "opens_on"), [
    (lambda t: t, "review"),                                            # complete: review
    (lambda t: t.replace("  k3s: {version: v1.33.6+k3s1}\n", ""), "version"),   # version missing
    (lambda t: t.split("nodes:")[0], "nodes"),                          # no nodes
    (lambda t: t.replace("10.43.0.0/16", "10.43.0.0/99"), "network"),   # invalid network
    (lambda t: t.replace("  token: {file: ./homelab.token}\n", ""), "token"),  # token missing
])
def test_partial_answers_open_on_the_first_missing_or_invalid_step(tmp_path, edit, opens_on):
    async def journey():
        app = build_app(copy_fixture(tmp_path, edit=edit))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == opens_on, f"opened on {opens_on}")
    run(journey())


# --- save, quit, help --------------------------------------------------------------------

def test_quit_asks_when_unsaved_and_returns_130(tmp_path):
    async def journey():
        app = build_app(None)
        async with app.run_test(size=SIZE) as pilot:
            await fill(pilot, "#name", "changed")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "quit confirmation")
            await pilot.press("escape")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "cluster", "still in the wizard")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "asked again")
            await pilot.press("enter")
        return app.return_value
    assert run(journey()) == 130


def test_help_opens_for_the_step(tmp_path):
    async def journey():
        app = build_app(copy_fixture(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "token")
            await pilot.press("f1")
            await until(pilot, lambda: type(app.screen).__name__ == "HelpDialog", "help")
            assert "never stored in the answers file" in str(app.screen.query_one("#help-text Static").render())
            await pilot.press("escape")
            await until(pilot, lambda: getattr(app.screen, "STEP", "") == "token", "help closed")
    run(journey())


def test_generated_token_is_masked_until_revealed(tmp_path):
    async def journey():
        app = build_app(None)
        async with app.run_test(size=SIZE) as pilot:
            await goto(pilot, "token", force=True)
            await until(pilot, lambda: app.state.new_token is not None, "token generated")
            shown = app.screen.query_one("#token-shown")
            secret = app.state.new_token.reveal()
            assert secret not in str(shown.render()) and "***" in str(shown.render())
            await focus(pilot, "#token-reveal")
            await pilot.press("r")
            assert secret in str(shown.render())
            return secret
    run(journey())


# --- apply -------------------------------------------------------------------------------

def fake_apply(decisions: list):
    """An apply that asks about one unknown host key, then reports every node done."""
    def apply(answers, options, on_event):
        unknown = HostKeyUnknown("cp1", "the host is not in ~/.ssh/known_hosts; it presents the key "
                                        "256 SHA256:Qm9ndXNGaW5nZXJwcmludA (ED25519)", "check it")
        decisions.append(options.access.ask_host_key(unknown))
        for node in answers.nodes:
            for phase, state in (("connect", "running"), ("install k3s", "running"), ("ready", "done")):
                on_event(SimpleNamespace(node=node.name, phase=phase, state=state, message="", elapsed=2.0))
        return SimpleNamespace(ok=True, failed=[], kubeconfig=Path("/tmp/homelab.kubeconfig"),
                               journal=Path("/tmp/journal/1"))
    return apply


async def start_apply(pilot, app) -> None:
    assert app.screen.STEP == "review"
    await next_step(pilot)                                  # Apply
    await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "apply confirmation")
    await pilot.press("enter")
    await until(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", "host key modal")


def test_unknown_host_key_modal_shows_the_fingerprint_and_refusal_reaches_the_engine(tmp_path):
    decisions: list = []

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=fake_apply(decisions))
        async with app.run_test(size=SIZE) as pilot:
            await start_apply(pilot, app)
            assert "SHA256:Qm9ndXNGaW5nZXJwcmludA" in str(app.screen.query_one("#fingerprint").render())
            await pilot.press("escape")                     # refuse
            await until(pilot, lambda: decisions == [False], "engine got the refusal")
    run(journey())


def test_apply_screen_relays_events_and_finishes_with_0(tmp_path):
    decisions: list = []

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=fake_apply(decisions))
        async with app.run_test(size=SIZE) as pilot:
            await start_apply(pilot, app)
            await focus(pilot, "#accept")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.STEP == "apply" and app.screen.finished, "apply finished")
            table = app.screen.query_one("#progress")
            assert [table.get_cell(n, "state") for n in ("cp1", "cp2", "cp3", "w1", "w2")] == ["✓ done"] * 5
            summary = str(app.screen.query_one("#summary").render())
            assert "All nodes done" in summary and "/tmp/homelab.kubeconfig" in summary and "/tmp/journal/1" in summary
            assert not app.screen.query_one("#retry").display
            await pilot.press("enter")                      # Finish
        return app.return_value
    assert run(journey()) == 0
    assert decisions == [True]
    assert (tmp_path / "homelab.k3swiz.yaml").exists()      # saved before applying


def test_sudo_password_modal_is_masked_and_hands_a_secret_to_the_engine(tmp_path):
    got: list = []

    def needs_sudo(answers, options, on_event):
        got.append(options.access.ask_sudo_password("sudo password for alpine on the nodes"))
        return SimpleNamespace(ok=True, failed=[], kubeconfig=None, journal=None)

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=needs_sudo)
        async with app.run_test(size=SIZE) as pilot:
            await next_step(pilot)
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: type(app.screen).__name__ == "SudoPasswordDialog", "sudo modal")
            field = app.screen.query_one("#sudo-password")
            await fill(pilot, "#sudo-password", "pa55word")
            assert field.password and "pa55word" not in str(field.render())
            await pilot.press("enter")
            await until(pilot, lambda: got, "engine got the password")
    run(journey())
    assert isinstance(got[0], Secret) and got[0].reveal() == "pa55word" and "pa55word" not in repr(got[0])


def test_quitting_during_apply_asks_the_engine_to_stop_and_returns_1(tmp_path):
    stopped: list = []

    def slow(answers, options, on_event):
        on_event(SimpleNamespace(node="cp1", phase="install k3s", state="running", message="", elapsed=0.1))
        stopped.append(options.stop.wait(timeout=30))        # a long step, until asked to stop
        return SimpleNamespace(ok=False, failed=[], kubeconfig=None, journal=None, interrupted=True)

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=slow)
        async with app.run_test(size=SIZE) as pilot:
            await next_step(pilot)
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: getattr(app.screen, "node_states", {}).get("cp1") == "running", "running")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "quit confirmation")
            await pilot.press("enter")
        return app.return_value
    assert run(journey()) == 1
    assert stopped == [True]


def test_failed_apply_offers_retry_of_the_failed_nodes_only(tmp_path):
    runs: list = []

    def flaky(answers, options, on_event):
        runs.append(list(options.only))
        for node in answers.nodes:
            if options.only and node.name not in options.only:
                continue
            state = "failed" if node.name == "w2" and len(runs) == 1 else "done"
            on_event(SimpleNamespace(node=node.name, phase="install k3s", state=state, message="", elapsed=1.0))
        failed = [SimpleNamespace(node="w2")] if len(runs) == 1 else []
        return SimpleNamespace(ok=not failed, failed=failed, kubeconfig=None, journal=Path("/tmp/j"))

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=flaky)
        async with app.run_test(size=SIZE) as pilot:
            await next_step(pilot)
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "first run finished")
            assert app.exit_code == 1 and app.screen.query_one("#retry").display
            await focus(pilot, "#retry")
            await pilot.press("enter")
            await until(pilot, lambda: len(runs) == 2 and app.screen.finished, "retry finished")
            assert runs == [[], ["w2"]] and app.exit_code == 0
    run(journey())


def test_the_real_engine_reports_an_unreachable_node_as_failed(tmp_path, monkeypatch):
    """No fake: the core's apply_plan with the wizard's options; nothing listens on port 1."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    answers = tmp_path / "lo.k3swiz.yaml"
    answers.write_text("apiVersion: k3swiz/v1\n"
                       "cluster: {name: lo, k3s: {version: v1.33.6+k3s1}, token: {file: ./lo.token}}\n"
                       f"ssh: {{port: 1, known-hosts: {tmp_path}/known_hosts}}\n"
                       "nodes: [{name: n1, address: 127.0.0.1, role: server}]\n")

    async def journey():
        app = build_app(answers)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: getattr(app.screen, "form_ready", False), "review ready")
            await next_step(pilot)
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", "confirm")
            await pilot.press("enter")
            await until(pilot, lambda: getattr(app.screen, "finished", False), "apply finished", rounds=600)
            assert app.screen.node_states == {"n1": "failed"} and app.exit_code == 1
            log = " ".join(strip.text.strip() for strip in app.screen.query_one("#log").lines)
            assert "connection refused" in log
            assert "journal:" in str(app.screen.query_one("#summary").render())
            assert stat.S_IMODE((tmp_path / "lo.token").stat().st_mode) == 0o600
    run(journey())


def test_the_engine_can_ask_about_a_host_key_from_its_fan_out_threads(tmp_path):
    """The engine connects nodes in a thread pool, where no Textual worker context exists: the modal
    must still show and the answer reach that thread (it used to raise NoActiveWorker)."""
    from concurrent.futures import ThreadPoolExecutor
    got: list = []

    def pooled(answers, options, on_event):
        unknown = HostKeyUnknown("cp2", "the host is not in known_hosts; it presents the key "
                                        "256 SHA256:RmFuT3V0VGhyZWFk (ED25519)", "check it")
        with ThreadPoolExecutor(max_workers=1) as pool:
            got.append(pool.submit(options.access.ask_host_key, unknown).result())
        return SimpleNamespace(ok=True, failed=[], kubeconfig=None, journal=None)

    async def journey():
        app = build_app(copy_fixture(tmp_path), apply_fn=pooled)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: getattr(app.screen, "form_ready", False), "review ready")
            app.open_apply()
            await until(pilot, lambda: type(app.screen).__name__ == "HostKeyDialog", "host key modal", rounds=300)
            assert "SHA256:RmFuT3V0VGhyZWFk" in str(app.screen.query_one("#fingerprint").render())
            await focus(pilot, "#accept")
            await pilot.press("enter")
            await until(pilot, lambda: got, "the pool thread got the answer", rounds=300)
    run(journey())
    assert got == [True]
