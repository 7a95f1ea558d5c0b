"""Render one text line as a detector-style crop: the image a recognizer is shown at run time.

A line is drawn at a random size (28-64 px em by default) with random letter spacing and
weight, warped by a small rotation, shear, perspective and sinusoidal curvature, cropped
with tight-to-loose margins (as detector boxes are), and composited over a flat, gradient,
noisy or paper-like background with text/background contrast guaranteed. Then come camera
and scanner faults: blur, low resolution, sensor noise and JPEG artefacts, and finally the
resize to the model height. All randomness comes from the ``numpy.random.Generator``
passed in, so a seed always reproduces the same pixels.

Geometry is planned before any pixel is drawn (:mod:`.layout`): the output size is known
early, so ``max_width_ratio`` can reject a line that would not fit the model's chunk for the
price of a few font-metric calls. Colours and backgrounds are :mod:`.backgrounds`'; the
capture faults share their steps with train-time augmentation (:mod:`duguang_ocr.degrade`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from ..degrade import jpeg_roundtrip, resample, sensor_noise
from .backgrounds import BACKGROUNDS, composite
from .fonts import FontFace, load_font
from .layout import add_clutter, plan_crop, text_mask, typeset


class LineTooWide(ValueError):
    """The planned crop is wider than ``max_width_ratio`` times its height.

    Attributes:
        ratio: the planned width / height.
        limit: the ratio that was asked for.
    """

    def __init__(self, ratio: float, limit: float):
        super().__init__(f"line width/height {ratio:.2f} exceeds {limit:.2f}")
        self.ratio = ratio
        self.limit = limit


@dataclass(frozen=True)
class RenderConfig:
    """Ranges and probabilities (``*_p``) of every random choice ``render_line`` makes.

    Lengths are fractions of the font size (``letter_spacing``) or of the text box height
    (margins, curvature, perspective) so a 64 px rendering varies like a 28 px one; blur
    sigma is in pixels of a 32 px-high line and scaled to the rendering. Ranges are
    ``(low, high)``, sampled uniformly.
    """

    font_size: tuple[int, int] = (28, 64)
    shaping_p: float = 0.5  # HarfBuzz layout (kerning, fi/fl ligatures) where Pillow has raqm
    spacing_p: float = 0.3
    letter_spacing: tuple[float, float] = (-0.05, 0.35)
    bold_p: float = 0.06
    # CJK faces here come in one weight while real Chinese text is often bold (headings,
    # bold Song/Hei in documents): embolden them more often.
    cjk_bold_p: float = 0.2
    margin_y: tuple[float, float] = (0.02, 0.45)  # per side, of the text box height
    tight_p: float = 0.08  # a crop this often cuts slightly into the box (tight detectors)
    tight_cut: float = 0.06  # at most, per side, of the box height
    margin_x: tuple[float, float] = (0.0, 0.7)  # per side, of the text box height
    tight_x_p: float = 0.03  # a crop this often clips the first or last letter or digit
    tight_x_cut: float = 0.15  # at most, of that glyph's ink width (an O cut more reads C)
    # A crop this often ends flush with the ink on one side, as page segmenters cut lines:
    # the model reads on a black canvas, and a `-` or `.` touching the right edge merged
    # with it (4 of 70 en_print lines; benchmarks/edge_margin.py).
    flush_x_p: float = 0.05
    dark_bg_p: float = 0.15
    color_bg_p: float = 0.15
    color_text_p: float = 0.15
    min_contrast: float = 80.0  # luma difference (0..255) between text and background
    faded_p: float = 0.1  # text drawn with partial opacity (contrast still >= the minimum)
    effect_p: float = 0.04  # shadow, outline, 3-D, emboss or two-tone fill (synth/effects.py)
    background_weights: tuple[float, float, float, float] = (0.35, 0.2, 0.2, 0.25)
    italic_p: float = 0.06
    shear: tuple[float, float] = (0.1, 0.3)
    rotate_p: float = 0.3
    max_angle: float = 2.0  # degrees
    perspective_p: float = 0.2
    perspective: float = 0.08  # corner jitter, of the box height
    curve_p: float = 0.06
    curve_amplitude: tuple[float, float] = (0.04, 0.12)  # of the box height
    curve_periods: tuple[float, float] = (0.3, 1.2)  # sine periods over the line
    # Words set along a circle (round signs, seals, bottle labels; IIIT5K's arched house
    # names): each glyph turns with the arc. Sagitta: how far the ends sit below (or above)
    # the middle, of the box height.
    arc_p: float = 0.01
    arc_sagitta: tuple[float, float] = (0.1, 0.6)
    underline_p: float = 0.05
    border_p: float = 0.08  # table/frame lines in the margins
    neighbour_p: float = 0.06  # fragments of the lines above/below, cut by the crop
    blur_p: float = 0.25
    blur_sigma: tuple[float, float] = (0.3, 1.1)
    motion_blur_p: float = 0.04
    lowres_p: float = 0.12
    lowres_height: tuple[float, float] = (16.0, 28.0)  # down to this (in 32-px-line pixels), back up
    noise_p: float = 0.3
    noise_sigma: tuple[float, float] = (2.0, 14.0)
    jpeg_p: float = 0.3
    jpeg_quality: tuple[int, int] = (25, 90)
    # Bilevel scans (fax, archive TIFF, UW3-style page images): the scanner thresholds the
    # grey page, so strokes come out pure black and white with stair-stepped edges, and a
    # thin comma turns into a block that reads as a period. No sensor noise on those.
    binarize_p: float = 0.03
    binarize_offset: tuple[float, float] = (-0.2, 0.2)  # threshold shift, of the ink-paper gap
    resize_area_p: float = 0.5  # final downscale with INTER_AREA, else INTER_LINEAR

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_p") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name} must be a probability in [0, 1], got {value}")
            if isinstance(value, tuple) and len(value) == 2 and value[0] > value[1]:
                raise ValueError(f"{f.name} must be (low, high) with low <= high, got {value}")
        if self.font_size[0] < 4:
            raise ValueError(f"font_size must be >= 4 px, got {self.font_size}")
        if len(self.background_weights) != len(BACKGROUNDS) or sum(self.background_weights) <= 0:
            raise ValueError(f"background_weights needs {len(BACKGROUNDS)} weights, sum > 0")

    @classmethod
    def plain(cls, **overrides) -> RenderConfig:
        """Dark text on a flat light background, no distortion or degradation: for tests,
        debugging and curriculum starts."""
        off = {f.name: 0.0 for f in fields(cls) if f.name.endswith("_p")}
        off.update(background_weights=(1.0, 0.0, 0.0, 0.0), margin_y=(0.1, 0.2),
                   margin_x=(0.1, 0.2))
        off.update(overrides)
        return cls(**off)

    @classmethod
    def scene(cls, **overrides) -> RenderConfig:
        """Harsher capture for scene-text words (signs, shop fronts, street views): the
        misread real crops are small, blurred, slanted, low in contrast and coloured, more
        often and more strongly than the default's document-like lines."""
        harsh = dict(bold_p=0.25, italic_p=0.1, effect_p=0.35, margin_y=(0.0, 0.35),
                     tight_p=0.2, margin_x=(0.0, 0.5), tight_x_p=0.2, tight_x_cut=0.2,
                     dark_bg_p=0.3, color_bg_p=0.5, color_text_p=0.5, min_contrast=50.0,
                     faded_p=0.2, rotate_p=0.6, max_angle=6.0,
                     perspective_p=0.5, perspective=0.18, curve_p=0.1, arc_p=0.1,
                     arc_sagitta=(0.2, 1.2), border_p=0.1,
                     neighbour_p=0.12, blur_p=0.5, blur_sigma=(0.4, 1.6), motion_blur_p=0.1,
                     lowres_p=0.4, lowres_height=(10.0, 22.0), noise_p=0.5,
                     noise_sigma=(3.0, 18.0), jpeg_p=0.5, jpeg_quality=(15, 70),
                     binarize_p=0.0)
        harsh.update(overrides)
        return cls(**harsh)

    def replace(self, **changes) -> RenderConfig:
        return replace(self, **changes)


