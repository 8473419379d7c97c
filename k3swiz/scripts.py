"""The shell scripts a plan runs on nodes (POSIX sh: GNU and busybox alike).

Each script is sent on stdin to `sh -s`, so nothing here reaches the remote
argv. None of them holds a secret: the token is already in its 0600 file and
k3s reads it through `token-file`.
"""

from __future__ import annotations

import shlex

from .answers import Answers, Node
from .render import LOCAL_INSTALLER

INSTALL_URL = "https://get.k3s.io"
POLL_SECONDS = 0.2


def service_name(answers: Answers, node: Node) -> str:
    # The install script names agents' service k3s-agent; Alpine's package has one service, k3s.
    if answers.install.method == "apk" or node.role == "server":
        return "k3s"
    return "k3s-agent"


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def install_env(answers: Answers, node: Node) -> dict[str, str]:
    release = answers.cluster.k3s
    env: dict[str, str] = {}
    if release.version:
        env["INSTALL_K3S_VERSION"] = release.version
    else:
        env["INSTALL_K3S_CHANNEL"] = release.channel or "stable"
    env["INSTALL_K3S_EXEC"] = "server" if node.role == "server" else "agent"
    # The install step runs only when something changed; the installer itself does not see a new
    # config.yaml, nor an airgap binary that is already in place, and would keep the old k3s running.
    env["INSTALL_K3S_FORCE_RESTART"] = "true"
    if answers.install.method == "airgap":
        env["INSTALL_K3S_SKIP_DOWNLOAD"] = "true"
    return env


def install_script(answers: Answers, node: Node) -> str:
    method = answers.install.method
    head = "set -eu\n"
    if method == "apk":
        svc = service_name(answers, node)
        return (head + "apk add --no-cache k3s\n"
                f"rc-update add {svc} default\n"
                f"rc-service {svc} restart\n")
    script = head + _exports(install_env(answers, node))
    on_failure = f' || {{ rc=$?\n{_log_tail(service_name(answers, node))}    exit $rc\n}}\n'
    if method == "airgap" or answers.install.script_from == "local":
        return script + f"sh {LOCAL_INSTALLER}" + on_failure
    return script + (
        'installer=$(mktemp)\n'
        'trap \'rm -f "$installer"\' EXIT\n'
        f'if command -v curl >/dev/null; then curl -sfL {INSTALL_URL} -o "$installer"; '
        f'else wget -qO "$installer" {INSTALL_URL}; fi\n'
        'sh "$installer"' + on_failure)


def restart_script(answers: Answers, node: Node) -> str:
    svc = service_name(answers, node)
    return ("set -eu\n"
            f"if [ -x /sbin/openrc-run ]; then rc-service {svc} restart; "
            f"else systemctl restart {svc}; fi\n")


def _log_tail(svc: str) -> str:
    # systemd keeps k3s's log in the journal; OpenRC (and the install script there) in /var/log.
    return (f'    echo "last lines of the {svc} log:" >&2\n'
            f'    if command -v journalctl >/dev/null; then journalctl -u {svc} -n 20 --no-pager >&2 || true; fi\n'
            f'    if [ -f /var/log/{svc}.log ]; then tail -n 20 /var/log/{svc}.log >&2; fi\n')


def wait_script(answers: Answers, node: Node, timeout: float) -> str:
    """Poll on the node (no round trip per try) until ready or the deadline."""
    svc = service_name(answers, node)
    if node.role == "server":
        check = "[ \"$(k3s kubectl get --raw=/readyz 2>/dev/null)\" = ok ]"
        what = "the API server answers /readyz with ok"
    else:
        check = (f"if [ -x /sbin/openrc-run ]; then rc-service {svc} status >/dev/null 2>&1; "
                 f"else systemctl is-active --quiet {svc}; fi")
        what = f"the {svc} service is active"
    tries = max(1, int(timeout / POLL_SECONDS))
    return ("set -u\n"
            f"i=0\n"
            f"until {check}; do\n"
            f"  i=$((i + 1))\n"
            f"  if [ $i -ge {tries} ]; then\n"
            f'    echo "{node.name} not ready after {timeout:.0f}s: waited until {what}" >&2\n'
            + _log_tail(svc) +
            "    exit 1\n"
            "  fi\n"
            f"  sleep {POLL_SECONDS}\n"
            "done\n")
