#!/usr/bin/env bash
# Installs juki-gw as a hardened systemd service on Debian: dedicated user, code under /opt/juki-gw,
# configuration under /etc/juki-gw, data under /var/lib/juki-gw (mode 0700).
set -euo pipefail
PREFIX=${PREFIX:-/opt/juki-gw}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "install.sh: Node.js 20 is required" >&2; exit 1; }
getent group juki-gw >/dev/null || groupadd --system juki-gw
getent passwd juki-gw >/dev/null || useradd --system --gid juki-gw --home-dir /var/lib/juki-gw --shell /usr/sbin/nologin juki-gw
# softhsm tokens must be readable by the service user
if getent group softhsm >/dev/null; then usermod -a -G softhsm juki-gw; fi
# The appliance runs compiled code: build it here (the checkout's npm ci brought the compiler), then
# install what production runs, as the image does: no sources, tests, benchmarks or dev packages.
[ -f "$SRC/node_modules/typescript/bin/tsc" ] || { echo "install.sh: run npm ci in $SRC first (the build needs its compiler)" >&2; exit 1; }
(cd "$SRC" && npm run build)
install -d -m 0755 "$PREFIX"
# An earlier install copied the whole tree: sources left beside bin/ would make it a checkout.
(cd "$PREFIX" && rm -rf dist broker gateway hsm config sim cli scripts test bench docs node_modules)
tar -C "$SRC" -cf - dist bin deploy package.json package-lock.json README.md | tar -C "$PREFIX" -xf -
(cd "$PREFIX" && npm ci --omit=dev --no-audit --no-fund)
install -d -m 0750 -o root -g juki-gw /etc/juki-gw
if [ ! -f /etc/juki-gw/config.yaml ]; then
  install -m 0640 -o root -g juki-gw "$SRC/deploy/config.example.yaml" /etc/juki-gw/config.yaml
fi
install -d -m 0700 -o juki-gw -g juki-gw /var/lib/juki-gw
install -m 0644 "$SRC/deploy/systemd/juki-gw.service" /etc/systemd/system/juki-gw.service
node "$PREFIX/bin/juki-gw.js" config check /etc/juki-gw/config.yaml
systemctl daemon-reload
echo "installed. Edit /etc/juki-gw/config.yaml, put the HSM PIN in /etc/juki-gw/hsm-pin (0600), then: systemctl enable --now juki-gw"
