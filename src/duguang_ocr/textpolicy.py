"""Mixed-script output policies: where spaces go and which width punctuation takes.

Recognizers trained on mixed Chinese/English text get both wrong in ways users keep
reporting: spaces dropped between English words or invented between Chinese characters,
``,`` after a Chinese word and ``，`` inside an English one. These rules run after decoding,
on the characters and their CTC frame spans, so they can use geometry (how much blank lies
between two characters) as well as the characters themselves.

Spaces (``spaces=``):

* ``"model"``: as decoded.
* ``"none"``: every space removed.
* ``"auto"``: a space never stands between two wide characters (Chinese characters, kana,
  hangul, full-width punctuation): the model's spaces there are removed. Between any other
  two neighbours the model's own spaces are kept, and a space is inserted where the model
  gave the space class at least :data:`SPACE_PROB` in some blank frame between the two
  (greedy decoding writes a space only where it is the likeliest class).

Why evidence and not geometry (``benchmarks/bench_output_policy.py``, README): measured on
real printed English lines and rendered mixed lines with both default models, the blank
gap's width (in line heights) decides "space or not" right for at best 86-94% of neighbour
pairs (wide letters such as "m" leave gaps as wide as a space; a plate's separator dot
leaves a wider one), the model's greedy spaces for 96-99.7%, and the space probability in
the gap for 97-99.9% at thresholds from 0.02 to 0.2. Of those, 0.2 keeps the gains on
English and mixed lines and nearly all of plate_zh's accuracy (54.2% of characters against
54.7% for the model's own spaces; 52.4% at 0.05, where the separator dot reads as a space).
A gap threshold on top of the evidence rule changed no measured pair and spaced plates.

Punctuation (``punctuation=``), for the pairs in :data:`HALF_TO_FULL` (and, for ``"half"``,
every full-width ASCII variant U+FF01-FF5E):

* ``"keep"``: as decoded.
* ``"full"`` / ``"half"``: all of them to that width.
* ``"auto"``: half-width when both neighbours (the nearest non-space characters) are Latin
  letters or digits ("3.5", "e.g.", "a,b"); otherwise full-width when a neighbour is wide
  ("你好，world", "world，你好"); otherwise half-width ("Hello, world").
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import numpy as np

from .decoding import DecodedLine

SPACES = ("model", "auto", "none")
PUNCTUATION = ("keep", "auto", "full", "half")

# spaces="auto" writes a space between two non-wide neighbours when the space class has at
# least this probability in a blank frame between them.
SPACE_PROB = 0.2

HALF_TO_FULL = {",": "，", ".": "。", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（",
                ")": "）"}
FULL_TO_HALF = {v: k for k, v in HALF_TO_FULL.items()}
FULL_TO_HALF.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})
FULL_TO_HALF["\u3000"] = " "


def is_wide(ch: str) -> bool:
    """Chinese characters, kana, hangul and full-width forms/punctuation: characters that
    take a full em and are never separated by spaces from each other."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def is_latin_or_digit(ch: str) -> bool:
    """Letters and digits that are not wide (ASCII, accented Latin, Greek, Cyrillic...)."""
    return ch.isalnum() and not is_wide(ch)


def _chars(line: DecodedLine) -> list[tuple]:
    """Per character: (char, confidence, frame, span, alternatives or None)."""
    alts = line.alternatives if line.alternatives is not None else [None] * len(line.text)
    return list(zip(line.text, line.char_confidences, line.char_frames, line.char_spans, alts))


def _line(line: DecodedLine, chars: list[tuple]) -> DecodedLine:
    return replace(
        line,
        text="".join(c[0] for c in chars),
        char_confidences=[c[1] for c in chars],
        char_frames=[c[2] for c in chars],
        char_spans=[c[3] for c in chars],
        alternatives=None if line.alternatives is None else [c[4] for c in chars],
    )


