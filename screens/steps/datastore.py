"""Step 5: embedded etcd or SQLite, which server initialises the cluster, etcd snapshots."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioButton, RadioSet, Select, Static, Switch

from k3swiz.assets import asset_path
from k3swiz.catalog import load_catalog
from k3swiz.validate import chosen_version

from ..form_values import optional_text, parse_int
from ..widgets import Choices, Field, FieldMessage, OnOff, press_radio
from .base import StepScreen


class DatastoreStep(StepScreen):
    STEP = "datastore"
    SUBTITLE = "where the cluster keeps its state"
    CSS_PATH = asset_path("step_datastore.tcss")
    HELP = ("Embedded etcd: any odd number of servers (1, 3, 5); one server initialises the cluster "
            "(cluster-init) and the others join it one at a time.\nSQLite: exactly one server, no HA.\n\n"
            "Snapshots (etcd only): a cron schedule (5 fields, e.g. \"0 */12 * * *\"), how many to keep "
            "per node, and an absolute folder (blank: k3s's default under the data dir).")

    def compose_body(self) -> ComposeResult:
        yield Label("Datastore", classes="field-label")
        with Choices(id="datastore"):
            yield RadioButton("Embedded etcd (HA: 1, 3, 5 servers)", id="ds-etcd")
            yield RadioButton("SQLite (a single server)", id="ds-sqlite")
        yield Static("", id="etcd-caveat", classes="reason")
        yield FieldMessage("cluster.datastore")
        yield Field("Server that initialises the cluster", Select([], id="init-server", compact=True,
                    prompt="the first server"), "nodes[*].init")
        with Vertical(id="snapshots"):
            with Horizontal(classes="row", id="snap-switch-row"):
                yield Label("Scheduled etcd snapshots  ", classes="field-label")
                yield OnOff(id="snapshots-enabled")
            with Horizontal(classes="row"):
                yield Field("Schedule (cron)", Input(id="cron", placeholder="0 */12 * * *", compact=True),
                            "cluster.etcd-snapshots.schedule-cron")
                yield Field("Keep (per node)", Input(id="retention", placeholder="5", compact=True),
                            "cluster.etcd-snapshots.retention")
            yield Field("Folder (blank: k3s's default)", Input(id="snap-dir", compact=True,
                        placeholder="/var/lib/rancher/k3s/server/db/snapshots"), "cluster.etcd-snapshots.dir")
            yield FieldMessage("cluster.etcd-snapshots", id="snapshots-other")

    def load_form(self) -> None:
        cluster = self.state.answers.cluster
        press_radio(self.query_one("#datastore", RadioSet), f"ds-{cluster.datastore}")
        snaps = cluster.etcd_snapshots
        self.query_one("#snapshots-enabled", Switch).value = snaps.enabled
        self.query_one("#cron", Input).value = snaps.schedule_cron
        self.query_one("#retention", Input).value = str(snaps.retention)
        self.query_one("#snap-dir", Input).value = snaps.dir or ""
        self._fill_servers()
        self.refresh_gates()

    def _fill_servers(self) -> None:
        """The init choice lists the current servers (the Nodes step may have changed them)."""
        answers = self.state.answers
        select = self.query_one("#init-server", Select)
        select.set_options([(n.name, n.name) for n in answers.servers if n.name])
        marked = next((n.name for n in answers.servers if n.init and n.name), None)
        if marked:
            select.value = marked
        else:
            select.clear()

    def store_form(self) -> None:
        answers = self.state.answers
        cluster = answers.cluster
        cluster.datastore = "sqlite" if self.query_one("#ds-sqlite", RadioButton).value else "etcd"
        chosen = self.query_one("#init-server", Select).value
        for node in answers.nodes:
            node.init = node.role == "server" and node.name == chosen
        snaps = cluster.etcd_snapshots
        snaps.enabled = self.query_one("#snapshots-enabled", Switch).value
        snaps.schedule_cron = self.query_one("#cron", Input).value.strip()
        retention = self.parsed("cluster.etcd-snapshots.retention", parse_int,
                                self.query_one("#retention", Input).value, "the number of snapshots kept")
        if retention is not None:
            snaps.retention = retention
        snaps.dir = optional_text(self.query_one("#snap-dir", Input).value)

    def refresh_gates(self) -> None:
        answers = self.state.answers
        etcd = answers.cluster.datastore == "etcd"
        self.query_one("#snapshots").disabled = not etcd
        snapshots_on = self.query_one("#snapshots-enabled", Switch).value
        for widget_id in ("#cron", "#retention", "#snap-dir"):
            self.query_one(widget_id).disabled = not (etcd and snapshots_on)
        joining = answers.cluster.mode == "join"
        select = self.query_one("#init-server", Select)
        select.disabled = joining
        catalog = load_catalog()
        version = chosen_version(answers, catalog)
        notes = []
        if joining:
            notes.append("Joining: the existing cluster is already initialised, no node initialises it.")
        caveat = catalog.caveat("embedded-etcd", version) if version and etcd else None
        if caveat:
            notes.append(caveat)
        self.query_one("#etcd-caveat", Static).update("\n".join(notes))

    def on_screen_resume(self) -> None:
        with self.prevent(Select.Changed):
            self._fill_servers()
        super().on_screen_resume()
