"""Look at one node on demand (the wizard's "test connection" and review diffs):
connect, read its facts and the current text of the files k3swiz would write, close.

Secret files (the token) are never read back: only their hash is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .answers import Answers
from .connect import Access
from .facts import NodeFacts, parse_facts, preflight, probe_script
from .problems import Problem
from .render import render_node
from .scripts import service_name
from .secrets import Secret

MAX_SHOWN_BYTES = 256 * 1024   # a review diff of a larger file says so instead


@dataclass
class NodeLook:
    facts: NodeFacts
    problems: list[Problem] = field(default_factory=list)   # pre-flight: what would stop an apply
    current: dict[str, str | None] = field(default_factory=dict)   # path -> text now (None: absent)


def look_at_node(answers: Answers, node_name: str, access: Access | None = None, *,
                 read_files: bool = True) -> NodeLook:
    """Facts, pre-flight problems and (optionally) current file texts; raises SshError when unreachable."""
    node = next(n for n in answers.nodes if n.name == node_name)
    rendered = render_node(answers, node, Secret("-"))
    script = probe_script([f.path for f in rendered], service_name(answers, node))
    transport, result = (access or Access()).open(answers, node, script)
    try:
        facts = parse_facts(result.stdout)
        look = NodeLook(facts, preflight(answers, node, facts))
        if read_files:
            for f in rendered:
                if f.secret:
                    continue
                if f.path not in facts.file_hashes:
                    look.current[f.path] = None
                    continue
                data = transport.read_file(f.path)
                look.current[f.path] = (None if data is None else
                                        data.decode("utf-8", errors="replace") if len(data) <= MAX_SHOWN_BYTES
                                        else f"({len(data)} bytes: too large to show)\n")
    finally:
        transport.close()
    return look


def probe_node(answers: Answers, node_name: str, access: Access | None = None) -> tuple[NodeFacts, list[Problem]]:
    """The node's facts and the pre-flight problems they show (no file contents)."""
    look = look_at_node(answers, node_name, access, read_files=False)
    return look.facts, look.problems
