"""What a recognizer returns for one line, and its JSON form (CLI ``--json``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecognitionResult:
    """One line's result.

    Positions are in the original image's pixels: x, left to right, for a horizontal line;
    y, top to bottom, when ``vertical`` is True (a tall crop read as a column).

    Attributes:
        text: the recognised string ('' when ``error`` is set).
        confidence: the estimated probability that ``text`` is exactly right: the product
            of the character confidences, mapped through the model's calibration when its
            ``configuration.json`` has one (see :mod:`duguang_ocr.calibration`).
        char_confidences: one probability per character of ``text``.
        char_positions: the centre of each character (its most confident CTC frame).
        char_boxes: ``(start, end)`` of each character: the frames CTC attributes to it
            (its run of frames, or its segment of the best alignment), so boxes of
            neighbours never overlap and blanks between them show as gaps.
        alternatives: with ``alternatives=k``, per character up to k ``(char,
            probability)`` pairs the model saw at its position, best first (before
            constraints and output policies, so the chosen character need not be first;
            a space inserted by ``spaces="auto"`` has none); None otherwise.
        constraint_met: with a constraint (``allowed_chars``, ``blocked_chars``,
            ``pattern``, ``lexicon``), whether ``text`` satisfies it; False means nothing
            could, and ``text`` is the unconstrained reading. None without a constraint.
        vertical: the crop was read top to bottom (see ``vertical=`` in
            :meth:`Recognizer.recognize <duguang_ocr.Recognizer.recognize>`).
        error: why this item could not be read (only with ``errors="skip"``), else None.
    """

    text: str
    confidence: float = 0.0
    char_confidences: list[float] = field(default_factory=list)
    char_positions: list[float] = field(default_factory=list)
    char_boxes: list[tuple[float, float]] = field(default_factory=list)
    alternatives: list[list[tuple[str, float]]] | None = None
    constraint_met: bool | None = None
    vertical: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def results_to_json(results: list[RecognitionResult]) -> list[dict]:
    """Plain dicts for JSON output (CLI ``--json``); optional fields only when set."""
    out = []
    for r in results:
        d = {
            "text": r.text,
            "confidence": round(r.confidence, 6),
            "char_confidences": [round(c, 6) for c in r.char_confidences],
            "char_positions": [round(x, 2) for x in r.char_positions],
            "char_boxes": [[round(a, 2), round(b, 2)] for a, b in r.char_boxes],
        }
        if r.alternatives is not None:
            d["alternatives"] = [[[c, round(p, 6)] for c, p in alts] for alts in r.alternatives]
        if r.constraint_met is not None:
            d["constraint_met"] = r.constraint_met
        if r.vertical:
            d["vertical"] = True
        if r.error:
            d["error"] = r.error
        out.append(d)
    return out
