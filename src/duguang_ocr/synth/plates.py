"""Synthetic Chinese licence plates: a common line-recognition task that general text lines
do not teach (fixed layout, province character first, a separator dot that is not part of
the plate number, white on blue or black on yellow/green, usually tiny and blurred).

``plate_text`` draws a plausible number (province, issuing-office letter, five characters;
six on green new-energy plates), ``render_plate`` draws it in the standard layout and then
degrades it like a camera crop: paint dimmed by the light, car body around a loose or tight
crop, the lean and tilt of a plate seen from the side, horizontal stretch, downscaling to
a few dozen pixels high, blur, noise and JPEG (:func:`duguang_ocr.data.augment.augment_line`).
The label never contains the separator dot, as plate data sets write it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import FontFace, FontSet, load_font
from .textformats import PLATE_LETTERS as LETTERS
from .textformats import PLATE_PROVINCES as PROVINCES

DIGITS = "0123456789"

# (background RGB, text RGB, weight): blue (ordinary cars), yellow (large vehicles), green
# (new-energy cars, six characters after the office letter).
STYLES = (((18, 62, 168), (245, 245, 245), 0.7), ((226, 178, 32), (20, 20, 20), 0.15),
          ((96, 190, 110), (15, 15, 15), 0.15))
# Blue plates range from this paint's navy to a bright, slightly cyan blue under daylight and
# auto exposure (most CCPD-style crops).
BRIGHT_BLUE = (40, 115, 235)


def plate_text(rng: np.random.Generator, green: bool = False) -> str:
    """A plate number without the separator dot, e.g. ``皖A12C34``."""
    n = 6 if green else 5
    letters = int(rng.integers(0, 3))  # most plates hold 0-2 letters among the digits
    body = [str(rng.choice(list(DIGITS))) for _ in range(n)]
    for i in rng.choice(n, size=letters, replace=False):
        body[int(i)] = str(rng.choice(list(LETTERS)))
    return str(rng.choice(list(PROVINCES))) + str(rng.choice(list(LETTERS))) + "".join(body)


def _glyph(ch: str, face: FontFace, w: int, h: int, color: tuple,
           stroke: int = 0, squeeze: float = 1.0) -> Image.Image:
    """``ch`` drawn (``stroke`` px bolder), stretched to the ``h``-px cell height, its width
    scaled by ``squeeze`` more and capped at the cell's ``w`` (plate glyphs are tall and
    narrow), centred: a narrow glyph such as ``1`` stays a bar instead of being widened into
    a block."""
    font = load_font(face.path, face.index, h)
    x0, y0, x1, y1 = font.getbbox(ch, stroke_width=stroke)
    img = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(img).text((-x0, -y0), ch, fill=255, font=font, stroke_width=stroke,
                             stroke_fill=255)
    gw = max(1, min(w, round(img.width * h / img.height * squeeze)))
    out = Image.new("RGBA", (w, h), color + (0,))
    mask = Image.new("L", (w, h), 0)
    mask.paste(img.resize((gw, h), Image.BILINEAR), ((w - gw) // 2, 0))
    out.putalpha(mask)
    return out


def plate_fonts(fonts: FontSet, text: str, rng: np.random.Generator
                ) -> tuple[FontFace | None, FontFace | None]:
    """Faces for one plate: a CJK face for the province (mostly a sans, the even-stroked hei
    style plates use) and, mostly, a Latin sans for the letters and digits, often a
    condensed one (plates never use serifs); otherwise the province face draws everything.
    ``(None, None)`` when no face covers the text."""
    cjk = [f for f in fonts.covering(text[:1]) if f.is_cjk]
    if not cjk:
        return None, None
    sans = [f for f in cjk if f.category == "cjk-sans"]
    pool = sans if sans and rng.random() < 0.75 else cjk
    face = pool[int(rng.integers(len(pool)))]
    latin = [f for f in fonts.covering(text[1:]) if f.category == "latin-sans"
             and "Italic" not in f.style and "Oblique" not in f.style]
    if not latin or rng.random() < 0.3:
        return face, face
    narrow = [f for f in latin if any(k in f"{f.family} {f.style}"
                                      for k in ("Condensed", "Narrow"))]
    pool = narrow if narrow and rng.random() < 0.5 else latin
    return face, pool[int(rng.integers(len(pool)))]


def _plate_colors(rng: np.random.Generator, text: str) -> tuple[tuple, tuple]:
    """Background and text colours of one plate as a camera sees it: the style's paint, dimmed
    or brightened by the light (real crops are often dark navy with grey text), tinted a
    little."""
    if len(text) == 8:  # six characters after the office letter: a green plate
        bg, fg, _ = STYLES[2]
    else:
        weights = np.array([style[2] for style in STYLES[:2]])
        style = int(rng.choice(2, p=weights / weights.sum()))
        bg, fg, _ = STYLES[style]
        if style == 0:  # blue
            mix = rng.uniform(0, 1)
            bg = tuple((1 - mix) * a + mix * b for a, b in zip(bg, BRIGHT_BLUE, strict=True))
    light = rng.uniform(0.45, 1.2)
    tint = rng.uniform(0.85, 1.15, size=3)
    bg = np.clip(np.array(bg) * light * tint, 0, 255)
    fg = np.clip(np.array(fg) * rng.uniform(0.7, 1.05) * max(light, 0.7), 0, 255)
    return tuple(int(c) for c in bg), tuple(int(c) for c in fg)


def _surroundings(plate: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Put the plate on a patch of car body (a flat, noisy colour) and crop it loosely, or
    tightly as detector boxes and plate data sets do: half the time the crop stops at the
    characters and cuts the plate's border off (LPRNet's 94 x 24 crops fill ~80% of their
    height with the characters). The characters (rows 25-115, 22 px in from either side of
    the drawn plate) are never cut."""
    w, h = plate.size
    left, right = (int(rng.uniform(-0.04, 0.08) * w) for _ in range(2))
    tight = rng.random() < 0.5
    top, bottom = (int((rng.uniform(-0.16, -0.04) if tight else rng.uniform(-0.04, 0.25)) * h)
                   for _ in range(2))
    body = tuple(int(c) for c in np.clip(rng.uniform(0, 220) + rng.uniform(-25, 25, 3), 0, 255))
    canvas = Image.new("RGB", (w + max(left, 0) + max(right, 0), h + max(top, 0) + max(bottom, 0)),
                       body)
    canvas.paste(plate, (max(left, 0), max(top, 0)))
    x0, y0 = max(-left, 0), max(-top, 0)
    return canvas.crop((x0, y0, canvas.width - max(-right, 0), canvas.height - max(-bottom, 0)))


