"""Rendered measuring lines with known character boxes: mixed Chinese/English lines that
follow the usual typesetting conventions, and vertical (column) Chinese lines.

Used by bench_output_policy.py and bench_vertical.py to measure the output policies, the
character boxes and vertical reading; never for training. Every line depends only on
``(seed, index)``. Conventions of the mixed lines (GB/T 15834 style): full-width
punctuation after Chinese, half-width punctuation and single spaces inside English text,
decimal points inside numbers, and, per line, either a space or nothing between Chinese
and Latin runs (both styles are common).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

DATA = Path(__file__).resolve().parents[1] / "src" / "duguang_ocr" / "synth" / "data"
FONTS = [
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
]


@dataclass
class Line:
    text: str
    image: Image.Image
    boxes: list[tuple[float, float]]  # per character, x0/x1 (y0/y1 for a column) in px


def _vocab() -> tuple[list[str], list[str]]:
    zh = [w for w, _ in (ln.split("\t") for ln in
                        (DATA / "zh_words.tsv").read_text(encoding="utf-8").splitlines()[:3000])
          if len(w) >= 2]
    lex = json.loads((DATA / "lexicon.json").read_text(encoding="utf-8"))
    return zh, [w for w in lex["en_words"] if w.isalpha() and len(w) > 1]


def _latin(rng: np.random.Generator, en: list[str]) -> str:
    kind = rng.integers(4)
    if kind == 0:
        return " ".join(rng.choice(en, size=int(rng.integers(1, 4))))
    if kind == 1:
        return f"{rng.integers(1, 1000)}.{rng.integers(0, 100):02d}"
    if kind == 2:
        return "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ"), size=2)) + str(
            rng.integers(100, 99999))
    return rng.choice(en).capitalize()


def mixed_text(rng: np.random.Generator) -> str:
    """One mixed line following the conventions of the module docstring."""
    zh, en = _vocab()
    gap = " " if rng.random() < 0.5 else ""
    parts, prev_zh = [], None
    for k in range(int(rng.integers(2, 5))):
        is_zh = prev_zh is None and rng.random() < 0.6 or prev_zh is False
        if is_zh:
            seg = "".join(rng.choice(zh, size=int(rng.integers(1, 3))))
            if parts:
                parts.append(gap)
            parts.append(seg)
            if rng.random() < 0.4 and k < 3:
                parts.append(str(rng.choice(list("，：；、"))))
        else:
            seg = _latin(rng, en)
            if rng.random() < 0.2:
                seg += str(rng.choice([",", ":"])) + " " + _latin(rng, en)
            if parts and parts[-1] not in "，：；、":
                parts.append(gap)
            parts.append(seg)
        prev_zh = is_zh
    text = "".join(parts)
    if rng.random() < 0.5:
        text += "。" if not text[-1].isascii() else "."
    return text


def render_line(text: str, font_path: str, index: int = 0, height: int = 48) -> Line:
    """Dark text on a light background, with each character's x0/x1."""
    font = ImageFont.truetype(font_path, int(height * 0.62), index=index)
    pad = height // 3
    x = [pad + font.getlength(text[:i]) for i in range(len(text) + 1)]
    im = Image.new("RGB", (int(x[-1]) + pad, height), (248, 248, 244))
    ImageDraw.Draw(im).text((pad, height // 2), text, fill=(25, 25, 30), font=font, anchor="lm")
    return Line(text, im, [(x[i], x[i + 1]) for i in range(len(text))])


def mixed_lines(n: int, seed: int = 0) -> list[Line]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        path, index = FONTS[i % len(FONTS)]
        out.append(render_line(mixed_text(rng), path, index))
    return out


def render_column(text: str, font_path: str, index: int = 0, width: int = 48,
                  spacing: float = 0.15) -> Line:
    """Upright characters stacked top to bottom (vertical Chinese), with each y0/y1."""
    size = int(width * 0.7)
    font = ImageFont.truetype(font_path, size, index=index)
    step = size * (1 + spacing)
    pad = width * 0.3
    h = int(2 * pad + step * len(text))
    im = Image.new("RGB", (width, h), (246, 244, 238))
    draw = ImageDraw.Draw(im)
    boxes = []
    for i, ch in enumerate(text):
        y = pad + i * step
        draw.text((width / 2, y + size / 2), ch, fill=(20, 20, 28), font=font, anchor="mm")
        boxes.append((y, y + size))
    return Line(text, im, boxes)


def column_lines(n: int, seed: int = 0) -> list[Line]:
    """Vertical Chinese lines of 3-10 characters."""
    zh, _ = _vocab()
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, 10_000 + i])
        text = ""
        while len(text) < int(rng.integers(3, 11)):
            text += rng.choice(zh)
        path, index = FONTS[i % len(FONTS)]
        out.append(render_column(text[:10], path, index))
    return out
