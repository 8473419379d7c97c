"""Small widgets every step shares: the step bar, and a field with its problems under it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.markup import escape
from textual.widget import Widget
from textual.binding import Binding
from textual.widgets import Checkbox, Label, RadioButton, RadioSet, Static, Switch

from k3swiz.problems import Problem

from .wizard_state import STEPS, TITLES, matches

MARKS = {"done": ("✓", "$success"), "invalid": ("✗", "$error"), "todo": ("·", "$text-muted")}


def step_bar_markup(current: str, marks: dict[str, str], reached: int, compact: bool = False) -> str:
    """One line: every step with its mark; reached steps are links (mouse works).

    `compact` (narrow terminals): only the current step is named, the others are numbers.
    """
    parts = []
    for i, step in enumerate(STEPS):
        symbol, colour = MARKS[marks.get(step, "todo")]
        title = TITLES[step]
        if step == current:
            label = f"[b reverse] {i + 1} {title} [/]"
        elif compact:
            label = f"{i + 1}[{colour}]{symbol}[/]"
        else:
            label = f"[{colour}]{symbol}[/]{title}"
        if i <= reached and step != current:
            label = f"[@click=app.goto_step('{step}')]{label}[/]"
        parts.append(label)
    return " ".join(parts)


class StepBar(Static):
    """Where you are in the wizard, which steps are done (✓) and which became invalid (✗)."""

    COMPACT_BELOW = 96  # columns; the full bar is about 90 wide

    def __init__(self, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._shown: tuple[str, dict[str, str], int] | None = None
        self._markup = ""

    def show(self, current: str, marks: dict[str, str], reached: int) -> None:
        self._shown = (current, marks, reached)
        compact = 0 < self.size.width < self.COMPACT_BELOW
        markup = step_bar_markup(current, marks, reached, compact)
        if markup != self._markup:  # every keystroke revalidates: repaint only on a change
            self._markup = markup
            self.update(Content.from_markup(markup))

    def on_resize(self) -> None:
        if self._shown:
            self.show(*self._shown)


def problem_markup(problem: Problem, with_path: bool = False) -> str:
    symbol, colour = ("✗", "$error") if problem.is_error else ("!", "$warning")
    where = f"{problem.path}: " if with_path and problem.path else ""
    text = escape(f"{where}{problem.message}")
    fix = escape(f" — {problem.fix}") if problem.fix else ""
    return f"[{colour}]{symbol}[/] {text}[$text-muted]{fix}[/]"


class FieldMessage(Static):
    """The problems of one key path (or several), shown right under its field.

    `paths` are key-path prefixes; `[*]` matches any list index ("nodes[*].init").
    """

    def __init__(self, *paths: str, id: str | None = None) -> None:
        super().__init__("", id=id, classes="field-message")
        self.paths = paths
        self.display = False
        self._markup = ""

    def claims(self, problem: Problem) -> bool:
        return self.specificity(problem.path) >= 0

    def specificity(self, path: str) -> int:
        """Length of the longest of our prefixes that `path` falls under (-1: none)."""
        return max((len(prefix) for prefix in self.paths if matches(prefix, path)), default=-1)

    def show(self, problems: list[Problem], local: list[str] = ()) -> None:
        lines = [f"[$error]✗[/] {escape(text)}" for text in local]
        lines += [problem_markup(p) for p in problems if self.claims(p)]
        markup = "\n".join(lines)
        if markup != self._markup:  # every keystroke revalidates: repaint only on a change
            self._markup = markup
            self.update(Content.from_markup(markup))
            self.display = bool(lines)


def distribute(messages: list[FieldMessage], problems: list[Problem]) -> dict[FieldMessage, list[Problem]]:
    """Each problem goes to the one message with the most specific matching path, so a
    catch-all message ("cluster.network") shows only what no field shows."""
    shares: dict[FieldMessage, list[Problem]] = {message: [] for message in messages}
    for problem in problems:
        best = max(messages, key=lambda m: m.specificity(problem.path), default=None)
        if best is not None and best.specificity(problem.path) >= 0:
            shares[best].append(problem)
    return shares


class Field(Vertical):
    """A label, a control and the FieldMessage for its key path(s)."""

    DEFAULT_CSS = """
    Field { height: auto; margin-bottom: 1; }
    Field > .field-label { color: $text-muted; }
    Field > .field-note { color: $text-muted; }
    """

    def __init__(self, label: str, control: Widget, *paths: str, note: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.control = control
        self.note = note
        self.message = FieldMessage(*paths)

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.control
        if self.note:
            yield Static(self.note, classes="field-note")
        yield self.message


def press_radio(radio_set: RadioSet, button_id: str) -> None:
    """Press one button of a RadioSet now (the set itself only catches up a message later)."""
    for button in radio_set.query(RadioButton):
        button.value = button.id == button_id


def pressed_radio(radio_set: RadioSet) -> str | None:
    """The id of the pressed button, read from the buttons (current even before the set's update)."""
    return next((button.id for button in radio_set.query(RadioButton) if button.value), None)


# Choices that leave Enter to the step (Enter = Next): Space chooses, arrows move.
class Choices(RadioSet, inherit_bindings=False):
    BINDINGS = [
        Binding("down,right", "next_button", "Next option", show=False),
        Binding("space", "toggle_button", "Choose", show=False),
        Binding("up,left", "previous_button", "Previous option", show=False),
    ]


class OnOff(Switch, inherit_bindings=False):
    BINDINGS = [Binding("space", "toggle_switch", "Toggle", show=False)]


class Tick(Checkbox, inherit_bindings=False):
    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]
