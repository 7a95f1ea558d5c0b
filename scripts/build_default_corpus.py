"""Build the default model's charset and text corpus from PyPI packages (run once).

Writes src/duguang_ocr/hub/default/vocab.txt (ASCII printable, full-width punctuation, the
3,500+ most frequent Simplified Chinese characters by jieba's word frequencies, restricted to
what WenQuanYi Micro Hei can draw) and scripts/default_corpus.json (Chinese words with
weights, English words, names/addresses from faker). jieba and faker are MIT licensed.
"""

import json
import os
from collections import Counter
from pathlib import Path

import jieba
from faker import Faker
from PIL import ImageFont

ROOT = Path(__file__).resolve().parents[1]
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FULLWIDTH = list("，。！？；：、“”‘’（）《》【】…—·￥％＋－＝／～「」『』〔〕")


def renderable(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    box = font.getbbox(ch)
    return box[2] > box[0] and font.getmask(ch).getbbox() is not None


def main() -> None:
    words = []
    counts: Counter = Counter()
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as f:
        for line in f:
            w, freq, _ = line.rstrip("\n").split(" ")
            freq = int(freq)
            if all("\u4e00" <= c <= "\u9fff" for c in w):
                words.append((w, freq))
                for c in w:
                    counts[c] += freq
    font = ImageFont.truetype(CJK_FONT, 32)
    hanzi = [c for c, _ in counts.most_common(4200) if renderable(font, c)][:3600]
    ascii_ = [chr(c) for c in range(0x20, 0x7F)]
    symbols = ascii_ + [c for c in FULLWIDTH if c not in ascii_] + hanzi
    assert len(set(symbols)) == len(symbols)
    out = ROOT / "src/duguang_ocr/hub/default"
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(symbols) + "\n", encoding="utf-8")
    keep = set(hanzi)
    words = [(w, f) for w, f in words if set(w) <= keep]
    words.sort(key=lambda x: -x[1])
    zh, en = Faker("zh_CN"), Faker("en_US")
    Faker.seed(0)
    corpus = {
        "zh_words": [w for w, _ in words[:60000]],
        "zh_weights": [f for _, f in words[:60000]],
        "en_words": sorted({w for _ in range(3000) for w in en.sentence(12).rstrip(".").split()}),
        "zh_names": [zh.name() for _ in range(2000)],
        "zh_addresses": [zh.address().replace("\n", " ") for _ in range(2000)],
        "zh_companies": [zh.company() for _ in range(1000)],
        "en_names": [en.name() for _ in range(2000)],
        "en_addresses": [en.address().replace("\n", ", ") for _ in range(1000)],
        "en_sentences": [en.sentence(8) for _ in range(3000)],
    }
    (ROOT / "scripts/default_corpus.json").write_text(json.dumps(corpus, ensure_ascii=False))
    print(len(symbols), "symbols,", len(hanzi), "hanzi,", len(corpus["zh_words"]), "zh words")


if __name__ == "__main__":
    main()
