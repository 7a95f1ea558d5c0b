"""Random text lines for synthetic rendering: :class:`TextSampler` (run time, numpy only).

It mixes Chinese words and phrases, English, numbers, dates, money, phone numbers, codes,
names, addresses and mixed-script text, the content a document OCR model meets, and
guarantees that every sampled text uses only charset symbols (:mod:`.charset`), so a label
can never name a class the model does not have. The word lists it draws from are built
offline by :mod:`.corpus_build` (``python -m duguang_ocr.synth.corpus_build --build``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import textformats as tf
from .charset import (
    LEXICON_FILE,
    NORMALISE,
    ZH_WORDS_FILE,
    is_hanzi,
    load_charset,
)

# Symbols written out when the charset lacks them (``TextSampler.clean``).
_SPELL_OUT = {"℃": "°C"}


@lru_cache(maxsize=4)
def read_corpus_files(words_file: str,
                      lexicon_file: str) -> tuple[tuple[str, ...], np.ndarray, dict]:
    """Chinese words with frequencies and the lexicon (cached; :mod:`.corpus_build` clears
    the cache after rebuilding the files)."""
    words, freqs = [], []
    with open(words_file, encoding="utf-8") as f:
        for line in f:
            w, _, fr = line.rstrip("\n").partition("\t")
            if w:
                words.append(w)
                freqs.append(float(fr or 1))
    lexicon = json.loads(Path(lexicon_file).read_text(encoding="utf-8"))
    return tuple(words), np.asarray(freqs, dtype=np.float64), lexicon


LENGTH_BUCKETS = ((1, 1, 0.03), (2, 5, 0.30), (6, 12, 0.40), (13, 20, 0.19), (21, 40, 0.08))
"""(min, max, probability) of the target text length: most lines hold 2..20 characters,
which at height 32 is what fits one or two 300-px model chunks."""

DEFAULT_MIX: Mapping[str, float] = {
    "zh_phrase": 0.17, "zh_sentence": 0.03, "zh_running": 0.11, "zh_chars": 0.05,
    "en_words": 0.09, "en_sentence": 0.04,
    "number": 0.05, "date": 0.05, "money": 0.04, "phone": 0.03, "code": 0.06,
    "name": 0.04, "address": 0.04, "company": 0.02, "job": 0.01,
    "key_value": 0.06, "mixed": 0.05, "punct": 0.03,
    "ascii_chars": 0.02, "any_chars": 0.01,
}
"""Share of each kind of text; ``zh_chars``/``ascii_chars``/``any_chars`` draw characters
uniformly so rare charset symbols are seen too, not only those frequent words contain."""


class TextSampler:
    """Random text lines (labels) for synthetic rendering, restricted to a charset.

    Args:
        charset: allowed symbols (default: the shipped ``data/charset.txt``).
        seed: seeds the sampler's own generator, used when ``sample`` gets no ``rng``.
        max_chars: default cap on the text length (characters).
        mix: relative weights of the text kinds (default ``DEFAULT_MIX``).
        zh_alpha: Chinese words are drawn with probability ~ frequency**zh_alpha; below 1 it
            flattens jieba's heavy head (的/了/是) so the model sees more of the charset.

    >>> s = TextSampler(seed=0)
    >>> text = s.sample(np.random.default_rng(1))  # doctest: +SKIP
    """

    def __init__(
        self,
        charset: Sequence[str] | None = None,
        seed: int = 0,
        *,
        max_chars: int = 40,
        mix: Mapping[str, float] | None = None,
        zh_alpha: float = 0.5,
        words_file: str | os.PathLike = ZH_WORDS_FILE,
        lexicon_file: str | os.PathLike = LEXICON_FILE,
    ):
        self.charset = list(charset) if charset is not None else load_charset()
        self.allowed = frozenset(self.charset)
        self.rng = np.random.default_rng(seed)
        self.max_chars = max_chars
        words, freqs, lex = read_corpus_files(str(words_file), str(lexicon_file))
        keep = [i for i, w in enumerate(words) if set(w) <= self.allowed]
        self.zh_words = [words[i] for i in keep]
        w = freqs[keep] ** zh_alpha
        self._zh_cdf = np.cumsum(w) / w.sum()
        self.lex = {k: [s for s in v if not isinstance(s, str) or set(s) <= self.allowed]
                    for k, v in lex.items()}
        last = self.lex["zh_last_names"]
        lw = np.asarray(lex["zh_last_name_weights"][: len(last)], dtype=np.float64)
        self._last_cdf = np.cumsum(lw) / lw.sum() if len(lw) else np.ones(0)
        self.hanzi = [c for c in self.charset if is_hanzi(c)]
        self.ascii = [c for c in self.charset if c.isascii() and c != " "]
        self.others = [c for c in self.charset if not c.isascii() and not is_hanzi(c)]
        self._en = self.lex["en_words"] or ["text"]
        # Spell out symbols the charset lacks instead of silently dropping them (the shipped
        # charset has no ℃: its reference font cannot draw it, so "23℃" became "23").
        extra = {src: dst for src, dst in _SPELL_OUT.items()
                 if src not in self.allowed and set(dst) <= self.allowed}
        self._normalise = {**NORMALISE, **str.maketrans(extra)}
        self._capital_ok = set(tf.ZH_CAPITAL + "万仟佰拾元整") <= self.allowed
        mix = DEFAULT_MIX if mix is None else mix
        unknown = set(mix) - set(self._generators())
        if unknown:
            raise ValueError(f"unknown text kinds in mix: {sorted(unknown)}")
        self.kinds = [k for k, v in mix.items() if v > 0]
        p = np.asarray([mix[k] for k in self.kinds], dtype=np.float64)
        self._kind_cdf = np.cumsum(p) / p.sum()

    # ----------------------------------------------------------------- public API

    def sample(self, rng: np.random.Generator | None = None, max_chars: int | None = None) -> str:
        """One text of 1..``max_chars`` charset symbols, no leading/trailing spaces."""
        return self.sample_with_kind(rng, max_chars)[1]

    def sample_with_kind(
        self, rng: np.random.Generator | None = None, max_chars: int | None = None
    ) -> tuple[str, str]:
        """``(kind, text)``: like ``sample`` but also says which generator made the text."""
        rng = self.rng if rng is None else rng
        max_chars = self.max_chars if max_chars is None else max_chars
        if max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        gens = self._generators()
        for attempt in range(20):
            kind = self.kinds[int(np.searchsorted(self._kind_cdf, rng.random(), side="right"))]
            target = self._target_length(rng, max_chars)
            text = self.clean(gens[kind](rng, target), None)
            if len(text) > max_chars:
                if attempt < 5:
                    continue  # prefer a whole text that fits to a cut-off one
                text = self.clean(text, max_chars)
            if text:
                return kind, text
        pool = self.hanzi or self.ascii or self.others
        if not pool:
            raise ValueError("the charset has no symbol to sample (only spaces, or empty)")
        return "any_chars", tf.pick(rng, pool)

    def clean(self, text: str, max_chars: int | None = None) -> str:
        """Map look-alikes onto charset symbols, drop every other non-charset character,
        collapse spaces, strip, and cut to ``max_chars`` if given (at a space when one is
        near)."""
        text = text.translate(self._normalise)
        text = "".join(ch for ch in text if ch in self.allowed)
        text = re.sub(" {2,}", " ", text).strip()
        if max_chars is not None and len(text) > max_chars:
            cut = text[:max_chars]
            space = cut.rfind(" ")
            if text[max_chars] != " " and space >= max(1, int(max_chars * 0.6)):
                cut = cut[:space]
            text = cut.strip()
        return text

    # ----------------------------------------------------------------- helpers

    def _generators(self) -> dict[str, Callable[[np.random.Generator, int], str]]:
        return {
            "zh_phrase": self._zh_phrase, "zh_sentence": self._zh_sentence,
            "zh_running": self._zh_running,
            "zh_chars": self._zh_chars, "en_words": self._en_words,
            "en_sentence": self._en_sentence, "number": self._number, "date": self._date,
            "money": self._money, "phone": self._phone, "code": self._code,
            "name": self._name, "address": self._address, "company": self._company,
            "job": self._job, "key_value": self._key_value, "mixed": self._mixed,
            "punct": self._punct, "ascii_chars": self._ascii_chars, "any_chars": self._any_chars,
        }

    @staticmethod
    def _target_length(rng: np.random.Generator, max_chars: int) -> int:
        r = rng.random()
        acc = 0.0
        lo, hi = LENGTH_BUCKETS[-1][:2]
        for b_lo, b_hi, p in LENGTH_BUCKETS:
            acc += p
            if r < acc:
                lo, hi = b_lo, b_hi
                break
        return int(min(max_chars, rng.integers(lo, hi + 1)))

    def _zh_word(self, rng: np.random.Generator) -> str:
        if not self.zh_words:
            return tf.pick(rng, self.hanzi) if self.hanzi else ""
        i = int(np.searchsorted(self._zh_cdf, rng.random(), side="right"))
        return self.zh_words[min(i, len(self.zh_words) - 1)]

    def _zh_words_to(self, rng: np.random.Generator, target: int, punct_p: float = 0.0) -> str:
        out = ""
        while len(out) < target:
            word = self._zh_word(rng)
            if not word:  # a charset without hanzi: nothing to add (and no endless loop)
                break
            out += word
            if punct_p and len(out) < target - 1 and rng.random() < punct_p:
                out += tf.pick(rng, "，，，、、；：")
        return out

    def _en_word(self, rng: np.random.Generator) -> str:
        return tf.pick(rng, self._en)

    def _en_words_to(self, rng: np.random.Generator, target: int) -> str:
        words = [self._en_word(rng)]
        while len(" ".join(words)) < target:
            words.append(self._en_word(rng))
        return " ".join(words)

    def _zh_name(self, rng: np.random.Generator) -> str:
        last = self.lex["zh_last_names"]
        given = self.lex["zh_given_names"]
        if not last or not given:
            return self._zh_word(rng)
        surname = last[min(int(np.searchsorted(self._last_cdf, rng.random())), len(last) - 1)]
        name = tf.pick(rng, given)
        if len(name) == 1 and rng.random() < 0.4:
            name += tf.pick(rng, given)[0]
        return surname + name

    def _en_name(self, rng: np.random.Generator) -> str:
        first = tf.pick(rng, self.lex["en_first_names"] or ["John"])
        last = tf.pick(rng, self.lex["en_last_names"] or ["Smith"])
        r = rng.random()
        if r < 0.1:
            return f"{tf.pick(rng, ('Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'))} {first} {last}"
        if r < 0.2:
            return f"{first[0]}. {last}"
        if r < 0.27:
            return f"{last.upper()}, {first}"
        return f"{first} {last}"

    def _date_str(self, rng: np.random.Generator) -> str:
        y, m, d = int(rng.integers(1950, 2036)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        hh, mm, ss = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
        fmts = (
            f"{y}-{m:02d}-{d:02d}", f"{y}年{m}月{d}日", f"{m:02d}/{d:02d}/{y}", f"{y}/{m}/{d}",
            f"{y}.{m:02d}.{d:02d}", f"{d:02d}.{m:02d}.{y}", f"{y}年{m:02d}月{d:02d}日",
            f"{m}月{d}日", f"{y}年{m}月", f"{tf.MONTHS_EN[m - 1]} {d}, {y}",
            f"{d} {tf.MONTHS_EN[m - 1][:3]} {y}", f"{d:02d}-{tf.MONTHS_EN[m - 1][:3].upper()}-{y}",
            f"{hh:02d}:{mm:02d}", f"{hh:02d}:{mm:02d}:{ss:02d}",
            f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}", f"{y}{m:02d}{d:02d}",
            f"星期{tf.pick(rng, tf.WEEKDAYS_ZH)}", f"周{tf.pick(rng, tf.WEEKDAYS_ZH)}",
            f"{tf.pick(rng, ('上午', '下午', '晚上'))}{hh % 12 + 1}点{mm}分",
            f"{tf.pick(rng, tf.WEEKDAYS_EN)}, {tf.MONTHS_EN[m - 1]} {d}",
            f"{y}年{m}月{d}日 {tf.pick(rng, ('星期', '周'))}{tf.pick(rng, tf.WEEKDAYS_ZH)}",
            f"{y}-{y + int(rng.integers(1, 5))}学年", f"{hh % 12 + 1}:{mm:02d} {tf.pick(rng, ('AM', 'PM'))}",
        )
        return tf.pick(rng, fmts)

    def _amount(self, rng: np.random.Generator) -> float:
        return float(10 ** rng.uniform(-1, 6.5))

    def _money_str(self, rng: np.random.Generator) -> str:
        v = self._amount(rng)
        k = int(rng.integers(0, 12))
        yen = tf.pick(rng, ("￥", "¥"))  # both signs are common in real text
        if k == 0:
            return f"{yen}{v:,.2f}"
        if k == 1:
            return f"{yen}{v:.2f}"
        if k == 2:
            return f"${v:,.2f}"
        if k == 3:
            return f"{v / 10000:.{int(rng.integers(1, 3))}f}万元"
        if k == 4:
            return f"{int(v)}元"
        if k == 5:
            return f"{tf.pick(rng, ('€', '£', 'USD ', 'RMB ', 'HK$', 'US$'))}{v:,.2f}"
        if k == 6:
            amount = int(v) % 100000 or 1
            # The shipped charset lacks 壹贰叁柒捌玖仟佰 (rare outside invoices); dropping
            # them turned 叁仟伍佰元整 into 伍元整, so read the amount in common numerals.
            if self._capital_ok:
                return tf.zh_capital_amount(amount)
            return tf.zh_number(amount) + "元整"
        if k == 7:
            return f"人民币{v:,.2f}元"
        if k == 8:
            return f"{v:,.2f}"
        if k == 9:
            return f"-{yen}{v:.2f}"
        if k == 10:
            return f"{int(v)}.00"
        return f"{tf.zh_number(int(v) % 100000)}元"

    def _phone_str(self, rng: np.random.Generator) -> str:
        mobile = "1" + tf.pick(rng, "3456789") + tf.digits(rng, 9)
        k = int(rng.integers(0, 9))
        if k == 0:
            return mobile
        if k == 1:
            return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        if k == 2:
            return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
        if k == 3:
            return f"+86 {mobile}"
        if k == 4:
            area = tf.pick(rng, ("010", "021", "020", "022", "023", "0551", "0571", "0755", "028"))
            return f"{area}-{tf.digits(rng, 8 if len(area) == 3 else 7, True)}"
        if k == 5:
            return f"({tf.digits(rng, 3)}) {tf.digits(rng, 4, True)} {tf.digits(rng, 4)}"
        if k == 6:
            return f"{tf.pick(rng, ('400', '800'))}-{tf.digits(rng, 3)}-{tf.digits(rng, 4)}"
        if k == 7:
            return f"({tf.digits(rng, 3, True)}) {tf.digits(rng, 3, True)}-{tf.digits(rng, 4)}"
        return f"+1 {tf.digits(rng, 3, True)}-{tf.digits(rng, 3)}-{tf.digits(rng, 4)} ext. {tf.digits(rng, 3)}"

    def _code_str(self, rng: np.random.Generator) -> str:
        k = int(rng.integers(0, 20))
        if k == 0:  # order id
            return tf.pick(rng, ("DD", "SO", "PO", "NO", "JD", "TB", "")) + tf.digits(rng, int(rng.integers(10, 19)))
        if k == 1:  # licence plate
            plate = tf.pick(rng, tf.PLATE_PROVINCES) + tf.pick(rng, tf.PLATE_LETTERS)
            tail = tf.chars(rng, tf.PLATE_LETTERS[:10] + "0123456789" * 3, 5)
            sep = tf.pick(rng, ("", "", "·", " "))
            return plate + sep + (tail if rng.random() < 0.8 else tf.pick(rng, "DF") + tf.digits(rng, 5))
        if k == 2:  # serial number
            groups = [tf.chars(rng, tf.ALNUM_UPPER, 4) for _ in range(int(rng.integers(2, 5)))]
            return tf.pick(rng, ("SN:", "S/N ", "SN ", "", "")) + "-".join(groups)
        if k == 3:
            return tf.chars(rng, tf.ALNUM_UPPER, int(rng.integers(4, 16)))
        if k == 4:  # hex / hashes
            return tf.chars(rng, tf.HEX if rng.random() < 0.7 else tf.HEX.upper(), int(rng.integers(6, 33)))
        if k == 5:  # ID card
            return tf.digits(rng, 17, True) + tf.pick(rng, "0123456789X")
        if k == 6:
            return f"ISBN 978-7-{tf.digits(rng, 3)}-{tf.digits(rng, 5)}-{tf.digits(rng, 1)}"
        if k == 7:  # email
            user = tf.pick(rng, self._en) + tf.pick(rng, ("", ".", "_", "-")) + tf.digits(rng, int(rng.integers(0, 5)))
            return f"{user}@{tf.pick(rng, self._en)}.{tf.pick(rng, tf.TLDS)}"
        if k == 8:  # url
            path = "/".join(tf.pick(rng, self._en) for _ in range(int(rng.integers(0, 3))))
            return f"{tf.pick(rng, ('https://', 'http://', '', 'www.'))}{tf.pick(rng, self._en)}.{tf.pick(rng, tf.TLDS)}" + (
                f"/{path}" if path else "") + (f"?id={tf.digits(rng, 4)}&p={tf.digits(rng, 1)}" if rng.random() < 0.2 else "")
        if k == 9:  # model numbers
            return tf.chars(rng, tf.PLATE_LETTERS, int(rng.integers(1, 4))) + tf.pick(rng, ("-", "", " ")) + tf.digits(
                rng, int(rng.integers(2, 5))) + (tf.chars(rng, "ABCDEFGHKLMNPRSTX", 1) if rng.random() < 0.5 else "")
        if k == 10:  # standards
            return f"{tf.pick(rng, ('GB', 'GB/T', 'JB/T', 'ISO', 'IEC', 'QB/T'))} {tf.digits(rng, int(rng.integers(3, 6)), True)}-{int(rng.integers(1990, 2025))}"
        if k == 11:  # versions / files
            v = f"{int(rng.integers(0, 20))}.{int(rng.integers(0, 20))}.{int(rng.integers(0, 30))}"
            return tf.pick(rng, (f"v{v}", f"V{v}", f"version {v}",
                               f"{tf.pick(rng, self._en)}_{tf.digits(rng, 4)}.{tf.pick(rng, ('pdf', 'docx', 'xlsx', 'jpg', 'png', 'txt', 'zip'))}"))
        if k == 12:  # paths
            parts = [tf.pick(rng, self._en) for _ in range(int(rng.integers(1, 4)))]
            return tf.pick(rng, ("C:\\" + "\\".join(parts), "/" + "/".join(parts), "~/" + "/".join(parts)))
        if k == 13:  # expressions
            a, b = int(rng.integers(0, 1000)), int(rng.integers(1, 1000))
            op = tf.pick(rng, "+-*/×÷")
            return tf.pick(rng, (f"{a}{op}{b}={a + b if op == '+' else '?'}", f"x^{int(rng.integers(2, 5))}+{a}",
                               f"a_{int(rng.integers(0, 10))}", f"f(x)={a}x+{b}", f"{a}≤x≤{b}", f"{a}≠{b}",
                               f"|x-{a}|<{b}", f"{{{tf.pick(rng, self._en)}}}", f"`{tf.pick(rng, self._en)}`",
                               f"{a}≈{b}", f"#{tf.digits(rng, 4)}", f"{tf.pick(rng, self._en)}&{tf.pick(rng, self._en)}"))
        if k == 14:  # postcode / numbers with prefixes
            return tf.pick(rng, (f"邮编{tf.digits(rng, 6, True)}", f"No.{tf.digits(rng, int(rng.integers(3, 9)))}",
                               f"№{tf.digits(rng, 6)}", f"§{int(rng.integers(1, 200))}", f"第{tf.digits(rng, 6)}号",
                               f"{tf.digits(rng, 4)} {tf.digits(rng, 4)} {tf.digits(rng, 4)} {tf.digits(rng, 4)}"))
        if k == 15:  # express tracking
            return tf.pick(rng, ("SF", "YT", "ZTO", "JT", "EMS")) + tf.digits(rng, int(rng.integers(10, 16)))
        if k == 16:  # invoice
            return f"{tf.digits(rng, 12)} {tf.digits(rng, 8)}"
        if k == 17:  # room / building
            return f"{int(rng.integers(1, 40))}{tf.pick(rng, ('栋', '号楼', '幢'))}{int(rng.integers(1, 6))}单元{int(rng.integers(1, 33))}{tf.digits(rng, 2)}室"
        if k == 18:  # hashtags / handles
            return tf.pick(rng, ("#", "@")) + tf.pick(rng, self._en) + tf.pick(rng, self._en).capitalize()
        return f"[{tf.chars(rng, tf.PLATE_LETTERS, 1)}-{tf.digits(rng, 2)}]"

    def _number_str(self, rng: np.random.Generator) -> str:
        k = int(rng.integers(0, 14))
        v = float(10 ** rng.uniform(-2, 7))
        if k == 0:
            return str(int(v))
        if k == 1:
            return f"{int(v):,}"
        if k == 2:
            return f"{v:.{int(rng.integers(1, 4))}f}"
        if k == 3:
            return f"-{v:.{int(rng.integers(0, 3))}f}"
        if k == 4:
            return f"{rng.uniform(0, 100):.{int(rng.integers(0, 3))}f}%"
        if k == 5:
            a = int(rng.integers(0, 100))
            return f"{a}{tf.pick(rng, ('-', '～', '~', ' - ', '至', '到'))}{a + int(rng.integers(1, 100))}"
        if k == 6:
            return f"{int(rng.integers(1, 20))}/{int(rng.integers(2, 100))}"
        if k == 7:
            return f"{rng.uniform(1, 10):.{int(rng.integers(1, 3))}f}e{int(rng.integers(-9, 10))}"
        if k == 8:
            n = int(rng.integers(1, 100))
            return tf.pick(rng, (f"第{n}{tf.pick(rng, '名章节页条次期')}", f"{n}{tf.pick(rng, ('st', 'nd', 'rd', 'th'))}",
                               f"第{tf.zh_number(n)}{tf.pick(rng, '章节条')}", f"{tf.zh_number(n)}{tf.pick(rng, '个人件年')}",
                               f"NO.{n}", f"#{n}", f"{n}."))
        if k == 9:
            return f"{v:.{int(rng.integers(0, 3))}f}{tf.pick(rng, tf.UNITS)}"
        if k == 10:
            return f"{int(rng.integers(1, 300))}{tf.pick(rng, ('×', 'x', '*', 'X'))}{int(rng.integers(1, 300))}{tf.pick(rng, ('', 'mm', 'cm', 'm'))}"
        if k == 11:
            t = rng.uniform(-30, 45)
            return tf.pick(rng, (f"{t:.1f}℃", f"{t:.0f}°C", f"{t:.0f}°", f"±{rng.uniform(0, 5):.2f}",
                               f"{tf.pick(rng, ('≥', '≤', '>', '<', '≈', '='))}{int(rng.integers(0, 1000))}",
                               f"{rng.uniform(0, 50):.1f}‰", f"{tf.pick(rng, '↑↓')}{rng.uniform(0, 30):.1f}%"))
        if k == 12:
            return tf.digits(rng, int(rng.integers(1, 12)))
        return f"{tf.pick(rng, '①②③④⑤⑥⑦⑧⑨⑩')}"

    def _zh_address(self, rng: np.random.Generator) -> str:
        lx = self.lex
        parts = []
        if rng.random() < 0.6 and lx["zh_provinces"]:
            parts.append(tf.pick(rng, lx["zh_provinces"]))
        if lx["zh_cities"]:
            parts.append(tf.pick(rng, lx["zh_cities"]) + "市")
        if rng.random() < 0.7 and lx["zh_districts"]:
            parts.append(tf.pick(rng, lx["zh_districts"]) + tf.pick(rng, ("区", "县", "区")))
        street = tf.pick(rng, (self._zh_word(rng), tf.pick(rng, lx["zh_cities"] or ["中山"]),
                             tf.pick(rng, ("人民", "解放", "建设", "中山", "和平", "长江", "黄河", "文化"))))
        parts.append(street + tf.pick(rng, ("路", "街", "大道", "巷", "中路", "东路", "北路")))
        parts.append(f"{int(rng.integers(1, 999))}号")
        if rng.random() < 0.3:
            parts.append(f"{int(rng.integers(1, 30))}栋{int(rng.integers(1, 30))}{tf.digits(rng, 2)}室")
        return "".join(parts)

    def _en_address(self, rng: np.random.Generator) -> str:
        lx = self.lex
        street = f"{int(rng.integers(1, 99999))} {tf.pick(rng, lx['en_last_names'] or ['Main'])} {tf.pick(rng, lx['en_street_suffixes'] or ['Street'])}"
        city = tf.pick(rng, lx["en_last_names"] or ["Spring"]) + tf.pick(rng, lx["en_city_suffixes"] or ["ville"])
        if rng.random() < 0.3 and lx["en_city_prefixes"]:
            city = tf.pick(rng, lx["en_city_prefixes"]) + " " + city
        state = tf.pick(rng, lx["en_states_abbr"] or ["CA"])
        k = int(rng.integers(0, 4))
        if k == 0:
            return street
        if k == 1:
            return f"{city}, {state} {tf.digits(rng, 5, True)}"
        if k == 2:
            return f"{street}, {city}, {state} {tf.digits(rng, 5, True)}"
        return f"{street} {tf.pick(rng, ('Apt.', 'Suite', 'Unit'))} {int(rng.integers(1, 999))}"

    # ----------------------------------------------------------------- generators

    def _zh_phrase(self, rng: np.random.Generator, target: int) -> str:
        return self._zh_words_to(rng, target, punct_p=0.08)

    def _zh_sentence(self, rng: np.random.Generator, target: int) -> str:
        text = self._zh_words_to(rng, max(target, 6) - 1, punct_p=0.12)
        return text + tf.pick(rng, "。。。！？；…")

    def _zh_running(self, rng: np.random.Generator, target: int) -> str:
        """A window cut out of running text, as a line of a wrapped paragraph is: it starts
        and ends anywhere, so a line may end on ，or 、 or start after a quote (the other
        kinds always end on a word or a full stop, and the model learnt to drop a trailing
        comma), and it carries what prose carries: English names of several words with
        their spaces, years and measures, quoted and bracketed terms."""
        target = max(target, int(rng.integers(8, 31)))
        parts: list[str] = []
        size = 0
        while size < target + 6:
            r = rng.random()
            if r < 0.03:
                words = " ".join(w.capitalize() if rng.random() < 0.7 else w
                                 for w in (self._en_word(rng)
                                           for _ in range(int(rng.integers(1, 4)))))
                part = tf.pick(rng, ("", " ")) + words + tf.pick(rng, ("", " "))
            elif r < 0.07:
                part = f"{int(rng.integers(1, 2100))}" + tf.pick(
                    rng, ("年", "月", "日", "年", "米", "公里", "%", "人", "万", "个", ""))
            elif r < 0.10:
                left, right = tf.pick(rng, (("“", "”"), ("（", "）"), ("《", "》"), ("(", ")")))
                part = left + self._zh_words_to(rng, int(rng.integers(2, 6))) + right
            else:
                part = self._zh_word(rng)
            if rng.random() < 0.2:
                part = part.rstrip() + tf.pick(rng, "，，，，、、。。；：")
            parts.append(part)
            size += len(part)
        text = "".join(parts)
        start = int(rng.integers(0, min(4, max(1, len(text) - target)) + 1))
        return text[start:start + target]

    def _zh_chars(self, rng: np.random.Generator, target: int) -> str:
        return tf.chars(rng, self.hanzi, target) if self.hanzi else ""

    def _en_words(self, rng: np.random.Generator, target: int) -> str:
        text = self._en_words_to(rng, target)
        r = rng.random()
        if r < 0.25:
            text = text[:1].upper() + text[1:]
        elif r < 0.37:
            text = text.title()
        elif r < 0.5:
            text = text.upper()
        if rng.random() < 0.15:
            text += tf.pick(rng, ".,!?:;")
        return text

    def _en_sentence(self, rng: np.random.Generator, target: int) -> str:
        text = self._en_words_to(rng, max(target, 8) - 1)
        if rng.random() < 0.3:
            words = text.split()
            i = int(rng.integers(len(words)))
            words[i] += ","
            text = " ".join(words)
        return text[:1].upper() + text[1:] + tf.pick(rng, "....!?")

    def _number(self, rng: np.random.Generator, target: int) -> str:
        return self._number_str(rng)

    def _date(self, rng: np.random.Generator, target: int) -> str:
        return self._date_str(rng)

    def _money(self, rng: np.random.Generator, target: int) -> str:
        return self._money_str(rng)

    def _phone(self, rng: np.random.Generator, target: int) -> str:
        return self._phone_str(rng)

    def _code(self, rng: np.random.Generator, target: int) -> str:
        return self._code_str(rng)

    def _name(self, rng: np.random.Generator, target: int) -> str:
        if rng.random() < 0.6:
            name = self._zh_name(rng)
            return name + (tf.pick(rng, ("先生", "女士", "老师", "经理", "同学")) if rng.random() < 0.1 else "")
        return self._en_name(rng)

    def _address(self, rng: np.random.Generator, target: int) -> str:
        return self._zh_address(rng) if rng.random() < 0.6 else self._en_address(rng)

    def _company(self, rng: np.random.Generator, target: int) -> str:
        lx = self.lex
        if rng.random() < 0.6 and lx["zh_company_prefixes"]:
            pre = tf.pick(rng, lx["zh_company_prefixes"])
            if rng.random() < 0.5:
                pre = tf.pick(rng, lx["zh_cities"] or [""]) + pre
            suf = tf.pick(rng, lx["zh_company_suffixes"] + ["有限公司", "股份有限公司", "集团", "研究院", "分公司"])
            return pre + suf
        last = lx["en_last_names"] or ["Smith"]
        suf = tf.pick(rng, lx["en_company_suffixes"] or ["Inc"])
        k = int(rng.integers(0, 3))
        if k == 0:
            return f"{tf.pick(rng, last)} {suf}"
        if k == 1:
            return f"{tf.pick(rng, last)}, {tf.pick(rng, last)} and {tf.pick(rng, last)}"
        return f"{tf.pick(rng, last)}-{tf.pick(rng, last)}"

    def _job(self, rng: np.random.Generator, target: int) -> str:
        if rng.random() < 0.5 and self.lex["zh_jobs"]:
            return tf.pick(rng, self.lex["zh_jobs"])
        return tf.pick(rng, self.lex["en_jobs"] or ["Engineer"])

    def _key_value(self, rng: np.random.Generator, target: int) -> str:
        zh = rng.random() < 0.7
        key = tf.pick(rng, tf.ZH_KEYS if zh else tf.EN_KEYS)
        sep = tf.pick(rng, ("：", "：", ":", ": ", " ")) if zh else tf.pick(rng, (": ", ":", " "))
        gens = (self._number_str, self._date_str, self._money_str, self._phone_str,
                self._code_str, self._zh_name if zh else self._en_name,
                lambda r: self._zh_words_to(r, int(r.integers(2, 8))))
        return key + sep + tf.pick(rng, gens)(rng)

    def _mixed(self, rng: np.random.Generator, target: int) -> str:
        k = int(rng.integers(0, 7))
        en = self._en_word(rng)
        en = tf.pick(rng, (en, en.capitalize(), en.upper(), en[:3].upper()))
        zh = self._zh_words_to(rng, int(rng.integers(1, max(2, target // 2) + 1)))
        if k == 0:
            return zh + tf.pick(rng, ("", " ")) + en
        if k == 1:
            return en + tf.pick(rng, ("", " ")) + zh
        if k == 2:
            return zh + self._zh_words_to(rng, 1) + en + self._zh_words_to(rng, 2)
        if k == 3:
            return f"{zh}{tf.pick(rng, ('（', '('))}{en}{tf.pick(rng, ('）', ')'))}"
        if k == 4:
            # Chinese text around codes and amounts, often with real spaces between scripts.
            sp = tf.pick(rng, ("", " "))
            value = tf.pick(rng, (self._number_str, self._code_str, self._money_str))(rng)
            return f"{zh}{sp}{value}{sp}{self._zh_word(rng)}"
        if k == 5:
            return f"{zh}{tf.pick(rng, ('→', '->', '—', '-', '/', '|'))}{self._zh_words_to(rng, 2)}"
        return f"{self._zh_word(rng)}{tf.pick(rng, ('第', '共', '约', '计', '满'))}{int(rng.integers(1, 1000))}{tf.pick(rng, ('件', '页', '人', '元', '次', '天', '个', '条'))}"

    def _punct(self, rng: np.random.Generator, target: int) -> str:
        body = self._zh_words_to(rng, max(1, target - 2)) if rng.random() < 0.75 else self._en_words_to(rng, max(1, target - 2))
        k = int(rng.integers(0, 5))
        if k == 0:
            left, right = tf.pick(rng, tf.QUOTES)
            return left + body + right
        if k == 1:
            return tf.pick(rng, tf.BULLETS) + tf.pick(rng, ("", " ")) + body
        if k == 2:
            n = int(rng.integers(1, 11))
            prefix = tf.pick(rng, (f"{tf.zh_number(n)}、", f"{n}.", f"({n})", f"（{n}）", f"{n})",
                                 "①②③④⑤⑥⑦⑧⑨⑩"[n - 1], f"{chr(64 + n)}.", f"{chr(96 + n)})"))
            return prefix + body
        if k == 3:
            return body + tf.pick(rng, ("……", "…", "——", "...", "!!", "？！", "?!", "~"))
        return body + tf.pick(rng, ("：", "；", "。", "，", "、", "！", "？")) + self._zh_words_to(rng, 2)

    def _ascii_chars(self, rng: np.random.Generator, target: int) -> str:
        return tf.chars(rng, self.ascii, target) if self.ascii else ""

    def _any_chars(self, rng: np.random.Generator, target: int) -> str:
        pool = self.others + self.ascii + self.hanzi
        # Symbols first: they are rare elsewhere, so half of these draws come from them.
        if self.others and rng.random() < 0.5:
            pool = self.others
        return tf.chars(rng, pool, target) if pool else ""
