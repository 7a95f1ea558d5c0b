"""Pure preprocessing: RGB uint8 line image -> model input tensors, and frame -> pixel maps.

Three modes share these functions:

* ``parity`` reproduces ModelScope's preprocessor exactly: keep-ratio resize to height 32
  with the width capped at ``img_width`` (804; longer lines are squashed to fit), zero
  padding to 804 px, /255, and three 300-px chunks at x = 0, 252, 504.
* ``default`` keeps the aspect ratio for lines of any length and covers the line with as many
  300-px chunks (stride 252) as it needs: a short line costs one chunk, a 2,000-px line
  eight, and nothing is squashed.
* ``fast`` plans the same chunks but cuts the last one to the line's width plus
  :data:`FIT_MARGIN` px of padding, rounded up to :data:`WIDTH_BUCKET` px, so a 100-px word
  runs a 160-px chunk, not 300 px.

CRNN-style models read the whole line: the canvas is ``img_width`` wide (parity) or the
line's own width rounded up to :data:`WIDTH_BUCKET` px (default). Padding a 100-px word to a
300- or 804-px canvas costs 3-8x the convolutions for nothing; measured with the embedded
``crnn_lite`` on shared/realtest, the tight canvas reads the same (per-subset accuracy
within 0.2 points) 2.6x faster. The 32-px buckets keep the number of distinct canvas widths,
and so of forward passes, small, and make a line's canvas independent of its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .chunking import FRAME_PX, ChunkGeometry

WIDTH_BUCKET = 32  # whole-line canvases (default mode) are multiples of this many px
# mode="fast": black padding kept after the line in its last chunk, px. The models were
# trained on chunks padded to 300 px; measured on a ConvNextViT trained here (README), no
# margin cost 1.2 points of character accuracy, 32 px cost none (at ~70% of the pixels).
FIT_MARGIN = 32


@dataclass(frozen=True)
class LinePlan:
    """How one line is laid out on the model's canvas.

    Attributes:
        orig_width: width of the input image in pixels.
        resized_width: width after the keep-ratio resize to the model height.
        canvas_width: padded width fed to the model (chunks cover exactly this).
        num_chunks: chunks (chunked models, see :mod:`.chunking`) or 1 (whole-line models).
    """

    orig_width: int
    resized_width: int
    canvas_width: int
    num_chunks: int

    def frame_to_x(self, frame: int) -> float:
        """Centre of CTC frame ``frame`` in original-image pixels (clamped to the image)."""
        x = (frame * FRAME_PX + FRAME_PX / 2) * self.orig_width / self.resized_width
        return float(min(max(x, 0.0), self.orig_width - 0.5))


def resized_width(height: int, width: int, target_height: int = 32,
                  max_width: int | None = None) -> int:
    """ModelScope's keep-ratio width: ``int(target_height * w / h)``, capped at ``max_width``.

    At least 1 px so a very tall crop still yields an image.
    """
    ratio = width / float(height)
    if max_width is not None and ratio > max_width / target_height:
        return max_width
    return max(1, int(target_height * ratio))


def plan_line(
    height: int,
    width: int,
    *,
    geometry: ChunkGeometry | None,
    parity: bool = False,
    target_height: int = 32,
    img_width: int = 804,
    fit: bool = False,
) -> LinePlan:
    """Decide resize width, canvas and chunk count for an image of ``height`` x ``width``.

    Args:
        geometry: the chunked model's chunks, or None for a whole-line model.
        parity: ModelScope's fixed ``img_width`` canvas (wider lines squashed onto it).
        fit: (chunked models, not parity) the last chunk ends :data:`FIT_MARGIN` px after
            the line, rounded up to :data:`WIDTH_BUCKET` px, instead of a full chunk after
            its start.
    """
    if fit and parity:
        raise ValueError("fit=True cuts chunks to the line; parity always runs full chunks")
    rw = resized_width(height, width, target_height, img_width if parity else None)
    if geometry is not None:
        n = geometry.chunks_needed(img_width if parity else rw)
        start = geometry.start(n - 1)  # where the last chunk begins
        last = geometry.width
        if fit:
            last = min(last, _bucket(rw - start + FIT_MARGIN))
        return LinePlan(width, rw, start + last, n)
    return LinePlan(width, rw, img_width if parity else _bucket(rw), 1)


# text_band: when a crop holds its line loosely (a word on a screenshot, a line on a page).
BAND_MAX_FILL = 0.5  # the ink must fill less than this share of the height
INK_CONTRAST = 40  # grey levels from the background that count as ink
BORDER_MAX_STD = 12.0  # a plain background: the image border is nearly uniform
MIN_BAND_HEIGHT = 10  # px: smaller ink boxes are specks, not a text line
BAND_MARGIN = 0.25  # margin kept around the ink, per side, as a share of the ink's height


def text_band(img: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of the text on a loose crop, with a margin of
    :data:`BAND_MARGIN` of its height, or None for a crop that already holds its line snugly.

    Every line is scaled to the model's 32-px height, so the share of the height the ink
    fills sets how many pixels, and CTC frames, each glyph gets. A line in the middle of a
    big blank image shrinks to a few pixels and reads as nothing; a word on a screenshot cut
    with generous margins loses its narrow letters (``fill`` -> ``fil``: at ink filling half
    the height an ``l`` is under one 4-px frame). Cut when the crop is plainly such a one:
    a plain border and ink filling less than :data:`BAND_MAX_FILL` of the height. After the
    cut (a :data:`BAND_MARGIN` of a quarter) the ink fills 2/3 of it, inside the margins
    synthetic training lines have, and a second cut changes nothing. Scene crops (textured
    borders) are left alone.

    Training applies it too (:func:`cut_to_text`, used by :mod:`.data.collate`): the model
    learns on the crops it will be given.
    """
    h, w = img.shape[:2]
    if h < MIN_BAND_HEIGHT:
        return None
    # The border first: most large crops are photos with a busy border, and they need no
    # grey copy of the whole image.
    edges = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    border = edges.astype(np.int16).sum(axis=1) / 3.0
    if border.std() > BORDER_MAX_STD:
        return None
    gray = img.astype(np.int16).sum(axis=2) / 3.0
    ink = np.abs(gray - np.median(border)) > INK_CONTRAST
    rows, cols = np.flatnonzero(ink.sum(1) >= 2), np.flatnonzero(ink.sum(0) >= 2)
    if rows.size == 0 or cols.size == 0:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if not MIN_BAND_HEIGHT <= y1 - y0 < BAND_MAX_FILL * h:
        return None
    m = max(2, int((y1 - y0) * BAND_MARGIN))
    return max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)


