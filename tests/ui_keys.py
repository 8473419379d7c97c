"""Keyboard helpers for the Pilot tests of the wizard: focus by Tab, type, go to the next step.

Everything goes through key presses (as a person would); a condition is waited for
by pausing the app until it holds, with a bound, never by sleeping.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.keys import _character_to_key

from k3swiz.answers import Answers, load_answers
from k3swiz.plan import WriteFiles, build_plan
from k3swiz.plan_view import steps_sh

FIXTURES = Path(__file__).parent / "ui_fixtures"


async def focus(pilot, selector: str, limit: int = 60) -> None:
    """Press Tab until the widget matching `selector` has focus.

    Each Tab is a Key event; we wait for the focus to move rather than for the whole
    app to go idle (pilot.press), which costs 50-100 ms a key on a busy machine.
    """
    app = pilot.app
    for _ in range(limit):
        focused = app.focused
        if focused is not None and focused in list(app.screen.query(selector)):
            return
        app.post_message(events.Key("tab", None))
        await until(pilot, lambda: app.focused is not focused, "focus moved on Tab")
    raise AssertionError(f"Tab never reached {selector}; focus is on {app.focused!r}")


async def send(pilot, *keys: str) -> None:
    """Post Key events (named keys or characters) and let the app process them.

    pilot.press waits for the whole app to go idle after every key (~50-100 ms each on a
    busy machine); callers wait for the effect they expect instead (see `until`).
    """
    for key in keys:
        char = key if len(key) == 1 else None
        name = key if len(key) > 1 or key.isalnum() else _character_to_key(key)
        pilot.app.post_message(events.Key(name, char))
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    """Send one Key event per character, as a fast typist (or a paste) would.

    pilot.press waits for the app to go idle after every key (~50-100 ms each on a busy
    machine); the characters of a word need no such wait, they are processed in order.
    """
    await send(pilot, *text)


async def fill(pilot, selector: str, text: str) -> None:
    """Focus an Input, clear it (ctrl+u deletes to the start) and type."""
    await focus(pilot, selector)
    await send(pilot, "end", "ctrl+u")
    await type_text(pilot, text)
    field = pilot.app.screen.query_one(selector)
    await until(pilot, lambda: field.value == text, f"{selector} holds {text!r}")


async def next_step(pilot, expected: str | None = None) -> None:
    """Enter in a text field goes on (as a person would); elsewhere Tab to Next first."""
    if type(pilot.app.focused).__name__ != "Input":
        await focus(pilot, "#next")
    await send(pilot, "enter")
    if expected:
        await until(pilot, lambda: getattr(pilot.app.screen, "STEP", None) == expected,
                    f"step {expected} opened")


async def goto(pilot, step: str, force: bool = False) -> None:
    """Jump to a reached step (as a click on the step bar does), once the current one is ready."""
    app = pilot.app
    await until(pilot, lambda: getattr(app.screen, "form_ready", False), "current step ready")
    before = app.get_screen(step).times_shown if app.is_screen_installed(step) else 0
    app.goto_step(step, force=force)
    await until(pilot, lambda: getattr(app.screen, "STEP", "") == step and app.screen.times_shown > before,
                f"step {step} shown")


async def until(pilot, condition, what: str, rounds: int = 100) -> None:
    """Let the app process messages until `condition()` holds (bounded)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"timed out waiting for: {what}")


async def choose(pilot, selector: str, value: str) -> None:
    """Pick an option of a Select by keys: open it, move to `value`, confirm with Enter."""
    await focus(pilot, selector)
    select = pilot.app.screen.query_one(selector)
    values = [v for _label, v in select._options]   # the blank (Select.NULL) first when allowed
    current = values.index(select.value)
    await send(pilot, "enter")
    await until(pilot, lambda: select.expanded, f"{selector} opened")
    target = values.index(value)
    key = "down" if target > current else "up"
    await send(pilot, *[key] * abs(target - current), "enter")
    await until(pilot, lambda: select.value == value, f"{selector} set to {value}")


async def add_node(pilot, address: str, name: str, *, server: bool | None = None, ipv6: str = "",
                   labels: str = "") -> None:
    """On the nodes step: open the form with `a`, fill it, Enter saves."""
    await focus(pilot, "#nodes")
    await send(pilot, "a")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "NodeFormDialog", "node form opened")
    await fill(pilot, "#address", address)
    await fill(pilot, "#name", name)
    if server is not None:
        await choose(pilot, "#role", "server" if server else "agent")
    if ipv6:
        await fill(pilot, "#ipv6", ipv6)
    if labels:
        await fill(pilot, "#labels", labels)
    await focus(pilot, "#address")
    await send(pilot, "enter")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "NodesStep", "node form closed")


def plan_texts(answers: Answers) -> dict[str, tuple[str, dict[str, str]]]:
    """Per node: steps.sh and every rendered file as shown, the plan's observable output."""
    plan = build_plan(answers)
    out = {}
    for node_plan in plan.node_plans():
        files = {f.path: f.shown() for step in node_plan.steps if isinstance(step, WriteFiles)
                 for f in step.files}
        out[node_plan.node.name] = (steps_sh(plan, node_plan), files)
    return out


def fixture_answers(name: str) -> Answers:
    return load_answers(FIXTURES / name).answers
