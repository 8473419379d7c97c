"""What the review step shows, as plain data: per node, every file (secrets masked) with a
diff against what is on the node now, and its steps as shell text.

Pure (no Textual): the plan comes from the core (`build_plan`, `steps_sh`,
`RenderedFile.shown`), the current contents from the caller (the apply layer
fetches them; {node: {path: text}}).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from k3swiz.answers import Answers
from k3swiz.plan import Plan, WriteFiles, build_plan
from k3swiz.plan_view import plan_summary, steps_sh


@dataclass
class FileReview:
    path: str
    mode: int
    text: str               # RenderedFile.shown(): a secret is masked
    secret: bool
    diff: str | None = None  # unified diff against the node's current text; None: not known
    status: str = "new"      # new | changed | unchanged | unknown (node not reached)


@dataclass
class NodeReview:
    name: str
    role: str
    note: str
    files: list[FileReview] = field(default_factory=list)
    steps: str = ""


def unified(current: str, new: str, where: str) -> str:
    lines = difflib.unified_diff(current.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"{where} (on the node now)", tofile=f"{where} (k3swiz)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def review_file(rendered, node: str, current: dict[str, str] | None) -> FileReview:
    review = FileReview(rendered.path, rendered.mode, rendered.shown(), rendered.secret)
    if current is None:
        review.status = "unknown"
    elif rendered.path not in current:
        review.status = "new"
    elif rendered.secret:
        review.status = "changed"   # never diffed: the diff would show the secret
    else:
        review.diff = unified(current[rendered.path], review.text, f"{node}:{rendered.path}")
        review.status = "changed" if review.diff else "unchanged"
    return review


def build_review(answers: Answers, current_files: dict[str, dict[str, str]] | None = None) -> tuple[Plan, list[NodeReview]]:
    """The plan (with the token placeholder: files holding it are masked anyway) and each node's review."""
    plan = build_plan(answers)
    current_files = current_files or {}
    reviews = []
    for node_plan in plan.node_plans():
        node = node_plan.node
        review = NodeReview(node.name, node.role, node_plan.role_note, steps=steps_sh(plan, node_plan))
        for step in node_plan.steps:
            if isinstance(step, WriteFiles):
                review.files += [review_file(f, node.name, current_files.get(node.name)) for f in step.files]
        reviews.append(review)
    return plan, reviews


def summary_lines(plan: Plan) -> list[str]:
    """The plan's headline and its waves (each node's detail is on its own tab)."""
    return [line.strip() for line in plan_summary(plan) if not line.startswith("    ")]
