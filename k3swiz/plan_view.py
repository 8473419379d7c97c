"""Plans as text: `plan --out DIR`, `replay --dry-run` and the review screen show the same words."""

from __future__ import annotations

import os
from pathlib import Path

from .plan import FetchKubeconfig, NodePlan, Plan, Run, WriteFiles


def step_text(step) -> str:
    """One step as shell text: a script verbatim, a file write as its list of files."""
    if isinstance(step, WriteFiles):
        lines = [f"# write {len(step.files)} file(s): each to a temp file in its folder, then renamed"]
        for f in step.files:
            detail = "secret, not shown" if f.secret else f"sha256 {f.sha256[:16]}"
            source = f"  <- {f.origin or f.content.name}" if isinstance(f.content, Path) else ""
            lines.append(f"#   {f.path}  mode {f.mode:04o}  ({detail}){source}")
        return "\n".join(lines) + "\n"
    if isinstance(step, Run):
        return step.script
    if isinstance(step, FetchKubeconfig):
        return f"# read {step.path}; its server: is rewritten and it is saved locally\n"
    raise TypeError(step)


def steps_sh(plan: Plan, node_plan: NodePlan) -> str:
    node = node_plan.node
    wave_no, wave = next((i, w) for i, w in enumerate(plan.waves, 1) if node_plan in w.nodes)
    out = ["#!/bin/sh",
           f"# k3swiz plan for {node.name} ({node.role}, {node_plan.role_note})",
           f"# cluster {plan.cluster}, k3s {plan.version_label}; wave {wave_no} of {len(plan.waves)}: {wave.title}",
           "# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.",
           "# Secrets are never in these scripts: the token travels only inside its 0600 file.", ""]
    if not node_plan.steps:
        out.append("# nothing to do: the node already matches the answers")
    for i, step in enumerate(node_plan.steps, 1):
        out.append(f"# --- step {i}: {step.title} ---")
        out.append(step_text(step).rstrip("\n"))
        out.append("")
    return "\n".join(out) + "\n"


def write_plan_dir(plan: Plan, out_dir: Path) -> list[Path]:
    """DIR/<node>/<remote path> for each file and DIR/<node>/steps.sh (design.md layout)."""
    written = []
    for node_plan in plan.node_plans():
        node_dir = out_dir / node_plan.node.name
        for step in node_plan.steps:
            if not isinstance(step, WriteFiles):
                continue
            for f in step.files:
                target = node_dir / f.path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                _write(target, f.shown().encode(), 0o600 if f.secret else 0o644)
                written.append(target)
        node_dir.mkdir(parents=True, exist_ok=True)
        steps = node_dir / "steps.sh"
        _write(steps, steps_sh(plan, node_plan).encode(), 0o755)
        written.append(steps)
    return written


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)  # O_CREAT's mode is filtered by umask; plan files have fixed modes
    os.replace(tmp, path)


def plan_summary(plan: Plan) -> list[str]:
    """Short lines for the terminal: waves, nodes, what each will do."""
    lines = [f"Plan for cluster {plan.cluster} (k3s {plan.version_label}): "
             f"{len(plan.node_plans())} node(s) in {len(plan.waves)} wave(s)"]
    for i, wave in enumerate(plan.waves, 1):
        how = "in parallel" if wave.parallel else "alone, waited for"
        lines.append(f"  wave {i}: {wave.title} ({how})")
        for np in wave.nodes:
            steps = ", ".join(s.title for s in np.steps) or "nothing to do"
            lines.append(f"    {np.node.name:<16} {np.role_note}: {steps}")
    return lines
