"""The wizard's App: holds the Answers being built, the step order and the global keys.

Steps are Screens imported only when first shown (a fast first paint); each is
installed once and keeps its widgets while the user moves back and forth.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from k3swiz.assets import asset_path

from .apply_bridge import ApplyFn, default_apply
from .node_looks import LookFn, ProbeFn, default_look, default_probe
from .wizard_state import FORM_STEPS, STEPS, WizardState, state_from_file

STEP_CLASSES = {
    "cluster": "screens.steps.cluster:ClusterStep",
    "version": "screens.steps.version:VersionStep",
    "nodes": "screens.steps.nodes:NodesStep",
    "network": "screens.steps.network:NetworkStep",
    "datastore": "screens.steps.datastore:DatastoreStep",
    "token": "screens.steps.token:TokenStep",
    "traefik": "screens.steps.traefik:TraefikStep",
    "extras": "screens.steps.extras:ExtrasStep",
    "review": "screens.steps.review:ReviewStep",
}
EXIT_DONE, EXIT_APPLY_FAILED, EXIT_QUIT = 0, 1, 130


class WizardApp(App[int]):
    TITLE = "k3swiz"
    CSS_PATH = asset_path("app.tcss")
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, state: WizardState, *, open_step: str = "cluster", notices: list[str] | None = None,
                 apply_fn: ApplyFn | None = None, probe_fn: ProbeFn | None = None,
                 look_fn: LookFn | None = None, current_files: dict[str, dict[str, str | None]] | None = None,
                 start_screen: bool = False, day2_fn=None) -> None:
        super().__init__()
        self.state = state
        self.open_step = open_step
        self.start_screen = start_screen            # offer day-2 commands before the wizard
        self.day2_fn = day2_fn or default_day2
        self.notices = notices or []
        self.apply_fn = apply_fn or default_apply
        self.probe_fn = probe_fn or default_probe
        self.look_fn = look_fn or default_look
        # {node: {path: text now on it, or None: absent}} for the review's diffs, and why a node was not compared
        self.current_files = current_files or {}
        self.compare_errors: dict[str, str] = {}
        self.exit_code = EXIT_QUIT                  # what quitting returns; the apply screen changes it
        self.current_step: str | None = None

    def on_mount(self) -> None:
        if self.start_screen:
            from .start import StartScreen
            self.push_screen(StartScreen())
        else:
            self.goto_step(self.open_step, force=True)
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=8)
        if not self.state.report.problems:
            self.call_after_refresh(self.revalidate)  # after the first paint: the catalog loads here

    def _fatal_error(self) -> None:
        """Textual's crash report shows each frame's locals; ours may hold a token or a sudo
        password, so the report is printed without them."""
        from rich.traceback import Traceback
        self.bell()
        self._exit_renderables.append(Traceback(show_locals=False, width=None))
        self._close_messages_no_wait()

    # --- navigation ----------------------------------------------------------------

    def _screen_name(self, step: str) -> str:
        if not self.is_screen_installed(step):
            module_name, class_name = STEP_CLASSES[step].split(":")
            screen_class = getattr(import_module(module_name), class_name)
            self.install_screen(screen_class(), name=step)
        return step

    def goto_step(self, step: str, force: bool = False) -> None:
        """Show `step`; from the step bar only steps already reached can be chosen."""
        if not force and STEPS.index(step) > self.state.reached:
            return
        if step == "apply":
            self.start_apply()
            return
        self.state.reach(step)
        name = self._screen_name(step)
        if self.current_step is None:
            self.push_screen(name)
        else:
            self.switch_screen(name)
        self.current_step = step

    def leave_start(self, step: str) -> None:
        """From the start screen into the wizard (the start screen is not shown again)."""
        self.start_screen = False
        self.state.reach(step)
        self.switch_screen(self._screen_name(step))
        self.current_step = step

    def back_to_start(self, changed: bool) -> None:
        """From a day-2 screen; after a run the file is read again (an upgrade records its version)."""
        from k3swiz.problems import InputError
        if changed:
            try:
                self.state, self.open_step, _notices = state_from_file(self.state.save_path)
            except InputError as exc:
                self.notify(str(exc), title="Could not read the answers file again", severity="error")
        self.pop_screen()

    def action_goto_step(self, step: str) -> None:
        self.goto_step(step)

    def goto_next(self, step: str) -> None:
        self.goto_step(STEPS[STEPS.index(step) + 1], force=True)

    def goto_prev(self, step: str) -> None:
        index = STEPS.index(step)
        if index > 0:
            self.goto_step(STEPS[index - 1], force=True)

    # --- validation ----------------------------------------------------------------

    def revalidate(self) -> None:
        from .steps.base import StepScreen
        report = self.state.revalidate()
        for screen in self.screen_stack:
            if isinstance(screen, StepScreen):
                screen.show_problems(report)

    def first_invalid_step(self) -> str | None:
        return next((step for step in FORM_STEPS if self.state.errors_of(step)), None)

    # --- saving and quitting -------------------------------------------------------

    def action_save(self, then=None) -> None:
        from .dialogs import SaveAsDialog

        def chosen(path: Path | None) -> None:
            if path is not None and self.save_to(path) and then is not None:
                then()
        self.push_screen(SaveAsDialog(self.state.default_save_path()), chosen)

    def save_to(self, path: Path) -> bool:
        from .saving import save_wizard
        try:
            written = save_wizard(self.state, path)
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc} — nothing was saved; choose another folder or file name",
                        title="Not saved", severity="error")
            return False
        self.notify("Saved " + "; ".join(written), title="Saved")
        return True

    async def action_quit(self) -> None:
        from .dialogs import ConfirmDialog
        if getattr(self.screen, "running", False):
            apply_screen = self.screen

            def stop_and_quit(confirmed: bool | None) -> None:
                if confirmed:
                    apply_screen.stop_apply()
                    self.exit(EXIT_APPLY_FAILED)
            self.push_screen(ConfirmDialog(
                "Quit while running?", "A run is still going on the nodes. Stop it (no new step starts; a "
                "step already running on a node finishes first) and quit?", yes="Stop and quit"), stop_and_quit)
            return
        if not self.state.dirty:
            self.exit(self.exit_code)
            return

        def decided(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit(self.exit_code)
        self.push_screen(ConfirmDialog("Quit?", "Your answers changed since they were last saved "
                                       "(ctrl+s saves). Quit without saving?", yes="Quit"), decided)

    # --- apply ---------------------------------------------------------------------

    def start_apply(self) -> None:
        """Confirm, save (asking where if never saved), then run the apply screen."""
        from .dialogs import ConfirmDialog
        self.revalidate()
        invalid = self.first_invalid_step()
        if invalid:
            self.notify(f"The {invalid} step has errors: fix them before applying.", severity="error")
            self.goto_step(invalid, force=True)
            return
        count = len(self.state.answers.nodes)
        question = (f"Install and configure k3s on {count} node(s) over SSH now? "
                    "The answers are saved first.")
        self.push_screen(ConfirmDialog("Apply", question, yes="Apply"), self._apply_confirmed)

    def _apply_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        if self.state.save_path is None:
            self.action_save(then=self.open_apply)
        elif self.save_to(self.state.save_path):
            self.open_apply()

    def open_apply(self) -> None:
        """The apply screen, now (start_apply confirms and saves first)."""
        from .steps.apply import ApplyStep
        self.state.reach("apply")
        self.switch_screen(ApplyStep())
        self.current_step = "apply"


def build_app(answers_path: Path | None = None, *, offer_day2: bool = False, **kwargs) -> WizardApp:
    """The wizard, prefilled from `answers_path` when given (InputError if it is unusable).

    `offer_day2`: when the file describes a whole cluster (it is complete and valid, so the wizard
    would open on its review), a start screen first offers re-apply, reset, upgrade, ...
    """
    state, open_step, notices = state_from_file(answers_path)
    start = offer_day2 and state.saved_text is not None and open_step == "review"
    return WizardApp(state, open_step=open_step, notices=notices, start_screen=start, **kwargs)


def default_day2(action, options, on_event):
    from .day2_actions import run_action
    return run_action(action, options, on_event)


def run_wizard(answers_path: Path | None) -> int:
    """`k3swiz [--answers FILE]`: 0 done, 1 apply (or a day-2 run) failed, 130 quit."""
    result = build_app(answers_path, offer_day2=True).run()
    return EXIT_QUIT if result is None else result
