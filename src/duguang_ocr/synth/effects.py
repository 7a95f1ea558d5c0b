"""Display-type effects of signs, posters, packaging and web banners: drop shadows, outlines,
3-D extrusion, embossing, two-tone fills and the halo of lit signs.

Scene and born-digital words are often drawn this way (IIIT5K's ``Bank`` in white with a
black outline, ``Attention`` with a shadow, an embossed ``STATE``), and a model that only
ever saw flat text on a background reads the outline as a second letter. Each effect is a
set of layers drawn under the text (:func:`layers`) plus, for some, the text's own fill
(:func:`fill`); :func:`duguang_ocr.synth.backgrounds.composite` paints them in order.
Sizes are fractions of the crop height, so a 64-px rendering looks like a 28-px one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

EFFECTS = ("shadow", "outline", "extrude", "emboss", "two_tone", "glow")

Layer = tuple[np.ndarray, np.ndarray]  # (H x W coverage in [0, 1], RGB colour)


def luma(rgb: np.ndarray) -> float:
    """Perceived lightness (Rec. 601 luma, 0..255) of an RGB colour."""
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _shift(alpha: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``alpha`` moved by (dx, dy) pixels (sub-pixel, zeros shifted in)."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _contrasting(rng: np.random.Generator, against: np.ndarray, gap: float = 90.0) -> np.ndarray:
    """A colour at least ``gap`` luma from ``against``: near black or white, or a hue."""
    light = luma(against) < 128
    for _ in range(20):
        if rng.random() < 0.6:
            v = rng.uniform(215, 255) if light else rng.uniform(0, 45)
            c = np.clip(v + rng.uniform(-10, 10, 3), 0, 255)
        else:
            c = rng.uniform(0, 255, 3)
        if abs(luma(c) - luma(against)) >= gap:
            return c
    return np.full(3, 255.0 if light else 0.0)


def _direction(rng: np.random.Generator) -> tuple[float, float]:
    """A light direction: mostly casting down-right, as sign shadows are drawn."""
    angle = rng.normal(math.pi / 4, 0.5) if rng.random() < 0.75 else rng.uniform(0, 2 * math.pi)
    return math.cos(angle), math.sin(angle)


def pick(rng: np.random.Generator) -> str:
    """One of :data:`EFFECTS`, uniformly."""
    return EFFECTS[int(rng.integers(len(EFFECTS)))]


def layers(kind: str, alpha: np.ndarray, bg: np.ndarray, fg: np.ndarray,
           rng: np.random.Generator) -> tuple[list[Layer], np.ndarray]:
    """Layers to paint under the text for effect ``kind``, and the text colour to use (the
    emboss effect draws the text close to its background: the relief carries it)."""
    h = alpha.shape[0]
    if kind == "shadow":
        dx, dy = _direction(rng)
        d = rng.uniform(0.03, 0.1) * h
        shadow = _shift(alpha, dx * d, dy * d)
        if rng.random() < 0.5:
            shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(0.02, 0.06) * h)
        # A dark shadow where it shows (lit backgrounds), else a coloured one or a glow.
        colour = (bg * rng.uniform(0, 0.4) if luma(bg) > 90 and rng.random() < 0.7
                  else _contrasting(rng, fg, 60.0))
        return [(shadow * rng.uniform(0.6, 1.0), colour)], fg
    if kind == "outline":
        r = max(1, round(rng.uniform(0.025, 0.08) * h))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        ring = cv2.dilate(alpha, kernel)
        out = [(ring, _contrasting(rng, fg))]
        if rng.random() < 0.3:  # a second, outer outline or a shadow of the first
            dx, dy = _direction(rng)
            out.insert(0, (_shift(ring, dx * r * 1.5, dy * r * 1.5), _contrasting(rng, out[0][1])))
        return out, fg
    if kind == "extrude":
        dx, dy = _direction(rng)
        step = max(0.6, 0.012 * h)
        depth = int(rng.integers(3, 9))
        solid = np.max([_shift(alpha, dx * step * k, dy * step * k)
                        for k in range(1, depth + 1)], axis=0)
        side = fg * rng.uniform(0.3, 0.6) if luma(fg) > 60 else _contrasting(rng, fg, 60.0)
        return [(solid, side)], fg
    if kind == "emboss":
        o = max(0.6, rng.uniform(0.015, 0.04) * h)
        light = np.clip(bg + rng.uniform(50, 110), 0, 255)
        dark = np.clip(bg - rng.uniform(50, 110), 0, 255)
        sign = 1 if rng.random() < 0.5 else -1  # raised or engraved
        face = bg + (fg - bg) * rng.uniform(0.4, 0.8)
        return [(_shift(alpha, -sign * o, -sign * o), light),
                (_shift(alpha, sign * o, sign * o), dark)], face
    if kind == "two_tone":
        return [], fg  # the fill does it
    if kind == "glow":  # a lit sign: a pale core in a halo of its colour
        r = max(1, round(rng.uniform(0.03, 0.08) * h))
        halo = cv2.GaussianBlur(cv2.dilate(alpha, np.ones((2 * r + 1, 2 * r + 1), np.uint8)),
                                (0, 0), r)
        colour = fg if luma(fg) > 60 and np.ptp(fg) > 60 else rng.uniform(0, 255, 3)
        core = np.clip(colour + rng.uniform(120, 255), 0, 255)
        return [(np.clip(halo * rng.uniform(0.7, 1.2), 0, 1), colour)], core
    raise ValueError(f"unknown effect {kind!r}; expected one of {EFFECTS}")


def fill(kind: str, fg: np.ndarray, h: int, w: int,
         rng: np.random.Generator) -> np.ndarray | None:
    """Per-pixel text colour for ``two_tone`` (a vertical blend between two colours of the
    same lightness side), else None (the flat ``fg``)."""
    if kind != "two_tone":
        return None
    other = np.clip(fg + rng.uniform(-110, 110, 3), 0, 255)
    if abs(luma(other) - luma(fg)) > 60:  # keep the contrast the background was chosen for
        other = (other + fg) / 2
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    if rng.random() < 0.5:
        t = np.abs(2 * t - 1)  # light in the middle, as chrome lettering
    return (fg * (1 - t) + other * t).astype(np.float32) * np.ones((1, w, 1), np.float32)
