"""Build time of the synthetic text corpus (needs the ``synth`` extra: jieba, faker).

``build_charset`` ranks Chinese characters by how often jieba's dictionary uses them and
writes ``data/charset.txt``; ``build_zh_words`` and ``build_lexicon`` extract
frequency-weighted Chinese words and faker's name/address/company word lists into ``data/``
(``python -m duguang_ocr.synth.corpus_build --build``). Extracting once keeps run time free of
those packages and makes the text distribution independent of their future versions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .charset import (
    ASCII_PRINTABLE,
    CHARSET_FILE,
    DATA_DIR,
    FULLWIDTH_PUNCT,
    NORMALISE,
    NUM_HANZI,
    SYMBOLS,
    gb2312_level,
    is_hanzi,
    read_charset_file,
)
from .corpus import TextSampler, read_corpus_files
from .fonts import face_names, find_font_files, font_dirs, probe_coverage

REFERENCE_CJK_FAMILY = "WenQuanYi Micro Hei"
NUM_ZH_WORDS = 50_000


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

    for path in find_font_files(font_dirs()):
        for index, fam, _ in face_names(path):
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
            s = str(s).translate(NORMALISE).strip()
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
    read_charset_file.cache_clear()
    read_corpus_files.cache_clear()
    return {
        "symbols": len(charset),
        "hanzi": sum(is_hanzi(c) for c in charset),
        "zh_words": len(words),
        "en_words": len(lexicon["en_words"]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m duguang_ocr.synth.corpus_build --build`` regenerates synth/data;
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
