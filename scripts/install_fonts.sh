#!/usr/bin/env bash
# Free fonts used to render synthetic training lines, the examples and test images
# (Debian packages; licences: DejaVu - Bitstream Vera/public domain, WenQuanYi - GPL-2 with
# font embedding exception / Apache-2.0). Idempotent and quiet.
set -euo pipefail
need=()
for pkg in fonts-dejavu-core fonts-wqy-microhei fonts-wqy-zenhei; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
