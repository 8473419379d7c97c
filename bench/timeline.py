"""Where a replay's wall time went, read from its own journal (events.jsonl).

The apply runs in waves: connect + probe of every node, then each server alone,
then the agents together. So the critical path is the probe phase, plus every
server's steps one after another, plus the steps of the agent that finished last. The split is
by step kind; `rest` is what no step accounts for (process start-up before the
first event, threads handing over between waves, summary and exit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

KINDS = ("write files", "install k3s", "wait", "fetch kubeconfig")


def step_kind(phase: str) -> str | None:
    """The kind of a step from its title ("wait until n4 is ready" -> "wait")."""
    for kind in KINDS:
        if phase.startswith(kind):
            return kind
    if phase.startswith("restart k3s"):
        return "install k3s"  # a restart is the same start on the critical path
    return None


@dataclass
class CriticalPath:
    startup: float                 # process start -> first event
    connect: float                 # first connect -> last probe answered
    steps: dict[str, float]        # kind -> seconds on the critical path
    rest: float                    # wall - all of the above

    def row(self) -> list[float]:
        return [self.startup, self.connect, *(self.steps.get(k, 0.0) for k in KINDS), self.rest]


HEADERS = ["start-up", "connect+probe", *KINDS, "rest"]


def durations(events: list[dict]) -> dict[str, dict[str, float]]:
    """node -> step kind -> seconds from `running` to its end."""
    began: dict[tuple[str, str], float] = {}
    spent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in events:
        kind = step_kind(event["phase"])
        if kind is None:
            continue
        key = (event["node"], event["phase"])
        if event["state"] == "running":
            began[key] = event["time"]
        elif key in began:
            spent[event["node"]][kind] += event["time"] - began.pop(key)
    return spent


def critical_path(events: list[dict], started: float, wall: float, servers: set[str]) -> CriticalPath:
    """started: the wall-clock time (time.time()) the replay process was started; wall: its run time."""
    if not events:
        return CriticalPath(wall, 0.0, {}, 0.0)
    first = events[0]["time"]
    probed = [e["time"] for e in events if e["phase"] in ("facts", "connect") and e["state"] != "running"]
    spent = durations(events)
    last_agent = _last_to_finish([e for e in events if e["node"] and e["node"] not in servers])
    on_path = [n for n in spent if n in servers or n == last_agent]
    steps = {kind: sum(spent[n].get(kind, 0.0) for n in on_path) for kind in KINDS}
    startup = first - started
    connect = max(probed, default=first) - first
    return CriticalPath(startup, connect, steps, wall - startup - connect - sum(steps.values()))


def _last_to_finish(events: list[dict]) -> str | None:
    """The agent whose last event came last: its steps are the agent wave's share of the path."""
    return max(events, key=lambda e: e["time"])["node"] if events else None



def install_total(events: list[dict]) -> float:
    """All nodes' install/restart step time added up: the whole of it is on the path of a serial run."""
    return sum(kinds.get("install k3s", 0.0) for kinds in durations(events).values())