def _slant(img: np.ndarray, lean: float, climb: float) -> np.ndarray:
    """A plate seen from the side: its characters lean (x moves by ``lean`` x the height
    above the bottom) and its rows climb (y moves by ``climb`` x the distance from the left);
    the crop is the axis-aligned box around the sheared one, its corners filled with the
    edge pixels, as a detector's box around a tilted plate holds them."""
    h, w = img.shape[:2]
    m = np.array([[1.0, -lean, lean * h], [-climb, 1.0, 0.0]])
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=float) @ m.T
    (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
    m[:, 2] -= (x0, y0)
    size = (max(1, math.ceil(x1 - x0)), max(1, math.ceil(y1 - y0)))
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _climb(rng: np.random.Generator) -> float:
    """How steeply a slanted plate's rows climb: mostly a few degrees, but a third of the
    time 7-12 degrees, as in parking-lot photos taken from a corner (CCPD-style crops, where
    the axis-aligned box around such a plate squeezes its characters into half the height
    and many of the worst misreads are)."""
    steep = rng.random() < 1 / 3
    size = rng.uniform(0.12, 0.22) if steep else rng.uniform(0.0, 0.12)
    return float(size if rng.random() < 0.5 else -size)


def render_plate(text: str, face: FontFace, rng: np.random.Generator, *,
                 height: int | None = 32, latin_face: FontFace | None = None) -> np.ndarray:
    """Draw ``text`` (from :func:`plate_text`) as a degraded plate crop, H x W x 3 RGB.

    ``face`` draws the province character; ``latin_face`` (default ``face``) the letters and
    digits, which on real plates are a narrow, even-stroked sans unlike the CJK font's own.
    """
    from ..data.augment import augment_line

    bg, fg = _plate_colors(rng, text)
    cell_w, cell_h, gap = 45, 90, 12
    width = 2 * 22 + len(text) * cell_w + (len(text) - 1) * gap + 20  # + room for the dot
    plate = Image.new("RGB", (width, 140), bg)
    draw = ImageDraw.Draw(plate)
    draw.rectangle((5, 5, width - 6, 134), outline=fg, width=3)
    x = 22
    # Plate letters are a little heavier than most text faces; the province character keeps
    # its strokes apart (bolding a 16-stroke hanzi squeezed to half its width makes a blob
    # no real plate shows).
    stroke = int(rng.integers(0, 4))
    for i, ch in enumerate(text):
        if i == 0:  # the province: wider than the letters, as real plates draw it
            glyph = _glyph(ch, face, cell_w + 12, cell_h, fg, min(stroke, 2), squeeze=0.7)
        else:
            glyph = _glyph(ch, latin_face or face, cell_w, cell_h, fg, stroke)
        plate.paste(glyph, (x - (glyph.width - cell_w) // 2, 25), glyph)
        x += cell_w + gap
        if i == 1:  # the separator dot after the province and office letter
            draw.ellipse((x - 2, 64, x + 8, 74), fill=fg)
            x += 20
    if rng.random() < 0.85:
        plate = _surroundings(plate, rng)
    if rng.random() < 0.4:  # shot from the side: a quarter of real crops lean or tilt visibly
        plate = Image.fromarray(_slant(np.asarray(plate), rng.uniform(-0.35, 0.35),
                                       _climb(rng)))
    # Often shot small: down to 20-40 px high before the usual degradations; and plate data
    # sets often store crops resized to a fixed box (LPRNet's 94 x 24 stretches them ~1.25x).
    h = int(rng.integers(20, 44))
    stretch = rng.uniform(0.85, 1.35)
    img = np.asarray(plate.resize((max(8, round(plate.width * h / plate.height * stretch)), h),
                                  Image.BILINEAR))
    img = augment_line(img, rng, p=0.8)
    if height is not None:
        w = max(1, int(img.shape[1] * height / img.shape[0]))
        img = np.asarray(Image.fromarray(img).resize((w, height), Image.BILINEAR))
    return np.ascontiguousarray(img)
