"""Step 2: the k3s release or channel, with each minor's notes and the Alpine table beside it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, OptionList, RadioButton, RadioSet, Select, Static
from textual.widgets.option_list import Option

from k3swiz.answers import K3sRelease
from k3swiz.assets import asset_path
from k3swiz.catalog import load_catalog
from k3swiz.validate import chosen_version

from ..widgets import Choices, Field, FieldMessage, press_radio
from .base import StepScreen

NAMED_CHANNELS = ("stable", "latest", "testing")


class VersionStep(StepScreen):
    STEP = "version"
    SUBTITLE = "a channel follows its newest release; an exact release pins it"
    CSS_PATH = asset_path("step_version.tcss")
    HELP = ("A channel (stable, latest, testing or v1.NN) installs that channel's newest release; "
            "an exact release (v1.33.6+k3s1) pins it.\n\nWhat the cluster can do follows from this "
            "choice: dual-stack needs 1.21+, Traefik's value keys change at 1.21 and 1.32.2, ... "
            "Options the version cannot do are disabled on the later steps, with the reason.\n\n"
            "Pick a minor in the list and press Enter to take its newest release (or its channel). "
            "The Alpine table shows which k3s each Alpine release packages (install method apk).")

    def compose_body(self) -> ComposeResult:
        catalog = load_catalog()
        with Horizontal(id="version-choice", classes="row"):
            with Vertical(id="version-kind-box"):
                yield Label("Install", classes="field-label")
                with Choices(id="kind"):
                    yield RadioButton("a channel", id="kind-channel")
                    yield RadioButton("an exact release", id="kind-exact")
            yield Field("Channel", Select(self._channel_options(catalog), id="channel", allow_blank=False,
                                          value="stable", compact=True), "cluster.k3s.channel")
            yield Field("Exact release", Input(placeholder="v1.33.6+k3s1", id="exact", compact=True),
                        "cluster.k3s.version")
        yield Static("", id="resolved", classes="note")
        yield FieldMessage("cluster.k3s", "install")
        with Horizontal(id="version-tables"):
            yield OptionList(*self._minor_options(catalog), id="minors")
            with Vertical(id="version-side"):
                yield Static("", id="minor-notes")
                yield Label("Alpine packages (install method apk)", classes="field-label")
                yield DataTable(id="alpine", cursor_type="row", zebra_stripes=True)

    @staticmethod
    def _channel_options(catalog) -> list[tuple[str, str]]:
        options = [(f"{name} (now {catalog.resolve(name)})", name) for name in NAMED_CHANNELS]
        options += [(f"v{minor.line}", f"v{minor.line}") for minor in reversed(catalog.minors)]
        return options

    @staticmethod
    def _minor_options(catalog) -> list[Option]:
        return [Option(f"{minor.line:<5} {str(minor.newest):<15} Traefik {minor.traefik}", id=minor.line)
                for minor in reversed(catalog.minors)]

    def on_mount(self) -> None:
        table = self.query_one("#alpine", DataTable)
        table.add_columns("Alpine", "k3s line", "package")
        for row in load_catalog().alpine:
            table.add_row(row.alpine, row.k3s_line or "-", row.package_version or "(unknown)", key=row.alpine)
        super().on_mount()

    # --- answers <-> widgets -------------------------------------------------------

    def load_form(self) -> None:
        release = self.state.answers.cluster.k3s
        kind = "exact" if release.version else "channel"
        press_radio(self.query_one("#kind", RadioSet), f"kind-{kind}")
        select = self.query_one("#channel", Select)
        channel = release.channel or "stable"
        if channel not in {value for _label, value in self._channel_options(load_catalog())}:
            select.set_options(self._channel_options(load_catalog()) + [(channel, channel)])
        select.value = channel
        self.query_one("#exact", Input).value = release.version or ""
        self.refresh_gates()

    def store_form(self) -> None:
        exact = self.query_one("#kind-exact", RadioButton).value
        if exact:
            text = self.query_one("#exact", Input).value.strip()
            if not text:
                self.local_errors["cluster.k3s.version"] = "type a release, e.g. v1.33.6+k3s1, or pick a minor below"
            self.state.answers.cluster.k3s = K3sRelease(version=text or None)
        else:
            self.state.answers.cluster.k3s = K3sRelease(channel=str(self.query_one("#channel", Select).value))

    def refresh_gates(self) -> None:
        exact = self.query_one("#kind-exact", RadioButton).value
        self.query_one("#channel", Select).disabled = exact
        self.query_one("#exact", Input).disabled = not exact
        catalog = load_catalog()
        version = chosen_version(self.state.answers, catalog)
        resolved = self.query_one("#resolved", Static)
        if version is None:
            resolved.update("")
            return
        generation = catalog.traefik_generation(version)
        resolved.update(f"Judged as k3s {version}: Traefik chart {generation}, "
                        f"{'dual-stack possible' if catalog.supports('dual-stack', version) else 'no dual-stack'}")
        self._show_minor(version.line)

    # --- the minors list -----------------------------------------------------------

    def _show_minor(self, line: str) -> None:
        minor = load_catalog().minor(line)
        notes = self.query_one("#minor-notes", Static)
        if minor is None:
            notes.update(f"k3s {line}: not in the catalog")
            return
        text = "\n".join(f"• {note}" for note in minor.notes)
        alpine = ", ".join(row.alpine for row in load_catalog().alpine_for(line)) or "none"
        notes.update(f"[b]k3s {line}[/b] (newest {minor.newest}, Traefik {minor.traefik})\n{text}\n"
                     f"Alpine with this line: {alpine}")

    @on(OptionList.OptionHighlighted, "#minors")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._show_minor(event.option.id)

    @on(OptionList.OptionSelected, "#minors")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        minor = load_catalog().minor(event.option.id or "")
        if minor is None:
            return
        if self.query_one("#kind-exact", RadioButton).value:
            self.query_one("#exact", Input).value = str(minor.newest)
        else:
            self.query_one("#channel", Select).value = f"v{minor.line}"
