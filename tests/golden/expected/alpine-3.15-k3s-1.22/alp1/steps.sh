#!/bin/sh
# k3swiz plan for alp1 (server, initialises the cluster (SQLite))
# cluster alpine, k3s v1.22.15+k3s1; wave 1 of 2: alp1: first server
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 4 file(s): each to a temp file in its folder, then renamed
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 dec994115cb3b4ce)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)
#   /var/lib/rancher/k3s/server/manifests/traefik-config.yaml  mode 0600  (sha256 c4badf1956b4c252)
#   /etc/conf.d/k3s  mode 0644  (sha256 edc8261e74ae6eec)

# --- step 2: install k3s ---
set -eu
apk add --no-cache k3s
rc-update add k3s default
rc-service k3s restart

# --- step 3: wait until alp1 is ready ---
set -u
i=0
until [ "$(k3s kubectl get --raw=/readyz 2>/dev/null)" = ok ]; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "alp1 not ready after 300s: waited until the API server answers /readyz with ok" >&2
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

# --- step 4: fetch kubeconfig ---
# read /etc/rancher/k3s/k3s.yaml; its server: is rewritten and it is saved locally

