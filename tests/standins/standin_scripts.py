"""Files the install-script TEST STAND-IN writes: the systemd unit or OpenRC
init script, k3s-killall.sh and the uninstall script (shapes of the real ones,
k3s-facts.md sections 2.2 and 2.3)."""
from __future__ import annotations

import shlex

import standin_lib as lib

SYSTEMD_UNIT = """# Written by the k3s install.sh TEST STAND-IN (k3swiz test lab)
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type={type}
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-{env_file}
KillMode=process
Delegate=yes
LimitNOFILE=1048576
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart={bin_dir}/k3s {args}
"""

OPENRC_SCRIPT = """#!/sbin/openrc-run
# Written by the k3s install.sh TEST STAND-IN (k3swiz test lab)
depend() {{
    after network-online
    want cgroups
}}

supervisor=supervise-daemon
name={name}
command="{bin_dir}/k3s"
command_args="{args} >>/var/log/{name}.log 2>&1"
output_log=/var/log/{name}.log
error_log=/var/log/{name}.log
pidfile="/var/run/{name}.pid"
respawn_delay=5
respawn_max=0

set -o allexport
if [ -f /etc/environment ]; then . /etc/environment; fi
if [ -f {env_file} ]; then . {env_file}; fi
set +o allexport
"""

KILLALL = """#!/bin/sh
# Written by the k3s install.sh TEST STAND-IN: stops every k3s* service.
[ $(id -u) -eq 0 ] || exec sudo $0 $@
for service in /etc/systemd/system/k3s*.service; do
    [ -s "$service" ] && systemctl stop "$(basename "$service")"
done
for service in /etc/init.d/k3s*; do
    [ -x "$service" ] && "$service" stop
done
rm -rf /run/k3s
exit 0
"""

UNINSTALL = """#!/bin/sh
# Written by the k3s install.sh TEST STAND-IN: what the real uninstall removes.
set -x
[ $(id -u) -eq 0 ] || exec sudo $0 $@
{bin_dir}/k3s-killall.sh
if command -v systemctl >/dev/null 2>&1 && [ ! -x /sbin/openrc-run ]; then
    systemctl disable {name}
    systemctl reset-failed {name}
    systemctl daemon-reload
fi
if [ -x /sbin/openrc-run ]; then
    rc-update delete {name} default
fi
rm -f {service_file}
rm -f {env_file}
remove_uninstall() {{
    rm -f {uninstall}
}}
trap remove_uninstall EXIT
if (ls /etc/systemd/system/k3s*.service || ls /etc/init.d/k3s*) >/dev/null 2>&1; then
    set +x; echo "Additional k3s services installed, skipping uninstall of k3s"; set -x
    exit
fi
for cmd in kubectl crictl ctr; do
    if [ -L {bin_dir}/$cmd ]; then
        rm -f {bin_dir}/$cmd
    fi
done
rm -rf /etc/rancher/k3s /run/k3s /run/flannel /var/lib/rancher/k3s /var/lib/kubelet
rm -f {bin_dir}/k3s
rm -f {bin_dir}/k3s-killall.sh
"""


def uninstall_path(setup: dict) -> str:
    prefix = "k3s" if setup["name"] == "k3s" else setup["name"]
    return f"{setup['bin_dir']}/{prefix}-uninstall.sh"


def write_killall(setup: dict) -> None:
    lib.write_file(f"{setup['bin_dir']}/k3s-killall.sh", KILLALL, 0o755)


def write_uninstall(setup: dict) -> None:
    text = UNINSTALL.format(uninstall=uninstall_path(setup), **setup)
    lib.write_file(uninstall_path(setup), text, 0o755)


def write_service(setup: dict) -> None:
    """The unit (systemd) or init script (OpenRC) with the quoted exec line."""
    quoted = [shlex.quote(word) for word in setup["exec"]]
    if setup["init"] == "systemd":
        args = " \\\n    ".join(quoted)
        lib.write_file(setup["service_file"], SYSTEMD_UNIT.format(args=args, **setup), 0o644)
    else:
        args = " ".join(q.replace("\\", "\\\\").replace('"', '\\"') for q in quoted)
        lib.write_file(setup["service_file"], OPENRC_SCRIPT.format(args=args, **setup), 0o755)
