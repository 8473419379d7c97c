"""Step 6: the cluster token: a new one (saved to a 0600 file), a file, or an environment variable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from k3swiz.assets import asset_path

from ..token_fields import TokenSourceFields
from .base import StepScreen


class TokenStep(StepScreen):
    STEP = "token"
    SUBTITLE = "the shared secret nodes join with"
    CSS_PATH = asset_path("step_token.tcss")
    BINDINGS = [Binding("r", "reveal", "Show/hide token")]
    HELP = ("Every node joins with the cluster token. The answers file only says where it is: a file "
            "(created 0600 with a new token when missing) or an environment variable. It is never "
            "stored in the answers file, never on a remote command line or in a remote environment.\n\n"
            "Generate: a new random token is shown masked (r or Show reveals it) and written to the file "
            "when you save (ctrl+s) or apply; an existing file is never overwritten.\n"
            "Joining an existing cluster: use that cluster's token (a server's "
            "/var/lib/rancher/k3s/server/token).")

    def compose_body(self) -> ComposeResult:
        yield TokenSourceFields(allow_generate=True)

    def load_form(self) -> None:
        fields = self.query_one(TokenSourceFields)
        fields.allow_generate = self.state.answers.cluster.mode == "init"
        self.query_one("#mode-generate").disabled = not fields.allow_generate
        if not fields.allow_generate and self.state.ui.get("token_mode") == "generate":
            self.state.ui["token_mode"] = "file"
        fields.load(self.state)

    def store_form(self) -> None:
        self.query_one(TokenSourceFields).store(self.state)

    def action_reveal(self) -> None:
        self.query_one(TokenSourceFields).toggle_reveal(self.state)

    def on_screen_resume(self) -> None:
        if self.times_shown:   # coming back: the cluster step may have changed mode or token source
            self.reload()
        # A fresh wizard has no token source yet: the shown choice becomes the answer.
        if not any((self.state.answers.cluster.token.file, self.state.answers.cluster.token.env)):
            self.store_form()
            self.wizard.revalidate()
        super().on_screen_resume()
