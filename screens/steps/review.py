"""Step 9: review the plan: every node's files (secrets masked, with a diff against the node
when it is known), its steps in run order, and every warning. Apply starts from here."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Label, Static, TabbedContent, TabPane, Tabs

from k3swiz.assets import asset_path

from ..code_view import CodeView
from ..node_looks import NodeCompare, run_look
from ..prompts import Prompter
from ..review_data import NodeReview, build_review, summary_lines
from ..widgets import problem_markup
from ..wizard_state import FORM_STEPS, TITLES, owner_of
from .base import StepScreen

STATUS = {"new": "new file", "changed": "changes", "unchanged": "unchanged", "unknown": "not compared with the node",
          "secret": "holds a secret: never read back", "upload": "uploaded as it is: not compared"}
MAX_PARALLEL_LOOKS = 8


class ReviewStep(StepScreen):
    STEP = "review"
    SUBTITLE = "what will be written and run, node by node"
    CSS_PATH = asset_path("step_review.tcss")
    BINDINGS = [Binding("c", "compare", "Compare with nodes")]
    HELP = ("Each tab is a node: the files k3swiz writes there (the token file is never shown), with a "
            "diff against the node's current file when the node was reached, then the commands in the "
            "order they run (the same text `k3swiz plan --out DIR` writes to DIR/<node>/steps.sh).\n\n"
            "c (or the Compare button) reads the files on every node now (read-only) and shows a diff; "
            "nodes tested on the Nodes step are compared as soon as this step opens.\n\n"
            "Apply saves the answers first (you choose the file), then runs the plan.")

    built = 0      # plans rendered so far (tests wait on it)
    compared = 0   # comparisons finished (tests wait on it)
    active_tab: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="review-summary")
        with Horizontal(id="compare-row"):
            yield Button("Compare with nodes", id="compare", compact=True)
            yield Static("not compared with the nodes yet: c compares (read-only)", id="compare-status")
        yield Static("", id="review-problems")
        yield Vertical(id="review-nodes")

    def next_label(self) -> str:
        return "Apply"

    async def on_screen_resume(self) -> None:
        await self.rebuild()
        super().on_screen_resume()
        self.compare_tested_nodes()

    async def rebuild(self) -> None:
        """The answers may have changed on any step: render the plan anew."""
        state = self.state
        state.revalidate()
        problems = state.report.problems
        lines = [f"[$text-muted]{TITLES.get(owner_of(p.path), '')}:[/] {problem_markup(p, with_path=True)}"
                 for p in problems]
        box = self.query_one("#review-problems", Static)
        box.update(Content.from_markup("\n".join(lines)))
        box.display = bool(lines)
        holder = self.query_one("#review-nodes", Vertical)
        await holder.remove_children()
        if state.report.errors:
            steps = ", ".join(TITLES[s] for s in FORM_STEPS if state.errors_of(s))
            self.query_one("#review-summary", Static).update(
                f"No plan yet: fix the errors first (steps: {steps}). Click a ✗ step in the bar to go there.")
            self.built += 1
            return
        plan, reviews = build_review(state.answers, self.wizard.current_files, self.wizard.compare_errors)
        self.query_one("#review-summary", Static).update("\n".join(summary_lines(plan)))
        tabs = TabbedContent(id="review-tabs")
        await holder.mount(tabs)
        for index, review in enumerate(reviews):
            await tabs.add_pane(TabPane(f"{review.name} ({review.role})", *self.node_widgets(review),
                                        id=f"node-{index}"))
        if self.active_tab and tabs.query(f"#{self.active_tab}"):   # a rebuild keeps the node in view
            tabs.active = self.active_tab
        tabs.query_one(Tabs).focus(scroll_visible=False)   # keep the summary in view
        self.built += 1

    @on(TabbedContent.TabActivated, "#review-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.active_tab = event.pane.id

    def node_widgets(self, review: NodeReview) -> list:
        widgets: list = [Static(f"{review.name}: {review.note}", classes="note")]
        if review.compare_error:
            widgets.append(Static(Content(f"not compared: {review.compare_error}"), classes="reason"))
        for file in review.files:
            widgets.append(Label(f"{file.path}  (mode {file.mode:04o}, {STATUS[file.status]})",
                                 classes="file-title"))
            if file.diff:   # what changes first; the whole file follows
                widgets.append(Label("diff against the node:", classes="field-label"))
                widgets.append(CodeView(file.diff, "diff"))
                widgets.append(Label("the whole file:", classes="field-label"))
            widgets.append(CodeView(file.text, "yaml" if file.path.endswith(".yaml") else "text"))
        widgets.append(Label("steps.sh (run order)", classes="file-title"))
        widgets.append(CodeView(review.steps, "bash"))
        return widgets

    def action_next(self) -> None:
        if self.state.report.errors:
            first = next(s for s in FORM_STEPS if self.state.errors_of(s))
            self.notify(f"Fix the {TITLES[first]} step first.", severity="error", title="Cannot apply")
            return
        self.wizard.start_apply()

    # --- compare with the nodes ----------------------------------------------------

    def compare_tested_nodes(self) -> None:
        """Nodes the Nodes step reached are compared at once (their files are not fetched twice)."""
        probes = self.state.ui.get("probes", {})
        known = self.wizard.current_files.keys() | self.wizard.compare_errors.keys()
        names = [n.name for n in self.state.answers.nodes
                 if getattr(probes.get(n.name), "reached", False) and n.name not in known]
        if names and not self.state.report.errors:
            self.start_compare(names)

    def action_compare(self) -> None:
        if self.state.report.errors:
            self.notify("Fix the errors first: there is no plan to compare.", severity="error")
            return
        self.start_compare([n.name for n in self.state.answers.nodes])

    @on(Button.Pressed, "#compare")
    def _compare_pressed(self) -> None:
        self.action_compare()

    def start_compare(self, names: list[str]) -> None:
        self.query_one("#compare-status", Static).update(Content(f"reading the files on {', '.join(names)} ..."))
        self.compare(names)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def compare(self, names: list[str]) -> None:
        """look_at_node per node, off the UI thread (read-only); results go back in one call."""
        answers, access = self.state.answers, Prompter(self.app).access()
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_LOOKS, len(names))) as pool:
            results = list(pool.map(lambda name: run_look(self.wizard.look_fn, answers, name, access), names))
        try:
            self.app.call_from_thread(self.show_compared, results)
        except RuntimeError:   # the app has exited meanwhile
            pass

    async def show_compared(self, results: list[NodeCompare]) -> None:
        for result in results:
            if result.error is None:
                self.wizard.current_files[result.node] = result.current
                self.wizard.compare_errors.pop(result.node, None)
            else:
                self.wizard.current_files.pop(result.node, None)
                self.wizard.compare_errors[result.node] = result.error
        failed = [r.node for r in results if r.error]
        status = f"compared with {len(results) - len(failed)} node(s)"
        if failed:
            status += f"; not reached: {', '.join(failed)} (see its tab)"
        self.query_one("#compare-status", Static).update(Content(status + " — c reads them again"))
        if self.is_current:
            await self.rebuild()
        self.compared += 1
