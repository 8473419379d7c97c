"""What a node is like now, probed read-only before planning (one command per node)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .answers import Answers, Node


@dataclass
class NodeFacts:
    os_id: str = ""
    os_version: str = ""
    init: str = "unknown"              # systemd | openrc | unknown
    arch: str = ""
    k3s_version: str | None = None     # "v1.33.6+k3s1" as `k3s --version` prints it
    cgroup: int | None = None          # 1 or 2
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    ports_taken: dict[int, str] = field(default_factory=dict)   # port -> process, not k3s
    file_hashes: dict[str, str | None] = field(default_factory=dict)
    service_active: bool = False

    def k3s_installed(self, answers: Answers, node: Node) -> bool:
        """True when the wanted k3s is already there (a channel accepts any installed version)."""
        if not self.k3s_version:
            return False
        wanted = answers.cluster.k3s.version
        return wanted is None or wanted == self.k3s_version
