"""Small typed modal dialogs: help, confirm, save-as, unknown host key, sudo password.

Each returns its answer through `dismiss` (use push_screen with a callback); Escape
always means "no" / "cancel".
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from k3swiz.assets import asset_path
from k3swiz.secrets import Secret


class Dialog(ModalScreen):
    """A centred box with a title, a body and buttons; Escape cancels."""

    CSS_PATH = asset_path("dialogs.tcss")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    CANCEL_RESULT: object = None

    def __init__(self, title: str) -> None:
        super().__init__(classes="dialog")
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self.title_text, id="dialog-title")
            yield from self.compose_body()
            with Horizontal(id="dialog-buttons"):
                yield from self.compose_buttons()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def compose_buttons(self) -> ComposeResult:
        yield Button("Close", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(self.CANCEL_RESULT)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()


class HelpDialog(Dialog):
    def __init__(self, step_title: str, text: str) -> None:
        super().__init__(f"Help: {step_title}")
        self.text = text

    def compose_body(self) -> ComposeResult:
        keys = ("Keys: Tab/Shift+Tab move, Enter = Next, Esc = Back, ctrl+s saves, "
                "ctrl+q quits, ? this help. Click a done step in the bar to go back to it.")
        with VerticalScroll(id="help-text"):
            yield Static(self.text or "No help for this step.")
            yield Static(keys, classes="muted")


class ConfirmDialog(Dialog):
    """Yes/no; returns True for the yes button."""
    CANCEL_RESULT = False

    def __init__(self, title: str, question: str, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__(title)
        self.question, self.yes, self.no = question, yes, no

    def compose_body(self) -> ComposeResult:
        yield Static(self.question)

    def compose_buttons(self) -> ComposeResult:
        yield Button(self.yes, id="yes", variant="warning")
        yield Button(self.no, id="cancel")

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)


class SaveAsDialog(Dialog):
    """Where to save the answers file; returns a Path or None."""

    def __init__(self, default: Path, why: str = "") -> None:
        super().__init__("Save answers")
        self.default, self.why = default, why

    def compose_body(self) -> ComposeResult:
        if self.why:
            yield Static(self.why)
        yield Label("File (the token is saved by reference, never inline):")
        yield Input(str(self.default), id="save-path")

    def compose_buttons(self) -> ComposeResult:
        yield Button("Save", id="save", variant="primary")
        yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        text = self.query_one("#save-path", Input).value.strip()
        if text:
            self.dismiss(Path(text))


class HostKeyDialog(Dialog):
    """An unknown host key: show its fingerprint; True = trust it and record it."""
    CANCEL_RESULT = False

    def __init__(self, node: str, fingerprint: str, known_hosts: str = "known_hosts") -> None:
        super().__init__(f"Unknown host key: {node}")
        self.node, self.fingerprint, self.known_hosts = node, fingerprint, known_hosts

    def compose_body(self) -> ComposeResult:
        yield Static(f"{self.node} is not in {self.known_hosts}. It presents this key:")
        yield Static(self.fingerprint, id="fingerprint")
        yield Static("Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the node. "
                     "Accepting records it in known_hosts.", classes="muted")

    def compose_buttons(self) -> ComposeResult:
        yield Button("Accept", id="accept", variant="warning")
        yield Button("Refuse", id="cancel")

    @on(Button.Pressed, "#accept")
    def _accept(self) -> None:
        self.dismiss(True)


class SudoPasswordDialog(Dialog):
    """The sudo password (masked) the engine asks for once per run; returns a Secret or None."""

    def __init__(self, prompt: str) -> None:
        super().__init__("sudo password")
        self.prompt = prompt

    def compose_body(self) -> ComposeResult:
        yield Static(f"sudo asks for a password: {self.prompt}. It goes to sudo's stdin only, "
                     "never to a file, a log or a command line.")
        yield Input(password=True, id="sudo-password")

    def compose_buttons(self) -> ComposeResult:
        yield Button("OK", id="ok", variant="primary")
        yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        field = self.query_one("#sudo-password", Input)
        value = field.value
        field.value = ""
        self.dismiss(Secret(value) if value else None)


class TypedConfirmDialog(Dialog):
    """A destructive action: goes ahead only when `name` is typed exactly; returns True then."""
    CANCEL_RESULT = False

    def __init__(self, title: str, question: str, name: str, yes: str = "Go ahead") -> None:
        super().__init__(title)
        self.question, self.expected, self.yes = question, name, yes

    def compose_body(self) -> ComposeResult:
        yield Static(self.question)
        yield Label(f"This cannot be undone. Type the cluster name ({self.expected}) to go ahead:")
        yield Input(id="typed-name")
        yield Static("", id="typed-refusal")

    def compose_buttons(self) -> ComposeResult:
        yield Button(self.yes, id="yes", variant="error")
        yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        if self.query_one("#typed-name", Input).value.strip() == self.expected:
            self.dismiss(True)
        else:
            self.query_one("#typed-refusal", Static).update(f"the name does not match {self.expected}: nothing was changed")


class CommandDialog(Dialog):
    """A day-2 command the wizard does not run itself: the exact command, to copy into a shell."""

    def __init__(self, title: str, command: str, why: str) -> None:
        super().__init__(title)
        self.command, self.why = command, why

    def compose_body(self) -> ComposeResult:
        yield Static(f"$ {self.command}", id="command")
        yield Static(self.why, classes="muted")
