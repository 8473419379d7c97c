#!/usr/bin/env bash
# The one test command (README and .ci/run call this): installs what the tests
# need, then runs them. Extra arguments go to pytest (e.g. `-k catalog`).
set -euo pipefail
cd "$(dirname "$0")/.."

need=""
for tool in sshd sudo tmux busybox; do command -v "$tool" >/dev/null || need="$need $tool"; done
if [ "$(id -u)" = 0 ] && [ -n "$need" ]; then
    # Real OpenSSH servers are the SSH test nodes; sudo is tested for real; tmux drives the
    # end-to-end UI test; busybox runs the remote scripts as Alpine nodes would.
    echo "installing Debian packages for the tests:$need" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server sudo tmux busybox >/dev/null
fi
python3 -m pip install -q -e '.[test]'

set +e
python3 -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$rc"
