#!/usr/bin/env bash
# Deployment checks run in CI: the systemd unit's exposure score (target ≤ 2.0), and the Dockerfile's
# build steps executed as a script (no Docker engine runs here).
set -euo pipefail
cd "$(dirname "$0")/.."
score_line=$(systemd-analyze security --offline=true deploy/systemd/juki-gw.service 2>/dev/null | tail -1)
echo "systemd unit: $score_line"
score=$(echo "$score_line" | grep -oE '[0-9]+\.[0-9]+' | head -1)
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "systemd exposure $score > 2.0" >&2; exit 1; }
bash scripts/dockerfile-steps.sh
