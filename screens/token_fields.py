"""Where the cluster token comes from: a new one (saved to a 0600 file), a file, or a variable.

Used by the token step, and by the cluster step when joining an existing cluster
(whose token must come from a file or a variable: generating one cannot join).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from k3swiz.answers import TokenRef
from k3swiz.secrets import MASK

from .widgets import Choices, FieldMessage, press_radio, pressed_radio
from .wizard_state import WizardState

MODES = ("generate", "file", "env")


def default_mode(state: WizardState) -> str:
    """The choice that matches answers loaded from a file (or a fresh start)."""
    ref = state.answers.cluster.token
    if ref.env:
        return "env"
    if ref.file and (state.answers.local_path(ref.file).exists() or state.answers.cluster.mode == "join"):
        return "file"
    return "generate" if state.answers.cluster.mode == "init" else "file"


class TokenSourceFields(Vertical):
    DEFAULT_CSS = """
    TokenSourceFields { height: auto; }
    TokenSourceFields #token-generated { height: auto; margin-top: 1; }
    TokenSourceFields #token-buttons { height: 1; }
    TokenSourceFields #token-buttons Button { margin-right: 2; }
    TokenSourceFields #token-shown { height: auto; }
    """

    def __init__(self, allow_generate: bool = True) -> None:
        super().__init__(id="token-source")
        self.allow_generate = allow_generate
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Choices(id="token-mode"):
            yield RadioButton("Generate a new token (saved 0600 beside the answers file)", id="mode-generate",
                              disabled=not self.allow_generate)
            yield RadioButton("Read it from a file", id="mode-file")
            yield RadioButton("Read it from an environment variable", id="mode-env")
        yield Static("", id="token-generate-reason", classes="reason")
        yield Label("Token file", classes="field-label", id="token-file-label")
        yield Input(placeholder="./homelab.token", id="token-file", compact=True)
        yield Label("Environment variable", classes="field-label", id="token-env-label")
        yield Input(placeholder="K3S_TOKEN", id="token-env", compact=True)
        with Vertical(id="token-generated"):
            yield Static("", id="token-shown")
            with Horizontal(id="token-buttons"):
                yield Button("Show", id="token-reveal", compact=True)
                yield Button("New token", id="token-new", compact=True)
        yield FieldMessage("cluster.token", id="token-message")

    # --- answers <-> widgets -------------------------------------------------------

    def load(self, state: WizardState) -> None:
        mode = state.ui.setdefault("token_mode", default_mode(state))
        ref = state.answers.cluster.token
        press_radio(self.query_one("#token-mode", RadioSet), f"mode-{mode}")
        default_file = f"./{state.answers.cluster.name or 'k3s'}.token" if mode == "generate" else ""
        self.query_one("#token-file", Input).value = ref.file or default_file
        self.query_one("#token-env", Input).value = ref.env or ""
        self.refresh_view(state)

    def store(self, state: WizardState) -> None:
        pressed = pressed_radio(self.query_one("#token-mode", RadioSet))
        mode = pressed.removeprefix("mode-") if pressed else "file"
        state.ui["token_mode"] = mode
        file_text = self.query_one("#token-file", Input).value.strip()
        env_text = self.query_one("#token-env", Input).value.strip()
        if mode == "env":
            state.answers.cluster.token = TokenRef(env=env_text or None)
        else:
            if mode == "generate" and not file_text:
                file_text = f"./{state.answers.cluster.name or 'k3s'}.token"
            state.answers.cluster.token = TokenRef(file=file_text or None)
        self.refresh_view(state)

    def refresh_view(self, state: WizardState) -> None:
        mode = state.ui.get("token_mode", "file")
        for widget_id in ("#token-file", "#token-file-label"):
            self.query_one(widget_id).display = mode != "env"
        for widget_id in ("#token-env", "#token-env-label"):
            self.query_one(widget_id).display = mode == "env"
        reason = "" if self.allow_generate else "Generate: joining needs the existing cluster's token (a server's /var/lib/rancher/k3s/server/token)"
        self.query_one("#token-generate-reason", Static).update(reason)
        self.query_one("#token-generate-reason", Static).display = bool(reason)
        self._show_generated(state, mode)

    def _show_generated(self, state: WizardState, mode: str) -> None:
        box = self.query_one("#token-generated")
        box.display = mode == "generate"
        if mode != "generate":
            return
        ref = state.answers.cluster.token
        existing = ref.file and state.answers.local_path(ref.file).exists()
        shown = self.query_one("#token-shown", Static)
        if existing:
            state.new_token = None
            shown.update(f"{ref.file} exists: its token is used, nothing is generated")
            return
        if state.new_token is None:
            from k3swiz.token import generate_token
            state.new_token = generate_token()
        text = state.new_token.reveal() if self.revealed else MASK * 4
        shown.update(f"New token: {text}  (written to {ref.file} when saved)")

    # --- buttons -------------------------------------------------------------------

    def toggle_reveal(self, state: WizardState) -> None:
        self.revealed = not self.revealed
        self.query_one("#token-reveal", Button).label = "Hide" if self.revealed else "Show"
        self._show_generated(state, state.ui.get("token_mode", "file"))

    @on(Button.Pressed, "#token-reveal")
    def _reveal(self) -> None:
        self.toggle_reveal(self.app.state)  # type: ignore[attr-defined]

    @on(Button.Pressed, "#token-new")
    def _new(self) -> None:
        state = self.app.state  # type: ignore[attr-defined]
        state.new_token = None
        self._show_generated(state, state.ui.get("token_mode", "file"))
