"""``duguang-ocr recognize`` input sources: directories, @list files, LMDB, ``--json``.

Every output line names its input, and outputs come in input order whatever the batching.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from duguang_ocr import Recognizer
from duguang_ocr.cli import main
from duguang_ocr.data.lmdb import write_lmdb
from tests.helpers import render

WORDS = ["Hi 42", "hello world", "OCR 2024 text line", "你好世界", "a b c d e f g h",
         "the quick brown fox jumps over the lazy dog", "x", "中文识别 123"]


def _png(text: str) -> bytes:
    buf = io.BytesIO()
    render(text).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def ref(tiny_model_dir) -> Recognizer:
    return Recognizer(tiny_model_dir, device="cpu")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """Images in nested folders, created out of name order, plus files that are not images."""
    root = tmp_path_factory.mktemp("tree")
    layout = {
        "b.png": WORDS[0], "sub/deeper/d.PNG": WORDS[1], "a.jpg": WORDS[2],
        "sub/c.bmp": WORDS[3], "Z.png": WORDS[4], "sub/a.png": WORDS[5],
    }
    for rel, text in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = {".jpg": "JPEG", ".bmp": "BMP"}.get(path.suffix.lower(), "PNG")
        render(text).save(path, format=fmt)
    (root / "notes.txt").write_text("not an image")
    (root / "sub" / "labels.tsv").write_text("a.png\tx\n")
    return root


@pytest.fixture(scope="module")
def lmdb_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lmdb") / "lines.lmdb"
    assert write_lmdb(((_png(t), t) for t in WORDS), path) == len(WORDS)
    return path


def _run(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["recognize", "--device", "cpu", *args])
    return code, capsys.readouterr().out.splitlines()


def _pairs(lines: list[str]) -> list[tuple[str, str]]:
    return [tuple(ln.split("\t", 1)) for ln in lines]


def test_directory_is_recursive_and_sorted(tiny_model_dir, tree, ref, capsys):
    code, out = _run(capsys, "--model", str(tiny_model_dir), str(tree))
    expected = sorted(str(p) for p in tree.rglob("*")
                      if p.suffix.lower() in (".png", ".jpg", ".bmp"))
    assert len(expected) == 6
    assert code == 0
    assert _pairs(out) == [(p, ref(p)) for p in expected]


def test_list_file_keeps_its_order_and_reads_relative_paths_like_stdin(
        tiny_model_dir, tree, ref, tmp_path, monkeypatch, capsys):
    """Relative paths in @FILE are taken from the current directory, as from ``-``, so one
    list works both ways wherever the list itself lies."""
    absolute = str(tree / "sub" / "c.bmp")
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "list.txt"
    (tmp_path / "imgs").symlink_to(tree, target_is_directory=True)
    text = f"imgs/b.png\n\n{absolute}\nimgs/sub/a.png\r\nimgs/b.png\n"  # blank lines ignored
    listing.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = _run(capsys, "--model", str(tiny_model_dir), f"@{listing}")
    names = ["imgs/b.png", absolute, "imgs/sub/a.png", "imgs/b.png"]
    assert code == 0
    assert _pairs(out) == [(n, ref(n)) for n in names]
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert _run(capsys, "--model", str(tiny_model_dir), "-") == (code, out)


def test_lmdb_in_order_with_index_names(tiny_model_dir, lmdb_path, ref, capsys):
    code, out = _run(capsys, "--model", str(tiny_model_dir), "--lmdb", str(lmdb_path))
    assert code == 0
    assert _pairs(out) == [(f"{lmdb_path}:{i}", ref(_png(t))) for i, t in enumerate(WORDS, 1)]


def test_json_mixed_sources_across_windows(tiny_model_dir, tree, lmdb_path, ref, tmp_path,
                                           capsys):
    """Positional inputs first (in the order given), then the LMDB; batch size 1 makes the
    recognizer's window 8 lines, so names and results cross several windows."""
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tree / 'Z.png'}\n{tree / 'a.jpg'}\n", encoding="utf-8")
    single = str(tree / "sub" / "deeper" / "d.PNG")
    code, out = _run(capsys, "--json", "--batch-size", "1", "--model", str(tiny_model_dir),
                     single, f"@{listing}", str(tree / "sub"), "--lmdb", str(lmdb_path))
    records = [json.loads(ln) for ln in out]
    sub = sorted(str(p) for p in (tree / "sub").rglob("*")
                 if p.suffix.lower() in (".png", ".jpg", ".bmp"))
    names = [single, str(tree / "Z.png"), str(tree / "a.jpg"), *sub]
    assert code == 0
    assert [r["input"] for r in records] == names + [
        f"{lmdb_path}:{i}" for i in range(1, len(WORDS) + 1)]
    expected = [ref(n) for n in names] + [ref(_png(t)) for t in WORDS]
    assert [r["text"] for r in records] == expected
    for r in records:
        assert "error" not in r
        assert len(r["char_confidences"]) == len(r["char_positions"]) == len(r["text"])


def test_bad_lmdb_item_is_reported_by_name(tiny_model_dir, tmp_path, ref, capsys):
    path = tmp_path / "bad.lmdb"
    write_lmdb([(_png("ok"), "ok"), (b"not an image", "bad"), (_png("fine"), "fine")], path)
    code = main(["recognize", "--json", "--device", "cpu", "--model", str(tiny_model_dir),
                 "--lmdb", str(path)])
    captured = capsys.readouterr()
    records = [json.loads(ln) for ln in captured.out.splitlines()]
    assert code == 1
    assert [r["input"] for r in records] == [f"{path}:{i}" for i in (1, 2, 3)]
    assert "error" in records[1] and "error" not in records[0] and "error" not in records[2]
    assert records[2]["text"] == ref(_png("fine"))


def test_entry_point_streams_an_lmdb(tiny_model_dir, lmdb_path, ref):
    proc = subprocess.run(
        [sys.executable, "-m", "duguang_ocr.cli", "recognize", "--device", "cpu", "--model",
         str(tiny_model_dir), "--lmdb", str(lmdb_path), "--num-workers", "0"],
        capture_output=True, text=True, encoding="utf-8", timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert _pairs(proc.stdout.splitlines()) == [
        (f"{lmdb_path}:{i}", ref(_png(t))) for i, t in enumerate(WORDS, 1)]


def test_nothing_to_recognize_is_an_error(tiny_model_dir, capsys):
    assert main(["recognize", "--device", "cpu", "--model", str(tiny_model_dir)]) == 2
    assert "nothing to recognize" in capsys.readouterr().err
