"""Vocabularies and number spellings the text sampler draws from (:mod:`.corpus`).

Tables of keys, units, bullets and quotes seen on documents, and helpers that turn random
draws into digits, characters and Chinese numerals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates never use I and O
ALNUM_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
HEX = "0123456789abcdef"
ZH_NUMERALS = "零一二三四五六七八九十"
ZH_CAPITAL = "零壹贰叁肆伍陆柒捌玖"
WEEKDAYS_ZH = "一二三四五六日"
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNITS = ("kg", "g", "mg", "t", "km", "m", "cm", "mm", "ml", "L", "GB", "MB", "KB", "TB",
          "km/h", "m/s", "W", "kW", "V", "mA", "Hz", "MHz", "dB", "h", "min", "s", "%",
          "℃", "°", "‰", "元", "件", "个", "台", "箱", "米", "公斤", "平方米", "吨", "次", "人")
ZH_KEYS = ("姓名", "电话", "手机", "地址", "日期", "时间", "金额", "合计", "总计", "单价",
            "数量", "编号", "订单号", "发票号码", "型号", "规格", "备注", "邮编", "邮箱", "网址",
            "传真", "账号", "开户行", "联系人", "车牌号", "身份证号", "有效期", "生产日期", "批号",
            "税额", "价格", "重量", "温度", "页码", "版本", "客户", "公司", "职位", "部门")
EN_KEYS = ("Name", "Tel", "Phone", "Date", "Time", "Total", "Amount", "No.", "Invoice No.",
            "Order ID", "Qty", "Price", "Model", "Address", "Email", "Fax", "Ref", "Item",
            "Subtotal", "Tax", "Due", "SKU", "Lot", "Exp", "Page", "Version", "Code")
TLDS = ("com", "cn", "net", "org", "com.cn", "edu.cn", "gov.cn", "io", "info")
BULLETS = ("■", "□", "●", "○", "▲", "△", "★", "☆", "◆", "◇", "※", "√", "·", "-", "*", "→")
QUOTES = (("《", "》"), ("“", "”"), ("‘", "’"), ("（", "）"), ("【", "】"), ("「", "」"),
           ("『", "』"), ("〔", "〕"), ("(", ")"), ("[", "]"), ('"', '"'), ("'", "'"),
           ("<", ">"), ("{", "}"))


def pick(rng: np.random.Generator, seq: Sequence):
    return seq[int(rng.integers(len(seq)))]


def digits(rng: np.random.Generator, n: int, first_nonzero: bool = False) -> str:
    d = rng.integers(0, 10, n)
    if first_nonzero and n:
        d[0] = rng.integers(1, 10)
    return "".join(map(str, d.tolist()))


def chars(rng: np.random.Generator, alphabet: str | Sequence[str], n: int) -> str:
    idx = rng.integers(0, len(alphabet), n)
    return "".join(alphabet[i] for i in idx.tolist())


def spell_units(n: int, digits: Sequence[str], units: Sequence[str]) -> str:
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


def zh_number(n: int) -> str:
    """Chinese reading of 0..99,999 (十二, 一百零五, 三万二千)."""
    if n < 10:
        return ZH_NUMERALS[n]
    if n < 20:
        return "十" + (ZH_NUMERALS[n % 10] if n % 10 else "")
    return spell_units(n, ZH_NUMERALS, "万千百十")


def zh_capital_amount(n: int) -> str:
    """Financial capital numerals of 1..99,999 as on invoices: 叁仟伍佰元整."""
    return (spell_units(n, ZH_CAPITAL, "万仟佰拾") or "零") + "元整"
