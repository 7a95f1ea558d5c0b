"""Synthetic lines rendered on the fly as a training data source (``data.synth``).

A :class:`SynthLines` part stands beside LMDB and folder sets in a training run. It has a
nominal size (``lines`` per epoch, its share of each shuffled epoch) but no stored images:
sample ``(index, key)`` renders a fresh line from ``key``'s position in the run, so every
epoch sees new lines, any sample can be regenerated on its own, and a resumed run renders
exactly what the uninterrupted one would have, whatever the number of DataLoader workers.

A curriculum by lines seen helps a model from scratch leave CTC's all-blank plateau: a few
thousand lines of digits on plain backgrounds first (ten classes to align), then half ASCII
and half everything, then everything. Stage names and the line count at which each ends are
configured (``data.synth.curriculum``); after the last stage every line is ``full``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Stage name -> what it renders. ``mixed`` alternates ascii and full line by line.
STAGES = ("digits", "ascii", "mixed", "full")
SCENE_MAX_CHARS = 14  # scene lines are words and short codes, as word detectors cut them


def stage_at(position: int, curriculum: Mapping[str, int]) -> str:
    """The curriculum stage of the ``position``-th line of the run (0-based).

    >>> stage_at(10, {"digits": 100, "mixed": 300}), stage_at(100, {"digits": 100})
    ('digits', 'full')
    """
    for stage, end in curriculum.items():
        if position < end:
            return stage
    return "full"


def check_curriculum(curriculum: Mapping[str, Any]) -> None:
    """Raise ValueError for unknown stages or line counts that do not increase."""
    last = 0
    for stage, end in curriculum.items():
        if stage not in STAGES:
            raise ValueError(f"unknown curriculum stage {stage!r}; stages: {', '.join(STAGES)}")
        if not isinstance(end, int) or isinstance(end, bool) or end <= last:
            raise ValueError(f"curriculum stage {stage!r} must end at an int line count above "
                             f"{last}, got {end!r}")
        last = end


class SynthLines:
    """``lines`` synthetic samples per epoch over ``symbols``, rendered when asked for.

    Args:
        lines: nominal size (samples of each epoch drawn from this source).
        symbols: label alphabet (the model's vocabulary); texts use only these.
        seed: rendering seed; sample ``(index, key)`` draws from ``[seed, position]``.
        max_chars: longest text.
        max_width: widest line in px at height 32 (None: any width; wide lines need more
            chunks, which is what keep-ratio training is for).
        curriculum: ``{stage: end position}``, see :func:`stage_at`.
        plates: share of ``full``-stage lines drawn as Chinese licence plates
            (:mod:`duguang_ocr.synth.plates`) when the symbols include them.
        scene: share of ``full``-stage lines drawn as scene text: short texts under
            :meth:`~duguang_ocr.synth.RenderConfig.scene`'s harsher capture, half of them
            ASCII words, half over every symbol (Chinese signs).
    """

    def __init__(self, lines: int, symbols: Sequence[str], *, seed: int = 1000,
                 max_chars: int = 40, max_width: int | None = None,
                 curriculum: Mapping[str, int] | None = None, plates: float = 0.0,
                 scene: float = 0.0) -> None:
        if lines < 1:
            raise ValueError(f"lines must be >= 1, got {lines}")
        self.lines, self.symbols, self.seed = lines, list(symbols), seed
        self.max_chars, self.max_width = max_chars, max_width
        self.curriculum = dict(curriculum or {})
        self.plates, self.scene = plates, scene
        if plates:
            from ..synth.plates import DIGITS, LETTERS, PROVINCES

            # Plates need their characters in the vocabulary, or their labels would be lost.
            self.plates *= set(PROVINCES + LETTERS + DIGITS) <= set(self.symbols)
        check_curriculum(self.curriculum)
        self._gens: dict[str, Any] | None = None  # built lazily, in each worker process

    def __len__(self) -> int:
        return self.lines

    def __repr__(self) -> str:
        return f"SynthLines({self.lines} lines/epoch, {len(self.symbols)} symbols)"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_gens": None}  # spawned workers build their own

    def _generators(self) -> dict[str, Any]:
        if self._gens is None:
            from ..synth import LineGenerator, RenderConfig

            ratio = None if self.max_width is None else self.max_width / 32
            full = LineGenerator.default(charset=self.symbols, max_width_ratio=ratio,
                                         max_chars=self.max_chars)
            ascii_ = [c for c in self.symbols if c.isascii()]
            digits = [c for c in "0123456789" if c in self.symbols]
            gens = {"full": full}
            if ascii_:
                gens["ascii"] = LineGenerator.default(charset=ascii_, fonts=full.fonts,
                                                      max_width_ratio=ratio,
                                                      max_chars=self.max_chars)
            if digits:
                gens["digits"] = LineGenerator.default(
                    charset=digits, fonts=full.fonts, config=RenderConfig.plain(),
                    max_width_ratio=ratio, max_chars=12)
            if ascii_ and self.scene:
                gens["scene"] = LineGenerator.default(
                    charset=ascii_, fonts=full.fonts, config=RenderConfig.scene(),
                    max_width_ratio=ratio, max_chars=SCENE_MAX_CHARS)
                # Shop signs and street names in Chinese: the same capture over every symbol.
                gens["scene_zh"] = LineGenerator.default(
                    charset=self.symbols, fonts=full.fonts, config=RenderConfig.scene(),
                    max_width_ratio=ratio, max_chars=SCENE_MAX_CHARS)
            self._gens = gens
        return self._gens

    def sample(self, index: int, key: Any) -> tuple[np.ndarray, str]:
        """Render the line for ``key`` = ``(seed, epoch, index, position)`` (a training
        sampler's key) or, for any other key, for ``index`` itself (evaluation)."""
        position = key[3] if isinstance(key, tuple) and len(key) == 4 else index
        run_seed = key[0] if isinstance(key, tuple) and len(key) == 4 else 0
        stage = stage_at(position, self.curriculum)
        gens = self._generators()
        if stage == "mixed":
            stage = "ascii" if position % 2 else "full"
        seed = self.seed + 7919 * run_seed
        if stage == "full" and (self.plates or self.scene):
            rng = np.random.default_rng([seed, position, 1])
            draw = rng.random()
            if draw < self.plates:
                return self._plate(rng)
            if draw < self.plates + self.scene and "scene" in gens:
                return gens["scene_zh" if rng.random() < 0.5 else "scene"](seed, position)
        gen = gens.get(stage, gens["full"])
        return gen(seed, position)

    def _plate(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        from ..synth.plates import plate_fonts, plate_text, render_plate

        text = plate_text(rng, green=rng.random() < 0.15)
        face, latin = plate_fonts(self._generators()["full"].fonts, text, rng)
        if face is None:
            raise RuntimeError("no installed font draws the plate characters")
        return render_plate(text, face, rng, latin_face=latin), text

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        return self.sample(index, None)
