"""Charset and text corpus for synthetic text lines.

Two halves:

* **Build time** (needs the ``synth`` extra: jieba, faker; run ``python -m
  duguang_ocr.synth.corpus --build``): ``build_charset`` ranks Chinese characters by how
  often jieba's dictionary uses them and writes ``data/charset.txt``; ``build_zh_words`` and
  ``build_lexicon`` extract frequency-weighted Chinese words and faker's name/address/company
  word lists into ``data/``. Extracting once keeps run time free of those packages and makes
  the text distribution independent of their future versions.
* **Run time** (numpy only): ``TextSampler`` mixes Chinese words and phrases, English,
  numbers, dates, money, phone numbers, codes, names, addresses and mixed-script text, the
  content a document OCR model meets, and guarantees that every sampled text uses only
  charset symbols, so a label can never name a class the model does not have.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

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
REFERENCE_CJK_FAMILY = "WenQuanYi Micro Hei"
NUM_ZH_WORDS = 50_000

# Characters that commonly stand in for a charset symbol; mapped before filtering so that,
# e.g., a non-breaking space survives as the symbol the model learns. Both yen signs (¥
# U+00A5, ￥ U+FFE5) are charset symbols: real text uses both and they look different.
_NORMALISE = str.maketrans({
    "\u00a0": " ", "\u3000": " ", "\t": " ", "\n": " ", "\r": " ",
    "–": "-", "−": "-", "‐": "-", "‑": "-", "‒": "-", "―": "—", "﹣": "-",
    "〜": "～", "•": "·", "・": "·", "∶": ":",
})

# Symbols written out when the charset lacks them (``TextSampler.clean``).
_SPELL_OUT = {"℃": "°C"}


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


# --------------------------------------------------------------------------- build time


def jieba_dict_path() -> Path:
    """Path of jieba's bundled ``dict.txt`` (word, frequency, part-of-speech per line)."""
    try:
        import jieba
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "building the synth corpus needs jieba: pip install 'duguang-ocr[synth]'"
        ) from e
    return Path(jieba.__file__).resolve().parent / "dict.txt"


