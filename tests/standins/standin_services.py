"""Service managers of the TEST LAB (stand-ins for systemd and OpenRC).

Nodes have no real init system. These stand-ins keep each service's state
(active / failed / inactive) in the node's private /run/k3s-standin, and
"start" a k3s service by running its ExecStart (or OpenRC command +
command_args) once with the unit's environment files: the k3s stand-in does
its start-up work and exits 0 (running) or 1 (failed).
Run directly with --boot (by the lab's node init) to start enabled services.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, "/usr/local/lib/k3s-standin")
import standin_lib as lib  # noqa: E402

SYSTEMD_DIR = "/etc/systemd/system"
WANTS = f"{SYSTEMD_DIR}/multi-user.target.wants"
INIT_D = "/etc/init.d"
RUNLEVEL = "/etc/runlevels/default"
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": "/root"}


class NoSuchService(Exception):
    pass


def unit_name(name: str) -> str:
    """k3s, k3s.service and /etc/systemd/system/k3s.service all name `k3s`."""
    name = os.path.basename(name)
    return name[:-8] if name.endswith(".service") else name


def init_system() -> str:
    return "openrc" if os.access("/sbin/openrc-run", os.X_OK) else "systemd"


# ---- how a service is run ---------------------------------------------------------
def command_of(service: str) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) the init system would start `service` with."""
    if init_system() == "systemd":
        return _systemd_command(service)
    return _openrc_command(service)


def _systemd_command(service: str) -> tuple[list[str], dict[str, str]]:
    text = lib.read_text(f"{SYSTEMD_DIR}/{service}.service")
    if text is None:
        raise NoSuchService(f"Unit {service}.service not found.")
    text = re.sub(r"\\\n", " ", text)
    env = dict(BASE_ENV)
    argv: list[str] = []
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "EnvironmentFile":
            env.update(read_env_file(value.lstrip("-").replace("%N", service)))
        elif key == "ExecStart":
            argv = shlex.split(value)
    if not argv:
        raise NoSuchService(f"Unit {service}.service has no ExecStart.")
    return argv, env


def read_env_file(path: str) -> dict[str, str]:
    env = {}
    for line in (lib.read_text(path) or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            env[key.strip()] = value.strip().strip("'\"")
    return env


def _openrc_command(service: str) -> tuple[list[str], dict[str, str]]:
    script = f"{INIT_D}/{service}"
    if not os.path.exists(script):
        raise NoSuchService(f"service `{service}' does not exist")
    # Evaluate the init script like openrc-run: conf.d first, then the script.
    probe = ('set -a; [ -f "/etc/conf.d/$RC_SVCNAME" ] && . "/etc/conf.d/$RC_SVCNAME"; . "$1"; '
             'set +a; printf "%s\\0%s\\0" "$command" "$command_args"; env -0')
    result = subprocess.run(["sh", "-c", probe, "sh", script], capture_output=True,
                            env={**BASE_ENV, "RC_SVCNAME": service})
    parts = result.stdout.decode().split("\0")
    command, args = parts[0], parts[1]
    env = dict(BASE_ENV)
    for item in parts[2:]:
        key, sep, value = item.partition("=")
        if sep and key not in ("PWD", "SHLVL", "_", "RC_SVCNAME", "OLDPWD"):
            env[key] = value
    argv = [command] + [a for a in shlex.split(args) if not re.match(r"^(\d*>|&>)", a)]
    return argv, env


# ---- state changes ----------------------------------------------------------
def start(service: str, restart: bool = False) -> tuple[bool, str]:
    """Run the service's start; (ok, message)."""
    if not restart and lib.service_state(service)["state"] == "active":
        return True, "already active"
    argv, env = command_of(service)
    lib.set_service_state(service, "activating")
    env["K3S_STANDIN_SERVICE"] = service
    os.makedirs(lib.LOG_DIR, exist_ok=True)
    with open(lib.SERVICE_LOG, "a") as log:
        result = subprocess.run(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd="/")
    role = argv[1] if len(argv) > 1 else ""
    if result.returncode == 0:
        lib.set_service_state(service, "active", role=role)
        return True, "started"
    last = (lib.read_text(lib.SERVICE_LOG) or "").strip().splitlines()[-1:] or [""]
    lib.set_service_state(service, "failed", last[0], role=role)
    return False, last[0]


def stop(service: str) -> None:
    was = lib.service_state(service)
    lib.set_service_state(service, "inactive", role=was.get("role", ""))
    if was["state"] == "active" and was.get("role") in ("server", "agent"):
        import standin_cluster  # only k3s services register nodes
        standin_cluster.mark_not_ready()


def is_enabled(service: str) -> bool:
    if init_system() == "systemd":
        return os.path.lexists(f"{WANTS}/{service}.service")
    return os.path.lexists(f"{RUNLEVEL}/{service}")


def set_enabled(service: str, enabled: bool) -> None:
    link = f"{WANTS}/{service}.service" if init_system() == "systemd" else f"{RUNLEVEL}/{service}"
    target = f"{SYSTEMD_DIR}/{service}.service" if init_system() == "systemd" else f"{INIT_D}/{service}"
    if os.path.lexists(link):
        os.unlink(link)
    if enabled:
        if not os.path.exists(target):
            raise NoSuchService(f"Unit file {service}.service does not exist.")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(target, link)


def boot() -> None:
    """Like a boot: start every enabled service (the lab's node init calls this)."""
    if init_system() == "systemd":
        names = [unit_name(n) for n in os.listdir(WANTS)] if os.path.isdir(WANTS) else []
    else:
        names = os.listdir(RUNLEVEL) if os.path.isdir(RUNLEVEL) else []
    for service in sorted(names):
        try:
            start(service)
        except NoSuchService as error:
            lib.log(f"boot: {error}")


if __name__ == "__main__" and sys.argv[1:] == ["--boot"]:
    boot()
