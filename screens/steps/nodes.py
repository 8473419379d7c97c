"""Step 3: the nodes (a table; add / edit / remove in a form) and the default SSH settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.markup import escape
from textual.widgets import Button, DataTable, Input, Static

from k3swiz.answers import Node
from k3swiz.assets import asset_path

from ..form_values import optional_text, parse_int
from ..node_looks import ProbeOutcome, describe_facts, run_probe, short_status
from ..prompts import Prompter
from ..widgets import Field, FieldMessage, problem_markup
from .base import StepScreen

COLUMNS = ("name", "address", "role", "IPv6", "SSH", "labels", "checked")
MAX_PARALLEL_PROBES = 8   # "test all" on a big cluster: a few at a time, like apply's fan-out


class NodesStep(StepScreen):
    STEP = "nodes"
    SUBTITLE = "servers run the control plane; agents run workloads"
    CSS_PATH = asset_path("step_nodes.tcss")
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("delete,x", "remove", "Remove"),
        Binding("t", "test", "Test connection"),
        Binding("T", "test_all", "Test all", show=False),
    ]
    HELP = ("Add every machine: its address, a name (the Kubernetes node name) and a role. "
            "In a new cluster the first server initialises it (change that on the Datastore step). "
            "Use an odd number of servers with etcd (1, 3, 5).\n\nSSH: the defaults below apply to every "
            "node; a node's own user/port/key win. ~/.ssh/config and the SSH agent are used too.\n\n"
            "Keys (with the table focused): a add, e or Enter edit, x/Delete remove, t test connection "
            "of the selected node, T test all (reads the OS, init system, installed k3s, ports in use "
            "and what would stop an apply; changes nothing). Unknown host keys and a sudo password "
            "are asked for as during apply. A node that was tested is compared with on the Review step.")

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="row", id="ssh-defaults"):
            yield Field("SSH user, all nodes", Input(id="ssh-user", compact=True,
                        placeholder="~/.ssh/config, else root"), "ssh.user")
            yield Field("SSH port", Input(id="ssh-port", compact=True, placeholder="~/.ssh/config, else 22"),
                        "ssh.port")
            yield Field("SSH key file", Input(id="ssh-key", compact=True,
                        placeholder="~/.ssh/config or agent"), "ssh.identity-file")
        yield DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="node-actions"):
            yield Button("Add", id="add", compact=True)
            yield Button("Edit", id="edit", compact=True)
            yield Button("Remove", id="remove", compact=True)
            yield Button("Test connection", id="test", compact=True)
            yield Button("Test all", id="test-all", compact=True)
        yield Static("", id="probe-result")
        yield FieldMessage("nodes", "ssh", id="nodes-message")

    def __init__(self) -> None:
        super().__init__()
        self.testing: set[str] = set()   # nodes whose test runs now

    def on_mount(self) -> None:
        table = self.query_one("#nodes", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
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
        checked = "… testing" if node.name in self.testing else short_status(self.probes.get(node.name))
        return node.name, node.address, role, node.ipv6 or "", via, ", ".join(node.labels), checked

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
                self.probes.pop(nodes[index].name, None)   # what was tested is not this node any more
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
            self.probes.pop(removed.name, None)
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

    @property
    def probes(self) -> dict[str, ProbeOutcome]:
        """Per node name, what its last test found (kept in the state: the review uses it)."""
        return self.state.ui.setdefault("probes", {})

    def action_test(self) -> None:
        index = self.selected_index()
        self.start_probes([] if index is None else [self.state.answers.nodes[index].name])

    def action_test_all(self) -> None:
        self.start_probes([node.name for node in self.state.answers.nodes])

    def start_probes(self, names: list[str]) -> None:
        if not names:
            self.query_one("#probe-result", Static).update("Add a node first.")
            return
        self.testing.update(names)
        self.fill_table()
        self.query_one("#probe-result", Static).update(f"{', '.join(names)}: connecting ...")
        self.probe(names)

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe")
    def probe(self, names: list[str]) -> None:
        """Read-only facts of the nodes, off the UI thread; each result comes back by call_from_thread."""
        answers = self.state.answers
        access = Prompter(self.app).access()   # one per test: a sudo password is asked once

        def one(name: str) -> None:
            outcome = run_probe(self.wizard.probe_fn, answers, name, access)
            try:
                self.app.call_from_thread(self.show_probe, outcome)
            except RuntimeError:   # the app has exited meanwhile
                pass
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_PROBES, len(names))) as pool:
            list(pool.map(one, names))

    def show_probe(self, outcome: ProbeOutcome) -> None:
        self.testing.discard(outcome.node)
        self.probes[outcome.node] = outcome
        self.fill_table()
        index = self.selected_index()
        if index is not None:   # the box under the table follows the selected row
            self.show_probe_detail(self.state.answers.nodes[index].name)

    def show_probe_detail(self, name: str) -> None:
        """Under the table: everything the last test of `name` found."""
        outcome = self.probes.get(name)
        box = self.query_one("#probe-result", Static)
        if name in self.testing:
            box.update(Content(f"{name}: connecting ..."))
        elif outcome is None:
            box.update(Content(f"{name}: not tested yet (t tests it, T tests every node)"))
        elif not outcome.reached:
            box.update(Content.from_markup(f"[$error]✗[/] {escape(outcome.error)}"))
        else:
            lines = [escape(f"{name}: {describe_facts(outcome.facts)}")]
            lines += [problem_markup(p) for p in outcome.problems] or \
                ["[$success]✓[/] pre-flight: nothing here stops an apply"]
            box.update(Content.from_markup("\n".join(lines)))

    @on(DataTable.RowHighlighted, "#nodes")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.show_probe_detail(event.row_key.value)

    @on(Button.Pressed, "#test-all")
    def _test_all(self) -> None:
        self.action_test_all()
