"""Vertical lines: crops much taller than wide, turned into lines the model can read.

A crop with height > :data:`TALL_RATIO` x width is rarely a horizontal line. It is one of:

* a column of upright characters (vertical Chinese, a vertical shop sign): read top to
  bottom after *stacking*: the column is cut between characters and the cells are laid
  side by side, so every glyph stays upright as in training;
* a horizontal line turned by 90 degrees (a book spine, a rotated label): read after
  rotating it back, counter-clockwise (its text ran top to bottom) or clockwise (bottom to
  top);
* after all, a short horizontal crop that happens to be tall (one digit, "it").

Which one it is shows in the glyphs, not the box, so the recognizer reads every candidate
:class:`View` and keeps the most confident reading (:func:`view_score`); the extra passes
are paid only by tall crops. Each view maps coordinates in its image back to the original
(y, top to bottom, for the column views), so character positions and boxes stay meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TALL_RATIO = 1.5
MIN_CELL = 8  # px: narrower columns are not cut into cells
VIEWS = ("stack", "rotate_ccw", "rotate_cw")


def is_tall(height: int, width: int) -> bool:
    return height > TALL_RATIO * width


@dataclass(frozen=True)
class View:
    """One reading of a tall crop: ``image`` and how its x maps back to the original.

    Attributes:
        name: one of :data:`VIEWS`.
        image: H' x W' x 3 uint8, a horizontal line.
        cuts: ``stack`` only: the original rows where cells start, plus the height.
        cell_width: ``stack`` only: each cell's width in ``image`` (cell k starts at
            ``k * cell_width``).
        height: the original crop's height.
    """

    name: str
    image: np.ndarray
    height: int
    cuts: tuple[int, ...] = ()
    cell_width: int = 0

    def to_original(self, x: float) -> float:
        """x in ``image`` -> y in the original crop (top to bottom reading order is kept
        for ``stack`` and ``rotate_ccw``; ``rotate_cw`` reads bottom to top)."""
        if self.name == "rotate_ccw":
            return x
        if self.name == "rotate_cw":
            return self.height - x
        k = int(min(max(x // self.cell_width, 0), len(self.cuts) - 2))
        top, bottom = self.cuts[k], self.cuts[k + 1]
        frac = min(max((x - k * self.cell_width) / self.cell_width, 0.0), 1.0)
        return top + frac * (bottom - top)


def views(img: np.ndarray) -> list[View]:
    """The column readings of a tall crop (H x W x 3 uint8): stacked cells and both
    rotations."""
    h = img.shape[0]
    out = [stack(img)]
    out.append(View("rotate_ccw", np.ascontiguousarray(np.rot90(img, 1)), h))
    out.append(View("rotate_cw", np.ascontiguousarray(np.rot90(img, -1)), h))
    return out


def _ink_profile(img: np.ndarray) -> np.ndarray:
    """Per row, how much it differs from the background (the median of the border)."""
    gray = img.astype(np.float32).mean(axis=2)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return np.abs(gray - np.median(border)).mean(axis=1)


def cell_cuts(img: np.ndarray) -> list[int]:
    """Rows at which to cut a column of upright characters into one-character cells.

    The column is first trimmed to its inked rows (plus a tenth of its width). Characters
    in a column are about as tall as the column is wide (CJK glyphs are square), so each
    next cut is sought between 0.6 and 1.4 widths below the previous one, at the least inked
    row of the profile smoothed over a fifth of the width (so the cut falls in the middle of
    the gap between two characters, not at its edge), nearer one width on ties. Returns the
    cut rows, the first and last being the trimmed column's ends.
    """
    h, w = img.shape[:2]
    ink = _ink_profile(img)
    inked = np.nonzero(ink > 0.1 * ink.max())[0] if ink.max() > 0 else np.array([0, h - 1])
    margin = max(1, w // 10)
    top, bottom = max(0, int(inked[0]) - margin), min(h, int(inked[-1]) + 1 + margin)
    k = max(1, w // 5)
    smooth = np.convolve(ink, np.ones(k) / k, mode="same")
    cuts = [top]
    if w < MIN_CELL:  # too narrow to hold a readable character: one cell
        return [top, bottom]
    while bottom - cuts[-1] > 1.4 * w:
        rows = np.arange(cuts[-1] + int(0.6 * w), min(bottom - 1, cuts[-1] + int(1.4 * w)) + 1)
        tie = np.abs(rows - (cuts[-1] + w)) / max(w, 1) * 1e-3 * (smooth.max() + 1e-6)
        cuts.append(int(rows[np.argmin(smooth[rows] + tie)]))
    cuts.append(bottom)
    return cuts


def stack(img: np.ndarray) -> View:
    """Cut a column into character cells and lay them left to right, each cell padded to
    the tallest one with the background colour (the border's median)."""
    h, w = img.shape[:2]
    cuts = cell_cuts(img)  # absolute rows of the original
    cell_h = max(b - a for a, b in zip(cuts, cuts[1:]))
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    background = np.median(border, axis=0).astype(np.uint8)
    out = np.empty((cell_h, w * (len(cuts) - 1), 3), dtype=np.uint8)
    out[:] = background
    for k, (a, b) in enumerate(zip(cuts, cuts[1:])):
        top = (cell_h - (b - a)) // 2
        out[top : top + b - a, k * w : (k + 1) * w] = img[a:b]
    return View("stack", out, h, tuple(cuts), w)


def view_score(char_confidences: list[float]) -> float:
    """How convincingly a view was read: the mean character confidence (an empty reading
    scores 0, so a view the model sees as blank never wins over one it reads)."""
    return float(np.mean(char_confidences)) if char_confidences else 0.0
