#!/usr/bin/env bash
# The WebRTC e2e specs, inside a network namespace made by bench/netns.sh (unshare -n + a veth
# pair + a default route, exactly as BROWSER_LAB.md describes): the static server, the signaling
# relays and both browsers live in it, so ICE gathers only the veth addresses and no packet reaches
# the machine's real interface. Needs root (CI runs as root). Extra arguments go to `playwright test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
  echo "e2e/webrtc/run.sh: needs root for unshare -n and the veth pair" >&2
  exit 1
fi
exec bash bench/netns.sh node_modules/.bin/playwright test -c e2e/webrtc/playwright.config.ts "$@"
