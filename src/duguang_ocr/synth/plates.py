"""Synthetic Chinese licence plates: a common line-recognition task that general text lines
do not teach (fixed layout, province character first, a separator dot that is not part of
the plate number, white on blue or black on yellow/green, usually tiny and blurred).

``plate_text`` draws a plausible number (province, issuing-office letter, five characters;
six on green new-energy plates), ``render_plate`` draws it in the standard layout and then
degrades it like a camera crop: loose or tight crop, small tilt and keystone, downscaling to
a few dozen pixels high, blur, noise and JPEG (:func:`duguang_ocr.data.augment.augment_line`).
The label never contains the separator dot, as plate data sets write it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .fonts import FontFace, load_font

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates never use I and O
DIGITS = "0123456789"

# (background RGB, text RGB, weight): blue (ordinary cars), yellow (large vehicles), green
# (new-energy cars, six characters after the office letter).
STYLES = (((18, 62, 168), (245, 245, 245), 0.7), ((226, 178, 32), (20, 20, 20), 0.15),
          ((96, 190, 110), (15, 15, 15), 0.15))


def plate_text(rng: np.random.Generator, green: bool = False) -> str:
    """A plate number without the separator dot, e.g. ``皖A12C34``."""
    n = 6 if green else 5
    letters = int(rng.integers(0, 3))  # most plates hold 0-2 letters among the digits
    body = [str(rng.choice(list(DIGITS))) for _ in range(n)]
    for i in rng.choice(n, size=letters, replace=False):
        body[int(i)] = str(rng.choice(list(LETTERS)))
    return str(rng.choice(list(PROVINCES))) + str(rng.choice(list(LETTERS))) + "".join(body)


def _glyph(ch: str, face: FontFace, w: int, h: int, color: tuple,
           stroke: int = 0) -> Image.Image:
    """``ch`` drawn (``stroke`` px bolder) and stretched to fill a ``w`` x ``h`` cell (plate
    glyphs are tall and narrow)."""
    font = load_font(face.path, face.index, h)
    x0, y0, x1, y1 = font.getbbox(ch, stroke_width=stroke)
    img = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
    ImageDraw.Draw(img).text((-x0, -y0), ch, fill=255, font=font, stroke_width=stroke,
                             stroke_fill=255)
    mask = img.resize((w, h), Image.BILINEAR)
    out = Image.new("RGBA", (w, h), color + (0,))
    out.putalpha(mask)
    return out


def render_plate(text: str, face: FontFace, rng: np.random.Generator, *,
                 height: int | None = 32) -> np.ndarray:
    """Draw ``text`` (from :func:`plate_text`) as a degraded plate crop, H x W x 3 RGB."""
    from ..data.augment import augment_line

    if len(text) == 8:  # six characters after the office letter: a green plate
        bg, fg, _ = STYLES[2]
    else:
        weights = np.array([style[2] for style in STYLES[:2]])
        bg, fg, _ = STYLES[int(rng.choice(2, p=weights / weights.sum()))]
    cell_w, cell_h, gap = 45, 90, 12
    width = 2 * 22 + len(text) * cell_w + (len(text) - 1) * gap + 20  # + room for the dot
    plate = Image.new("RGB", (width, 140), tuple(int(c) for c in bg))
    draw = ImageDraw.Draw(plate)
    draw.rectangle((5, 5, width - 6, 134), outline=fg, width=3)
    x = 22
    stroke = int(rng.integers(0, 4))  # plate fonts are heavier than most text faces
    for i, ch in enumerate(text):
        glyph = _glyph(ch, face, cell_w, cell_h, fg, stroke)
        plate.paste(glyph, (x, 25), glyph)
        x += cell_w + gap
        if i == 1:  # the separator dot after the province and office letter
            draw.ellipse((x - 2, 64, x + 8, 74), fill=fg)
            x += 20
    img = np.asarray(plate)
    # Often shot small: down to 20-40 px high before the usual degradations.
    h = int(rng.integers(20, 44))
    img = np.asarray(Image.fromarray(img).resize((max(8, round(img.shape[1] * h / 140)), h),
                                                 Image.BILINEAR))
    img = augment_line(img, rng, p=0.8)
    if height is not None:
        w = max(1, int(img.shape[1] * height / img.shape[0]))
        img = np.asarray(Image.fromarray(img).resize((w, height), Image.BILINEAR))
    return np.ascontiguousarray(img)
