#!/usr/bin/env bash
# Pack the synthetic-data fonts (every face of scripts/install_fonts.sh's packages, cut down to
# the model's charset by scripts/subset_fonts.py) into .fonts/fonts.tar.xz, the archive a lent
# GPU machine unpacks (scripts/gpu_env.sh): it has no network, and its own fonts may include a
# held-out check set's, so it renders with these only.
#
#   bash scripts/install_fonts.sh && bash scripts/pack_fonts.sh     # ~14 MiB, ~1 min
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import fontTools" 2>/dev/null || python3 -m pip install -q fonttools
pkgs=$(sed -n '/^pkgs=(/,/)/p' scripts/install_fonts.sh | tr -d '()' | sed 's/^pkgs=//')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# shellcheck disable=SC2086,SC2046  # one word per package and per file
python3 scripts/subset_fonts.py "$stage" $(dpkg -L $pkgs |
  grep -E '^/usr/share/fonts/.*\.(ttf|otf|ttc|otc)$' | sort -u)
mkdir -p .fonts
tar -C "$stage" -cf - . | xz -9 -T0 > .fonts/fonts.tar.xz.part
mv .fonts/fonts.tar.xz.part .fonts/fonts.tar.xz
echo "$(ls "$stage" | wc -l) faces -> .fonts/fonts.tar.xz ($(du -h .fonts/fonts.tar.xz | cut -f1))"
