"""Step 1: the cluster's name, and whether it is new or nodes join an existing one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioButton, RadioSet

from k3swiz.assets import asset_path

from ..token_fields import TokenSourceFields
from ..widgets import Choices, Field, FieldMessage, press_radio
from .base import StepScreen


class ClusterStep(StepScreen):
    STEP = "cluster"
    SUBTITLE = "a new cluster, or nodes joining one that exists"
    CSS_PATH = asset_path("step_cluster.tcss")
    HELP = ("The name becomes the kubeconfig context and the default answers file name "
            "(NAME.k3swiz.yaml).\n\nCreate a new cluster: the first server initialises it and "
            "the other nodes join it.\nJoin an existing cluster: every node you add joins the "
            "server at the URL, with that cluster's token (from a file or an environment variable).")

    def compose_body(self) -> ComposeResult:
        yield Field("Cluster name (kubeconfig context)", Input(placeholder="homelab", id="name", compact=True),
                    "cluster.name", "apiVersion", "")
        yield Label("What to do", classes="field-label")
        with Choices(id="mode"):
            yield RadioButton("Create a new cluster", id="mode-init")
            yield RadioButton("Join an existing cluster", id="mode-join")
        yield FieldMessage("cluster.mode")
        with Vertical(id="join"):
            yield Field("URL of a server of the existing cluster",
                        Input(placeholder="https://10.0.0.5:6443", id="join-url", compact=True), "cluster.join-url")
            yield Label("Token of the existing cluster", classes="field-label")
            yield TokenSourceFields(allow_generate=False)

    def load_form(self) -> None:
        cluster = self.state.answers.cluster
        self.query_one("#name", Input).value = cluster.name
        press_radio(self.query_one("#mode", RadioSet), f"mode-{cluster.mode}")
        self.query_one("#join-url", Input).value = cluster.join_url or ""
        if cluster.mode == "join":
            self._join_token_mode()
        self.query_one(TokenSourceFields).load(self.state)
        self.refresh_gates()

    def store_form(self) -> None:
        cluster = self.state.answers.cluster
        cluster.name = self.query_one("#name", Input).value.strip()
        joining = self.query_one("#mode-join", RadioButton).value
        cluster.mode = "join" if joining else "init"
        cluster.join_url = (self.query_one("#join-url", Input).value.strip() or None) if joining else None
        if joining:
            self._join_token_mode()
            self.query_one(TokenSourceFields).store(self.state)

    def _join_token_mode(self) -> None:
        """A joining node cannot use a generated token: fall back to reading a file."""
        if self.state.ui.get("token_mode") == "generate":
            self.state.ui["token_mode"] = "file"
            self.state.new_token = None
            with self.prevent(RadioSet.Changed):
                press_radio(self.query_one("#token-mode", RadioSet), "mode-file")

    def refresh_gates(self) -> None:
        joining = self.state.answers.cluster.mode == "join"
        self.query_one("#join").display = joining

    def on_screen_resume(self) -> None:
        if self.times_shown:   # coming back: the token step may have changed the token source
            self.reload()      # (not on the first showing: keys typed meanwhile would be lost)
        super().on_screen_resume()
