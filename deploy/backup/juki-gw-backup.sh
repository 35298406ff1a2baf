#!/usr/bin/env bash
# Nightly backup of the appliance data dir: signed by the appliance key and ALWAYS encrypted — to the
# recipient certificate (its private key is kept off the appliance) or, failing that, with the
# passphrase from the systemd credential "backup-passphrase". With neither, nothing is written: an
# unencrypted backup would carry the token and the private keys. PIN files are never included.
# The newest KEEP files are retained. Run by juki-gw-backup.service (docs/backup.md).
set -euo pipefail
DATA_DIR="${DATA_DIR:-/var/lib/juki-gw}"
OUT_DIR="${OUT_DIR:-/var/backups/juki-gw}"
RECIPIENT="${RECIPIENT:-/etc/juki-gw/backup-recipient.pem}"
PASSPHRASE_FILE="${PASSPHRASE_FILE:-${CREDENTIALS_DIRECTORY:-/nonexistent}/backup-passphrase}"
CONFIG="${CONFIG:-/etc/juki-gw/config.yaml}"
NODE="${NODE:-/usr/bin/node}"
JUKIGW="${JUKIGW:-/opt/juki-gw/bin/juki-gw.js}"
KEEP="${KEEP:-14}"

if [ -f "$RECIPIENT" ]; then encrypt=(--encrypt-to "$RECIPIENT")
elif [ -f "$PASSPHRASE_FILE" ]; then encrypt=(--passphrase-file "$PASSPHRASE_FILE")
else
  echo "juki-gw-backup: no encryption key: neither the recipient certificate $RECIPIENT nor the backup-passphrase credential exists; no backup written (docs/backup.md)" >&2
  exit 1
fi
out="$OUT_DIR/juki-gw-$(date -u +%Y%m%dT%H%M%SZ).jgwb"
"$NODE" "$JUKIGW" backup create --data-dir "$DATA_DIR" --out "$out.part" --config "$CONFIG" "${encrypt[@]}"
mv "$out.part" "$out"
# Oldest first; keep the newest $KEEP.
ls -1 "$OUT_DIR"/juki-gw-*.jgwb 2>/dev/null | head -n -"$KEEP" | xargs -r rm -f --
