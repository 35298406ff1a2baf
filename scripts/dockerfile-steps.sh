#!/usr/bin/env bash
# No Docker engine runs here, so CI keeps the Dockerfile honest by executing its build stage:
# COPY steps become copies into a staging dir, RUN steps run there verbatim.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
in_build=0
while IFS= read -r line; do
  case "$line" in
    "FROM "*" AS build"*) in_build=1; continue ;;
    "FROM "*) [ $in_build = 1 ] && break ;;
  esac
  [ $in_build = 1 ] || continue
  case "$line" in
    "WORKDIR "*) ;;
    "COPY . ."*) (cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -C "$stage" -xf - ;;
    "COPY "*)
      set -- ${line#COPY }
      while [ $# -gt 1 ]; do cp "$root/$1" "$stage/"; shift; done ;;
    "RUN "*) echo "dockerfile step: ${line#RUN }"; (cd "$stage" && bash -c "${line#RUN }") ;;
  esac
done < "$root/Dockerfile"
echo "Dockerfile build stage: ok"
