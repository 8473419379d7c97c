"""What every step screen shares: the step bar, Back/Next, and problems under their fields.

A step fills its widgets from the Answers (`load_form`), writes them back on every
change (`store_form`), and the app re-runs the core's `validate_answers`; each
FieldMessage then shows the problems of its key paths. Next is refused while the
step has errors, with the reason beside the buttons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, RadioSet, Select, Static, Switch, TextArea

from k3swiz.problems import Problem, Report

from ..form_values import FormError
from ..widgets import FieldMessage, StepBar, distribute, problem_markup
from ..wizard_state import STEPS, TITLES, WizardState

CHANGE_MESSAGES = (Input.Changed, Switch.Changed, Select.Changed, RadioSet.Changed, TextArea.Changed,
                   Checkbox.Changed)

if TYPE_CHECKING:
    from ..app import WizardApp


class StepScreen(Screen):
    STEP: ClassVar[str] = ""
    SUBTITLE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "next", "Next"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
    ]

    def __init__(self) -> None:
        super().__init__(id=f"step-{self.STEP}")
        self.local_errors: dict[str, str] = {}   # key path -> why the typed text is not a value
        self._problems_markup: str | None = None
        self.form_ready = False   # widgets composed and filled: problems can be shown
        self.times_shown = 0      # screen resumes handled (tests wait on it)

    @property
    def wizard(self) -> "WizardApp":
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StepBar(id="step-bar")
        number = STEPS.index(self.STEP) + 1
        yield Static(f"[b]{number}. {TITLES[self.STEP]}[/b]  [$text-muted]{self.SUBTITLE}[/]", id="step-title")
        # Not focusable itself: Tab goes straight to the fields, and focusing one scrolls to it.
        with VerticalScroll(id="step-body", can_focus=False):
            yield from self.compose_body()
        yield Static("", id="step-problems")
        with Horizontal(id="step-buttons"):
            yield Button("Back", id="back", disabled=self.STEP == STEPS[0], compact=True)
            yield Button(self.next_label(), id="next", variant="primary", compact=True)
            yield Static("", id="refusal")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return "Next"

    # --- form <-> answers (steps override) -----------------------------------------

    def load_form(self) -> None:
        """Fill the widgets from self.state.answers."""

    def store_form(self) -> None:
        """Write the widgets into self.state.answers; raise FormError for text that is no value."""

    def refresh_gates(self) -> None:
        """Enable/disable what the chosen version (or other steps' answers) allow."""

    # --- life cycle ----------------------------------------------------------------

    def on_mount(self) -> None:
        self.reload()
        self.form_ready = True

    def reload(self) -> None:
        """Fill the widgets without their change events echoing back into the answers."""
        with self.prevent(*CHANGE_MESSAGES):
            self.load_form()

    def on_screen_resume(self) -> None:
        self.state.reach(self.STEP)
        self.refresh_gates()
        self.show_problems(self.state.report)
        self.times_shown += 1

    # --- changes and validation ----------------------------------------------------

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    @on(RadioSet.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    def _any_change(self) -> None:
        self.form_changed()

    def form_changed(self) -> None:
        self.local_errors = {}
        try:
            self.store_form()
        except FormError as exc:  # a store_form that checks one field at a time
            self.local_errors.setdefault("", str(exc))
        self.refresh_gates()
        self.wizard.revalidate()

    def show_problems(self, report: Report) -> None:
        if not self.form_ready:
            return
        self.query_one(StepBar).show(self.STEP, self.state.marks(), self.state.reached)
        messages = list(self.query(FieldMessage))
        shares = distribute(messages, report.problems)
        local_shares = distribute(messages, [_as_problem(path, text) for path, text in self.local_errors.items()])
        for message, problems in shares.items():
            message.show(problems, [p.message for p in local_shares[message]])
        shown = {id(p) for share in (*shares.values(), *local_shares.values()) for p in share}
        lines = [problem_markup(p, with_path=True) for p in self.state.problems_of(self.STEP) if id(p) not in shown]
        lines += [f"[$error]✗[/] {escape(text)}" for path, text in self.local_errors.items()
                  if not any(m.claims(_as_problem(path)) for m in messages)]
        markup = "\n".join(lines[:6])
        if markup != self._problems_markup:
            self._problems_markup = markup
            box = self.query_one("#step-problems", Static)
            box.update(Content.from_markup(markup))
            box.display = bool(lines)
        if not self.blocking_errors():
            self.query_one("#refusal", Static).update("")

    def blocking_errors(self) -> list[str]:
        return [f"{p.path}: {p.message}" for p in self.state.errors_of(self.STEP)] + list(self.local_errors.values())

    def parsed(self, path: str, parse, *args, default=None):
        """parse(*args), or `default` with the reason kept under the field at `path`."""
        try:
            return parse(*args)
        except FormError as exc:
            self.local_errors[path] = str(exc)
            return default

    # --- actions -------------------------------------------------------------------

    def action_next(self) -> None:
        errors = self.blocking_errors()
        if errors:
            why = f"Next refused: {len(errors)} error(s) on this step — {errors[0]}"
            self.query_one("#refusal", Static).update(Content(why))
            self.notify(why, severity="error", title="Fix this step first")
            return
        self.wizard.goto_next(self.STEP)

    def action_back(self) -> None:
        self.wizard.goto_prev(self.STEP)

    def action_help(self) -> None:
        from ..dialogs import HelpDialog
        self.app.push_screen(HelpDialog(TITLES[self.STEP], self.HELP))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()


def _as_problem(path: str, message: str = "") -> Problem:
    return Problem(path, message)
