"""Vocabulary: the mapping between CTC class indices and characters.

ModelScope's ``vocab.txt`` has one symbol per line. The class index of line ``i`` (0-based) is
``i + offset``: ``offset`` is 2 for ConvNextViT/LightweightEdge checkpoints (class 1 is an
unused slot) and 1 for CRNN. Class 0 is always the CTC blank.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

BLANK = 0


class VocabError(ValueError):
    """A vocabulary file or symbol list is malformed."""


def case_pairs(itos: Sequence[str]) -> list[tuple[int, int]]:
    """``(lower id, upper id)`` of every one-character letter class whose other case is a
    class too (class 0, the blank, excluded): the letters that case-insensitive decoding
    (:class:`duguang_ocr.automaton.CaseFold`) and training merge."""
    ids = {s: i for i, s in enumerate(itos) if i and len(s) == 1}
    return sorted((ids[s.lower()], i) for s, i in ids.items()
                  if s != s.lower() and len(s.lower()) == 1 and s.lower() in ids)


class Vocab:
    """Characters <-> CTC class ids.

    Args:
        symbols: one entry per vocab line (usually one character; multi-character symbols
            are allowed, as in ModelScope).
        offset: class id of the first symbol (2 for ConvNextViT, 1 for CRNN).

    >>> v = Vocab(["a", "b"], offset=2)
    >>> v.num_classes, v.encode("ba"), v.decode([3, 2])
    (4, [3, 2], 'ba')
    """

    def __init__(self, symbols: Sequence[str], offset: int = 2):
        if offset < 1:
            raise VocabError(f"offset must be >= 1 (class 0 is the CTC blank), got {offset}")
        symbols = list(symbols)
        if not symbols:
            raise VocabError("vocabulary is empty")
        seen: dict[str, int] = {}
        for i, s in enumerate(symbols):
            if s == "":
                raise VocabError(f"vocabulary line {i + 1} is empty")
            if s in seen:
                raise VocabError(
                    f"vocabulary symbol {s!r} appears twice (lines {seen[s] + 1} and {i + 1})"
                )
            seen[s] = i
        self.symbols = symbols
        self.offset = offset
        self._index = {s: i + offset for i, s in enumerate(symbols)}
        # itos[c] is the text emitted for class c; blank and unused slots emit nothing.
        self.itos: list[str] = [""] * offset + symbols

    @property
    def num_classes(self) -> int:
        return len(self.symbols) + self.offset

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and (self.symbols, self.offset) == (
            other.symbols,
            other.offset,
        )

    def __repr__(self) -> str:
        return f"Vocab({len(self.symbols)} symbols, offset={self.offset})"

    def char_id(self, char: str) -> int | None:
        return self._index.get(char)

    def encode(self, text: str, unknown: str = "raise") -> list[int]:
        """Class ids for ``text`` character by character.

        ``unknown``: ``"raise"`` (KeyError naming the character) or ``"skip"``.
        """
        ids = []
        for ch in text:
            i = self._index.get(ch)
            if i is None:
                if unknown == "skip":
                    continue
                raise KeyError(f"character {ch!r} (U+{ord(ch):04X}) is not in the vocabulary")
            ids.append(i)
        return ids

    def missing(self, text: str) -> set[str]:
        """Characters of ``text`` that the vocabulary cannot express."""
        return {ch for ch in text if ch not in self._index}

    def case_pairs(self) -> list[tuple[int, int]]:
        """:func:`case_pairs` of this vocabulary's classes: what a case-insensitive loss merges
        (:func:`duguang_ocr.training.evaluate.ctc_per_line`)."""
        return case_pairs(self.itos)

    def fold_case(self, text: str) -> str:
        """``text`` with every letter of :meth:`case_pairs` in lower case (others as they
        are): the target of a line whose label's case is not to be trusted."""
        return "".join(ch.lower() if ch in self._fold_uppers else ch for ch in text)

    @cached_property
    def _fold_uppers(self) -> frozenset[str]:
        # Once per vocabulary: a training collator folds every flagged line.
        return frozenset(self.itos[u] for _, u in self.case_pairs())

    def decode(self, ids: Iterable[int]) -> str:
        """Join the symbols of already-collapsed class ids (blanks/unused ids emit nothing)."""
        itos = self.itos
        return "".join(itos[i] if 0 <= i < len(itos) else "" for i in ids)

    @classmethod
    def from_file(cls, path: str | os.PathLike, offset: int = 2) -> Vocab:
        """Read ``vocab.txt`` exactly as ModelScope does: one symbol per line, only the
        trailing newline stripped (so a line holding a single space is the space symbol)."""
        text = Path(path).read_text(encoding="utf-8")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the file's final newline, not an empty symbol
        try:
            return cls(lines, offset=offset)
        except VocabError as e:
            raise VocabError(f"{path}: {e}") from None

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text("\n".join(self.symbols) + "\n", encoding="utf-8")
