"""Charset and text corpus: what the shipped charset holds, what TextSampler produces."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest

from duguang_ocr.synth import textformats
from duguang_ocr.synth.charset import (
    ASCII_PRINTABLE,
    CHARSET_FILE,
    FULLWIDTH_PUNCT,
    NORMALISE,
    gb2312_level,
    is_hanzi,
)
from duguang_ocr.synth.corpus import DEFAULT_MIX, TextSampler
from duguang_ocr.synth.textformats import zh_capital_amount, zh_number

# About the 1,000 most frequent characters of modern written Chinese, most frequent first.
COMMON_HANZI = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于"
    "着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还"
    "进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情"
    "明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或"
    "新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员"
    "解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太"
    "量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基"
    "眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交"
    "规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济"
    "车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调"
    "深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越"
    "器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历"
    "首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维"
    "革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧"
    "黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值"
    "仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印"
    "晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财"
    "环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担"
    "州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养"
    "伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央"
    "户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮"
    "露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移"
    "娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶"
    "春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣"
    "择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶"
)

N_KIND_SAMPLES = 3000


@pytest.fixture(scope="module")
def by_kind(sampler) -> dict[str, list[str]]:
    """``N_KIND_SAMPLES`` texts from the default mix, grouped by the kind that made them."""
    rng = np.random.default_rng(2024)
    out: dict[str, list[str]] = defaultdict(list)
    for _ in range(N_KIND_SAMPLES):
        kind, text = sampler.sample_with_kind(rng)
        out[kind].append(text)
    return dict(out)


# ------------------------------------------------------------------ the shipped charset


def test_charset_file_is_one_symbol_per_line_without_duplicates(charset):
    raw = CHARSET_FILE.read_text(encoding="utf-8")
    assert raw.endswith("\n") and not raw.endswith("\n\n")
    lines = raw[:-1].split("\n")
    assert lines == charset
    assert all(len(s) == 1 for s in lines), [s for s in lines if len(s) != 1][:10]
    assert len(set(lines)) == len(lines)
    assert "" not in lines and "\r" not in raw


def test_charset_has_ascii_printable_and_fullwidth_punctuation(charset):
    symbols = set(charset)
    assert charset[: len(ASCII_PRINTABLE)] == ASCII_PRINTABLE  # space first, then ! .. ~
    assert [chr(c) for c in range(0x20, 0x7F)] == ASCII_PRINTABLE
    assert set(FULLWIDTH_PUNCT) <= symbols
    assert set("，。！？；：、“”‘’（）《》【】…—·￥") <= symbols


def test_charset_has_the_common_simplified_hanzi(charset):
    hanzi = [c for c in charset if is_hanzi(c)]
    assert len(hanzi) >= 3500
    assert all(gb2312_level(c) for c in hanzi)  # simplified: every one is in GB2312
    level1 = sum(gb2312_level(c) == 1 for c in hanzi)
    assert level1 >= 3300, level1  # of GB2312's 3,755 level-1 (common) characters
    missing = [c for c in COMMON_HANZI if c not in set(charset)]
    assert len(COMMON_HANZI) == len(set(COMMON_HANZI)) == 1000
    assert not missing, "".join(missing)


def test_charset_symbols_are_not_duplicated_by_normalisation(charset):
    # Every look-alike TextSampler maps onto a charset symbol is itself outside the charset,
    # so no symbol is unreachable.
    table = NORMALISE
    assert not [chr(k) for k in table if chr(k) in set(charset) and chr(k) != " "]


def test_gb2312_level():
    assert gb2312_level("的") == 1 and gb2312_level("啊") == 1  # first level-1 row starts at 啊
    assert gb2312_level("亍") == 2  # first level-2 character
    assert gb2312_level("A") == 0 and gb2312_level("，") == 0
    assert gb2312_level("們") == 0  # traditional form: not in GB2312


# ------------------------------------------------------------------ Chinese numerals


@pytest.mark.parametrize("n, text", [
    (0, "零"), (7, "七"), (10, "十"), (12, "十二"), (20, "二十"), (99, "九十九"),
    (100, "一百"), (105, "一百零五"), (110, "一百一十"), (1010, "一千零一十"),
    (2006, "二千零六"), (30020, "三万零二十"), (32000, "三万二千"), (10001, "一万零一"),
    (99999, "九万九千九百九十九"),
])
def test_zh_number(n, text):
    assert zh_number(n) == text


@pytest.mark.parametrize("n, text", [
    (1, "壹元整"), (12, "壹拾贰元整"), (105, "壹佰零伍元整"), (3500, "叁仟伍佰元整"),
    (30020, "叁万零贰拾元整"), (99999, "玖万玖仟玖佰玖拾玖元整"),
])
def test_zh_capital_amount(n, text):
    assert zh_capital_amount(n) == text


def test_capital_amounts_use_only_charset_symbols():
    """With a charset lacking the capital numerals (the shipped one lacks 壹贰叁柒捌玖仟佰)
    money amounts fall back to common numerals rather than losing characters."""
    base = TextSampler(mix={"money": 1.0})
    full = TextSampler(list(base.charset) + list("壹贰叁肆伍陆柒捌玖拾佰仟万元整零"),
                       mix={"money": 1.0})
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    capital = 0
    for _ in range(400):
        a, b = base.sample(rng_a), full.sample(rng_b)
        assert set(a) <= base.allowed
        if b.endswith("元整") and b[0] in "壹贰叁肆伍陆柒捌玖":
            capital += 1
            if not base._capital_ok:
                assert a.endswith("元整") and set(a[:-2]) <= set("零一二三四五六七八九十百千万")
    assert capital > 10


def test_spelled_out_symbols():
    s = TextSampler()
    assert "℃" not in s.allowed  # the reference CJK font cannot draw it
    assert s.clean("气温23℃") == "气温23°C"
    with_c = TextSampler(list(s.charset) + ["℃"])
    assert with_c.clean("气温23℃") == "气温23℃"


# ------------------------------------------------------------------ TextSampler


def test_samples_use_only_charset_symbols_and_are_clean(sampler, by_kind):
    for texts in by_kind.values():
        for t in texts:
            assert t and set(t) <= sampler.allowed, t
            assert t == t.strip() and "  " not in t, repr(t)
            assert len(t) <= sampler.max_chars


def test_clean_maps_lookalikes_and_cuts_at_a_space(sampler):
    assert sampler.clean("  ¥12\u00a0–\u3000x  ") == "¥12 - x"  # both yen signs are symbols
    assert sampler.clean("￥5") == "￥5"
    assert sampler.clean("a\u2603b") == "ab"  # ☃ is not in the charset
    assert sampler.clean("hello wonderful world", 17) == "hello wonderful"  # not "... w"
    assert sampler.clean("hello wonderful world", 13) == "hello wonderf"  # no space near
    assert sampler.clean("abcdefghij", 4) == "abcd"


@pytest.mark.parametrize("max_chars", [1, 2, 5, 12, 40])
def test_max_chars(sampler, max_chars):
    rng = np.random.default_rng(max_chars)
    texts = [sampler.sample(rng, max_chars) for _ in range(300)]
    assert all(1 <= len(t) <= max_chars for t in texts)
    assert all(set(t) <= sampler.allowed for t in texts)
    if max_chars >= 12:
        assert max(map(len, texts)) > max_chars // 2  # the cap is not hit by shortening all


def test_max_chars_default_and_invalid():
    s = TextSampler(seed=1, max_chars=6)
    assert all(len(s.sample()) <= 6 for _ in range(200))
    with pytest.raises(ValueError, match="max_chars"):
        s.sample(max_chars=0)


def test_every_kind_of_the_mix_is_produced(by_kind):
    assert set(by_kind) == {k for k, v in DEFAULT_MIX.items() if v > 0}
    # shares follow the mix (3,000 draws: loose bounds)
    for kind, p in DEFAULT_MIX.items():
        share = len(by_kind[kind]) / N_KIND_SAMPLES
        assert 0.4 * p <= share <= 1.8 * p + 0.005, (kind, share, p)


def _frac(texts, pred) -> float:
    return sum(map(pred, texts)) / len(texts)


def _digits(t: str) -> int:
    return sum(c.isdigit() for c in t)


ZH_PUNCT = set("，、；：。！？…")


def test_kinds_look_like_what_they_claim(by_kind):
    k = by_kind
    assert all(all(is_hanzi(c) or c in ZH_PUNCT for c in t) for t in k["zh_phrase"])
    assert _frac(k["zh_phrase"], lambda t: sum(map(is_hanzi, t)) >= len(t) - 2) > 0.95
    assert all(all(is_hanzi(c) or c in ZH_PUNCT for c in t) for t in k["zh_sentence"])
    assert _frac(k["zh_sentence"], lambda t: t[-1] in "。！？；…") > 0.9
    assert all(all(map(is_hanzi, t)) for t in k["zh_chars"])
    # zh_running: windows of prose, so some lines end on a comma (the other Chinese kinds
    # never do) and some carry an English name of several words with its spaces.
    assert _frac(k["zh_running"], lambda t: sum(map(is_hanzi, t)) >= len(t) / 2) > 0.85
    assert _frac(k["zh_running"], lambda t: t[-1] in "，、") > 0.01
    assert any(re.search("[A-Za-z]+ [A-Za-z]+", t) for t in k["zh_running"])
    assert not any(re.search(" [，、。；：]", t) for t in k["zh_running"])
    for kind in ("en_words", "en_sentence"):
        assert all(t.isascii() and re.search("[A-Za-z]{2}", t) for t in k[kind]), kind
    assert _frac(k["en_sentence"], lambda t: t[0].isupper()) > 0.95
    assert _frac(k["en_sentence"], lambda t: t[-1] in ".!?") > 0.9
    assert all(any(c.isnumeric() or c in textformats.ZH_NUMERALS for c in t) for t in k["number"])
    assert all(_digits(t) or "星期" in t or "周" in t for t in k["date"])
    assert _frac(k["date"], lambda t: re.search(r"\d{4}|\d{1,2}[:/月]", t) is not None) > 0.7
    assert all(_digits(t) or t.endswith("元") or t.endswith("元整") for t in k["money"])
    assert _frac(k["money"], lambda t: re.search("[￥$€£元]|USD|RMB", t) is not None) > 0.5
    assert all(_digits(t) >= 10 for t in k["phone"])
    assert all(re.search("[A-Za-z0-9]", t) for t in k["code"])
    assert _frac(k["address"], _digits) > 0.95
    assert _frac(k["address"], lambda t: any(map(is_hanzi, t))) > 0.4  # zh and en
    assert _frac(k["address"], lambda t: t.isascii()) > 0.2
    assert _frac(k["name"], lambda t: all(map(is_hanzi, t)) and 2 <= len(t) <= 6) > 0.4
    assert _frac(k["name"], lambda t: re.fullmatch(r"[A-Za-z.,' -]+", t) is not None) > 0.25
    # mixed: Chinese next to Latin letters, digits or symbols
    assert all(any(map(is_hanzi, t)) for t in k["mixed"])
    assert _frac(k["mixed"], lambda t: re.search("[A-Za-z]", t) is not None) > 0.4
    assert _frac(k["mixed"], lambda t: not all(map(is_hanzi, t))) > 0.9
    assert _frac(k["punct"], lambda t: any(not c.isalnum() and c != " " for c in t)) > 0.8
    keys = textformats.ZH_KEYS + textformats.EN_KEYS
    assert all(any(t.startswith(key) and len(t) > len(key) for key in keys) for t in k["key_value"])
    assert all(t.isascii() for t in k["ascii_chars"])
    assert any(not c.isascii() and not is_hanzi(c) for t in k["any_chars"] for c in t)


def test_uniform_kinds_reach_rare_symbols(sampler):
    """zh_chars/any_chars draw uniformly, so the rare end of the charset is seen too."""
    s = TextSampler(mix={"zh_chars": 1.0, "any_chars": 1.0})
    rng = np.random.default_rng(0)
    seen = set("".join(s.sample(rng) for _ in range(1500)))
    rare = [c for c in sampler.charset if is_hanzi(c)][-500:]  # least frequent hanzi
    assert len(seen & set(rare)) > 250


def test_mix_restricts_kinds_and_rejects_unknown():
    s = TextSampler(mix={"phone": 1.0, "date": 0.0})
    rng = np.random.default_rng(0)
    assert {s.sample_with_kind(rng)[0] for _ in range(50)} == {"phone"}
    with pytest.raises(ValueError, match="unknown text kinds"):
        TextSampler(mix={"poetry": 1.0})


def test_sampler_is_deterministic_per_seed():
    a, b, c = TextSampler(seed=7), TextSampler(seed=7), TextSampler(seed=8)
    ta = [a.sample_with_kind() for _ in range(200)]
    assert ta == [b.sample_with_kind() for _ in range(200)]
    assert ta != [c.sample_with_kind() for _ in range(200)]
    # an explicit generator decides alone, whatever the sampler's own seed
    assert ([a.sample(np.random.default_rng([3, 4])) for _ in range(5)]
            == [c.sample(np.random.default_rng([3, 4])) for _ in range(5)])


def test_restricted_charset_is_respected():
    """A small charset (digits, a few letters and hanzi) still yields texts inside it."""
    small = list("0123456789 -:./ABCabc年月日元的一是中国人")
    s = TextSampler(small, seed=0)
    rng = np.random.default_rng(0)
    texts = [s.sample(rng) for _ in range(300)]
    assert all(t and set(t) <= set(small) for t in texts)


@pytest.mark.parametrize("chars", ["ABCabc0123 -.:", "中文", "①②■", " "])
def test_charsets_without_some_scripts_do_not_hang(chars):
    """Kinds that need hanzi (or letters) give up cleanly when the charset has none."""
    s = TextSampler(list(chars), seed=0)
    rng = np.random.default_rng(0)
    if chars.strip():
        texts = [s.sample(rng) for _ in range(200)]
        assert all(t and set(t) <= set(chars) for t in texts)
    else:
        with pytest.raises(ValueError, match="no symbol"):
            s.sample(rng)