def render_line(
    text: str,
    font_path: str | os.PathLike | FontFace,
    rng: np.random.Generator,
    *,
    height: int | None = 32,
    config: RenderConfig | None = None,
    font_index: int = 0,
    max_width_ratio: float | None = None,
) -> np.ndarray:
    """Render ``text`` as a cropped text-line image (H x W x 3 uint8 RGB).

    Args:
        text: the label; the font must cover every character (see ``FontSet.pick``):
            missing glyphs are drawn as boxes, not detected here.
        font_path: font file, or a ``FontFace`` (then ``font_index`` is taken from it).
        rng: source of every random choice; equal generator states give equal pixels.
        height: output height (keep-ratio resize, width ``int(W * height / H)`` as the
            model's own resize computes it); None keeps the rendering resolution.
        config: ranges and probabilities (default ``RenderConfig()``).
        font_index: face index in a .ttc/.otc collection.
        max_width_ratio: raise ``LineTooWide`` (before drawing anything) if the crop's
            width/height would exceed this; e.g. 300/32 for one 300-px model chunk.

    Raises:
        LineTooWide: the planned crop is wider than ``max_width_ratio`` allows.
        ValueError: ``text`` is empty.
    """
    if not text:
        raise ValueError("cannot render an empty text")
    cfg = config or RenderConfig()
    bold_p = None
    if isinstance(font_path, FontFace):
        if font_path.is_cjk:
            bold_p = max(cfg.bold_p, cfg.cjk_bold_p)
        font_path, font_index = font_path.path, font_path.index
    size = int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1))
    font = load_font(str(font_path), font_index, size, shaped=rng.random() < cfg.shaping_p)
    lay, stroke = typeset(text, font, size, rng, cfg, bold_p)
    plan = plan_crop(lay, rng, cfg)
    if max_width_ratio is not None and plan.width / plan.height > max_width_ratio:
        raise LineTooWide(plan.width / plan.height, max_width_ratio)
    mask = text_mask(text, font, lay, stroke, plan)
    add_clutter(mask, text, font, size, lay, plan, rng, cfg)
    out = capture_faults(composite(mask, rng, cfg), rng, cfg)
    # Resize to the model height, as the recognizer's keep-ratio resize would.
    area = rng.random() < cfg.resize_area_p
    if height is not None and out.shape[0] != height:
        h_out, w_out = out.shape[:2]
        interp = cv2.INTER_AREA if area and h_out > height else cv2.INTER_LINEAR
        out = cv2.resize(out, (max(1, int(w_out * height / h_out)), height),
                         interpolation=interp)
    return np.ascontiguousarray(out)