def read_jieba_dict(path: str | os.PathLike | None = None) -> list[tuple[str, int, str]]:
    """``(word, frequency, tag)`` for every all-hanzi entry of jieba's dictionary."""
    out = []
    with open(path or jieba_dict_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            if word and all(is_hanzi(c) for c in word):
                out.append((word, freq, parts[2] if len(parts) > 2 else ""))
    return out


def hanzi_frequencies(entries: Iterable[tuple[str, int, str]]) -> Counter:
    """Weight of each character: the summed frequency of the multi-character words that
    contain it, plus its own single-character frequency only if it is GB2312 level 1.

    Why not all single-character entries: jieba's dictionary has a few hundred of them that
    are mojibake (UTF-8 text decoded as GBK: 鏉 湪 綘 鎶 涓 ...) with counts high enough
    to rank among the 3,000 most common characters. They never occur inside real
    multi-character words, and none of the high-count ones is a level-1 character, so this
    rule drops them while keeping function words such as 的 了 您 呢.
    """
    freq: Counter = Counter()
    for word, f, _ in entries:
        if len(word) > 1:
            for c in word:
                freq[c] += f
        elif gb2312_level(word) == 1:
            freq[word] += f
    return freq


def find_reference_cjk_font(family: str = REFERENCE_CJK_FAMILY) -> tuple[str, int]:
    """``(path, index)`` of the installed face named ``family`` (the font whose coverage
    decides which characters enter the charset, so the charset is reproducible)."""
    from .fonts import _face_names, find_font_files, font_dirs

    for path in find_font_files(font_dirs()):
        for index, fam, _ in _face_names(path):
            if fam == family:
                return str(path), index
    raise FileNotFoundError(
        f"font {family!r} not found; run scripts/install_fonts.sh (fonts-wqy-microhei)"
    )


def build_charset(
    num_hanzi: int = NUM_HANZI,
    *,
    font: tuple[str, int] | None = None,
    dict_path: str | os.PathLike | None = None,
) -> list[str]:
    """The synth/default-model charset, deterministically.

    Order: ASCII printable (0x20..0x7E, space included), full-width punctuation, a few
    document symbols (° ℃ × ± ① ■ ...), then the ``num_hanzi`` most frequent GB2312
    characters by ``hanzi_frequencies`` that ``font`` (default: WenQuanYi Micro Hei) draws.
    Punctuation and symbols the font cannot draw are left out too.
    """
    from .fonts import probe_coverage

    path, index = font or find_reference_cjk_font()
    freq = hanzi_frequencies(read_jieba_dict(dict_path))
    ranked = sorted((c for c in freq if gb2312_level(c)), key=lambda c: (-freq[c], c))
    # Characters jieba never uses come last, in GB2312 code order, so a full-GB2312 charset
    # still ranks the common ones first.
    unseen = sorted((chr(c) for c in range(0x4E00, 0xA000)
                     if gb2312_level(chr(c)) and chr(c) not in freq),
                    key=lambda c: c.encode("gb2312"))
    pool = (ranked + unseen)[: int(num_hanzi * 1.2) + 100]
    covered = probe_coverage(path, index, list(pool) + list(FULLWIDTH_PUNCT + SYMBOLS))
    hanzi = [c for c in pool if c in covered][:num_hanzi]
    if len(hanzi) < num_hanzi:
        raise ValueError(f"only {len(hanzi)} drawable hanzi found, wanted {num_hanzi}")
    extra = [c for c in FULLWIDTH_PUNCT + SYMBOLS if c in covered]
    symbols = ASCII_PRINTABLE + extra + hanzi
    assert len(set(symbols)) == len(symbols)
    return symbols


def write_charset(symbols: Sequence[str], path: str | os.PathLike = CHARSET_FILE) -> None:
    """One symbol per line (a line holding one space is the space symbol), like vocab.txt."""
    Path(path).write_text("\n".join(symbols) + "\n", encoding="utf-8")


def load_charset(path: str | os.PathLike | None = None) -> list[str]:
    """Symbols of the shipped charset (or of ``path``), in file order."""
    return list(_load_charset(str(path or CHARSET_FILE)))


@lru_cache(maxsize=8)
def _load_charset(path: str) -> tuple[str, ...]:
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(lines)


def build_zh_words(
    charset: Iterable[str],
    entries: Sequence[tuple[str, int, str]] | None = None,
    top: int = NUM_ZH_WORDS,
) -> list[tuple[str, int]]:
    """The ``top`` most frequent jieba words written only with charset characters.

    Single-character entries that are not GB2312 level 1 keep at most the frequency the
    character has inside real words (see ``hanzi_frequencies``: that is where the
    dictionary's mojibake lives).
    """
    entries = read_jieba_dict() if entries is None else entries
    allowed = set(charset)
    in_words: Counter = Counter()
    for word, f, _ in entries:
        if len(word) > 1:
            for c in word:
                in_words[c] += f
    best: dict[str, int] = {}
    for word, f, _ in entries:
        if not set(word) <= allowed:
            continue
        if len(word) == 1 and gb2312_level(word) != 1:
            f = min(f, in_words[word])
        if f > 0:
            best[word] = max(best.get(word, 0), f)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:top]


def build_lexicon(charset: Iterable[str]) -> dict[str, list]:
    """Name, place, company and English word lists from faker's zh_CN/en_US providers.

    Only the raw lists are taken (TextSampler composes names and addresses itself), and
    entries with characters outside the charset are dropped.
    """
    try:
        from faker.providers.address.en_US import Provider as AddressEn
        from faker.providers.address.zh_CN import Provider as AddressZh
        from faker.providers.company.en_US import Provider as CompanyEn
        from faker.providers.company.zh_CN import Provider as CompanyZh
        from faker.providers.job.en_US import Provider as JobEn
        from faker.providers.job.zh_CN import Provider as JobZh
        from faker.providers.lorem.en_US import Provider as LoremEn
        from faker.providers.person.en_US import Provider as PersonEn
        from faker.providers.person.zh_CN import Provider as PersonZh
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "building the synth corpus needs faker: pip install 'duguang-ocr[synth]'"
        ) from e
    allowed = set(charset)

    def ok(items: Iterable[str]) -> list[str]:
        seen: dict[str, None] = {}
        for s in items:
            s = str(s).translate(_NORMALISE).strip()
            if s and set(s) <= allowed:
                seen.setdefault(s, None)
        return list(seen)

    en_words: set[str] = set(LoremEn.word_list)
    for group in list(CompanyEn.catch_phrase_words) + list(CompanyEn.bsWords):
        en_words.update(w for w in group if w.isalpha())
    for job in JobEn.jobs:
        en_words.update(w.strip(",()").lower() for w in job.split() if w.strip(",()").isalpha())
    zh_last = [(k, float(v)) for k, v in PersonZh.last_names.items() if set(k) <= allowed]
    en_first = sorted(set(PersonEn.first_names_male) | set(PersonEn.first_names_female))
    return {
        "zh_last_names": [k for k, _ in zh_last],
        "zh_last_name_weights": [v for _, v in zh_last],
        "zh_given_names": ok(PersonZh.first_names),
        "zh_provinces": ok(AddressZh.provinces),
        "zh_cities": ok(AddressZh.cities),
        "zh_districts": ok(AddressZh.districts),
        "zh_countries": ok(AddressZh.countries),
        "zh_company_prefixes": ok(CompanyZh.company_prefixes),
        "zh_company_suffixes": ok(CompanyZh.company_suffixes),
        "zh_jobs": ok(JobZh.jobs),
        "en_words": sorted(ok(w.lower() for w in en_words)),
        "en_first_names": ok(en_first),
        "en_last_names": ok(PersonEn.last_names),
        "en_street_suffixes": ok(AddressEn.street_suffixes),
        "en_city_prefixes": ok(AddressEn.city_prefixes),
        "en_city_suffixes": ok(AddressEn.city_suffixes),
        "en_states": ok(AddressEn.states),
        "en_states_abbr": ok(AddressEn.states_abbr),
        "en_company_suffixes": ok(CompanyEn.company_suffixes),
        "en_jobs": ok(JobEn.jobs),
    }


