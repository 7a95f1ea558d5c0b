#!/usr/bin/env bash
# Pack the synthetic-data fonts (every font file of scripts/install_fonts.sh's packages) into
# .fonts/fonts.tar.xz, the archive a lent GPU machine unpacks (scripts/gpu_env.sh): it has no
# network, and its own fonts may include a held-out check set's, so it renders with these only.
#
#   bash scripts/install_fonts.sh && bash scripts/pack_fonts.sh     # ~40 MiB, ~1.5 min
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(sed -n '/^pkgs=(/,/)/p' scripts/install_fonts.sh | tr -d '()' | sed 's/^pkgs=//')
list=$(mktemp)
# shellcheck disable=SC2086  # one word per package
dpkg -L $pkgs | grep -E '^/usr/share/fonts/.*\.(ttf|otf|ttc|otc)$' | sort -u |
  sed 's:^/usr/share/fonts/::' > "$list"
mkdir -p .fonts
tar -C /usr/share/fonts -chf - -T "$list" | xz -9 -T0 > .fonts/fonts.tar.xz.part
mv .fonts/fonts.tar.xz.part .fonts/fonts.tar.xz
echo "$(wc -l < "$list") font files -> .fonts/fonts.tar.xz ($(du -h .fonts/fonts.tar.xz | cut -f1))"
rm -f "$list"
