#!/bin/sh
# k3swiz plan for alp2 (agent, joins https://192.168.1.30:6443 as an agent)
# cluster alpine, k3s v1.22.15+k3s1; wave 2 of 2: agents
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 3 file(s): each to a temp file in its folder, then renamed
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 8bd0e90a34549508)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)
#   /etc/conf.d/k3s  mode 0644  (sha256 a1eb2638300036bf)

# --- step 2: install k3s ---
set -eu
apk add --no-cache k3s
rc-update add k3s default
rc-service k3s restart

# --- step 3: wait until alp2 is ready ---
set -u
i=0
until if [ -x /sbin/openrc-run ]; then rc-service k3s status >/dev/null 2>&1; else systemctl is-active --quiet k3s; fi; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "alp2 not ready after 300s: waited until the k3s service is active" >&2
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

