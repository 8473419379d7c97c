"""Running one day-2 command from the start screen: its plan and the exact CLI command first,
then (after the same confirmation the CLI asks for) the core's job in a thread worker, with
apply's progress table, log, prompts and summary.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Button, Footer, Static
from textual.worker import Worker, WorkerState

from k3swiz.assets import asset_path

from .apply_bridge import event_line
from .day2_actions import Day2Action, day2_options, exit_code
from .progress import FollowingLog, ProgressTable
from .prompts import Prompter


class Day2RunScreen(Screen):
    CSS_PATH = asset_path("day2.tcss")
    AUTO_FOCUS = "#run"
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, action: Day2Action) -> None:
        super().__init__()
        self.action = action
        self.running = False
        self.finished = False
        self.options = None
        self.summary_lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Content.from_markup("[b]$title[/b]", title=self.action.title), id="day2-title")
        yield Static(Content(f"$ {self.action.command}"), id="day2-command")
        with VerticalScroll(id="day2-body", can_focus=False):
            yield Static(Content("\n".join(self.action.plan_lines)), id="day2-plan")
            yield ProgressTable(id="progress")
            yield FollowingLog(id="log")
        yield Static("", id="day2-summary")
        with Horizontal(id="day2-buttons"):
            yield Button("Run", id="run", variant="warning", compact=True)
            yield Button("Back", id="back", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#progress").display = False
        self.query_one("#log").display = False
        self.query_one("#day2-summary", Static).update(
            Content("Nothing is changed until you choose Run and confirm. The command above does the same "
                    "from a shell."))

    # --- confirm and run -----------------------------------------------------------

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        from .dialogs import ConfirmDialog, TypedConfirmDialog
        if self.running or self.finished:
            return
        action = self.action
        if action.typed_name is not None:
            dialog = TypedConfirmDialog(action.title, action.question, action.typed_name, yes="Run")
        else:
            dialog = ConfirmDialog(action.title, action.question, yes="Run")
        self.app.push_screen(dialog, lambda confirmed: self.start() if confirmed else None)

    def start(self) -> None:
        self.running = True
        self.query_one("#day2-plan").display = False
        table = self.query_one(ProgressTable)
        table.add_nodes(self.action.job.nodes)
        table.display = True
        self.query_one("#log").display = True
        self.query_one("#run", Button).disabled = True
        self.query_one("#back", Button).disabled = True
        self.query_one("#day2-summary", Static).update(Content(f"Running: {self.action.command}"))
        prompter = Prompter(self.app, stopped=lambda: self.options is not None and self.options.stop.is_set())
        self.options = day2_options(self.action, prompter.access())
        self.run_job(self.options)

    def stop_apply(self) -> None:
        """Quitting asks the engine to start no new step (the app calls this, as for apply)."""
        if self.options is not None:
            self.options.stop.set()

    @work(thread=True, exclusive=True, exit_on_error=False, group="day2")
    def run_job(self, options):
        return self.app.day2_fn(self.action, options, self.relay)

    def relay(self, event) -> None:
        try:
            self.app.call_from_thread(self.show_event, event)
        except RuntimeError:   # the app has exited while the engine finishes its current step
            pass

    def show_event(self, event) -> None:
        self.query_one(FollowingLog).write(event_line(event))
        self.query_one(ProgressTable).show(event)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "day2":
            return
        if event.state == WorkerState.SUCCESS:
            self.finish(event.worker.result, None)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.finish(None, str(event.worker.error or "cancelled"))

    def finish(self, result, error: str | None) -> None:
        self.running, self.finished = False, True
        code = exit_code(result, error)
        self.app.exit_code = code
        ok = code == 0
        lines = ["[$success]Done.[/]" if ok else
                 "[$warning]Interrupted: run it again to finish.[/]" if code == 130 else
                 f"[$error]Failed[/]{escape(': ' + error) if error else ''}"]
        extra = self.action.report(result) if result is not None else []
        if ok and self.action.after_ok is not None:
            try:
                extra += self.action.after_ok()
            except Exception as exc:  # noqa: BLE001 - the run itself succeeded: say what was not recorded
                extra.append(f"✗ the answers file was not updated: {exc}")
        journal = getattr(result, "journal", None)
        if journal:
            extra.append(f"journal: {journal}")
        self.summary_lines = extra
        self.query_one("#day2-summary", Static).update(
            Content.from_markup("\n".join(lines + [escape(line) for line in extra])))
        self.query_one("#run").display = False   # a finished run is not run again from here
        back = self.query_one("#back", Button)
        back.disabled = False
        back.label = "Back to start"
        back.focus()

    def action_back(self) -> None:
        if self.running:
            self.notify("Still running: wait for it to finish (ctrl+q stops it and quits).", severity="warning")
            return
        self.app.back_to_start(changed=self.finished)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()
