"""Step 10: apply. The core's apply runs in a thread worker; its events come back through
call_from_thread and update one row per node and the log. Prompts (unknown host key,
sudo password) are modals the worker waits for. At the end: a summary, the kubeconfig
and journal paths, and a retry of the failed nodes.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, RichLog, Static
from textual.worker import Worker, WorkerState

from k3swiz.assets import asset_path

from ..apply_bridge import event_line, make_options, outcome_of
from ..progress import FollowingLog, ProgressTable
from ..prompts import Prompter
from .base import StepScreen


class ApplyStep(StepScreen):
    STEP = "apply"
    SUBTITLE = "the plan runs over SSH, node by node"
    CSS_PATH = asset_path("step_apply.tcss")
    AUTO_FOCUS = "#next"   # Enter = Finish (the table would take Enter for itself)
    HELP = ("The first server is set up first and waited for, then each other server alone, then the "
            "agents together. One row per node shows its current phase; the log below has every event, "
            "and the journal folder keeps them. Failed nodes can be retried once the cause is fixed.\n\n"
            "Finish (Enter) leaves the wizard: exit code 0 when every node is done, 1 otherwise.")

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.finished = False
        self.failed_nodes: list[str] = []
        self.options = None   # the engine's ApplyOptions of the current run

    def compose_body(self) -> ComposeResult:
        yield ProgressTable(id="progress")
        yield FollowingLog(id="log")
        yield Static("", id="summary")
        with Horizontal(id="apply-actions"):
            yield Button("Retry failed nodes", id="retry", compact=True, variant="warning")

    def next_label(self) -> str:
        return "Finish"

    def on_mount(self) -> None:
        self.query_one(ProgressTable).add_nodes(self.state.answers.nodes)
        self.query_one("#retry").display = False
        super().on_mount()
        self.start(None)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.query_one("#back", Button).disabled = self.running

    # --- running -------------------------------------------------------------------

    def start(self, only: list[str] | None) -> None:
        self.running, self.finished = True, False
        self.query_one("#retry").display = False
        self.query_one("#back", Button).disabled = True
        self.query_one("#summary", Static).update("Applying ...")
        self.log_line(f"apply started{' for ' + ', '.join(only) if only else ''}")
        # The engine asks from its fan-out threads; a stop (quit) ends any wait for an answer.
        prompter = Prompter(self.app, stopped=lambda: self.options is not None and self.options.stop.is_set())
        self.options = make_options(only, prompter.ask_host_key, prompter.ask_sudo_password)
        self.run_apply(self.options)

    def stop_apply(self) -> None:
        """Ask the engine to start no new step (one already running on a node finishes)."""
        if self.options is not None:
            self.options.stop.set()

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply")
    def run_apply(self, options):
        """The core's apply, off the UI thread; every event comes back via call_from_thread."""
        return self.wizard.apply_fn(self.state.answers, options, self.relay)

    def relay(self, event) -> None:
        try:
            self.app.call_from_thread(self.show_event, event)
        except RuntimeError:  # the app has exited while the engine finishes its current step
            pass

    @property
    def node_states(self) -> dict[str, str]:
        tables = self.query(ProgressTable)   # empty before compose
        return tables.first().node_states if tables else {}

    def show_event(self, event) -> None:
        self.log_line(event_line(event))
        self.query_one(ProgressTable).show(event)

    def log_line(self, text: str) -> None:
        self.query_one("#log", RichLog).write(text)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "apply":
            return
        if event.state == WorkerState.SUCCESS:
            self.finish(event.worker.result, None)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.finish(None, str(event.worker.error or "cancelled"))

    def finish(self, result, error: str | None) -> None:
        self.running, self.finished = False, True
        outcome = outcome_of(result, self.node_states)
        ok = outcome.ok and error is None and result is not None
        self.wizard.exit_code = 0 if ok else 1
        lines = ["[$success]All nodes done.[/]" if ok else
                 f"[$error]Apply failed[/]{': ' + error if error else ''}"]
        if outcome.failed:
            lines.append(f"Failed: {', '.join(outcome.failed)}")
        if outcome.kubeconfig:
            lines.append(f"kubeconfig: {outcome.kubeconfig}  (kubectl --kubeconfig {outcome.kubeconfig} get nodes)")
        if outcome.journal:
            lines.append(f"journal: {outcome.journal}")
        self.query_one("#summary", Static).update("\n".join(lines))
        self.log_line(f"apply finished: {'ok' if ok else 'failed'}{' — ' + error if error else ''}")
        self.query_one("#retry").display = bool(outcome.failed)
        self.query_one("#back", Button).disabled = False
        self.failed_nodes = outcome.failed

    # --- buttons -------------------------------------------------------------------

    @on(Button.Pressed, "#retry")
    def _retry(self) -> None:
        if not self.running and self.failed_nodes:
            self.start(list(self.failed_nodes))

    def action_next(self) -> None:
        if self.running:
            self.notify("Apply is still running.", severity="warning")
            return
        self.app.exit(self.wizard.exit_code)

    def action_back(self) -> None:
        if self.running:
            self.notify("Apply is still running: wait for it to finish.", severity="warning")
            return
        self.wizard.goto_step("review", force=True)
