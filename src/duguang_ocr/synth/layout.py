"""Where a rendered line's ink goes: typesetting, the warp, the crop and clutter.

The plan is made before any pixel is drawn (:func:`plan_crop`), so the output size is known
early and a line too wide for the model is rejected for the price of a few font-metric
calls. Every random choice is drawn from the generator passed in, in a fixed order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from .render import RenderConfig


@dataclass(frozen=True)
class _Layout:
    xs: list[float] | None  # per-character x (None: the string is drawn in one call)
    x0: float  # text box in layout coordinates (origin: left end of the baseline)
    y0: float
    x1: float
    y1: float
    underline: tuple[float, float] | None  # (y, thickness)
    # Ink widths of the first and last glyph where a tight crop may cut into them (ASCII
    # letters and digits stay readable with a sliver gone; punctuation and hanzi would not).
    edge_ink: tuple[float, float] = (0.0, 0.0)


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
    left, r, edge_ink = _ink_x_extent(text, font, xs, stroke, left, r)
    y0, y1 = min(t, -0.72 * size), max(b, 0.05 * size)
    if underline is not None:
        y1 = max(y1, underline[0] + underline[1])
    return _Layout(xs, float(left), float(y0), float(max(r, left + 1)), float(y1), underline,
                   edge_ink)


def _glyph_ink(ch: str, font, stroke: int) -> tuple[float, float] | None:
    """Left and right ink edge of ``ch`` drawn at x = 0 (anchor "ls"); None without ink."""
    mask, (ox, _) = font.getmask2(ch, anchor="ls", stroke_width=stroke)
    box = mask.getbbox()
    return None if box is None else (ox + box[0], ox + box[2])


def _ink_x_extent(text: str, font, xs: list[float] | None, stroke: int, left: float,
                  right: float) -> tuple[float, float, tuple[float, float]]:
    """The line's horizontal extent by ink, not by advance widths (what ``getbbox`` gives):
    a full-width ，or 、 has ~2/3 of an em of blank after its ink and an opening quote as much
    before it. Crops cut by ink (detector boxes, real data sets) end right at the comma, so
    a box that kept that blank taught the model a gap no real crop has (it then dropped
    trailing punctuation). Only the first and last glyphs are measured; their ink widths
    come back too, 0 unless they are ASCII letters or digits (see ``_Layout.edge_ink``)."""
    chars = [(i, ch) for i, ch in enumerate(text) if ch != " "]
    if not chars:
        return left, right, (0.0, 0.0)
    (i0, first), (i1, last) = chars[0], chars[-1]

    def start(i: int) -> float:
        return xs[i] if xs is not None else font.getlength(text[:i])

    def cuttable(ch: str, ink: tuple[float, float]) -> float:
        return float(ink[1] - ink[0]) if ch.isascii() and ch.isalnum() else 0.0

    edges = [0.0, 0.0]
    ink = _glyph_ink(first, font, stroke)
    if ink is not None:
        left, edges[0] = start(i0) + ink[0], cuttable(first, ink)
    ink = _glyph_ink(last, font, stroke)
    if ink is not None:
        right, edges[1] = start(i1) + ink[1], cuttable(last, ink)
    return left, right, (edges[0], edges[1])


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


def typeset(text: str, font, size: int, rng: np.random.Generator,
            cfg: RenderConfig, bold_p: float | None = None) -> tuple[_Layout, int]:
    """Letter spacing, weight and underline drawn from ``cfg``; returns the layout and the
    stroke width (0: regular weight). ``bold_p`` overrides ``cfg.bold_p`` (faces without
    bold weights are emboldened more often). A synthetic bold thickens every stem by 1/20
    to 1/10 of the font size, from semibold to black."""
    spacing = 0.0
    if rng.random() < cfg.spacing_p and len(text) > 1:
        spacing = float(rng.uniform(*cfg.letter_spacing) * size)
    stroke = 0
    if rng.random() < (cfg.bold_p if bold_p is None else bold_p):
        stroke = max(1, round(size * rng.uniform(1 / 40, 1 / 20)))
    underline = None
    if rng.random() < cfg.underline_p:
        underline = (float(rng.uniform(0.08, 0.22) * size), float(max(1, round(size / 20))))
    return _layout(text, font, size, spacing, stroke, underline), stroke


def _reach(amp: float, arc: float) -> tuple[float, float]:
    """How far text curved by a sine of amplitude ``amp`` and bent by ``arc`` (see
    :class:`CropPlan`) reaches above and below its straight box."""
    return amp + max(0.0, -arc), amp + max(0.0, arc)


@dataclass(frozen=True)
class CropPlan:
    """The warped text box and the crop around it, in output pixels."""

    src: np.ndarray  # text box corners in layout coordinates
    dst: np.ndarray  # the same corners after shear, rotation and perspective
    amp: float  # sinusoidal curvature: amplitude (0: straight), period, phase
    period: float
    phase: float
    arc: float  # circular bend: sagitta in px, > 0 arched (ends lower), < 0 smiling, 0 none
    margins: tuple[float, float, float, float]  # left, right, top, bottom
    width: int
    height: int
    shift: tuple[float, float]  # layout -> output translation

    @property
    def rise(self) -> float:
        """How far the bent text reaches above its warped box."""
        return _reach(self.amp, self.arc)[0]

    @property
    def drop(self) -> float:
        """How far the bent text reaches below its warped box."""
        return _reach(self.amp, self.arc)[1]

    @property
    def box(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self.dst.min(0), self.dst.max(0)
        return float(x0), float(y0), float(x1), float(y1)


def plan_crop(lay: _Layout, rng: np.random.Generator, cfg: RenderConfig) -> CropPlan:
    """Shear, rotation, perspective, curvature and crop margins (what a detector box would
    include), drawn in that order."""
    box_h = lay.y1 - lay.y0
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
    amp = period = phase = 0.0
    if rng.random() < cfg.curve_p:
        amp = float(rng.uniform(*cfg.curve_amplitude) * box_h)
        period = float((lay.x1 - lay.x0) / rng.uniform(*cfg.curve_periods))
        phase = float(rng.uniform(0, 2 * math.pi))
    arc = 0.0
    if rng.random() < cfg.arc_p:  # a word set along a circle, as on round signs and labels
        arc = float(rng.uniform(*cfg.arc_sagitta) * box_h) * (1.0 if rng.random() < 0.5 else -1.0)
    bx0, by0 = dst.min(0)
    bx1, by1 = dst.max(0)

    def margin_y() -> float:
        if rng.random() < cfg.tight_p:
            return float(-rng.uniform(0, cfg.tight_cut) * box_h)
        return float(rng.uniform(*cfg.margin_y) * box_h)

    mt, mb = margin_y(), margin_y()
    margins_x = [float(v) for v in rng.uniform(*cfg.margin_x, 2) * box_h]
    if rng.random() < cfg.tight_x_p:  # a detector box that clips the first or last letter
        side = int(rng.integers(2))
        if lay.edge_ink[side] > 0:
            margins_x[side] = -float(rng.uniform(0.05, cfg.tight_x_cut) * lay.edge_ink[side])
    # Flush with the ink on one side, as page segmenters cut lines (no draw when off, so
    # RenderConfig.plain() renders as it always did).
    elif cfg.flush_x_p and rng.random() < cfg.flush_x_p:
        margins_x[int(rng.integers(2))] = 0.0
    ml, mr = margins_x
    w_out = max(1, math.ceil(bx1 - bx0 + ml + mr))
    rise, drop = _reach(amp, arc)
    h_out = max(1, math.ceil(by1 - by0 + mt + mb + rise + drop))
    return CropPlan(src, dst, amp, period, phase, arc, (ml, mr, mt, mb), w_out, h_out,
                    (ml - bx0, mt + rise - by0))


def text_mask(text: str, font, lay: _Layout, stroke: int, plan: CropPlan) -> np.ndarray:
    """The text's coverage on the output canvas (H x W uint8), warped and curved."""
    w_out, h_out = plan.width, plan.height
    tx, ty = plan.shift
    if not np.allclose(plan.dst, plan.src):
        pad = 2 + stroke
        lw, lh = math.ceil(lay.x1 - lay.x0) + 2 * pad, math.ceil(lay.y1 - lay.y0) + 2 * pad
        layer = Image.new("L", (lw, lh), 0)
        _draw_text(ImageDraw.Draw(layer), text, font, lay, pad - lay.x0, pad - lay.y0, stroke)
        to_layout = np.array([[1, 0, lay.x0 - pad], [0, 1, lay.y0 - pad], [0, 0, 1]])
        persp = cv2.getPerspectiveTransform(plan.src, plan.dst.astype(np.float32))
        shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
        mask = cv2.warpPerspective(np.asarray(layer), shift @ persp @ to_layout, (w_out, h_out),
                                   flags=cv2.INTER_LINEAR, borderValue=0)
    else:
        layer = Image.new("L", (w_out, h_out), 0)
        _draw_text(ImageDraw.Draw(layer), text, font, lay, tx, ty, stroke)
        mask = np.asarray(layer)
    if plan.amp:
        xx = np.arange(w_out, dtype=np.float32)
        dy = (plan.amp * np.sin(2 * math.pi * xx / plan.period + plan.phase)).astype(np.float32)
        map_x = np.broadcast_to(xx, (h_out, w_out)).astype(np.float32)
        map_y = (np.arange(h_out, dtype=np.float32)[:, None] + dy[None, :]).astype(np.float32)
        mask = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
    if plan.arc:
        mask = _bend(mask, plan)
    return np.array(mask, dtype=np.uint8)  # writable copy for the clutter


