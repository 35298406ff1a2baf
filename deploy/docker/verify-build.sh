#!/bin/sh
# Build-time check: the CLI loads and the shipped configuration examples validate.
set -eu
node bin/juki-gw.js --help >/dev/null
node bin/juki-gw.js config check
node bin/juki-gw.js config check deploy/config.example.yaml