def binarize(img: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """A bilevel scan of an H x W x 3 float32 rendering: grey levels split at Otsu's threshold
    moved by ``offset`` x the spread between the two classes' means (negative: thinner dark
    strokes), each side painted black or white. Returns float32."""
    grey = np.clip(img.mean(axis=2), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark, light = grey[grey <= otsu], grey[grey > otsu]
    spread = float(light.mean() - dark.mean()) if dark.size and light.size else 0.0
    bits = grey > otsu + offset * spread
    return np.repeat(np.where(bits, 255.0, 0.0).astype(np.float32)[..., None], 3, axis=2)


def capture_faults(img: np.ndarray, rng: np.random.Generator, cfg: RenderConfig) -> np.ndarray:
    """Camera and scanner faults on an H x W x 3 float32 rendering, in its own pixels (blur
    sigmas are given for a 32-px line): blur, motion blur, low resolution, a bilevel scan or
    sensor noise, JPEG. Returns uint8."""
    h_out, w_out = img.shape[:2]
    scale = h_out / 32.0
    if rng.random() < cfg.blur_p:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(*cfg.blur_sigma) * scale))
    if rng.random() < cfg.motion_blur_p:
        k = max(3, int(round(rng.uniform(2, 5) * scale)) | 1)
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(-30, 30)), 1)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        kernel /= max(1e-6, float(kernel.sum()))
        img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    if rng.random() < cfg.lowres_p:
        lh = round(h_out * rng.uniform(*cfg.lowres_height) / 32.0)
        if 2 <= lh < h_out:
            lw = max(1, round(w_out * lh / h_out))
            interp = cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_NEAREST
            img = resample(img, (lw, lh), interp)
    # No draw when off, so configs without it (RenderConfig.plain()) keep their pixels.
    if cfg.binarize_p and rng.random() < cfg.binarize_p:
        img = binarize(img, float(rng.uniform(*cfg.binarize_offset)))
    elif rng.random() < cfg.noise_p:
        sigma = float(rng.uniform(*cfg.noise_sigma))
        img += sensor_noise(rng, h_out, w_out, sigma, color_share=0.3)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg_p:
        out = jpeg_roundtrip(out, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    return out
