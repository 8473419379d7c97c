#!/bin/sh
# Test-lab node init (NOT part of k3swiz). Runs as PID 1 of a fresh
# mount/uts/ipc/pid namespace made by `unshare`, builds the node's private
# filesystem view, then becomes the node's sshd.
# Usage: node-init.sh NAME ADDRESS INIT NODE_DIR TEMPLATE_DIR SHARED_DIR
set -eu
NAME=$1 ADDRESS=$2 INIT=$3 NODE=$4 TEMPLATE=$5 SHARED=$6

# A private /run first: sshd's privsep dir and the service stand-ins' state.
mount -n -t tmpfs -o mode=0755 lab-run /run
mkdir -p /run/sshd /run/lab
mount -n --bind "$NODE/ctl" /run/lab   # sshd config, host key, pidfile (seen by the host)

for dir in etc var home opt usr; do
    mount -n -t overlay "lab-$dir" \
        -o "lowerdir=$TEMPLATE/$dir:/$dir,upperdir=$NODE/upper/$dir,workdir=$NODE/work/$dir" "/$dir"
done

# Per-node folders, visible on the host (Node.host_path).
while read -r remote folder; do
    mount -n --bind "$NODE/binds/$folder" "$remote"
done <<BINDS
$(cat "$NODE/ctl/binds")
BINDS
mkdir -p /lab-shared
mount -n --bind "$SHARED" /lab-shared
mount -n --bind "$NODE/tmp" /tmp   # last: NODE may live under the host's /tmp

hostname "$NAME"
grep -q " $NAME\$" /etc/hosts || echo "$ADDRESS $NAME" >> /etc/hosts
if [ "$INIT" = systemd ]; then
    mkdir -p /run/systemd/system   # what sd_booted() and tools look for
else
    mkdir -p /run/openrc && : > /run/openrc/softlevel
fi
# Like a boot: services enabled before a restart start again (in the background).
BOOT=/usr/local/lib/k3s-standin/standin_services.py
if [ -f "$BOOT" ]; then
    python3 "$BOOT" --boot >/dev/null 2>&1 &
fi
exec /usr/sbin/sshd -D -e -f /run/lab/sshd_config
