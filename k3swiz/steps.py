"""How each kind of plan step is carried out on one node's transport."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .answers import Answers
from .kubeconfig import merge_into, rewrite, write_private
from .plan import FetchKubeconfig, Run, WriteFiles
from .remote_script import RemoteFile, Upload
from .ssh import CommandResult, Transport

if TYPE_CHECKING:
    from .apply import ApplyOptions
    from .journal import Journal

TAIL_LINES = 12


class StepFailed(Exception):
    """A step ran and failed: the message says which, with the end of its output."""


def _tail(result: CommandResult) -> str:
    text = (result.stderr.strip() or result.stdout.strip())
    lines = text.splitlines()[-TAIL_LINES:]
    return "\n".join(lines)


def remote_files(step: WriteFiles) -> list[RemoteFile]:
    """A write step's files as the transport writes them."""
    return [RemoteFile(f.path, f.content, f.mode) for f in step.files]


def run_step(step, transport: Transport, answers: Answers, options: "ApplyOptions", journal: "Journal",
             *, uploaded: Upload | None = None) -> str:
    """Carry out one step; returns a short detail for the progress line.

    `uploaded`: a write step's local files, already sent ahead (k3swiz.uploads_ahead)."""
    node = transport.target.node
    if isinstance(step, WriteFiles):
        files = remote_files(step)
        if uploaded is not None:
            journal.node_log(node, "uploaded ahead: " + ", ".join(f.path for f in uploaded.files))
        result = transport.write_files(files, uploaded=uploaded)
        journal.node_log(node, "wrote " + ", ".join(f.path for f in step.files) if result.ok else result.stderr)
        if not result.ok:
            raise StepFailed(f"writing files failed (exit {result.rc}): {_tail(result)}")
        return f"{len(files)} file(s)"
    if isinstance(step, Run):
        journal.node_log(node, f"run ({step.kind}):\n{step.script}")
        result = transport.run(step.script, timeout=step.timeout)
        journal.node_log(node, f"exit {result.rc} after {result.elapsed:.1f}s\n{result.stdout}{result.stderr}")
        if not result.ok:
            raise StepFailed(f"{step.title} failed (exit {result.rc}):\n{_tail(result)}")
        return f"{result.elapsed:.1f}s"
    if isinstance(step, FetchKubeconfig):
        raw = transport.read_file(step.path)
        if raw is None:
            raise StepFailed(f"{step.path} is missing on {node}: is k3s running there?")
        config = rewrite(raw, answers)
        target = options.kubeconfig_path or Path(f"{answers.cluster.name}.kubeconfig")
        write_private(target, config)
        if options.merge_kubeconfig:
            backup = merge_into(options.merge_kubeconfig, config, use_context=options.use_context)
            journal.node_log(node, f"merged into {options.merge_kubeconfig} (backup: {backup})")
        return str(target.resolve())
    raise TypeError(f"unknown step {step!r}")
