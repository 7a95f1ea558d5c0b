"""The synthetic-data charset: which symbols exist, which are hanzi, how to load them.

Run time needs only this and numpy; the files in ``data/`` are built offline by
:mod:`.corpus_build`. Fonts (:mod:`.fonts`) and the text sampler (:mod:`.corpus`) both read
the charset from here, so neither imports the other.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CHARSET_FILE = DATA_DIR / "charset.txt"
ZH_WORDS_FILE = DATA_DIR / "zh_words.tsv"
LEXICON_FILE = DATA_DIR / "lexicon.json"

ASCII_PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]
FULLWIDTH_PUNCT = "，。！？；：、“”‘’（）《》【】…—·￥「」『』〔〕～"
SYMBOLS = "¥°℃×÷±≤≥≈≠€£§‰№→←↑↓①②③④⑤⑥⑦⑧⑨⑩■□●○▲△★☆◆◇※√"
# Every GB2312 hanzi (level 1: 3,755, level 2: 3,008): the set a Simplified-Chinese
# document may use without leaving the national standard.
NUM_HANZI = 6763


# Characters that commonly stand in for a charset symbol; mapped before filtering so that,
# e.g., a non-breaking space survives as the symbol the model learns. Both yen signs (¥
# U+00A5, ￥ U+FFE5) are charset symbols: real text uses both and they look different.
NORMALISE = str.maketrans({
    "\u00a0": " ", "\u3000": " ", "\t": " ", "\n": " ", "\r": " ",
    "–": "-", "−": "-", "‐": "-", "‑": "-", "‒": "-", "―": "—", "﹣": "-",
    "〜": "～", "•": "·", "・": "·", "∶": ":",
})


def is_hanzi(ch: str) -> bool:
    """True for a character in the CJK Unified Ideographs basic block (U+4E00..U+9FFF)."""
    return "\u4e00" <= ch <= "\u9fff"


def gb2312_level(ch: str) -> int:
    """1 or 2 for GB2312 level-1/level-2 hanzi, 0 otherwise.

    GB2312 is the national standard set of Simplified Chinese characters: level 1 (3,755
    characters, rows 0xB0-0xD7) holds the common ones, level 2 (3,008) the rest.
    """
    if not is_hanzi(ch):
        return 0
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return 0
    return 1 if 0xB0 <= b[0] <= 0xD7 else 2


def load_charset(path: str | os.PathLike | None = None) -> list[str]:
    """Symbols of the shipped charset (or of ``path``), in file order."""
    return list(read_charset_file(str(path or CHARSET_FILE)))


@lru_cache(maxsize=8)
def read_charset_file(path: str) -> tuple[str, ...]:
    """The symbols of a charset file, one a line (cached)."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)
