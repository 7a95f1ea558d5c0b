"""labels.tsv parsing, the folder data set and full-width label normalisation."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from duguang_ocr.data.folder import FolderDataset, LabelFileError, read_labels
from duguang_ocr.data.text import to_halfwidth


def write_png(path: Path, w: int = 40, h: int = 16, mode: str = "RGB", value: int = 200) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (w, h), value if mode == "L" else (value, value // 2, 10)).save(path)


def write_labels(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- to_halfwidth


def test_halfwidth_maps_the_whole_fullwidth_ascii_block():
    full = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
    ascii_ = "".join(chr(c) for c in range(0x21, 0x7F))
    assert to_halfwidth(full) == ascii_
    assert to_halfwidth("\u3000") == " "


def test_halfwidth_leaves_chinese_and_cjk_punctuation_alone():
    chinese = "中文识别，不是全角？。、「」《》【】…—￥·"
    # Only the full-width comma and question mark are in U+FF01..FF5E.
    assert to_halfwidth(chinese) == "中文识别,不是全角?。、「」《》【】…—￥·"
    assert to_halfwidth("读光ＯＣＲ　２０２４年") == "读光OCR 2024年"
    assert to_halfwidth("plain ascii, 123") == "plain ascii, 123"
    assert to_halfwidth("") == ""


# ---------------------------------------------------------------- read_labels


def test_read_labels_skips_blanks_and_comments(tmp_path):
    labels = write_labels(tmp_path / "labels.tsv", (
        "\ufeff# a comment\n"
        "a.png\thello world\r\n"
        "\n"
        "   \n"
        "sub/b.png\t你好，世界\n"
        "c.png\ttab\tinside\n"
        "d.png\t\n"
        "e.png\tline\u2028separator kept\n"
        "# trailing comment"
    ))
    assert read_labels(labels) == [
        ("a.png", "hello world"),
        ("sub/b.png", "你好，世界"),
        ("c.png", "tab\tinside"),
        ("d.png", ""),
        ("e.png", "line\u2028separator kept"),
    ]


@pytest.mark.parametrize(("content", "lineno", "message"), [
    ("a.png\tok\n# c\nno tab here\n", 3, "expected 'path<TAB>text'"),
    ("a.png\tok\n\tno path\n", 2, "empty image path"),
    ("/abs/a.png\tx\n", 1, "must be relative"),
    ("a.png\tok\nC:\\data\\b.png\tx\n", 2, "must be relative"),
])
def test_read_labels_errors_name_file_and_line(tmp_path, content, lineno, message):
    labels = write_labels(tmp_path / "labels.tsv", content)
    with pytest.raises(LabelFileError, match=message) as err:
        read_labels(labels)
    assert f"labels.tsv:{lineno}:" in str(err.value)


def test_read_labels_rejects_non_utf8_with_line(tmp_path):
    labels = write_labels(tmp_path / "labels.tsv", "a.png\tok\nb.png\t中文\n", encoding="gbk")
    with pytest.raises(LabelFileError, match=r"labels.tsv:2: not valid UTF-8"):
        read_labels(labels)
    assert issubclass(LabelFileError, ValueError)


def test_read_labels_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        read_labels(tmp_path / "nope.tsv")


# ---------------------------------------------------------------- FolderDataset


@pytest.fixture
def folder(tmp_path) -> Path:
    write_png(tmp_path / "imgs" / "a.png", 40, 16)
    write_png(tmp_path / "imgs" / "b.png", 64, 20, mode="L", value=90)
    write_png(tmp_path / "c.png", 10, 8, mode="RGBA")
    (tmp_path / "broken.png").write_bytes(b"")
    write_labels(tmp_path / "labels.tsv", (
        "imgs/a.png\tＡＢＣ，１２３\n"
        "imgs/b.png\t中文标签　测试。\n"
        "# comment\n"
        "c.png\tplain\n"
        "broken.png\tbad image\n"
        "missing.png\tgone\n"
    ))
    return tmp_path


def test_folder_dataset_items_and_normalisation(folder):
    ds = FolderDataset(folder)
    assert len(ds) == 5
    img, text = ds[0]
    assert img.dtype == np.uint8 and img.shape == (16, 40, 3)
    assert tuple(img[0, 0]) == (200, 100, 10)
    assert text == "ABC,123"
    img, text = ds[1]
    assert img.shape == (20, 64, 3) and (img == 90).all()  # gray expanded to RGB
    assert text == "中文标签 测试。"  # Chinese survives, U+3000 becomes a space
    assert ds[-3][1] == "plain"
    with pytest.raises(IndexError):
        ds[5]


def test_folder_dataset_raw_labels_when_normalisation_off(folder):
    ds = FolderDataset(folder, normalize_width=False)
    assert ds[0][1] == "ＡＢＣ，１２３"
    assert ds[1][1] == "中文标签　测试。"


def test_unreadable_images_give_none_and_are_counted(folder, caplog):
    ds = FolderDataset(folder)
    with caplog.at_level(logging.WARNING, logger="duguang_ocr.data.folder"):
        assert ds[3] is None
        assert ds[4] is None
        assert ds[3] is None
    assert ds.num_bad == 3
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "empty file" in messages[0] and "no such file" in messages[1]
    assert "3 unreadable" in messages[2]
    assert ds[2] is not None and ds.num_bad == 3


def test_custom_labels_name_and_missing_paths(tmp_path):
    write_png(tmp_path / "x.png")
    write_labels(tmp_path / "val.txt", "x.png\tval\n")
    ds = FolderDataset(tmp_path, labels="val.txt")
    assert len(ds) == 1 and ds[0][1] == "val"
    with pytest.raises(FileNotFoundError, match="labels.tsv"):
        FolderDataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        FolderDataset(tmp_path / "nowhere")


def test_malformed_labels_fail_at_construction(tmp_path):
    write_labels(tmp_path / "labels.tsv", "x.png\tok\nbroken line\n")
    with pytest.raises(LabelFileError, match="labels.tsv:2"):
        FolderDataset(tmp_path)
