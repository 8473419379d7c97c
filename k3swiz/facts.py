"""What a node is like now, probed read-only before planning: one remote command per node.

The probe prints `key=value` lines (POSIX sh, busybox-friendly); parsing them
is pure and tested on its own. Pre-flight checks turn facts that contradict
the answers into clear errors before anything is changed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from ipaddress import ip_interface

from .answers import Answers, Node
from .catalog import K3sVersion
from .problems import Problem

CHECKED_PORTS = (6443, 6444, 2379, 2380, 2381, 10250)


@dataclass
class NodeFacts:
    os_id: str = ""
    os_version: str = ""
    init: str = "unknown"              # systemd | openrc | unknown
    arch: str = ""
    k3s_version: str | None = None     # "v1.33.6+k3s1" as `k3s --version` prints it
    service_unit: bool = False         # the install script's unit / init script is there
    service_active: bool = False       # asked only when service_unit (nothing to ask otherwise)
    cgroup: int | None = None          # 1 or 2
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    ports_taken: dict[int, str] = field(default_factory=dict)   # port -> process that is not k3s
    file_hashes: dict[str, str | None] = field(default_factory=dict)

    def k3s_installed(self, answers: Answers, node: Node) -> bool:
        """True when the wanted k3s and its service are there (a channel accepts any version)."""
        if not self.k3s_version or not self.service_unit:
            return False
        wanted = answers.cluster.k3s.version
        return wanted is None or wanted == self.k3s_version


def probe_script(paths: list[str], service: str) -> str:
    """The one read-only command that gathers every fact; `paths` are the files the plan would write."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    ports = "|".join(str(p) for p in CHECKED_PORTS)
    return f"""\
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${{ID:-}}"; echo "os_version=${{VERSION_ID:-}}"
if [ -x /sbin/openrc-run ]; then echo init=openrc
elif command -v systemctl >/dev/null 2>&1; then echo init=systemd; else echo init=unknown; fi
echo "arch=$(uname -m)"
if command -v k3s >/dev/null 2>&1; then k3s --version 2>/dev/null | awk 'NR == 1 {{print "k3s_version=" $3}}'; fi
if [ -e /etc/systemd/system/{service}.service ] || [ -e /etc/init.d/{service} ]; then
  echo service_unit=1
  # asked only when the unit is there: a first apply spares every node an init-system call
  if [ -x /sbin/openrc-run ]; then rc-service {service} status >/dev/null 2>&1 && echo service_active=1
  else systemctl is-active --quiet {service} 2>/dev/null && echo service_active=1; fi
fi
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo cgroup=2; else echo cgroup=1; fi
if command -v ip >/dev/null 2>&1; then ip -o addr show scope global 2>/dev/null | awk '{{print "addr=" $4}}'; fi
if command -v ss >/dev/null 2>&1; then
  ss -Hltnp 2>/dev/null | awk '$4 ~ /:({ports})$/ {{print "listen=" $4, $6}}'
fi
# one sha256sum for every file that exists (a rerun probes them all): `hash=DIGEST  PATH`
set --
for f in {quoted}; do
  if [ -f "$f" ]; then set -- "$@" "$f"; fi
done
if [ $# -gt 0 ]; then sha256sum "$@" | sed 's/^/hash=/'; fi
true
"""


def parse_facts(output: str) -> NodeFacts:
    facts = NodeFacts()
    for line in output.splitlines():
        key, _, value = line.partition("=")
        value = value.strip()
        if key in ("os_id", "os_version", "init", "arch"):
            setattr(facts, key, value)
        elif key == "k3s_version":
            facts.k3s_version = value or None
        elif key == "service_unit":
            facts.service_unit = True
        elif key == "service_active":
            facts.service_active = True
        elif key == "cgroup" and value.isdigit():
            facts.cgroup = int(value)
        elif key == "addr":
            _add_address(facts, value)
        elif key == "listen":
            _add_listener(facts, value)
        elif key == "hash":
            digest, _, path = value.partition(" ")
            facts.file_hashes[path.lstrip(" *")] = digest   # sha256sum's two spaces, or ' *' (binary mode)
    return facts


def _add_address(facts: NodeFacts, text: str) -> None:
    try:
        iface = ip_interface(text)
    except ValueError:
        return
    (facts.ipv6 if iface.version == 6 else facts.ipv4).append(str(iface.ip))


def _add_listener(facts: NodeFacts, text: str) -> None:
    address, _, process = text.partition(" ")
    port_text = address.rsplit(":", 1)[-1]
    if not port_text.isdigit():
        return
    name = process.split('"')[1] if process.count('"') >= 2 else (process or "unknown process")
    if not name.startswith(("k3s", "containerd")):
        facts.ports_taken.setdefault(int(port_text), name)


def ports_needed(answers: Answers, node: Node) -> dict[int, str]:
    """The ports of CHECKED_PORTS that k3s itself will listen on for this node (k3s-facts §6)."""
    ports = {6444: "the API server's local port" if node.role == "server" else "the agent's load balancer",
             10250: "the kubelet"}
    if node.role == "server":
        ports[6443] = "the Kubernetes API"
        if answers.cluster.datastore == "etcd":
            ports |= {2379: "etcd clients", 2380: "etcd peers", 2381: "etcd metrics"}
    return ports


def preflight(answers: Answers, node: Node, facts: NodeFacts) -> list[Problem]:
    """Facts that make the answers impossible on this node, found before anything changes."""
    problems = []
    where = f"nodes.{node.name}"
    if facts.init == "unknown" and answers.install.method != "apk":
        problems.append(Problem(where, f"{node.name}: neither systemd nor OpenRC found",
                                "k3s's install script needs one of them"))
    if answers.install.method == "apk" and facts.os_id and facts.os_id != "alpine":
        problems.append(Problem(where, f"{node.name}: install method apk needs Alpine, the node runs {facts.os_id}",
                                "use method script or airgap for this node's OS"))
    if answers.cluster.network.dual_stack and facts.ipv4 + facts.ipv6 and not facts.ipv6:
        problems.append(Problem(where, f"{node.name}: dual-stack is asked but the node has no global IPv6 address",
                                "give the node an IPv6 address, or turn dual-stack off"))
    needed = ports_needed(answers, node)
    for port, process in sorted(facts.ports_taken.items()):
        if port in needed:
            problems.append(Problem(where, f"{node.name}: port {port} is already taken by {process} "
                                           f"(k3s needs it for {needed[port]})",
                                    "stop that service or pick another node"))
    wanted = answers.cluster.k3s.version
    if wanted and facts.k3s_version:
        try:
            if K3sVersion.parse(facts.k3s_version) > K3sVersion.parse(wanted):
                problems.append(Problem(where, f"{node.name} runs k3s {facts.k3s_version}, newer than {wanted}",
                                        "k3s cannot be downgraded in place: choose the installed version or newer"))
        except ValueError:
            pass
    return problems
