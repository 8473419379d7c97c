"""The start screen of `k3swiz --answers F` when F describes a whole cluster (complete and valid):
manage that cluster (re-apply, reset, upgrade, etcd snapshot, export), or edit the answers as a
new cluster. Each choice shows the CLI command that does the same.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from k3swiz.assets import asset_path
from k3swiz.problems import InputError

from .day2_actions import cli_command, command_only

# key -> (title, what it does); the command comes from the answers file's path.
CHOICES = {
    "new": ("New cluster: edit these answers",
            "The wizard from step 1, prefilled with this file: change anything, review, apply."),
    "review": ("Review / re-apply (replay)",
               "The review step: every node's files and steps (c compares them with the nodes), then "
               "Apply runs the plan again; nodes already right are left alone."),
    "reset": ("Reset: take k3s off the nodes",
              "Uninstalls k3s (agents first, the first server last), removes k3swiz's files and reports "
              "what is left. Shows the plan first and asks you to type the cluster name."),
    "upgrade": ("Upgrade k3s",
                "Pick the version from the catalog; every answer is checked against it, then servers are "
                "upgraded one at a time and agents in batches."),
    "etcd": ("etcd snapshot", "Take a snapshot of the cluster's etcd on the first server (shows the command)."),
    "export": ("Export (cloud-init / Ansible)",
               "Files for fleets: cloud-init user-data per node or a k3s-ansible inventory (shows the command)."),
}


class StartScreen(Screen):
    CSS_PATH = asset_path("start.tcss")
    AUTO_FOCUS = "#start-choices"

    @property
    def path(self) -> Path:
        return shown_path(self.app.state.save_path)

    def compose(self) -> ComposeResult:
        yield Static("", id="start-title")
        yield Static("", id="start-summary")
        yield OptionList(id="start-choices")
        yield Static("", id="start-about")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_choices()

    def on_screen_resume(self) -> None:
        self.refresh_choices()   # an upgrade records its version in the file: show the new one

    def refresh_choices(self) -> None:
        answers = self.app.state.answers
        self.query_one("#start-title", Static).update(Content.from_markup(
            "[b]k3swiz[/b]  [$text-muted]$path[/]", path=str(self.path)))
        self.query_one("#start-summary", Static).update(Content(cluster_summary(answers)))
        options = self.query_one("#start-choices", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for key, (title, _about) in CHOICES.items():
            command, reason = self.command_of(key)
            second = f"not available: {reason}" if reason else f"$ {command}"
            prompt = Content.from_markup("[b]$title[/b]\n  [$text-muted]$second[/]", title=title, second=second)
            options.add_option(Option(prompt, id=key, disabled=reason is not None))
        options.highlighted = highlighted if highlighted is not None else 0

    def command_of(self, key: str) -> tuple[str, str | None]:
        """(the CLI command, or why this choice is not possible for these answers)."""
        answers, path = self.app.state.answers, self.path
        if key == "new":
            return cli_command("--answers", path), None
        if key == "review":
            return cli_command("replay", path), None
        if key == "reset":
            return cli_command("reset", path), None
        if key == "upgrade":
            return cli_command("upgrade", path, "--to", "VERSION"), (
                "Alpine's package upgrades with Alpine (apk upgrade k3s)" if answers.install.method == "apk"
                else None)
        if key == "etcd":
            from k3swiz.etcd import require_etcd
            try:
                require_etcd(answers)
            except InputError as exc:
                return "", exc.problems[0].message
        return command_only(answers, path)[key][0], None

    @on(OptionList.OptionHighlighted, "#start-choices")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        about = CHOICES.get(event.option.id or "", ("", ""))[1]
        self.query_one("#start-about", Static).update(Content(f"{about}\n\n↑/↓ move · Enter opens · ctrl+q quits"))

    @on(OptionList.OptionSelected, "#start-choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option.id or "")

    def choose(self, key: str) -> None:
        from .day2_actions import reset_action
        from .day2_run import Day2RunScreen
        from .dialogs import CommandDialog
        from .upgrade_form import UpgradeScreen
        app, answers = self.app, self.app.state.answers
        if key in ("new", "review"):
            app.leave_start("cluster" if key == "new" else "review")
        elif key == "reset":
            app.push_screen(Day2RunScreen(reset_action(answers, self.path)))
        elif key == "upgrade":
            app.push_screen(UpgradeScreen(self.path))
        elif key in ("etcd", "export"):
            command, why = command_only(answers, self.path)[key]
            app.push_screen(CommandDialog(CHOICES[key][0], command, why))


def shown_path(path: Path) -> Path:
    """The file as a person in this folder would type it: relative when it lies below the folder."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def cluster_summary(answers) -> str:
    """One paragraph: what the file describes."""
    servers = [n.name for n in answers.servers]
    agents = [n.name for n in answers.agents]
    release = answers.cluster.k3s.version or f"channel {answers.cluster.k3s.channel}"
    nodes = f"{len(answers.nodes)} node(s): " + "; ".join(
        part for part in (f"servers {', '.join(servers)}" if servers else "",
                          f"agents {', '.join(agents)}" if agents else "") if part)
    store = "embedded etcd" if answers.cluster.datastore == "etcd" else "SQLite"
    how = f"joins {answers.cluster.join_url}" if answers.cluster.mode == "join" else store
    return (f"Cluster {answers.cluster.name}: {nodes}; k3s {release}; {how}.\n"
            "This answers file describes a whole cluster. Manage it, or edit the answers:")
