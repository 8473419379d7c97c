"""Step 9: review the plan: every node's files (secrets masked, with a diff against the node
when it is known), its steps in run order, and every warning. Apply starts from here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, Static, TabbedContent, TabPane, Tabs

from k3swiz.assets import asset_path

from ..code_view import CodeView
from ..review_data import NodeReview, build_review, summary_lines
from ..widgets import problem_markup
from ..wizard_state import FORM_STEPS, TITLES, owner_of
from .base import StepScreen

STATUS = {"new": "new file", "changed": "changes", "unchanged": "unchanged", "unknown": "not compared: node not reached"}


class ReviewStep(StepScreen):
    STEP = "review"
    SUBTITLE = "what will be written and run, node by node"
    CSS_PATH = asset_path("step_review.tcss")
    HELP = ("Each tab is a node: the files k3swiz writes there (the token file is never shown), with a "
            "diff against the node's current file when the node was reached, then the commands in the "
            "order they run (the same text `k3swiz plan --out DIR` writes to DIR/<node>/steps.sh).\n\n"
            "Apply saves the answers first (you choose the file), then runs the plan.")

    built = 0   # plans rendered so far (tests wait on it)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="review-summary")
        yield Static("", id="review-problems")
        yield Vertical(id="review-nodes")

    def next_label(self) -> str:
        return "Apply"

    async def on_screen_resume(self) -> None:
        await self.rebuild()
        super().on_screen_resume()

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
        plan, reviews = build_review(state.answers, self.wizard.current_files)
        self.query_one("#review-summary", Static).update("\n".join(summary_lines(plan)))
        tabs = TabbedContent(id="review-tabs")
        await holder.mount(tabs)
        for review in reviews:
            await tabs.add_pane(TabPane(f"{review.name} ({review.role})", *self.node_widgets(review)))
        tabs.query_one(Tabs).focus(scroll_visible=False)   # keep the summary in view
        self.built += 1

    def node_widgets(self, review: NodeReview) -> list:
        widgets: list = [Static(f"{review.name}: {review.note}", classes="note")]
        for file in review.files:
            widgets.append(Label(f"{file.path}  (mode {file.mode:04o}, {STATUS[file.status]})",
                                 classes="file-title"))
            widgets.append(CodeView(file.text, "yaml" if file.path.endswith(".yaml") else "text"))
            if file.diff:
                widgets.append(Label("diff against the node:", classes="field-label"))
                widgets.append(CodeView(file.diff, "diff"))
        widgets.append(Label("steps.sh (run order)", classes="file-title"))
        widgets.append(CodeView(review.steps, "bash"))
        return widgets

    def action_next(self) -> None:
        if self.state.report.errors:
            first = next(s for s in FORM_STEPS if self.state.errors_of(s))
            self.notify(f"Fix the {TITLES[first]} step first.", severity="error", title="Cannot apply")
            return
        self.wizard.start_apply()
