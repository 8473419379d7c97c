#!/bin/sh
# k3swiz plan for new1 (server, initialises the cluster (embedded etcd))
# cluster new, k3s channel v1.33; wave 1 of 2: new1: first server
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 3 file(s): each to a temp file in its folder, then renamed
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 e683e564080dd381)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)
#   /var/lib/rancher/k3s/server/manifests/traefik-config.yaml  mode 0600  (sha256 db200f6ba607859f)

# --- step 2: install k3s ---
set -eu
export INSTALL_K3S_CHANNEL=v1.33
export INSTALL_K3S_EXEC=server
export INSTALL_K3S_FORCE_RESTART=true
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
if command -v curl >/dev/null; then curl -sfL https://get.k3s.io -o "$installer"; else wget -qO "$installer" https://get.k3s.io; fi
sh "$installer" || { rc=$?
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit $rc
}

# --- step 3: wait until new1 is ready ---
set -u
i=0
until [ "$(k3s kubectl get --raw=/readyz 2>/dev/null)" = ok ]; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "new1 not ready after 300s: waited until the API server answers /readyz with ok" >&2
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

# --- step 4: fetch kubeconfig ---
# read /etc/rancher/k3s/k3s.yaml; its server: is rewritten and it is saved locally

