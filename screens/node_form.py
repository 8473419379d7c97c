"""The add/edit node form (a modal): address, name, role, IPv6, labels, taints, per-node SSH.

It checks as you type by validating the whole Answers with this node in place,
and shows the core's problems for `nodes[i]` under each field. Save returns the
Node; Escape returns None.
"""

from __future__ import annotations

from dataclasses import replace

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from k3swiz.answers import Answers, Node, SshOverride
from k3swiz.assets import asset_path

from .form_values import FormError, join_list, parse_int, split_list
from .widgets import Field, FieldMessage, distribute

SSH_KEPT = ("known_hosts", "proxy_jump")  # per-node SSH settings the form does not show, kept as they are


class NodeFormDialog(ModalScreen):
    CSS_PATH = asset_path("node_form.tcss")
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+o", "save", "Save node")]

    def __init__(self, answers: Answers, index: int | None = None) -> None:
        super().__init__()
        self.answers = answers
        self.index = len(answers.nodes) if index is None else index
        self.original = answers.nodes[index] if index is not None else Node(role="server" if not answers.nodes else "agent")
        self.local_errors: dict[str, str] = {}
        # A new node's empty fields are not wrong yet: show a field's problems once it was edited
        # (or Save was pressed); an existing node shows all of them from the start.
        self.show_all = index is not None

    def compose(self) -> ComposeResult:
        at = f"nodes[{self.index}]"
        node = self.original
        ssh = node.ssh or SshOverride()
        with Vertical(id="node-box"):
            yield Label("Edit node" if self.index < len(self.answers.nodes) else "Add a node", id="node-title")
            with Horizontal(classes="node-row"):
                yield Field("Address (IP or DNS name)", Input(node.address, id="address", placeholder="192.168.1.10",
                                                              compact=True), f"{at}.address")
                yield Field("Name", Input(node.name, id="name", placeholder="cp1", compact=True), f"{at}.name")
                yield Field("Role", Select([("server", "server"), ("agent", "agent")], value=node.role, id="role",
                                           allow_blank=False, compact=True), f"{at}.role")
            with Horizontal(classes="node-row"):
                yield Field("IPv6 address (dual-stack)", Input(node.ipv6 or "", id="ipv6", placeholder="2001:db8::10",
                                                              compact=True), f"{at}.ipv6")
                yield Field("Labels (key=value, ...)", Input(join_list(node.labels), id="labels",
                                                                         placeholder="disk=ssd", compact=True), f"{at}.labels")
                yield Field("Taints (key=value:Effect, ...)", Input(join_list(node.taints), id="taints",
                                                              placeholder="dedicated=gpu:NoSchedule", compact=True), f"{at}.taints")
            with Horizontal(classes="node-row"):
                yield Field("SSH user (blank: default)", Input(ssh.user or "", id="ssh-user",
                                                                  placeholder=self.answers.ssh.user or "default", compact=True), f"{at}.ssh.user")
                yield Field("SSH port", Input(str(ssh.port or ""), id="ssh-port", placeholder=str(self.answers.ssh.port or "default"),
                                              compact=True), f"{at}.ssh.port")
                yield Field("SSH key file", Input(ssh.identity_file or "", id="ssh-key", placeholder="~/.ssh/id_ed25519",
                                                  compact=True), f"{at}.ssh.identity-file")
            yield FieldMessage(at, id="node-other")
            with Horizontal(id="node-buttons"):
                yield Button("Save node", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
                yield Static("", id="node-refusal")

    def on_mount(self) -> None:
        self.check()

    # --- building and checking -----------------------------------------------------

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def build_node(self) -> Node:
        self.local_errors = {}
        port_text = self.value("ssh-port")
        port = None
        if port_text:
            try:
                port = parse_int(port_text, "the SSH port")
            except FormError as exc:
                self.local_errors[f"nodes[{self.index}].ssh.port"] = str(exc)
        old_ssh = self.original.ssh or SshOverride()
        ssh = SshOverride(user=self.value("ssh-user") or None, port=port,
                          identity_file=self.value("ssh-key") or None,
                          **{key: getattr(old_ssh, key) for key in SSH_KEPT})
        return replace(self.original, name=self.value("name"), address=self.value("address"),
                       role=str(self.query_one("#role", Select).value), ipv6=self.value("ipv6") or None,
                       labels=split_list(self.value("labels")), taints=split_list(self.value("taints")),
                       ssh=ssh if any(getattr(ssh, key) for key in vars(ssh)) else None)

    def check(self) -> list[str]:
        """Validate the answers with this node in place; show and return this node's errors."""
        from k3swiz.validate import validate_answers
        node = self.build_node()
        nodes = list(self.answers.nodes)
        nodes[self.index:self.index + 1] = [node]
        report = validate_answers(replace(self.answers, nodes=nodes))
        mine = [p for p in report.problems if p.path.startswith(f"nodes[{self.index}]")]
        fields = list(self.query(Field))
        other = self.query_one("#node-other", FieldMessage)
        shares = distribute([f.message for f in fields] + [other], mine)
        for field in fields:
            if not (self.show_all or field.has_class("touched")):
                field.message.show([])
                continue
            local = [text for path, text in self.local_errors.items() if path in field.message.paths]
            field.message.show(shares[field.message], local)
        other.show(shares[other])
        return [p.message for p in mine if p.is_error and not p.path.endswith(".init")] + list(self.local_errors.values())

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        for field in event.control.ancestors:
            if isinstance(field, Field):
                field.add_class("touched")
        self.check()
        self.query_one("#node-refusal", Static).update("")

    # --- buttons -------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.show_all = True
        errors = self.check()
        if errors:
            self.query_one("#node-refusal", Static).update(f"Not saved: {errors[0]}")
            return
        self.dismiss(self.build_node())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
