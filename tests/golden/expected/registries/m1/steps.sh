#!/bin/sh
# k3swiz plan for m1 (server, initialises the cluster (embedded etcd))
# cluster mirrored, k3s v1.32.2+k3s1; wave 1 of 2: m1: first server
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 7 file(s): each to a temp file in its folder, then renamed
#   /usr/local/bin/k3s  mode 0755  (sha256 bc239188418f04dc)  <- ./bundle/k3s
#   /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst  mode 0644  (sha256 4d896c5fe3ccf551)  <- ./bundle/k3s-airgap-images-amd64.tar.zst
#   /var/lib/rancher/k3s/k3swiz/install.sh  mode 0755  (sha256 e27a58838dc2245e)  <- ./bundle/install.sh
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 6ff36c0fb8bab696)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)
#   /etc/rancher/k3s/registries.yaml  mode 0600  (sha256 16e7e886d2c058a6)
#   /var/lib/rancher/k3s/server/manifests/traefik-config.yaml  mode 0600  (sha256 f50c400648685746)

# --- step 2: install k3s ---
set -eu
export INSTALL_K3S_VERSION=v1.32.2+k3s1
export INSTALL_K3S_EXEC=server
export INSTALL_K3S_FORCE_RESTART=true
export INSTALL_K3S_SKIP_DOWNLOAD=true
sh /var/lib/rancher/k3s/k3swiz/install.sh || { rc=$?
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit $rc
}

# --- step 3: wait until m1 is ready ---
set -u
i=0
until [ "$(k3s kubectl get --raw=/readyz 2>/dev/null)" = ok ]; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "m1 not ready after 300s: waited until the API server answers /readyz with ok" >&2
    echo "last lines of the k3s log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s.log ]; then tail -n 20 /var/log/k3s.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

# --- step 4: fetch kubeconfig ---
# read /etc/rancher/k3s/k3s.yaml; its server: is rewritten and it is saved locally