def build_data(out_dir: str | os.PathLike = DATA_DIR) -> dict[str, int]:
    """Regenerate every file in ``synth/data`` (charset, Chinese words, lexicon)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = read_jieba_dict()
    charset = build_charset()
    write_charset(charset, out / "charset.txt")
    words = build_zh_words(charset, entries)
    (out / "zh_words.tsv").write_text(
        "".join(f"{w}\t{f}\n" for w, f in words), encoding="utf-8"
    )
    lexicon = build_lexicon(charset)
    (out / "lexicon.json").write_text(
        json.dumps(lexicon, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    _load_charset.cache_clear()
    _load_corpus.cache_clear()
    return {
        "symbols": len(charset),
        "hanzi": sum(is_hanzi(c) for c in charset),
        "zh_words": len(words),
        "en_words": len(lexicon["en_words"]),
    }


# --------------------------------------------------------------------------- run time


@lru_cache(maxsize=4)
def _load_corpus(words_file: str, lexicon_file: str) -> tuple[tuple[str, ...], np.ndarray, dict]:
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
    "zh_phrase": 0.26, "zh_sentence": 0.05, "zh_chars": 0.05,
    "en_words": 0.09, "en_sentence": 0.04,
    "number": 0.05, "date": 0.05, "money": 0.04, "phone": 0.03, "code": 0.06,
    "name": 0.04, "address": 0.04, "company": 0.02, "job": 0.01,
    "key_value": 0.06, "mixed": 0.05, "punct": 0.03,
    "ascii_chars": 0.02, "any_chars": 0.01,
}
"""Share of each kind of text; ``zh_chars``/``ascii_chars``/``any_chars`` draw characters
uniformly so rare charset symbols are seen too, not only those frequent words contain."""

_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ALNUM_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_HEX = "0123456789abcdef"
_ZH_NUMERALS = "零一二三四五六七八九十"
_ZH_CAPITAL = "零壹贰叁肆伍陆柒捌玖"
_WEEKDAYS_ZH = "一二三四五六日"
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_UNITS = ("kg", "g", "mg", "t", "km", "m", "cm", "mm", "ml", "L", "GB", "MB", "KB", "TB",
          "km/h", "m/s", "W", "kW", "V", "mA", "Hz", "MHz", "dB", "h", "min", "s", "%",
          "℃", "°", "‰", "元", "件", "个", "台", "箱", "米", "公斤", "平方米", "吨", "次", "人")
_ZH_KEYS = ("姓名", "电话", "手机", "地址", "日期", "时间", "金额", "合计", "总计", "单价",
            "数量", "编号", "订单号", "发票号码", "型号", "规格", "备注", "邮编", "邮箱", "网址",
            "传真", "账号", "开户行", "联系人", "车牌号", "身份证号", "有效期", "生产日期", "批号",
            "税额", "价格", "重量", "温度", "页码", "版本", "客户", "公司", "职位", "部门")
_EN_KEYS = ("Name", "Tel", "Phone", "Date", "Time", "Total", "Amount", "No.", "Invoice No.",
            "Order ID", "Qty", "Price", "Model", "Address", "Email", "Fax", "Ref", "Item",
            "Subtotal", "Tax", "Due", "SKU", "Lot", "Exp", "Page", "Version", "Code")
_TLDS = ("com", "cn", "net", "org", "com.cn", "edu.cn", "gov.cn", "io", "info")
_BULLETS = ("■", "□", "●", "○", "▲", "△", "★", "☆", "◆", "◇", "※", "√", "·", "-", "*", "→")
_QUOTES = (("《", "》"), ("“", "”"), ("‘", "’"), ("（", "）"), ("【", "】"), ("「", "」"),
           ("『", "』"), ("〔", "〕"), ("(", ")"), ("[", "]"), ('"', '"'), ("'", "'"),
           ("<", ">"), ("{", "}"))


def _pick(rng: np.random.Generator, seq: Sequence):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng: np.random.Generator, n: int, first_nonzero: bool = False) -> str:
    d = rng.integers(0, 10, n)
    if first_nonzero and n:
        d[0] = rng.integers(1, 10)
    return "".join(map(str, d.tolist()))


def _chars(rng: np.random.Generator, alphabet: str | Sequence[str], n: int) -> str:
    idx = rng.integers(0, len(alphabet), n)
    return "".join(alphabet[i] for i in idx.tolist())


def _spell_units(n: int, digits: Sequence[str], units: Sequence[str]) -> str:
    """``n`` (0..99,999) in a Chinese positional reading: ``units`` name 万, 千, 百, 十;
    an inner run of zeros reads as one 零 (一百零五, 三万零二十)."""
    out, zero = "", False
    for value, name in zip((10000, 1000, 100, 10, 1), (*units, "")):
        d = n // value % 10 if value < 10000 else n // value
        if d:
            if zero and out:
                out += "零"
            out += digits[d] + name
            zero = False
        elif out:
            zero = True
    return out


def _zh_number(n: int) -> str:
    """Chinese reading of 0..99,999 (十二, 一百零五, 三万二千)."""
    if n < 10:
        return _ZH_NUMERALS[n]
    if n < 20:
        return "十" + (_ZH_NUMERALS[n % 10] if n % 10 else "")
    return _spell_units(n, _ZH_NUMERALS, "万千百十")


def _zh_capital_amount(n: int) -> str:
    """Financial capital numerals of 1..99,999 as on invoices: 叁仟伍佰元整."""
    return (_spell_units(n, _ZH_CAPITAL, "万仟佰拾") or "零") + "元整"


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
        words, freqs, lex = _load_corpus(str(words_file), str(lexicon_file))
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
        self._normalise = {**_NORMALISE, **str.maketrans(extra)}
        self._capital_ok = set(_ZH_CAPITAL + "万仟佰拾元整") <= self.allowed
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
        return "any_chars", _pick(rng, pool)

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
            return _pick(rng, self.hanzi) if self.hanzi else ""
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
                out += _pick(rng, "，，，、、；：")
        return out

    def _en_word(self, rng: np.random.Generator) -> str:
        return _pick(rng, self._en)

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
        name = _pick(rng, given)
        if len(name) == 1 and rng.random() < 0.4:
            name += _pick(rng, given)[0]
        return surname + name

    def _en_name(self, rng: np.random.Generator) -> str:
        first = _pick(rng, self.lex["en_first_names"] or ["John"])
        last = _pick(rng, self.lex["en_last_names"] or ["Smith"])
        r = rng.random()
        if r < 0.1:
            return f"{_pick(rng, ('Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'))} {first} {last}"
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
            f"{m}月{d}日", f"{y}年{m}月", f"{_MONTHS_EN[m - 1]} {d}, {y}",
            f"{d} {_MONTHS_EN[m - 1][:3]} {y}", f"{d:02d}-{_MONTHS_EN[m - 1][:3].upper()}-{y}",
            f"{hh:02d}:{mm:02d}", f"{hh:02d}:{mm:02d}:{ss:02d}",
            f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}", f"{y}{m:02d}{d:02d}",
            f"星期{_pick(rng, _WEEKDAYS_ZH)}", f"周{_pick(rng, _WEEKDAYS_ZH)}",
            f"{_pick(rng, ('上午', '下午', '晚上'))}{hh % 12 + 1}点{mm}分",
            f"{_pick(rng, _WEEKDAYS_EN)}, {_MONTHS_EN[m - 1]} {d}",
            f"{y}年{m}月{d}日 {_pick(rng, ('星期', '周'))}{_pick(rng, _WEEKDAYS_ZH)}",
            f"{y}-{y + int(rng.integers(1, 5))}学年", f"{hh % 12 + 1}:{mm:02d} {_pick(rng, ('AM', 'PM'))}",
        )
        return _pick(rng, fmts)

    def _amount(self, rng: np.random.Generator) -> float:
        return float(10 ** rng.uniform(-1, 6.5))

    def _money_str(self, rng: np.random.Generator) -> str:
        v = self._amount(rng)
        k = int(rng.integers(0, 12))
        yen = _pick(rng, ("￥", "¥"))  # both signs are common in real text
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
            return f"{_pick(rng, ('€', '£', 'USD ', 'RMB ', 'HK$', 'US$'))}{v:,.2f}"
        if k == 6:
            amount = int(v) % 100000 or 1
            # The shipped charset lacks 壹贰叁柒捌玖仟佰 (rare outside invoices); dropping
            # them turned 叁仟伍佰元整 into 伍元整, so read the amount in common numerals.
            if self._capital_ok:
                return _zh_capital_amount(amount)
            return _zh_number(amount) + "元整"
        if k == 7:
            return f"人民币{v:,.2f}元"
        if k == 8:
            return f"{v:,.2f}"
        if k == 9:
            return f"-{yen}{v:.2f}"
        if k == 10:
            return f"{int(v)}.00"
        return f"{_zh_number(int(v) % 100000)}元"

    def _phone_str(self, rng: np.random.Generator) -> str:
        mobile = "1" + _pick(rng, "3456789") + _digits(rng, 9)
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
            area = _pick(rng, ("010", "021", "020", "022", "023", "0551", "0571", "0755", "028"))
            return f"{area}-{_digits(rng, 8 if len(area) == 3 else 7, True)}"
        if k == 5:
            return f"({_digits(rng, 3)}) {_digits(rng, 4, True)} {_digits(rng, 4)}"
        if k == 6:
            return f"{_pick(rng, ('400', '800'))}-{_digits(rng, 3)}-{_digits(rng, 4)}"
        if k == 7:
            return f"({_digits(rng, 3, True)}) {_digits(rng, 3, True)}-{_digits(rng, 4)}"
        return f"+1 {_digits(rng, 3, True)}-{_digits(rng, 3)}-{_digits(rng, 4)} ext. {_digits(rng, 3)}"

    def _code_str(self, rng: np.random.Generator) -> str:
        k = int(rng.integers(0, 20))
        if k == 0:  # order id
            return _pick(rng, ("DD", "SO", "PO", "NO", "JD", "TB", "")) + _digits(rng, int(rng.integers(10, 19)))
        if k == 1:  # licence plate
            plate = _pick(rng, _PLATE_PROVINCES) + _pick(rng, _PLATE_LETTERS)
            tail = _chars(rng, _PLATE_LETTERS[:10] + "0123456789" * 3, 5)
            sep = _pick(rng, ("", "", "·", " "))
            return plate + sep + (tail if rng.random() < 0.8 else _pick(rng, "DF") + _digits(rng, 5))
        if k == 2:  # serial number
            groups = [_chars(rng, _ALNUM_UPPER, 4) for _ in range(int(rng.integers(2, 5)))]
            return _pick(rng, ("SN:", "S/N ", "SN ", "", "")) + "-".join(groups)
        if k == 3:
            return _chars(rng, _ALNUM_UPPER, int(rng.integers(4, 16)))
        if k == 4:  # hex / hashes
            return _chars(rng, _HEX if rng.random() < 0.7 else _HEX.upper(), int(rng.integers(6, 33)))
        if k == 5:  # ID card
            return _digits(rng, 17, True) + _pick(rng, "0123456789X")
        if k == 6:
            return f"ISBN 978-7-{_digits(rng, 3)}-{_digits(rng, 5)}-{_digits(rng, 1)}"
        if k == 7:  # email
            user = _pick(rng, self._en) + _pick(rng, ("", ".", "_", "-")) + _digits(rng, int(rng.integers(0, 5)))
            return f"{user}@{_pick(rng, self._en)}.{_pick(rng, _TLDS)}"
        if k == 8:  # url
            path = "/".join(_pick(rng, self._en) for _ in range(int(rng.integers(0, 3))))
            return f"{_pick(rng, ('https://', 'http://', '', 'www.'))}{_pick(rng, self._en)}.{_pick(rng, _TLDS)}" + (
                f"/{path}" if path else "") + (f"?id={_digits(rng, 4)}&p={_digits(rng, 1)}" if rng.random() < 0.2 else "")
        if k == 9:  # model numbers
            return _chars(rng, _PLATE_LETTERS, int(rng.integers(1, 4))) + _pick(rng, ("-", "", " ")) + _digits(
                rng, int(rng.integers(2, 5))) + (_chars(rng, "ABCDEFGHKLMNPRSTX", 1) if rng.random() < 0.5 else "")
        if k == 10:  # standards
            return f"{_pick(rng, ('GB', 'GB/T', 'JB/T', 'ISO', 'IEC', 'QB/T'))} {_digits(rng, int(rng.integers(3, 6)), True)}-{int(rng.integers(1990, 2025))}"
        if k == 11:  # versions / files
            v = f"{int(rng.integers(0, 20))}.{int(rng.integers(0, 20))}.{int(rng.integers(0, 30))}"
            return _pick(rng, (f"v{v}", f"V{v}", f"version {v}",
                               f"{_pick(rng, self._en)}_{_digits(rng, 4)}.{_pick(rng, ('pdf', 'docx', 'xlsx', 'jpg', 'png', 'txt', 'zip'))}"))
        if k == 12:  # paths
            parts = [_pick(rng, self._en) for _ in range(int(rng.integers(1, 4)))]
            return _pick(rng, ("C:\\" + "\\".join(parts), "/" + "/".join(parts), "~/" + "/".join(parts)))
        if k == 13:  # expressions
            a, b = int(rng.integers(0, 1000)), int(rng.integers(1, 1000))
            op = _pick(rng, "+-*/×÷")
            return _pick(rng, (f"{a}{op}{b}={a + b if op == '+' else '?'}", f"x^{int(rng.integers(2, 5))}+{a}",
                               f"a_{int(rng.integers(0, 10))}", f"f(x)={a}x+{b}", f"{a}≤x≤{b}", f"{a}≠{b}",
                               f"|x-{a}|<{b}", f"{{{_pick(rng, self._en)}}}", f"`{_pick(rng, self._en)}`",
                               f"{a}≈{b}", f"#{_digits(rng, 4)}", f"{_pick(rng, self._en)}&{_pick(rng, self._en)}"))
        if k == 14:  # postcode / numbers with prefixes
            return _pick(rng, (f"邮编{_digits(rng, 6, True)}", f"No.{_digits(rng, int(rng.integers(3, 9)))}",
                               f"№{_digits(rng, 6)}", f"§{int(rng.integers(1, 200))}", f"第{_digits(rng, 6)}号",
                               f"{_digits(rng, 4)} {_digits(rng, 4)} {_digits(rng, 4)} {_digits(rng, 4)}"))
        if k == 15:  # express tracking
            return _pick(rng, ("SF", "YT", "ZTO", "JT", "EMS")) + _digits(rng, int(rng.integers(10, 16)))
        if k == 16:  # invoice
            return f"{_digits(rng, 12)} {_digits(rng, 8)}"
        if k == 17:  # room / building
            return f"{int(rng.integers(1, 40))}{_pick(rng, ('栋', '号楼', '幢'))}{int(rng.integers(1, 6))}单元{int(rng.integers(1, 33))}{_digits(rng, 2)}室"
        if k == 18:  # hashtags / handles
            return _pick(rng, ("#", "@")) + _pick(rng, self._en) + _pick(rng, self._en).capitalize()
        return f"[{_chars(rng, _PLATE_LETTERS, 1)}-{_digits(rng, 2)}]"

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
            return f"{a}{_pick(rng, ('-', '～', '~', ' - ', '至', '到'))}{a + int(rng.integers(1, 100))}"
        if k == 6:
            return f"{int(rng.integers(1, 20))}/{int(rng.integers(2, 100))}"
        if k == 7:
            return f"{rng.uniform(1, 10):.{int(rng.integers(1, 3))}f}e{int(rng.integers(-9, 10))}"
        if k == 8:
            n = int(rng.integers(1, 100))
            return _pick(rng, (f"第{n}{_pick(rng, '名章节页条次期')}", f"{n}{_pick(rng, ('st', 'nd', 'rd', 'th'))}",
                               f"第{_zh_number(n)}{_pick(rng, '章节条')}", f"{_zh_number(n)}{_pick(rng, '个人件年')}",
                               f"NO.{n}", f"#{n}", f"{n}."))
        if k == 9:
            return f"{v:.{int(rng.integers(0, 3))}f}{_pick(rng, _UNITS)}"
        if k == 10:
            return f"{int(rng.integers(1, 300))}{_pick(rng, ('×', 'x', '*', 'X'))}{int(rng.integers(1, 300))}{_pick(rng, ('', 'mm', 'cm', 'm'))}"
        if k == 11:
            t = rng.uniform(-30, 45)
            return _pick(rng, (f"{t:.1f}℃", f"{t:.0f}°C", f"{t:.0f}°", f"±{rng.uniform(0, 5):.2f}",
                               f"{_pick(rng, ('≥', '≤', '>', '<', '≈', '='))}{int(rng.integers(0, 1000))}",
                               f"{rng.uniform(0, 50):.1f}‰", f"{_pick(rng, '↑↓')}{rng.uniform(0, 30):.1f}%"))
        if k == 12:
            return _digits(rng, int(rng.integers(1, 12)))
        return f"{_pick(rng, '①②③④⑤⑥⑦⑧⑨⑩')}"

    def _zh_address(self, rng: np.random.Generator) -> str:
        lx = self.lex
        parts = []
        if rng.random() < 0.6 and lx["zh_provinces"]:
            parts.append(_pick(rng, lx["zh_provinces"]))
        if lx["zh_cities"]:
            parts.append(_pick(rng, lx["zh_cities"]) + "市")
        if rng.random() < 0.7 and lx["zh_districts"]:
            parts.append(_pick(rng, lx["zh_districts"]) + _pick(rng, ("区", "县", "区")))
        street = _pick(rng, (self._zh_word(rng), _pick(rng, lx["zh_cities"] or ["中山"]),
                             _pick(rng, ("人民", "解放", "建设", "中山", "和平", "长江", "黄河", "文化"))))
        parts.append(street + _pick(rng, ("路", "街", "大道", "巷", "中路", "东路", "北路")))
        parts.append(f"{int(rng.integers(1, 999))}号")
        if rng.random() < 0.3:
            parts.append(f"{int(rng.integers(1, 30))}栋{int(rng.integers(1, 30))}{_digits(rng, 2)}室")
        return "".join(parts)

    def _en_address(self, rng: np.random.Generator) -> str:
        lx = self.lex
        street = f"{int(rng.integers(1, 99999))} {_pick(rng, lx['en_last_names'] or ['Main'])} {_pick(rng, lx['en_street_suffixes'] or ['Street'])}"
        city = _pick(rng, lx["en_last_names"] or ["Spring"]) + _pick(rng, lx["en_city_suffixes"] or ["ville"])
        if rng.random() < 0.3 and lx["en_city_prefixes"]:
            city = _pick(rng, lx["en_city_prefixes"]) + " " + city
        state = _pick(rng, lx["en_states_abbr"] or ["CA"])
        k = int(rng.integers(0, 4))
        if k == 0:
            return street
        if k == 1:
            return f"{city}, {state} {_digits(rng, 5, True)}"
        if k == 2:
            return f"{street}, {city}, {state} {_digits(rng, 5, True)}"
        return f"{street} {_pick(rng, ('Apt.', 'Suite', 'Unit'))} {int(rng.integers(1, 999))}"

    # ----------------------------------------------------------------- generators

    def _zh_phrase(self, rng: np.random.Generator, target: int) -> str:
        return self._zh_words_to(rng, target, punct_p=0.08)

    def _zh_sentence(self, rng: np.random.Generator, target: int) -> str:
        text = self._zh_words_to(rng, max(target, 6) - 1, punct_p=0.12)
        return text + _pick(rng, "。。。！？；…")

    def _zh_chars(self, rng: np.random.Generator, target: int) -> str:
        return _chars(rng, self.hanzi, target) if self.hanzi else ""

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
            text += _pick(rng, ".,!?:;")
        return text

    def _en_sentence(self, rng: np.random.Generator, target: int) -> str:
        text = self._en_words_to(rng, max(target, 8) - 1)
        if rng.random() < 0.3:
            words = text.split()
            i = int(rng.integers(len(words)))
            words[i] += ","
            text = " ".join(words)
        return text[:1].upper() + text[1:] + _pick(rng, "....!?")

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
            return name + (_pick(rng, ("先生", "女士", "老师", "经理", "同学")) if rng.random() < 0.1 else "")
        return self._en_name(rng)

    def _address(self, rng: np.random.Generator, target: int) -> str:
        return self._zh_address(rng) if rng.random() < 0.6 else self._en_address(rng)

    def _company(self, rng: np.random.Generator, target: int) -> str:
        lx = self.lex
        if rng.random() < 0.6 and lx["zh_company_prefixes"]:
            pre = _pick(rng, lx["zh_company_prefixes"])
            if rng.random() < 0.5:
                pre = _pick(rng, lx["zh_cities"] or [""]) + pre
            suf = _pick(rng, lx["zh_company_suffixes"] + ["有限公司", "股份有限公司", "集团", "研究院", "分公司"])
            return pre + suf
        last = lx["en_last_names"] or ["Smith"]
        suf = _pick(rng, lx["en_company_suffixes"] or ["Inc"])
        k = int(rng.integers(0, 3))
        if k == 0:
            return f"{_pick(rng, last)} {suf}"
        if k == 1:
            return f"{_pick(rng, last)}, {_pick(rng, last)} and {_pick(rng, last)}"
        return f"{_pick(rng, last)}-{_pick(rng, last)}"

    def _job(self, rng: np.random.Generator, target: int) -> str:
        if rng.random() < 0.5 and self.lex["zh_jobs"]:
            return _pick(rng, self.lex["zh_jobs"])
        return _pick(rng, self.lex["en_jobs"] or ["Engineer"])

    def _key_value(self, rng: np.random.Generator, target: int) -> str:
        zh = rng.random() < 0.7
        key = _pick(rng, _ZH_KEYS if zh else _EN_KEYS)
        sep = _pick(rng, ("：", "：", ":", ": ", " ")) if zh else _pick(rng, (": ", ":", " "))
        gens = (self._number_str, self._date_str, self._money_str, self._phone_str,
                self._code_str, self._zh_name if zh else self._en_name,
                lambda r: self._zh_words_to(r, int(r.integers(2, 8))))
        return key + sep + _pick(rng, gens)(rng)

    def _mixed(self, rng: np.random.Generator, target: int) -> str:
        k = int(rng.integers(0, 7))
        en = self._en_word(rng)
        en = _pick(rng, (en, en.capitalize(), en.upper(), en[:3].upper()))
        zh = self._zh_words_to(rng, int(rng.integers(1, max(2, target // 2) + 1)))
        if k == 0:
            return zh + _pick(rng, ("", " ")) + en
        if k == 1:
            return en + _pick(rng, ("", " ")) + zh
        if k == 2:
            return zh + self._zh_words_to(rng, 1) + en + self._zh_words_to(rng, 2)
        if k == 3:
            return f"{zh}{_pick(rng, ('（', '('))}{en}{_pick(rng, ('）', ')'))}"
        if k == 4:
            # Chinese text around codes and amounts, often with real spaces between scripts.
            sp = _pick(rng, ("", " "))
            value = _pick(rng, (self._number_str, self._code_str, self._money_str))(rng)
            return f"{zh}{sp}{value}{sp}{self._zh_word(rng)}"
        if k == 5:
            return f"{zh}{_pick(rng, ('→', '->', '—', '-', '/', '|'))}{self._zh_words_to(rng, 2)}"
        return f"{self._zh_word(rng)}{_pick(rng, ('第', '共', '约', '计', '满'))}{int(rng.integers(1, 1000))}{_pick(rng, ('件', '页', '人', '元', '次', '天', '个', '条'))}"

    def _punct(self, rng: np.random.Generator, target: int) -> str:
        body = self._zh_words_to(rng, max(1, target - 2)) if rng.random() < 0.75 else self._en_words_to(rng, max(1, target - 2))
        k = int(rng.integers(0, 5))
        if k == 0:
            left, right = _pick(rng, _QUOTES)
            return left + body + right
        if k == 1:
            return _pick(rng, _BULLETS) + _pick(rng, ("", " ")) + body
        if k == 2:
            n = int(rng.integers(1, 11))
            prefix = _pick(rng, (f"{_zh_number(n)}、", f"{n}.", f"({n})", f"（{n}）", f"{n})",
                                 "①②③④⑤⑥⑦⑧⑨⑩"[n - 1], f"{chr(64 + n)}.", f"{chr(96 + n)})"))
            return prefix + body
        if k == 3:
            return body + _pick(rng, ("……", "…", "——", "...", "!!", "？！", "?!", "~"))
        return body + _pick(rng, ("：", "；", "。", "，", "、", "！", "？")) + self._zh_words_to(rng, 2)

    def _ascii_chars(self, rng: np.random.Generator, target: int) -> str:
        return _chars(rng, self.ascii, target) if self.ascii else ""

    def _any_chars(self, rng: np.random.Generator, target: int) -> str:
        pool = self.others + self.ascii + self.hanzi
        # Symbols first: they are rare elsewhere, so half of these draws come from them.
        if self.others and rng.random() < 0.5:
            pool = self.others
        return _chars(rng, pool, target) if pool else ""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m duguang_ocr.synth.corpus --build`` regenerates synth/data;
    ``--preview N`` prints sample texts."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--build", action="store_true", help="rebuild charset/corpus files")
    ap.add_argument("--out", type=Path, default=DATA_DIR)
    ap.add_argument("--preview", type=int, default=0, help="print this many sample texts")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.build:
        print(json.dumps(build_data(args.out)))
    if args.preview:
        sampler = TextSampler(seed=args.seed)
        rng = np.random.default_rng(args.seed)
        for _ in range(args.preview):
            kind, text = sampler.sample_with_kind(rng)
            print(f"{kind:12s} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