def cut_to_text(img: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """``img`` cut to its :func:`text_band` (or ``img`` itself) and where the cut starts,
    ``(x, y)``, so positions read on it map back to ``img``."""
    band = text_band(img)
    if band is None:
        return img, (0, 0)
    x0, y0, x1, y1 = band
    return img[y0:y1, x0:x1], (x0, y0)


def _bucket(px: int) -> int:
    """``px`` rounded up to a multiple of :data:`WIDTH_BUCKET`."""
    return -(-px // WIDTH_BUCKET) * WIDTH_BUCKET


def render_canvas(img: np.ndarray, plan: LinePlan, target_height: int = 32) -> np.ndarray:
    """Resize ``img`` (H x W x 3 uint8) with bilinear cv2.resize and zero-pad to the canvas."""
    resized = cv2.resize(img, (plan.resized_width, target_height))
    canvas = np.zeros((target_height, plan.canvas_width, 3), dtype=np.uint8)
    w = min(plan.resized_width, plan.canvas_width)
    canvas[:, :w] = resized[:, :w]
    return canvas


def scale_pixels(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> the model's float input in [0, 1]. Training moves uint8 batches to the
    device (a quarter of the bytes) and scales them there with this same function."""
    return x.float().div_(255.0)


def canvas_to_chunks(canvas: np.ndarray, num_chunks: int, geometry: ChunkGeometry, *,
                     raw: bool = False) -> torch.Tensor:
    """(32, W, 3) uint8 canvas -> (num_chunks, 3, 32, chunk width) float tensor in [0, 1]
    (``raw``: the uint8 pixels, for :func:`scale_pixels` later)."""
    g = geometry
    windows = np.stack([canvas[:, g.start(i) : g.start(i) + g.width] for i in range(num_chunks)])
    x = torch.from_numpy(windows).permute(0, 3, 1, 2)
    return x if raw else scale_pixels(x)


def canvas_to_chunk_groups(canvas: np.ndarray, num_chunks: int, geometry: ChunkGeometry, *,
                           raw: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Like :func:`canvas_to_chunks`, for a canvas whose last chunk may be narrower.

    Returns:
        (full, last): the full-width chunks (k, 3, 32, chunk width) with k = num_chunks or
        num_chunks - 1, and the narrower last chunk (1, 3, 32, w), or None when every chunk
        is full.
    """
    start = geometry.start(num_chunks - 1)
    last_width = canvas.shape[1] - start
    if last_width == geometry.width:
        return canvas_to_chunks(canvas, num_chunks, geometry, raw=raw), None
    if not 0 < last_width < geometry.width:
        raise ValueError(f"a {canvas.shape[1]}-px canvas is not {num_chunks} chunks of "
                         f"{geometry.width} px at stride {geometry.stride}")
    if num_chunks > 1:
        full = canvas_to_chunks(canvas, num_chunks - 1, geometry, raw=raw)
    else:
        full = torch.empty(0, 3, canvas.shape[0], geometry.width,
                           dtype=torch.uint8 if raw else torch.float32)
    return full, canvas_to_tensor(np.ascontiguousarray(canvas[:, start:]), raw=raw)


def canvas_to_tensor(canvas: np.ndarray, *, raw: bool = False) -> torch.Tensor:
    """(32, W, 3) uint8 canvas -> (1, 3, 32, W) float tensor in [0, 1] (``raw``: uint8)."""
    x = torch.from_numpy(canvas).permute(2, 0, 1)[None]
    return x if raw else scale_pixels(x)


def line_tensors(img: np.ndarray, plan: LinePlan, geometry: ChunkGeometry | None, *,
                 raw: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Model input for one line laid out by ``plan``: what the recognizer runs and what
    training collates, from one function so the two cannot drift apart.

    Returns ``(full, tail)``: chunked models give (k, 3, 32, chunk width) full chunks and,
    when ``plan`` cuts the last chunk to the line (``fit``), that narrower chunk as
    (1, 3, 32, w) (else None); whole-line models give (1, 3, 32, canvas) and None. Float in
    [0, 1], or with ``raw`` the uint8 pixels that :func:`scale_pixels` turns into exactly that.
    """
    canvas = render_canvas(img, plan)
    if geometry is None:
        return canvas_to_tensor(canvas, raw=raw), None
    return canvas_to_chunk_groups(canvas, plan.num_chunks, geometry, raw=raw)
