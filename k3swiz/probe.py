"""Probe one node on demand (the wizard's "test connection"): connect, read its facts, close."""

from __future__ import annotations

from .answers import Answers
from .connect import Access
from .facts import NodeFacts, parse_facts, probe_script, preflight
from .problems import Problem
from .render import render_node
from .scripts import service_name
from .secrets import Secret


def probe_node(answers: Answers, node_name: str, access: Access | None = None) -> tuple[NodeFacts, list[Problem]]:
    """The node's facts and the pre-flight problems they show; raises SshError when unreachable."""
    node = next(n for n in answers.nodes if n.name == node_name)
    paths = [f.path for f in render_node(answers, node, Secret("-"))]
    transport, result = (access or Access()).open(answers, node, probe_script(paths, service_name(answers, node)))
    try:
        facts = parse_facts(result.stdout)
    finally:
        transport.close()
    return facts, preflight(answers, node, facts)
