#!/bin/sh
# TEST STAND-IN for the k3s install script (get.k3s.io). It is NOT the real
# script: k3swiz's tests upload it as the airgap install script. It writes the
# same files (unit or init script, env file, uninstall/killall scripts) and
# drives the lab's systemctl / rc-service stand-ins. The work is done by the
# lab's stand-in library, present on every lab node.
set -e
exec python3 /usr/local/lib/k3s-standin/standin_install.py "$@"
