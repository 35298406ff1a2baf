#!/bin/sh
# keepalived track script: succeeds only on the ACTIVE juki-gw node of a cluster (docs/cluster.md).
# It asks the node's loopback admin port for /readyz and looks at the "cluster" check alone: an
# upstream link that is down makes /readyz not ready, but must not move the virtual address to the
# standby (which refuses every MQTT client).
# Usage: check-juki-gw-active.sh [ADMIN_PORT]   (default 9464, config admin.port)
port="${1:-9464}"
body=$(curl --silent --max-time 2 "http://127.0.0.1:${port}/readyz") || exit 1
case "$body" in
  *'"name":"cluster","ok":true'*) exit 0 ;;
  *) exit 1 ;;
esac
