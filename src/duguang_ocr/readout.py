"""From a line's CTC logits to a :class:`~duguang_ocr.RecognitionResult`, as the caller asked.

The recognizer runs the network; everything about *reading* its output lives here: which
decoder (greedy, beam, constrained), per-character alternatives, output policies for spaces
and punctuation, the calibrated confidence, and pixel positions and boxes. The options are
one frozen :class:`ReadOptions`, set per :class:`~duguang_ocr.Recognizer` and overridden per
call, so a recognizer built for plates (``pattern=...``) can still read one free line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch

from . import automaton as fsa
from .calibration import LineFeatures, line_features
from .decoding import (
    DecodedLine,
    add_alternatives,
    ctc_beam_search,
    ctc_beam_search_batch,
    ctc_constrained_search,
    ctc_greedy,
    ctc_sequence_log_prob,
    greedy_lines,
)
from .pattern import compile_pattern
from .results import RecognitionResult
from .textpolicy import PUNCTUATION, SPACES, apply_punctuation, apply_spaces, space_evidence
from .vocab import BLANK

LEXICON_MODES = ("line", "words")
# Beam width of a constrained decode unless one (> 1) is asked for. Measured with
# the embedded convnextvit_nano (benchmarks/bench_constrained.py): IIIT5K with a 1,000-word
# lexicon reads 71.4 / 73.1 / 73.6 % of words at beams 8 / 16 / 32 for 2.8 / 3.8 / 4.8 ms
# of CPU per line over greedy decoding; plates gain nothing past 8.
CONSTRAINED_BEAM = 16


@dataclass(frozen=True)
class ReadOptions:
    """How lines are decoded and written out; each field is a keyword of
    :meth:`Recognizer.recognize <duguang_ocr.Recognizer.recognize>` (README "Decoding and
    output options").

    * ``beam_width``: 1 greedy, > 1 prefix beam search (constrained decoding always
      searches: with :data:`CONSTRAINED_BEAM` prefixes unless a beam > 1 is given).
    * ``alternatives=k``: per character up to k ``(char, probability)`` pairs.
    * ``allowed_chars``/``blocked_chars``: strings of characters the text may only /
      may never contain.
    * ``pattern``: a regular expression the whole line must match (a subset of
      Python's syntax, see :mod:`duguang_ocr.pattern`).
    * ``lexicon``: a list of entries or a path to a file with one a line; the line must
      be one entry, or with ``lexicon_mode="words"`` each space-separated word must.
    * ``ignore_case``: constraints match letters in either case.
    * ``spaces``: ``"model"``, ``"auto"`` or ``"none"``; ``punctuation``: ``"keep"``,
      ``"auto"``, ``"full"`` or ``"half"`` (see :mod:`duguang_ocr.textpolicy`).
    * ``vertical``: read crops taller than 1.5x their width as columns too and keep
      the most confident reading (default True; see :mod:`duguang_ocr.vertical`).

    Constraints are decoded exactly over the CTC lattice (prefix beam search through an
    automaton); when no reading satisfies them the unconstrained text is returned with
    ``constraint_met=False``.
    """

    beam_width: int = 1
    alternatives: int = 0
    allowed_chars: str | None = None
    blocked_chars: str | None = None
    pattern: str | None = None
    lexicon: tuple[str, ...] | None = None
    lexicon_mode: str = "line"
    ignore_case: bool = False
    # Defaults measured on mixed and English lines (README "Decoding and output options").
    spaces: str = "auto"
    punctuation: str = "auto"
    vertical: bool = True

    def __post_init__(self):
        if self.beam_width < 1:
            raise ValueError(f"beam_width must be >= 1, got {self.beam_width}")
        if self.alternatives < 0:
            raise ValueError(f"alternatives must be >= 0, got {self.alternatives}")
        for name, value, allowed in (("lexicon_mode", self.lexicon_mode, LEXICON_MODES),
                                     ("spaces", self.spaces, SPACES),
                                     ("punctuation", self.punctuation, PUNCTUATION)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.pattern is not None and self.lexicon is not None:
            raise ValueError("pass a pattern or a lexicon, not both")

    def updated(self, **changes) -> ReadOptions:
        """A copy with ``changes`` (option names as keys; a lexicon path is read here)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(sorted(unknown))}")
        if changes.get("lexicon") is not None:
            changes["lexicon"] = tuple(fsa.read_lexicon(changes["lexicon"]))
        return replace(self, **changes)

    @property
    def constrained(self) -> bool:
        return any(x is not None for x in (self.allowed_chars, self.blocked_chars,
                                           self.pattern, self.lexicon))

    def constraint_key(self) -> tuple:
        return (self.allowed_chars, self.blocked_chars, self.pattern, self.lexicon,
                self.lexicon_mode, self.ignore_case)


def build_constraint(itos: Sequence[str], allowed_chars: str | Iterable[str] | None = None,
                     blocked_chars: str | Iterable[str] | None = None,
                     pattern: str | None = None,
                     lexicon: str | os.PathLike | Iterable[str] | None = None,
                     lexicon_mode: str = "line", ignore_case: bool = False
                     ) -> fsa.Automaton | None:
    """One automaton for all given constraints (None when there are none).

    ``allowed_chars``/``blocked_chars`` restrict whatever ``pattern`` or ``lexicon`` allow
    (or, alone, allow any string of the allowed characters).
    """
    if allowed_chars is None and blocked_chars is None and pattern is None and lexicon is None:
        return None
    if ignore_case:  # (a case-folded vocabulary only has the lower-case letters)
        allowed_chars = None if allowed_chars is None else _both_cases(allowed_chars)
        blocked_chars = None if blocked_chars is None else _both_cases(blocked_chars)
    mask = fsa.char_mask(itos, allowed_chars, blocked_chars)
    if pattern is not None:
        base = compile_pattern(pattern, itos, ignore_case)
    elif lexicon is not None:
        entries = fsa.read_lexicon(lexicon)
        base = fsa.trie(entries, itos, ignore_case, words=lexicon_mode == "words")
    else:
        return fsa.any_of(itos, mask)
    return base.restrict(mask) if not mask[1:].all() else base


def _both_cases(chars: str | Iterable[str]) -> set[str]:
    return {v for c in chars for v in (c, c.lower(), c.upper())}


_UNBUILT = object()  # cache marker: None is a valid entry (no constraint)


class Reader:
    """Decodes batches of logits and builds results for one vocabulary.

    Compiled constraints are cached per option set: compiling a lexicon or pattern costs
    milliseconds to a second, decoding a line with it well under that.
    """

    def __init__(self, itos: Sequence[str]):
        self.itos = itos
        self._automata: dict[tuple, fsa.Automaton | None] = {}
        self._fold: fsa.CaseFold | None = None
        self._lattices: dict[int, _SubLattice] = {}
        self._spaces = [i for i, s in enumerate(itos) if s == " "]

    @property
    def fold(self) -> fsa.CaseFold:
        if self._fold is None:
            self._fold = fsa.CaseFold(self.itos)
        return self._fold

    def automaton(self, opts: ReadOptions) -> fsa.Automaton | None:
        """The compiled constraint (over the case-folded vocabulary with ``ignore_case``)."""
        key = opts.constraint_key()
        # Threads share a recognizer (the server): the answer is held in a local, so another
        # thread clearing the cache between the store and the return cannot lose it.
        found = self._automata.get(key, _UNBUILT)
        if found is _UNBUILT:
            found = build_constraint(
                self.fold.itos if opts.ignore_case else self.itos, opts.allowed_chars,
                opts.blocked_chars, opts.pattern, opts.lexicon, opts.lexicon_mode,
                opts.ignore_case)
            if len(self._automata) > 32:
                self._automata.clear()
            self._automata[key] = found
        return found

    def decode_lines(self, lines: Sequence[torch.Tensor],
                     opts: ReadOptions) -> list[DecodedLine]:
        """One :class:`DecodedLine` per (T_i, C) logits; lines of equal length are decoded
        as one batch."""
        decoded: list[DecodedLine | None] = [None] * len(lines)
        by_length: dict[int, list[int]] = {}
        for i, line in enumerate(lines):
            by_length.setdefault(line.shape[0], []).append(i)
        for rows in by_length.values():
            out = self.decode(torch.stack([lines[i] for i in rows]), opts)
            for i, line in zip(rows, out):
                decoded[i] = line
        return decoded  # type: ignore[return-value]

    def decode(self, logits: torch.Tensor, opts: ReadOptions) -> list[DecodedLine]:
        """(N, T, C) logits -> one :class:`DecodedLine` per row."""
        automaton = self.automaton(opts)
        # Full (N, T, C) tensors stay where the logits are (a GPU); the CPU gets what each step
        # needs. Copying or exponentiating all ~7,000 classes cost greedy reading a third of
        # its time.
        log_probs = logits.float().log_softmax(-1)
        top = log_probs.max(-1)  # every frame's best class and its log-probability
        if automaton is not None:
            lines = self._constrained(log_probs.cpu(), opts, automaton)
        elif opts.beam_width > 1:
            lines = ctc_beam_search_batch(log_probs.cpu(), self.itos,
                                          beam_width=opts.beam_width)
        else:
            lines = greedy_lines(top.values.exp(), top.indices, log_probs[..., BLANK].exp(),
                                 self.itos)
        peaks = top.values.mean(-1).tolist()
        for line, peak in zip(lines, peaks):
            line.log_peak = peak
        if opts.alternatives:
            add_alternatives(lines, log_probs.exp().cpu(), self.itos, opts.alternatives)
        if opts.spaces == "auto":
            spaces = log_probs[..., self._spaces].exp().cpu().numpy()  # (N, T, spaces)
            for line, p in zip(lines, spaces):
                line.space_evidence = space_evidence(line, p)
        return lines

    def _constrained(self, log_probs: torch.Tensor, opts: ReadOptions,
                     automaton: fsa.Automaton) -> list[DecodedLine]:
        sub = self._lattices.get(id(automaton))
        if sub is None or sub.automaton_of is not automaton:
            sub = _SubLattice(automaton, self.itos, self.fold if opts.ignore_case else None)
            self._lattices = {id(automaton): sub}
        # Only the ~40 columns the automaton can use go to float64, not all 7,000.
        lp = log_probs[..., torch.from_numpy(sub.columns)].double().numpy()
        width = opts.beam_width if opts.beam_width > 1 else CONSTRAINED_BEAM
        lines = []
        for i, row in enumerate(lp):
            line = sub.search(row, width)
            if line is not None:
                line.constraint_cost = _cost(log_probs[i], line.ids)
            else:  # nothing matched: the unconstrained reading, flagged
                full = log_probs[i].double().numpy()
                line = (ctc_beam_search(full, self.itos, opts.beam_width) if opts.beam_width > 1
                        else ctc_greedy(np.exp(full)[None], self.itos)[0])
                line.constraint_met = False
            lines.append(line)
        return lines

    def result(self, line: DecodedLine, opts: ReadOptions,
               calibration: Callable[[LineFeatures], float] | None,
               to_pixels: Callable[[float], float], vertical: bool = False
               ) -> RecognitionResult:
        """The caller's result for a decoded line.

        Args:
            line: from :meth:`decode`.
            opts: the options it was decoded with (output policies are applied here).
            calibration: the model's map from raw score to confidence (None: raw).
            to_pixels: CTC frame (fractional frames allowed: ``f - 0.5`` is frame ``f``'s
                leading edge) -> coordinate in the original image.
            vertical: the line was read as a column (coordinates are y).
        """
        features = line_features(line.char_confidences, line.confidence, line.log_peak or 0.0,
                                 line.constraint_cost)
        confidence = calibration(features) if calibration is not None else features.raw
        if not line.constraint_met:  # a text built to satisfy a constraint stays as it is
            line = apply_spaces(line, opts.spaces, line.space_evidence)
            line = apply_punctuation(line, opts.punctuation)
        return RecognitionResult(
            text=line.text,
            confidence=confidence,
            char_confidences=[float(c) for c in line.char_confidences],
            char_positions=[to_pixels(f) for f in line.char_frames],
            char_boxes=[(to_pixels(a), to_pixels(b)) for a, b in char_cells(line.char_spans)],
            alternatives=line.alternatives,
            constraint_met=line.constraint_met,
            vertical=vertical,
        )


def char_cells(spans: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
    """Character boxes, in frames, from CTC spans: neighbours meet in the middle of the
    blank frames between their spans; the first and last character extend as far beyond
    their centre as towards their neighbour.

    CTC emits a character in one or two frames near its start, so the spans themselves are
    much narrower than the glyphs (mean IoU 0.38 with the rendered characters of
    bench_output_policy.py); cells cover them about twice as well (0.74). Frame ``f``
    covers ``f - 0.5 .. f + 0.5``.
    """
    if len(spans) == 1:
        return [(spans[0][0] - 0.5, spans[0][1] + 0.5)]
    mids = [(a[1] + b[0]) / 2 for a, b in zip(spans, spans[1:])]
    cells = []
    for i, (a, b) in enumerate(spans):
        centre = (a + b) / 2
        left = mids[i - 1] if i else centre - (mids[0] - centre)
        right = mids[i] if i < len(mids) else centre + (centre - mids[-1])
        cells.append((left, right))
    return cells


def _cost(log_probs: torch.Tensor, ids: list[int]) -> float:
    """log P(best-path text) - log P(``ids``) over one line's (T, C) log-probabilities,
    floored at 0 (CTC forward sums over the few columns either labelling uses)."""
    best = log_probs.argmax(-1)
    keep = (best != 0) & torch.cat([torch.ones(1, dtype=torch.bool), best[1:] != best[:-1]])
    own = best[keep].tolist()
    if own == list(ids):
        return 0.0
    columns = sorted({0, *own, *ids})
    pos = {c: k for k, c in enumerate(columns)}
    lp = log_probs[:, torch.tensor(columns)].double().numpy()
    gap = (ctc_sequence_log_prob(lp, [pos[c] for c in own])
           - ctc_sequence_log_prob(lp, [pos[c] for c in ids]))
    return max(0.0, float(gap)) if np.isfinite(gap) else 0.0


class _SubLattice:
    """The part of the lattice a constrained decode reads: the blank, the classes the
    automaton can emit and, case-insensitively, their upper-case twins.

    Gathering these few dozen columns before anything else keeps a constrained line's cost
    independent of the vocabulary size. With a :class:`~duguang_ocr.automaton.CaseFold`
    each twin's probability is added to its lower-case class before the search and each
    letter gets its likelier case back after it (the confidence stays case-blind).
    """

    def __init__(self, automaton: fsa.Automaton, itos: Sequence[str],
                 fold: fsa.CaseFold | None):
        self.automaton_of = automaton
        used = automaton.used_labels.tolist()
        twins = [fold.upper_of[c] for c in used if c in fold.upper_of] if fold else []
        self.columns = np.unique(np.array([0, *used, *twins], dtype=np.int64))
        self.itos = [itos[c] for c in self.columns]
        search_itos = fold.itos if fold else itos
        self.search_itos = [search_itos[c] for c in self.columns]
        self.automaton = automaton.relabel(self.columns)
        pos = {int(c): k for k, c in enumerate(self.columns)}
        pairs = [(pos[c], pos[fold.upper_of[c]]) for c in used if fold and c in fold.upper_of]
        self.lower = np.array([lo for lo, _ in pairs], dtype=np.int64)
        self.upper = np.array([up for _, up in pairs], dtype=np.int64)
        self.upper_of = dict(pairs)

    def search(self, lp: np.ndarray, width: int) -> DecodedLine | None:
        """The constrained reading of one line's (T, columns) log-probabilities."""
        folded = lp
        if self.upper.size:
            folded = lp.copy()
            folded[:, self.lower] = np.logaddexp(lp[:, self.lower], lp[:, self.upper])
            folded[:, self.upper] = -np.inf
        line = ctc_constrained_search(folded, self.search_itos, self.automaton, width)
        if line is None:
            return None
        ids = [self.upper_of[i] if i in self.upper_of and lp[f, self.upper_of[i]] > lp[f, i]
               else i for i, f in zip(line.ids, line.char_frames)]
        return replace(line, ids=self.columns[ids].tolist(),
                       text="".join(self.itos[i] for i in ids))
