"""Colours and backgrounds of a rendered line, and the text composited over them.

Text and background colours keep at least ``min_contrast`` luma apart; backgrounds (flat,
gradient, noise, paper) vary within the contrast to spare, so no background ever swallows
the text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from . import effects
from .effects import luma

if TYPE_CHECKING:
    from .render import RenderConfig

BACKGROUNDS = ("flat", "gradient", "noise", "paper")


def _colors(rng: np.random.Generator, cfg: RenderConfig) -> tuple[np.ndarray, np.ndarray]:
    """Background and text colours (float RGB) at least ``min_contrast`` apart in luma."""
    dark = rng.random() < cfg.dark_bg_p
    if rng.random() < cfg.color_bg_p:
        bg = rng.uniform(0, 100, 3) if dark else rng.uniform(150, 255, 3)
    else:
        v = rng.uniform(0, 90) if dark else rng.uniform(170, 255)
        bg = v + rng.uniform(-12, 12, 3)
    bg = np.clip(bg, 0, 255)
    yb = luma(bg)
    for _ in range(30):
        if rng.random() < cfg.color_text_p:
            fg = rng.uniform(0, 255, 3)
        else:
            v = 255 * rng.beta(0.8, 4.0)  # mostly near-black (near-white on dark)
            v = 255 - v if yb < 128 else v
            fg = np.clip(v + rng.uniform(-10, 10, 3), 0, 255)
        if abs(luma(fg) - yb) >= cfg.min_contrast:
            return bg, fg
    return bg, np.full(3, 0.0 if yb >= 128 else 255.0)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean, unit-ish noise varying over ``cell`` pixels (bicubic-upsampled grid)."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, cfg: RenderConfig, h: int, w: int, bg: np.ndarray,
                amplitude: float) -> np.ndarray:
    """H x W x 3 float32 background around colour ``bg``; variations stay within
    ``amplitude`` luma so the text keeps its contrast."""
    p = np.asarray(cfg.background_weights, dtype=np.float64)
    kind = BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=p / p.sum()))]
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg.astype(np.float32)
    if kind == "flat" or amplitude <= 0:
        return img
    if kind == "gradient":
        angle = rng.normal(0, 0.6) if rng.random() < 0.7 else rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = xx * math.cos(angle) + yy * math.sin(angle)
        ramp -= ramp.min()
        ramp /= max(1e-6, float(ramp.max()))
        delta = rng.uniform(-1, 1) * amplitude
        tint = 1 + rng.uniform(-0.3, 0.3, 3).astype(np.float32)
        img += (ramp - 0.5)[:, :, None] * delta * tint
        return img
    if kind == "noise":
        field = _smooth_noise(rng, h, w, rng.uniform(1, 6))
        img += field[:, :, None] * (amplitude * rng.uniform(0.15, 0.35))
        return img
    # paper: blotches at two scales, fine grain, a few fibres, maybe a vignette
    field = _smooth_noise(rng, h, w, rng.uniform(h * 0.5, h * 2.0)) * 0.6
    field += _smooth_noise(rng, h, w, rng.uniform(2, 5)) * 0.25
    field += rng.standard_normal((h, w), dtype=np.float32) * 0.1
    img += field[:, :, None] * (amplitude * rng.uniform(0.2, 0.4))
    n_fibres = int(rng.integers(0, 4))
    for _ in range(n_fibres):
        pts = np.stack([rng.uniform(0, w, 3), rng.uniform(0, h, 3)], 1).astype(np.int32)
        shade = float(rng.uniform(-1, 1) * amplitude * 0.3)
        col = tuple(float(c) for c in np.clip(bg + shade, 0, 255))
        cv2.polylines(img, [pts], False, col, 1, cv2.LINE_AA)
    if rng.random() < 0.3:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2).astype(np.float32)
        img -= (d * amplitude * rng.uniform(0.2, 0.6))[:, :, None] * np.sign(luma(bg) - 128)
    return img


def composite(mask: np.ndarray, rng: np.random.Generator, cfg: RenderConfig) -> np.ndarray:
    """The text ``mask`` (H x W uint8 coverage) in a text colour over a background, with a
    display effect (:mod:`~duguang_ocr.synth.effects`) ``cfg.effect_p`` of the time:
    H x W x 3 float32 RGB."""
    h, w = mask.shape
    bg, fg = _colors(rng, cfg)
    contrast = abs(luma(fg) - luma(bg))
    spare = min(90.0, max(8.0, contrast - cfg.min_contrast))
    img = _background(rng, cfg, h, w, bg, spare)
    alpha = mask.astype(np.float32) * (1.0 / 255.0)
    text = fg.astype(np.float32)[None, None, :]
    if rng.random() < cfg.effect_p:
        kind = effects.pick(rng)
        under, fg = effects.layers(kind, alpha, bg, fg, rng)
        for cover, colour in under:
            img += (colour.astype(np.float32)[None, None, :] - img) * cover[:, :, None]
        shaded = effects.fill(kind, fg, h, w, rng)
        text = fg.astype(np.float32)[None, None, :] if shaded is None else shaded
    elif rng.random() < cfg.faded_p:
        alpha *= float(rng.uniform(min(1.0, cfg.min_contrast / max(contrast, 1e-6)), 1.0))
    img += (text - img) * alpha[:, :, None]
    return img
