"""Write every synthetic-data face as a font file cut down to the characters it can draw of
the model's charset, for the archive a lent GPU machine unpacks (scripts/pack_fonts.sh).

CJK fonts hold 20,000-90,000 glyphs of which the 6,926-symbol charset uses a tenth: cut to
it, the 150+ faces fit the 64 MiB a device call carries with room for more fonts. Outlines,
hinting, names and layout tables (kerning, ligatures for HarfBuzz) are kept, so a line
renders as from the installed face (checked on a sample line per face; FreeType's
auto-hinter measures unhinted CJK faces over all their glyphs, so those may move an edge
pixel's grey level a little).

    python scripts/subset_fonts.py OUT_DIR FONT_FILE [FONT_FILE ...]     # needs fonttools
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import numpy as np
from fontTools import subset
from PIL import Image, ImageDraw

from duguang_ocr.synth.charset import load_charset
from duguang_ocr.synth.fonts import _TEXT_FONT_PROBE, discover_fonts, load_font

MAX_DIFFERENCE = 8.0  # grey levels (of 255), mean over the ink pixels of the sample line


# One face per output file: a collection's faces become single fonts of the same outlines.
SINGLE_SUFFIX = {".ttc": ".ttf", ".otc": ".otf"}


def _options(font_number: int) -> subset.Options:
    opts = subset.Options()
    opts.layout_features = ["*"]  # kerning, ligatures, contextual forms: HarfBuzz uses them
    opts.name_IDs = ["*"]  # family/style names (incl. typographic ones) identify the face
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = True
    opts.hinting = True
    opts.font_number = font_number
    return opts


def _sample(face) -> str:
    """A short line of the face's own characters, to compare renderings."""
    chars = sorted(face.coverage)
    picks = [chars[i] for i in np.linspace(0, len(chars) - 1, 12).astype(int)]
    return "".join(c for c in picks if not c.isspace()) or "0aA"


def _pixels(path: str, index: int, text: str) -> np.ndarray:
    font = load_font(path, index, 32)
    img = Image.new("L", (40 * len(text) + 20, 60), 0)
    ImageDraw.Draw(img).text((10, 10), text, font=font, fill=255)
    return np.asarray(img)


def _difference(a: str, ai: int, b: str, bi: int, text: str) -> float:
    """Mean absolute grey-level difference over the ink of ``text`` drawn by both faces."""
    pa, pb = _pixels(a, ai, text).astype(int), _pixels(b, bi, text).astype(int)
    ink = (pa > 0) | (pb > 0)
    return float(np.abs(pa - pb)[ink].mean()) if ink.any() else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # tables it drops, odd timestamps
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.files)
    faces = [f for f in discover_fonts(load_charset()).faces if f.path in wanted]
    written, worst = 0, 0.0
    for face in faces:
        name = re.sub(r"[^A-Za-z0-9]+", "-", f"{face.family}-{face.style}").strip("-")
        suffix = Path(face.path).suffix.lower()
        dest = args.out / f"{name}{SINGLE_SUFFIX.get(suffix, suffix)}"
        if dest.exists():  # the same family and style from two files
            dest = dest.with_name(f"{dest.stem}-{written}{dest.suffix}")
        opts = _options(face.index)
        font = subset.load_font(face.path, opts)
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=[ord(c) for c in face.coverage | _TEXT_FONT_PROBE])
        sub.subset(font)
        subset.save_font(font, str(dest), opts)
        diff = _difference(face.path, face.index, str(dest), 0, _sample(face))
        worst = max(worst, diff)
        if diff > MAX_DIFFERENCE:
            print(f"error: {face.path}#{face.index} renders differently once cut "
                  f"({diff:.1f} grey levels)", file=sys.stderr)
            return 1
        written += 1
    print(f"{written} faces from {len(wanted)} files -> {args.out} (largest rendering "
          f"difference {worst:.2f} grey levels on the ink)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
