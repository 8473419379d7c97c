"""What the review step shows, as plain data: per node, every file (secrets masked) with a
diff against what is on the node now, and its steps as shell text.

Pure (no Textual): the plan comes from the core (`build_plan`, `steps_sh`,
`RenderedFile.shown`), the current contents from the caller ({node: {path: text, or
None when the file is absent}}, as `k3swiz.probe.look_at_node` reads them).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

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
    # new | changed | unchanged | unknown (node not compared) | secret (never read back) | upload (not read back)
    status: str = "new"


@dataclass
class NodeReview:
    name: str
    role: str
    note: str
    files: list[FileReview] = field(default_factory=list)
    steps: str = ""
    compare_error: str | None = None   # why the node's files could not be read


def unified(current: str, new: str, where: str) -> str:
    lines = difflib.unified_diff(current.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"{where} (on the node now)", tofile=f"{where} (k3swiz)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def review_file(rendered, node: str, current: dict[str, str | None] | None) -> FileReview:
    review = FileReview(rendered.path, rendered.mode, rendered.shown(), rendered.secret)
    if current is None:
        review.status = "unknown"
    elif rendered.secret:
        review.status = "secret"   # never read back, never diffed: the diff would show the secret
    elif isinstance(rendered.content, Path):
        review.status = "upload"   # a local file (airgap bundle) sent as it is; not read back
    elif current.get(rendered.path) is None:
        review.status = "new"
    else:
        review.diff = unified(current[rendered.path], review.text, f"{node}:{rendered.path}")
        review.status = "changed" if review.diff else "unchanged"
    return review


def build_review(answers: Answers, current_files: dict[str, dict[str, str | None]] | None = None,
                 compare_errors: dict[str, str] | None = None) -> tuple[Plan, list[NodeReview]]:
    """The plan (with the token placeholder: files holding it are masked anyway) and each node's review."""
    plan = build_plan(answers)
    current_files = current_files or {}
    reviews = []
    for node_plan in plan.node_plans():
        node = node_plan.node
        review = NodeReview(node.name, node.role, node_plan.role_note, steps=steps_sh(plan, node_plan),
                            compare_error=(compare_errors or {}).get(node.name))
        for step in node_plan.steps:
            if isinstance(step, WriteFiles):
                review.files += [review_file(f, node.name, current_files.get(node.name)) for f in step.files]
        reviews.append(review)
    return plan, reviews


def summary_lines(plan: Plan) -> list[str]:
    """The plan's headline and its waves (each node's detail is on its own tab)."""
    return [line.strip() for line in plan_summary(plan) if not line.startswith("    ")]