def _bend(mask: np.ndarray, plan: CropPlan) -> np.ndarray:
    """Lay the straight text of ``mask`` along a circle through its centre line, each
    glyph turned with the circle (not sheared, as moving columns would): the box's middle
    stays, its ends move |arc| px down (arc > 0) or up (arc < 0)."""
    h, w = mask.shape
    x0, y0, x1, y1 = plan.box
    tx, ty = plan.shift
    xc, yc = (x0 + x1) / 2 + tx, (y0 + y1) / 2 + ty
    half, sag = max((x1 - x0) / 2, 1.0), abs(plan.arc)
    radius = (half * half + sag * sag) / (2 * sag)  # the circle with that sagitta over the box
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    down = 1.0 if plan.arc > 0 else -1.0  # the circle's centre: below the line, or above
    dx, dy = xx - xc, down * (yc + down * radius - yy)  # dy: towards the line, from the centre
    dist = np.hypot(dx, dy)
    src_y = yc + down * (radius - dist)
    src_x = xc + radius * np.arctan2(dx, dy)  # arc length along the circle
    return cv2.remap(mask, src_x.astype(np.float32), src_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderValue=0)


def add_clutter(mask: np.ndarray, text: str, font, size: int, lay: _Layout, plan: CropPlan,
                rng: np.random.Generator, cfg: RenderConfig) -> None:
    """Draw into ``mask``'s margins what detector boxes also catch: slivers of the lines
    above or below, and table or frame lines."""
    h_out, w_out = mask.shape
    box_h = lay.y1 - lay.y0
    _, by0, _, by1 = plan.box
    tx, ty = plan.shift
    ml, mr, _, _ = plan.margins
    top_room = int(by0 + ty - plan.rise) - 1  # rows above the (warped, curved) text box
    bottom_room = h_out - int(math.ceil(by1 + ty + plan.drop)) - 1
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
            base_y = by0 + ty - plan.rise - gap - fb
        else:
            base_y = by1 + ty + plan.drop + gap - ft
        frag_img = Image.new("L", (w_out, h_out), 0)
        ImageDraw.Draw(frag_img).text((round(x), round(base_y)), frag, font=font, fill=255,
                                      anchor="ls")
        np.maximum(mask, np.asarray(frag_img), out=mask)
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
