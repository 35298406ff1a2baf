#!/usr/bin/env bash
# Nightly backup of the appliance data dir: signed by the appliance key, encrypted to the recipient's
# public key (the private key is kept off the appliance), the newest KEEP files retained.
# Run by juki-gw-backup.service while juki-gw.service is stopped (the backup reads a closed database).
set -euo pipefail
DATA_DIR="${DATA_DIR:-/var/lib/juki-gw}"
OUT_DIR="${OUT_DIR:-/var/backups/juki-gw}"
RECIPIENT="${RECIPIENT:-/etc/juki-gw/backup-recipient.pem}"
CONFIG="${CONFIG:-/etc/juki-gw/config.yaml}"
KEEP="${KEEP:-14}"

out="$OUT_DIR/juki-gw-$(date -u +%Y%m%dT%H%M%SZ).jgwb"
encrypt=()
if [ -f "$RECIPIENT" ]; then encrypt=(--encrypt-to "$RECIPIENT"); else echo "juki-gw-backup: $RECIPIENT missing: backup NOT encrypted" >&2; fi
/usr/bin/node /opt/juki-gw/bin/juki-gw.js backup create --data-dir "$DATA_DIR" --out "$out.part" --config "$CONFIG" "${encrypt[@]}"
mv "$out.part" "$out"
# Oldest first; keep the newest $KEEP.
ls -1 "$OUT_DIR"/juki-gw-*.jgwb 2>/dev/null | head -n -"$KEEP" | xargs -r rm -f --
