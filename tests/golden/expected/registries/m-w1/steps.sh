#!/bin/sh
# k3swiz plan for m-w1 (agent, joins https://10.4.0.10:6443 as an agent)
# cluster mirrored, k3s v1.32.2+k3s1; wave 2 of 2: agents
# Each step runs on the node as `sh -s` (through sudo when not root) with its text on stdin.
# Secrets are never in these scripts: the token travels only inside its 0600 file.

# --- step 1: write files ---
# write 6 file(s): each to a temp file in its folder, then renamed
#   /usr/local/bin/k3s  mode 0755  (sha256 bc239188418f04dc)  <- ./bundle/k3s
#   /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst  mode 0644  (sha256 4d896c5fe3ccf551)  <- ./bundle/k3s-airgap-images-amd64.tar.zst
#   /var/lib/rancher/k3s/k3swiz/install.sh  mode 0755  (sha256 e27a58838dc2245e)  <- ./bundle/install.sh
#   /etc/rancher/k3s/config.yaml  mode 0600  (sha256 cd86bc63e4637847)
#   /etc/rancher/k3s/cluster-token  mode 0600  (secret, not shown)
#   /etc/rancher/k3s/registries.yaml  mode 0600  (sha256 16e7e886d2c058a6)

# --- step 2: install k3s ---
set -eu
export INSTALL_K3S_VERSION=v1.32.2+k3s1
export INSTALL_K3S_EXEC=agent
export INSTALL_K3S_FORCE_RESTART=true
export INSTALL_K3S_SKIP_DOWNLOAD=true
sh /var/lib/rancher/k3s/k3swiz/install.sh || { rc=$?
    echo "last lines of the k3s-agent log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s-agent -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s-agent.log ]; then tail -n 20 /var/log/k3s-agent.log >&2; fi
    exit $rc
}

# --- step 3: wait until m-w1 is ready ---
set -u
i=0
until if [ -x /sbin/openrc-run ]; then rc-service k3s-agent status >/dev/null 2>&1; else systemctl is-active --quiet k3s-agent; fi; do
  i=$((i + 1))
  if [ $i -ge 1500 ]; then
    echo "m-w1 not ready after 300s: waited until the k3s-agent service is active" >&2
    echo "last lines of the k3s-agent log:" >&2
    if command -v journalctl >/dev/null; then journalctl -u k3s-agent -n 20 --no-pager >&2 || true; fi
    if [ -f /var/log/k3s-agent.log ]; then tail -n 20 /var/log/k3s-agent.log >&2; fi
    exit 1
  fi
  sleep 0.2
done

