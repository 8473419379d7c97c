"""Choosing an upgrade from the start screen: the version (picked from the catalog), batches and
drain, and the Traefik values rewrite when the chart generation changes. Every choice re-runs the
core's `check_upgrade` (the same check as `k3swiz upgrade`) and shows its problems, the values
keys that change, the plan and the exact command; Continue opens the run screen.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Select, Static

from k3swiz.assets import asset_path
from k3swiz.problems import InputError

from .day2_actions import Day2Action, cli_command, upgrade_action, upgrade_choices, upgrade_words
from .widgets import Field, Tick, problem_markup


class UpgradeScreen(Screen):
    CSS_PATH = asset_path("day2.tcss")
    BINDINGS = [Binding("escape", "back", "Back")]
    AUTO_FOCUS = "#to"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.action: Day2Action | None = None   # what Continue runs; None while the choice is refused
        self.refusal = ""

    @property
    def answers(self):
        return self.app.state.answers

    def compose(self) -> ComposeResult:
        release = self.answers.cluster.k3s
        now = release.version or f"channel {release.channel}"
        yield Static(Content.from_markup("[b]Upgrade cluster $name[/b]  (now k3s $now)",
                                         name=self.answers.cluster.name, now=now), id="day2-title")
        yield Static("", id="day2-command")
        with VerticalScroll(id="day2-body", can_focus=False):
            choices = upgrade_choices(self.answers)
            yield Field("Upgrade to (from the catalog)", Select(choices, id="to", allow_blank=False,
                                                               value=default_choice(choices), compact=True))
            with Horizontal(classes="row"):
                yield Field("Agents upgraded at once (--batch)", Input("1", id="batch", compact=True))
                yield Tick("Drain each agent first, uncordon after (--drain)", id="drain", compact=True)
            yield Tick("Rewrite the Traefik values for the new chart (--rewrite-values)", id="rewrite",
                       compact=True)
            yield Static("", id="upgrade-check")
            yield Static("", id="day2-plan")
        yield Static("", id="day2-summary")
        with Horizontal(id="day2-buttons"):
            yield Button("Continue", id="continue", variant="primary", compact=True)
            yield Button("Back", id="back", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.recheck()

    @on(Select.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.recheck()

    def choice(self) -> tuple[str, int | None, bool, bool]:
        to = str(self.query_one("#to", Select).value)
        text = self.query_one("#batch", Input).value.strip()
        batch = int(text) if text.isdigit() and int(text) >= 1 else None
        return to, batch, self.query_one("#drain", Checkbox).value, self.query_one("#rewrite", Checkbox).value

    def recheck(self) -> None:
        """The core's check of the answers-to-be, then (when nothing refuses it) the job and its plan."""
        from k3swiz.upgrade import check_upgrade
        to, batch, drain, rewrite = self.choice()
        words = upgrade_words(self.path, to, batch or 1, drain, rewrite)
        self.query_one("#day2-command", Static).update(Content(f"$ {cli_command(*words)}"))
        lines, self.action = [], None
        try:
            check = check_upgrade(self.answers, to, rewrite)
        except InputError as exc:
            check, lines = None, [problem_markup(p) for p in exc.problems]
        if check is not None:
            self.query_one("#rewrite").display = bool(check.changes)
            lines += self.describe(check, rewrite)
        if batch is None:
            lines.append("[$error]✗[/] --batch must be a whole number, 1 or more")
        elif check is not None and not check.errors:
            try:
                self.action = upgrade_action(self.answers, self.path, check, to, batch=batch, drain=drain,
                                             rewrite=rewrite)
            except InputError as exc:
                lines += [problem_markup(p) for p in exc.problems]
        self.refusal = "" if self.action else "this choice is refused: see the problems above"
        self.query_one("#upgrade-check", Static).update(Content.from_markup("\n".join(lines)))
        plan = "\n".join(self.action.plan_lines) if self.action else ""
        self.query_one("#day2-plan", Static).update(Content(plan))
        self.query_one("#day2-summary", Static).update("")

    @staticmethod
    def describe(check, rewrite: bool) -> list[str]:
        lines = []
        if check.changes:
            verb = "rewritten" if rewrite else "to rewrite (tick --rewrite-values)"
            lines.append(escape(f"Traefik values for k3s {check.target}'s chart, {verb}:"))
            lines += [escape(f"  {change.describe()}") for change in check.changes]
        lines += [problem_markup(p, with_path=True) for p in check.problems]
        if check.errors and check.changes and not rewrite:
            lines.append("[$warning]![/] the Traefik values above need the new chart's keys: "
                         "tick the rewrite to write them into the answers file")
        return lines or ["[$success]✓[/] every answer is valid for this version"]

    @on(Button.Pressed, "#continue")
    def _continue_pressed(self) -> None:
        self.action_continue()

    def action_continue(self) -> None:
        from .day2_run import Day2RunScreen
        if self.action is None:
            self.query_one("#day2-summary", Static).update(Content(f"Continue refused: {self.refusal}"))
            return
        self.app.switch_screen(Day2RunScreen(self.action))

    def action_back(self) -> None:
        self.app.back_to_start(changed=False)

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()


def default_choice(choices: list[tuple[str, str]]) -> str:
    """The smallest step forward: the oldest line listed (the current minor's newest patch, else the
    next minor's newest release)."""
    exact = [value for _label, value in choices if value.startswith("v")]
    return exact[-1] if exact else choices[0][1]
