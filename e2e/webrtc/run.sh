#!/usr/bin/env bash
# The WebRTC e2e specs, inside a network namespace made here (unshare -n + a veth pair), exactly as
# BROWSER_LAB.md describes: the static server, the signaling relay and both browsers live in it, so
# ICE gathers only the veth addresses and no packet reaches the machine's real interface. Needs
# root (CI runs as root). Extra arguments go to `playwright test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "e2e/webrtc/run.sh: needs root for unshare -n and the veth pair" >&2
  exit 1
fi
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.213.7.1/24 dev v0; ip addr add 10.213.7.2/24 dev v1
  ip link set v0 up; ip link set v1 up
  ip route add default dev v0          # without a route, Chromium gathers no ICE candidates
  exec node_modules/.bin/playwright test -c e2e/webrtc/playwright.config.ts "$@"
' bash "$@"
