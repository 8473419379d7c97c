#!/bin/sh
# k3swiz plan for new-w1 (agent, joins https://10.2.0.10:6443 as an agent)
# cluster new, k3s channel v1.33; wave 2 of 2: agents
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 2 file(s): each to a temp file in its folder, then renamed
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 13645d33607a158a)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)

# --- step 2: install k3s ---
set -eu
export INSTALL_K3S_CHANNEL=v1.33
export INSTALL_K3S_EXEC=agent
export INSTALL_K3S_FORCE_RESTART=true
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
if command -v curl >/dev/null; then curl -sfL https://get.k3s.io -o "$installer"; else wget -qO "$installer" https://get.k3s.io; fi
sh "$installer" || { rc=$?
    echo "last lines of the k3s-agent log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s-agent -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s-agent.log ]; then tail -n 20 /var/log/k3s-agent.log >&2; fi
    exit $rc
}

# --- step 3: wait until new-w1 is ready ---
set -u
i=0
until if [ -x /sbin/openrc-run ]; then rc-service k3s-agent status >/dev/null 2>&1; else systemctl is-active --quiet k3s-agent; fi; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "new-w1 not ready after 300s: waited until the k3s-agent service is active" >&2
    echo "last lines of the k3s-agent log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s-agent -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s-agent.log ]; then tail -n 20 /var/log/k3s-agent.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

