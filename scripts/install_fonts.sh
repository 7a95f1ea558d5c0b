#!/usr/bin/env bash
# Free fonts that duguang_ocr.synth renders synthetic training lines with (and that the
# examples and tests use). Debian packages and licences (see /usr/share/doc/<pkg>/copyright):
#   fonts-dejavu-core     DejaVu Sans/Serif/Mono         Bitstream Vera licence + public domain
#   fonts-liberation2     Liberation Sans/Serif/Mono     SIL OFL 1.1
#   fonts-freefont-ttf    GNU FreeSans/Serif/Mono        GPL-3+ with font exception
#   fonts-comic-neue      Comic Neue (handwriting-like)  SIL OFL 1.1
#   fonts-wqy-microhei    WenQuanYi Micro Hei (CJK sans) Apache-2.0 / GPL-3 with font exception
#   fonts-wqy-zenhei      WenQuanYi Zen Hei (CJK sans)   GPL-2 with font embedding exception
#   fonts-arphic-ukai     AR PL UKai (CJK kai/brush)     Arphic Public License
#   fonts-arphic-uming    AR PL UMing (CJK ming/serif)   Arphic Public License
#   fonts-arphic-gbsn00lp AR PL SungtiL GB (CJK song)    Arphic Public License
#   fonts-arphic-gkai00mp AR PL KaitiM GB (CJK kai)      Arphic Public License
#   fonts-urw-base35      URW clones of the PostScript 35 (Nimbus Sans/Roman/Mono, Bookman,
#                         Gothic, C059 Century, P052 Palatino, Z003)  AGPL-3 with font exception
#   fonts-roboto-unhinted Roboto, Roboto Condensed       Apache-2.0
#   fonts-open-sans       Open Sans                      Apache-2.0
#   fonts-lato            Lato                           SIL OFL 1.1
#   fonts-crosextra-carlito Carlito (Calibri metrics)    SIL OFL 1.1
#   fonts-linuxlibertine  Linux Libertine / Biolinum     GPL-2 with font exception / OFL 1.1
#   fonts-hanazono        HanaMinA (CJK Mincho/Song)     Hanazono Font Licence or SIL OFL
#   fonts-babelstone-han  BabelStone Han (CJK Song)      Arphic Public License, CC-BY-SA
#   fonts-smiley-sans     Smiley Sans (CJK display sans) SIL OFL 1.1
# Display faces of signs, packaging and posters (scene words):
#   fonts-league-spartan fonts-comfortaa fonts-lobster fonts-lobstertwo fonts-dancingscript
#   fonts-cabin fonts-yanone-kaffeesatz fonts-quicksand fonts-kristi fonts-manrope
#   fonts-sil-andika                                     SIL OFL 1.1
#   fonts-oxygen                                         GPL-3+ with font exception or OFL 1.1
#   fonts-roboto-slab fonts-play                         Apache-2.0
#   fonts-averia-sans-gwf                                SIL OFL
#   fonts-staypuft                                       LGPL-2
#   fonts-beteckna                                       GPL-3
# None of them is a font of the browser check set (docs/DATA.md: Noto CJK, LXGW WenKai).
# Rendered images are not derivative fonts, so training data and models are unaffected by
# the font licences. Idempotent and quiet: does nothing when every package is installed.
set -euo pipefail
pkgs=(fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-comic-neue
      fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming
      fonts-arphic-gbsn00lp fonts-arphic-gkai00mp fonts-urw-base35 fonts-roboto-unhinted
      fonts-open-sans fonts-lato fonts-crosextra-carlito fonts-linuxlibertine
      fonts-hanazono fonts-babelstone-han fonts-smiley-sans
      fonts-league-spartan fonts-comfortaa fonts-lobster fonts-lobstertwo fonts-dancingscript
      fonts-cabin fonts-yanone-kaffeesatz fonts-quicksand fonts-kristi fonts-manrope
      fonts-sil-andika fonts-oxygen fonts-roboto-slab fonts-play fonts-averia-sans-gwf
      fonts-staypuft fonts-beteckna)
need=()
for pkg in "${pkgs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  "${need[@]}" >/dev/null
