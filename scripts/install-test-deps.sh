#!/usr/bin/env bash
# Debian packages the tests need: SoftHSM2 (PKCS#11 token), Mosquitto (upstream brokers),
# Chromium (UI tests), systemd (systemd-analyze for the unit's security score), etcd (cluster mode:
# tests start their own three members on loopback ports).
set -euo pipefail
need=()
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v systemd-analyze >/dev/null || need+=(systemd)
[ -x /usr/bin/etcd ] || need+=(etcd-server)
# Japanese glyphs in the UI screenshots (docs/ui/)
[ -d /usr/share/fonts/opentype/ipaexfont-gothic ] || need+=(fonts-ipaexfont-gothic)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The distribution starts a system-wide mosquitto on 1883 and etcd on 2379 on some installs; tests use
# their own, on ephemeral ports.
echo "test dependencies present: softhsm2 mosquitto chromium systemd-analyze etcd"
