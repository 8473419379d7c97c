"""Step 3: the nodes (a table; add / edit / remove in a form) and the default SSH settings."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from k3swiz.answers import Node
from k3swiz.assets import asset_path

from ..apply_bridge import NotAvailable, describe_facts
from ..form_values import optional_text, parse_int
from ..widgets import Field, FieldMessage
from .base import StepScreen

COLUMNS = ("name", "address", "role", "IPv6", "SSH", "labels")


class NodesStep(StepScreen):
    STEP = "nodes"
    SUBTITLE = "servers run the control plane; agents run workloads"
    CSS_PATH = asset_path("step_nodes.tcss")
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("delete,x", "remove", "Remove"),
        Binding("t", "test", "Test connection"),
    ]
    HELP = ("Add every machine: its address, a name (the Kubernetes node name) and a role. "
            "In a new cluster the first server initialises it (change that on the Datastore step). "
            "Use an odd number of servers with etcd (1, 3, 5).\n\nSSH: the defaults below apply to every "
            "node; a node's own user/port/key win. ~/.ssh/config and the SSH agent are used too.\n\n"
            "Keys (with the table focused): a add, e or Enter edit, x/Delete remove, t test connection "
            "(reads the OS, init system, installed k3s and ports in use; changes nothing).")

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="row", id="ssh-defaults"):
            yield Field("SSH user (default for all)", Input(id="ssh-user", compact=True,
                        placeholder="~/.ssh/config, else root"), "ssh.user")
            yield Field("SSH port", Input(id="ssh-port", compact=True, placeholder="~/.ssh/config, else 22"),
                        "ssh.port")
            yield Field("SSH key file (blank: ~/.ssh/config, agent)", Input(id="ssh-key", compact=True,
                        placeholder="~/.ssh/id_ed25519"), "ssh.identity-file")
        yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="node-actions"):
            yield Button("Add", id="add", compact=True)
            yield Button("Edit", id="edit", compact=True)
            yield Button("Remove", id="remove", compact=True)
            yield Button("Test connection", id="test", compact=True)
        yield Static("", id="probe-result")
        yield FieldMessage("nodes", "ssh", id="nodes-message")

    def on_mount(self) -> None:
        self.query_one("#nodes", DataTable).add_columns(*COLUMNS)
        super().on_mount()

    # --- answers <-> widgets -------------------------------------------------------

    def load_form(self) -> None:
        ssh = self.state.answers.ssh
        self.query_one("#ssh-user", Input).value = ssh.user or ""
        self.query_one("#ssh-port", Input).value = str(ssh.port or "")
        self.query_one("#ssh-key", Input).value = ssh.identity_file or ""
        self.fill_table()

    def store_form(self) -> None:
        ssh = self.state.answers.ssh
        ssh.user = optional_text(self.query_one("#ssh-user", Input).value)
        port_text = self.query_one("#ssh-port", Input).value
        ssh.port = self.parsed("ssh.port", parse_int, port_text, "the SSH port") if port_text.strip() else None
        ssh.identity_file = optional_text(self.query_one("#ssh-key", Input).value)

    def fill_table(self) -> None:
        table = self.query_one("#nodes", DataTable)
        row = table.cursor_row
        table.clear()
        for node in self.state.answers.nodes:
            table.add_row(*self._cells(node), key=node.name or None)
        if self.state.answers.nodes:
            table.move_cursor(row=min(row, len(self.state.answers.nodes) - 1))

    def _cells(self, node: Node) -> tuple[str, ...]:
        ssh = node.ssh
        via = ""
        if ssh and (ssh.user or ssh.port or ssh.identity_file):
            via = f"{ssh.user or ''}{':' + str(ssh.port) if ssh.port else ''}{' key' if ssh.identity_file else ''}"
        role = node.role + (" (init)" if node is self.state.answers.init_server else "")
        return node.name, node.address, role, node.ipv6 or "", via, ", ".join(node.labels)

    # --- add / edit / remove -------------------------------------------------------

    def selected_index(self) -> int | None:
        table = self.query_one("#nodes", DataTable)
        if not self.state.answers.nodes or table.cursor_row < 0:
            return None
        return min(table.cursor_row, len(self.state.answers.nodes) - 1)

    def open_form(self, index: int | None) -> None:
        from ..node_form import NodeFormDialog

        def saved(node: Node | None) -> None:
            if node is None:
                return
            nodes = self.state.answers.nodes
            if index is None:
                nodes.append(node)
            else:
                nodes[index] = node
            self.after_nodes_changed(len(nodes) - 1 if index is None else index)
        self.app.push_screen(NodeFormDialog(self.state.answers, index), saved)

    def after_nodes_changed(self, cursor: int | None = None) -> None:
        self.fill_table()
        if cursor is not None and self.state.answers.nodes:
            self.query_one("#nodes", DataTable).move_cursor(row=cursor)
        self.form_changed()

    def action_add(self) -> None:
        self.open_form(None)

    def action_edit(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.open_form(index)

    def action_remove(self) -> None:
        index = self.selected_index()
        if index is not None:
            removed = self.state.answers.nodes.pop(index)
            self.notify(f"Removed {removed.name or removed.address}")
            self.after_nodes_changed(max(0, index - 1))

    @on(DataTable.RowSelected, "#nodes")
    def _row_selected(self) -> None:
        self.action_edit()

    @on(Button.Pressed, "#add")
    def _add(self) -> None:
        self.action_add()

    @on(Button.Pressed, "#edit")
    def _edit(self) -> None:
        self.action_edit()

    @on(Button.Pressed, "#remove")
    def _remove(self) -> None:
        self.action_remove()

    @on(Button.Pressed, "#test")
    def _test(self) -> None:
        self.action_test()

    # --- test connection -----------------------------------------------------------

    def action_test(self) -> None:
        index = self.selected_index()
        if index is None:
            self.query_one("#probe-result", Static).update("Add a node first.")
            return
        name = self.state.answers.nodes[index].name
        self.query_one("#probe-result", Static).update(f"{name}: connecting ...")
        self.probe(name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe")
    def probe(self, name: str) -> None:
        """Read-only facts of one node, off the UI thread; the result comes back by call_from_thread."""
        try:
            text = f"{name}: {describe_facts(self.wizard.probe_fn(self.state.answers, name))}"
        except NotAvailable as exc:
            text = str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is shown to the person, not raised
            text = f"{name}: {exc}"
        self.app.call_from_thread(self.query_one("#probe-result", Static).update, text)
