#!/usr/bin/env bash
# Runs a command inside a network namespace made here, the same one e2e/webrtc/run.sh makes
# (BROWSER_LAB.md): loopback plus a veth pair with a default route, so ICE gathers only the veth
# addresses and no WebRTC packet reaches the machine's real interface. Needs root (unshare -n, ip).
# Usage: bench/netns.sh CMD [ARGS...]; exits with CMD's status.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "bench/netns.sh: needs root for unshare -n and the veth pair" >&2
  exit 1
fi
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.213.7.1/24 dev v0; ip addr add 10.213.7.2/24 dev v1
  ip link set v0 up; ip link set v1 up
  ip route add default dev v0          # without a route, Chromium gathers no ICE candidates
  exec "$@"
' bash "$@"
