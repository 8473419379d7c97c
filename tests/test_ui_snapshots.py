"""SVG snapshots of every wizard screen at 100x32 (pytest-textual-snapshot).

Update after a deliberate change with `pytest tests/test_ui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from tests.ui_keys import fill, focus, goto, until

SIZE = (100, 32)
pytestmark = pytest.mark.timeout(60)


def at(step: str, force: bool = False):
    async def run_before(pilot) -> None:
        await goto(pilot, step, force)
    return run_before


async def node_form(pilot) -> None:
    await goto(pilot, "nodes")
    await focus(pilot, "#nodes")
    await pilot.press("down", "enter")                       # edit cp2
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "NodeFormDialog", "node form")


async def bad_cidr(pilot) -> None:
    await goto(pilot, "network")
    await fill(pilot, "#cluster-cidr", "10.42.0.0/33, 2001:db8:42::/56")
    await pilot.press("enter")                               # Next: refused, with the reason


async def help_dialog(pilot) -> None:
    await goto(pilot, "traefik")
    await pilot.press("f1")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "HelpDialog", "help")


async def applied(pilot) -> None:
    """The apply screen after a (fake) run; the confirm-and-save flow is tested elsewhere."""
    app = pilot.app
    await until(pilot, lambda: getattr(app.screen, "form_ready", False), "review ready")
    app.open_apply()
    await until(pilot, lambda: getattr(app.screen, "finished", False), "apply finished")
    log = app.screen.query_one("#log")
    await until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y, "log at its end")
    await until(pilot, lambda: app.focused is app.screen.query_one("#next"), "Finish focused")


async def review(pilot) -> None:
    await until(pilot, lambda: getattr(pilot.app.screen, "built", 0) > 0, "plan rendered")


async def save_dialog(pilot) -> None:
    await until(pilot, lambda: getattr(pilot.app.screen, "form_ready", False), "cluster ready")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "SaveAsDialog", "save dialog")


async def nodes_tested(pilot) -> None:
    """Every node tested (an injected probe: cp2 has a port conflict, w2 is down), w2 selected."""
    await goto(pilot, "nodes")
    await focus(pilot, "#nodes")
    await pilot.press("T")
    await until(pilot, lambda: len(pilot.app.state.ui.get("probes", {})) == 5, "every node tested", rounds=300)
    await pilot.press("down", "down", "down", "down")
    await until(pilot, lambda: "w2 (192.168.1.21:22)" in str(pilot.app.screen.query_one("#probe-result").render()),
                "w2's line")


async def review_compared(pilot) -> None:
    await until(pilot, lambda: getattr(pilot.app.screen, "built", 0) > 0, "plan rendered")
    await pilot.press("c")
    await until(pilot, lambda: pilot.app.screen.compared == 1, "compared", rounds=300)
    await until(pilot, lambda: pilot.app.screen.built > 1, "rebuilt with the diffs")


async def start_screen(pilot) -> None:
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "StartScreen", "start screen")
    await until(pilot, lambda: pilot.app.screen.query_one("#start-choices").option_count == 6, "choices")


def start_choice(key: str, screen: str):
    async def run_before(pilot) -> None:
        await start_screen(pilot)
        pilot.app.screen.choose(key)
        await until(pilot, lambda: type(pilot.app.screen).__name__ == screen, screen)
    return run_before


CASES = {
    "cluster_new": ("new", None),
    "version": ("homelab", at("version")),
    "nodes": ("homelab", at("nodes")),
    "node_form": ("homelab", node_form),
    "network_dual_stack": ("homelab", at("network")),
    "network_gate_1_20": ("edge", at("network")),
    "network_bad_cidr": ("homelab", bad_cidr),
    "datastore": ("homelab", at("datastore")),
    "token": ("homelab", at("token")),
    "traefik_v3": ("homelab", at("traefik")),
    "traefik_v1": ("edge", at("traefik")),
    "extras": ("homelab", at("extras")),
    "review": ("homelab", review),
    "apply_done": ("homelab", applied),
    "help": ("homelab", help_dialog),
    "save_as": ("new", save_dialog),
    "nodes_tested": ("looked", nodes_tested),
    "review_compared": ("looked", review_compared),
    "start": ("managed", start_screen),
    "start_reset": ("managed", start_choice("reset", "Day2RunScreen")),
    "start_upgrade": ("managed", start_choice("upgrade", "UpgradeScreen")),
}


def steady(run_before):
    """Run the case, then stop cursors blinking: a blink phase is not part of the screen."""
    async def wrapped(pilot) -> None:
        await until(pilot, lambda: getattr(pilot.app.screen, "form_ready", True), "first step ready")
        if run_before is not None:
            await run_before(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False
        await pilot.pause()
    return wrapped


@pytest.mark.parametrize("case", list(CASES))
def test_screen(snap_compare, case):
    app_name, run_before = CASES[case]
    assert snap_compare(f"ui_app.py:{app_name}", terminal_size=SIZE, run_before=steady(run_before))