def space_evidence(line: DecodedLine, space_probs: np.ndarray) -> list[float]:
    """Per pair of neighbouring characters, the highest probability any space class has in
    a blank frame between them (0 where their spans touch).

    Args:
        line: a decoded line with ``char_spans``.
        space_probs: (T, S) probabilities of the line's S space-emitting classes (S may be 0).
    """
    if not space_probs.shape[1]:
        return [0.0] * max(len(line.text) - 1, 0)
    best = space_probs.max(axis=1)
    return [float(best[a[1] + 1 : b[0]].max()) if b[0] > a[1] + 1 else 0.0
            for a, b in zip(line.char_spans, line.char_spans[1:])]


def apply_spaces(line: DecodedLine, mode: str, evidence: list[float] | None = None,
                 prob: float = SPACE_PROB) -> DecodedLine:
    """Apply a ``spaces=`` policy (module docstring).

    Args:
        line: a decoded line with ``char_spans``.
        mode: one of :data:`SPACES`.
        evidence: for ``"auto"``, :func:`space_evidence` of the line (None: no spaces are
            added, the model's between wide characters still go).
        prob: the space probability in the gap from which ``"auto"`` writes a space.

    An inserted space spans the blank frames between its neighbours, with the mean of
    their confidences and no alternatives of its own (an empty list).
    """
    if mode not in SPACES:
        raise ValueError(f"spaces must be one of {SPACES}, got {mode!r}")
    if mode == "model" or (mode == "none" and " " not in line.text):
        return line
    chars = _chars(line)
    if mode == "none":
        return _line(line, [c for c in chars if c[0] != " "])
    out: list[tuple] = []
    for i, c in enumerate(chars):
        prev = out[-1] if out else None
        if prev is not None and c[0] != " " and prev[0] != " " and not (
                is_wide(prev[0]) or is_wide(c[0])):
            blank = c[3][0] - prev[3][1] - 1
            seen = evidence[i - 1] if evidence is not None else 0.0
            if blank > 0 and seen >= prob:
                span = (prev[3][1] + 1, c[3][0] - 1)
                alts = None if line.alternatives is None else []
                out.append((" ", (prev[1] + c[1]) / 2, (span[0] + span[1]) // 2, span, alts))
        out.append(c)
    # The model's spaces between two wide characters go.
    kept = [c for i, c in enumerate(out) if not (
        c[0] == " " and 0 < i < len(out) - 1 and is_wide(out[i - 1][0]) and is_wide(out[i + 1][0]))]
    return _line(line, kept)


def _neighbour(text: str, i: int, step: int) -> str:
    j = i + step
    while 0 <= j < len(text) and text[j] == " ":
        j += step
    return text[j] if 0 <= j < len(text) else ""


def _auto_width(text: str, i: int) -> str:
    ch = text[i]
    half = FULL_TO_HALF.get(ch, ch)
    if half not in HALF_TO_FULL:
        return ch
    before, after = _neighbour(text, i, -1), _neighbour(text, i, 1)
    if before and after and is_latin_or_digit(before) and is_latin_or_digit(after):
        return half
    if (before and is_wide(before)) or (after and is_wide(after)):
        return HALF_TO_FULL[half]
    return half


def apply_punctuation(line: DecodedLine, mode: str) -> DecodedLine:
    """Apply a ``punctuation=`` policy (module docstring); positions and confidences stay."""
    if mode not in PUNCTUATION:
        raise ValueError(f"punctuation must be one of {PUNCTUATION}, got {mode!r}")
    if mode == "keep":
        return line
    text = line.text
    if mode == "full":
        new = "".join(HALF_TO_FULL.get(ch, ch) for ch in text)
    elif mode == "half":
        new = "".join(FULL_TO_HALF.get(ch, ch) for ch in text)
    else:
        new = "".join(_auto_width(text, i) for i in range(len(text)))
    return line if new == text else replace(line, text=new)
