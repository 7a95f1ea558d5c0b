"""Render one text line as a detector-style crop: the image a recognizer is shown at run time.

A line is drawn at a random size (28-64 px em by default) with random letter spacing and
weight, warped by a small rotation, shear, perspective and sinusoidal curvature, cropped
with tight-to-loose margins (as detector boxes are), and composited over a flat, gradient,
noisy or paper-like background with text/background contrast guaranteed. Then come camera
and scanner faults: blur, low resolution, sensor noise and JPEG artefacts, and finally the
resize to the model height. All randomness comes from the ``numpy.random.Generator``
passed in, so a seed always reproduces the same pixels.

Geometry is planned before any pixel is drawn: the output size is known early, so
``max_width_ratio`` can reject a line that would not fit the model's chunk for the price of
a few font-metric calls.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .fonts import FontFace, load_font

BACKGROUNDS = ("flat", "gradient", "noise", "paper")


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
    spacing_p: float = 0.3
    letter_spacing: tuple[float, float] = (-0.05, 0.35)
    bold_p: float = 0.06
    margin_y: tuple[float, float] = (0.02, 0.45)  # per side, of the text box height
    tight_p: float = 0.08  # a crop this often cuts slightly into the box (tight detectors)
    tight_cut: float = 0.06  # at most, per side, of the box height
    margin_x: tuple[float, float] = (0.0, 0.7)  # per side, of the text box height
    dark_bg_p: float = 0.15
    color_bg_p: float = 0.15
    color_text_p: float = 0.15
    min_contrast: float = 80.0  # luma difference (0..255) between text and background
    faded_p: float = 0.1  # text drawn with partial opacity (contrast still >= the minimum)
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

    def replace(self, **changes) -> RenderConfig:
        return replace(self, **changes)


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _colors(rng: np.random.Generator, cfg: RenderConfig) -> tuple[np.ndarray, np.ndarray]:
    """Background and text colours (float RGB) at least ``min_contrast`` apart in luma."""
    dark = rng.random() < cfg.dark_bg_p
    if rng.random() < cfg.color_bg_p:
        bg = rng.uniform(0, 100, 3) if dark else rng.uniform(150, 255, 3)
    else:
        v = rng.uniform(0, 90) if dark else rng.uniform(170, 255)
        bg = v + rng.uniform(-12, 12, 3)
    bg = np.clip(bg, 0, 255)
    yb = _luma(bg)
    for _ in range(30):
        if rng.random() < cfg.color_text_p:
            fg = rng.uniform(0, 255, 3)
        else:
            v = 255 * rng.beta(0.8, 4.0)  # mostly near-black (near-white on dark)
            v = 255 - v if yb < 128 else v
            fg = np.clip(v + rng.uniform(-10, 10, 3), 0, 255)
        if abs(_luma(fg) - yb) >= cfg.min_contrast:
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
        img -= (d * amplitude * rng.uniform(0.2, 0.6))[:, :, None] * np.sign(_luma(bg) - 128)
    return img


@dataclass(frozen=True)
class _Layout:
    xs: list[float] | None  # per-character x (None: the string is drawn in one call)
    x0: float  # text box in layout coordinates (origin: left end of the baseline)
    y0: float
    x1: float
    y1: float
    underline: tuple[float, float] | None  # (y, thickness)


def _layout(text: str, font, size: int, spacing: float, stroke: int,
            underline: tuple[float, float] | None) -> _Layout:
    """Where the glyphs go and the line's box: ink extents, widened vertically to at least
    a nominal cap-height..baseline band so a line of "一" or "..." is still line-shaped."""
    if spacing == 0.0:
        xs = None
        left, t, r, b = font.getbbox(text, anchor="ls", stroke_width=stroke)
    else:
        xs, x = [], 0.0
        left = t = math.inf
        r = b = -math.inf
        for ch in text:
            xs.append(x)
            if ch != " ":
                cl, ct, cr, cb = font.getbbox(ch, anchor="ls", stroke_width=stroke)
                left, t, r, b = min(left, x + cl), min(t, ct), max(r, x + cr), max(b, cb)
            x += font.getlength(ch) + spacing
        if left == math.inf:  # only spaces: give the box the advance width
            left, t, r, b = 0.0, -size * 0.7, max(1.0, x), 0.0
    y0, y1 = min(t, -0.72 * size), max(b, 0.05 * size)
    if underline is not None:
        y1 = max(y1, underline[0] + underline[1])
    return _Layout(xs, float(left), float(y0), float(max(r, left + 1)), float(y1), underline)


def _draw_text(draw: ImageDraw.ImageDraw, text: str, font, lay: _Layout, ox: float, oy: float,
               stroke: int) -> None:
    """Draw ``text`` with its baseline origin at (ox, oy) of the mask."""
    kw = {"font": font, "fill": 255, "anchor": "ls"}
    if stroke:
        kw.update(stroke_width=stroke, stroke_fill=255)
    if lay.xs is None:
        draw.text((round(ox), round(oy)), text, **kw)
    else:
        for ch, x in zip(text, lay.xs):
            if ch != " ":
                draw.text((round(ox + x), round(oy)), ch, **kw)
    if lay.underline is not None:
        uy, th = lay.underline
        draw.rectangle([round(ox + lay.x0), round(oy + uy), round(ox + lay.x1),
                        round(oy + uy + th - 1)], fill=255)


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
    if isinstance(font_path, FontFace):
        font_path, font_index = font_path.path, font_path.index
    cfg = config or RenderConfig()

    # ---- typography
    size = int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1))
    font = load_font(str(font_path), font_index, size)
    spacing = 0.0
    if rng.random() < cfg.spacing_p and len(text) > 1:
        spacing = float(rng.uniform(*cfg.letter_spacing) * size)
    stroke = max(1, round(size / 32)) if rng.random() < cfg.bold_p else 0
    underline = None
    if rng.random() < cfg.underline_p:
        underline = (float(rng.uniform(0.08, 0.22) * size), float(max(1, round(size / 20))))
    lay = _layout(text, font, size, spacing, stroke, underline)
    box_h = lay.y1 - lay.y0

    # ---- geometry: box corners in layout coords -> destination quad
    src = np.float32([[lay.x0, lay.y0], [lay.x1, lay.y0], [lay.x1, lay.y1], [lay.x0, lay.y1]])
    cx, cy = (lay.x0 + lay.x1) / 2, (lay.y0 + lay.y1) / 2
    a = np.eye(3)
    if rng.random() < cfg.italic_p:
        sh = rng.uniform(*cfg.shear)
        a = np.array([[1, -sh, sh * cy], [0, 1, 0], [0, 0, 1]]) @ a
    if rng.random() < cfg.rotate_p:
        # Long lines tilt less (a detector's box follows the line), so cap the vertical
        # growth the tilt causes at a third of the box height.
        width = lay.x1 - lay.x0
        cap = math.degrees(math.atan2(box_h / 3, max(width, 1.0)))
        th = math.radians(rng.uniform(-1, 1) * min(cfg.max_angle, cap))
        c, s = math.cos(th), math.sin(th)
        rot = np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy], [0, 0, 1]])
        a = rot @ a
    dst = cv2.perspectiveTransform(src[None], a)[0]
    if rng.random() < cfg.perspective_p:
        dst = dst + rng.uniform(-1, 1, (4, 2)).astype(np.float32) * cfg.perspective * box_h
    geometric = not np.allclose(dst, src)
    amp = period = phase = 0.0
    if rng.random() < cfg.curve_p:
        amp = float(rng.uniform(*cfg.curve_amplitude) * box_h)
        period = float((lay.x1 - lay.x0) / rng.uniform(*cfg.curve_periods))
        phase = float(rng.uniform(0, 2 * math.pi))
    bx0, by0 = dst.min(0)
    bx1, by1 = dst.max(0)

    # ---- crop margins (what a detector box would include)
    def margin_y() -> float:
        if rng.random() < cfg.tight_p:
            return float(-rng.uniform(0, cfg.tight_cut) * box_h)
        return float(rng.uniform(*cfg.margin_y) * box_h)

    mt, mb = margin_y(), margin_y()
    ml, mr = (float(v) for v in rng.uniform(*cfg.margin_x, 2) * box_h)
    w_out = max(1, math.ceil(bx1 - bx0 + ml + mr))
    h_out = max(1, math.ceil(by1 - by0 + mt + mb + 2 * amp))
    if max_width_ratio is not None and w_out / h_out > max_width_ratio:
        raise LineTooWide(w_out / h_out, max_width_ratio)
    tx, ty = ml - bx0, mt + amp - by0

    # ---- text mask
    if geometric:
        pad = 2 + stroke
        lw, lh = math.ceil(lay.x1 - lay.x0) + 2 * pad, math.ceil(box_h) + 2 * pad
        layer = Image.new("L", (lw, lh), 0)
        _draw_text(ImageDraw.Draw(layer), text, font, lay, pad - lay.x0, pad - lay.y0, stroke)
        to_layout = np.array([[1, 0, lay.x0 - pad], [0, 1, lay.y0 - pad], [0, 0, 1]])
        persp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
        mask = cv2.warpPerspective(np.asarray(layer), shift @ persp @ to_layout, (w_out, h_out),
                                   flags=cv2.INTER_LINEAR, borderValue=0)
    else:
        layer = Image.new("L", (w_out, h_out), 0)
        _draw_text(ImageDraw.Draw(layer), text, font, lay, tx, ty, stroke)
        mask = np.asarray(layer)
    if amp:
        xx = np.arange(w_out, dtype=np.float32)
        dy = (amp * np.sin(2 * math.pi * xx / period + phase)).astype(np.float32)
        map_x = np.broadcast_to(xx, (h_out, w_out)).astype(np.float32)
        map_y = (np.arange(h_out, dtype=np.float32)[:, None] + dy[None, :]).astype(np.float32)
        mask = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
    mask = np.array(mask, dtype=np.uint8)  # writable copy for the clutter below

    # ---- clutter in the margins: neighbouring lines, table/frame lines
    top_room = int(by0 + ty - amp) - 1  # rows above the (warped, curved) text box
    bottom_room = h_out - int(math.ceil(by1 + ty + amp)) - 1
    if rng.random() < cfg.neighbour_p and max(top_room, bottom_room) >= 3:
        above = top_room >= bottom_room
        chars = [c for c in text if c != " "] or ["-"]
        frag = "".join(chars[int(i)] for i in rng.integers(0, len(chars), len(text) + 4))
        fl, ft, fr, fb = font.getbbox(frag, anchor="ls")
        # Show a sliver (5-20% of the box height) of the neighbour, as a detector box
        # that is a little too tall does; never let it reach the text itself.
        room = top_room if above else bottom_room
        gap = max(2.0, room - float(rng.uniform(0.05, 0.2) * box_h))
        x = float(rng.uniform(-0.5, 0.3) * size)
        if above:  # the fragment's ink ends `gap` above the text box (or starts below it)
            base_y = by0 + ty - amp - gap - fb
        else:
            base_y = by1 + ty + amp + gap - ft
        frag_img = Image.new("L", (w_out, h_out), 0)
        ImageDraw.Draw(frag_img).text((round(x), round(base_y)), frag, font=font, fill=255,
                                      anchor="ls")
        mask = np.maximum(mask, np.asarray(frag_img))
    if rng.random() < cfg.border_p:
        th = max(1, round(size / 28))
        sides = [s for s, room in (("top", top_room), ("bottom", bottom_room),
                                   ("left", int(ml) - 1), ("right", int(mr) - 1)) if room > th]
        for side in sides:
            if rng.random() < 0.5:
                continue
            if side in ("top", "bottom"):
                room = top_room if side == "top" else bottom_room
                off = int(rng.integers(0, room - th + 1))
                y = off if side == "top" else h_out - 1 - off - (th - 1)
                cv2.rectangle(mask, (0, y), (w_out - 1, y + th - 1), 255, -1)
            else:
                room = int(ml if side == "left" else mr) - 1
                off = int(rng.integers(0, room - th + 1))
                x = off if side == "left" else w_out - 1 - off - (th - 1)
                cv2.rectangle(mask, (x, 0), (x + th - 1, h_out - 1), 255, -1)

    # ---- colour composite
    bg, fg = _colors(rng, cfg)
    contrast = abs(_luma(fg) - _luma(bg))
    spare = min(90.0, max(8.0, contrast - cfg.min_contrast))
    img = _background(rng, cfg, h_out, w_out, bg, spare)
    alpha = mask.astype(np.float32) * (1.0 / 255.0)
    if rng.random() < cfg.faded_p:
        alpha *= float(rng.uniform(min(1.0, cfg.min_contrast / max(contrast, 1e-6)), 1.0))
    img += (fg.astype(np.float32)[None, None, :] - img) * alpha[:, :, None]

    # ---- capture faults, in pixels of the rendering (sigma given for a 32 px line)
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
            small = cv2.resize(img, (lw, lh), interpolation=cv2.INTER_AREA)
            interp = cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_NEAREST
            img = cv2.resize(small, (w_out, h_out), interpolation=interp)
    if rng.random() < cfg.noise_p:
        sigma = float(rng.uniform(*cfg.noise_sigma))
        if rng.random() < 0.3:
            img += rng.standard_normal((h_out, w_out, 3), dtype=np.float32) * sigma
        else:
            img += rng.standard_normal((h_out, w_out, 1), dtype=np.float32) * sigma
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg_p:
        q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(out[:, :, ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = np.ascontiguousarray(cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1])

    # ---- resize to the model height, as the recognizer's keep-ratio resize would
    area = rng.random() < cfg.resize_area_p
    if height is not None and h_out != height:
        new_w = max(1, int(w_out * height / h_out))
        interp = cv2.INTER_AREA if area and h_out > height else cv2.INTER_LINEAR
        out = cv2.resize(out, (new_w, height), interpolation=interp)
    return np.ascontiguousarray(out)
