"""make_lmdb: validation of every image, key layout, all three sources, CLI, interruption."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import lmdb
import pytest
from PIL import Image

import duguang_ocr
from duguang_ocr.cli import main
from duguang_ocr.data.folder import LabelFileError
from duguang_ocr.data.lmdb import read_count, write_lmdb
from duguang_ocr.data.make_lmdb import image_problem, make_lmdb, remove_stale_tmp


def encode(fmt: str = "PNG", w: int = 48, h: int = 16, color=(10, 120, 240)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, fmt)
    return buf.getvalue()


def zero_width_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", 0, 16, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def read_all(path: Path) -> dict[bytes, bytes]:
    env = lmdb.open(str(path), readonly=True, lock=False)
    try:
        with env.begin() as txn:
            return dict(txn.cursor())
    finally:
        env.close()


GOOD = {  # relative path -> (bytes, label)
    "good/a.png": (encode("PNG"), "hello"),
    "good/b.jpg": (encode("JPEG", color=(200, 200, 200)), "你好，世界"),
    "good/c.bmp": (encode("BMP", w=5, h=3), "ＡＢＣ full width kept verbatim"),
    "d.png": (encode("PNG", w=300, h=32), " spaces around "),
}
BAD = {  # relative path -> (bytes or None for a directory, label, expected reason fragment)
    "bad/zero.png": (b"", "zero", "empty file"),
    "bad/truncated.png": (encode("PNG", w=200, h=64)[:60], "trunc", "truncated"),
    "bad/text.jpg": (b"this is a text file, not a JPEG\n", "text", "not an image"),
    "bad/zero_width.png": (zero_width_png(), "zero width", "not an image"),
    "bad/empty_label.png": (encode("PNG"), "   ", "empty label"),
    "bad/adir.png": (None, "dir", "is a directory"),
}


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "ds"
    lines = ["# mixed good and bad"]
    order = ["good/a.png", "bad/zero.png", "good/b.jpg", "bad/truncated.png", "bad/text.jpg",
             "good/c.bmp", "bad/zero_width.png", "bad/empty_label.png", "missing.png",
             "bad/adir.png", "d.png"]
    for rel in order:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel in GOOD:
            path.write_bytes(GOOD[rel][0])
            lines.append(f"{rel}\t{GOOD[rel][1]}")
        elif rel in BAD:
            data, label, _ = BAD[rel]
            path.mkdir() if data is None else path.write_bytes(data)
            lines.append(f"{rel}\t{label}")
        else:
            lines.append(f"{rel}\tnot there")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_image_problem():
    assert image_problem(encode("PNG")) is None
    assert image_problem(encode("WEBP")) is None
    assert "empty file" in image_problem(b"")
    assert "truncated" in image_problem(encode("JPEG", w=200, h=100)[:300]).lower()


def test_from_labels_writes_good_and_reports_bad(dataset, tmp_path):
    out = tmp_path / "train.lmdb"
    report = make_lmdb(out, labels=dataset / "labels.tsv", root=dataset, progress=False)
    assert report.written == len(GOOD) == read_count(out)
    skipped = dict(report.skipped)
    assert set(skipped) == set(BAD) | {"missing.png"}
    for rel, (_, _, reason) in BAD.items():
        assert reason in skipped[rel], (rel, skipped[rel])
    # The path as resolved, not as written in labels.tsv: it shows where it was looked for.
    assert skipped["missing.png"] == f"no such file: {dataset / 'missing.png'}"
    summary = report.summary(max_items=3)
    assert summary.startswith(f"wrote 4 samples to {out}; skipped 7")
    assert summary.endswith("... and 4 more")


def test_key_layout_round_trip(dataset, tmp_path):
    out = tmp_path / "train.lmdb"
    make_lmdb(out, labels=dataset / "labels.tsv", progress=False)  # root: labels' folder
    kv = read_all(out)
    n = len(GOOD)
    expected_keys = {b"num-samples"} | {b"image-%09d" % i for i in range(1, n + 1)} | {
        b"label-%09d" % i for i in range(1, n + 1)}
    assert set(kv) == expected_keys
    assert kv[b"num-samples"] == str(n).encode()
    for i, (data, label) in enumerate(GOOD.values(), start=1):  # file order, bytes verbatim
        assert kv[b"image-%09d" % i] == data
        assert kv[b"label-%09d" % i].decode("utf-8") == label
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "train.lmdb"]  # no tmp left


def test_from_folder(dataset, tmp_path):
    report = make_lmdb(tmp_path / "f.lmdb", root=dataset, progress=False)
    assert report.written == len(GOOD) and len(report.skipped) == len(BAD) + 1


def test_from_lmdb_revalidates_and_renumbers(tmp_path):
    src = tmp_path / "src.lmdb"
    samples = [(encode("PNG"), "一"), (b"\x89PNG garbage", "bad"), (encode("JPEG"), ""),
               (encode("PNG", w=7, h=9), "二 two")]
    write_lmdb(samples, src)
    out = tmp_path / "copy.lmdb"
    report = make_lmdb(out, source_lmdb=src, progress=False)
    assert report.written == 2
    assert report.skipped == [("image-000000002", "not an image file Pillow can identify"),
                              ("image-000000003", "empty label")]
    kv = read_all(out)
    assert kv[b"label-000000001"].decode() == "一" and kv[b"label-000000002"].decode() == "二 two"
    assert kv[b"image-000000002"] == samples[3][0]
    # In place: the source is replaced only once the new data set is complete.
    report = make_lmdb(src, source_lmdb=src, overwrite=True, progress=False)
    assert report.written == 2 and read_count(src) == 2


def test_from_lmdb_missing_keys_and_bad_utf8(tmp_path):
    src = tmp_path / "src.lmdb"
    env = lmdb.open(str(src), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"3")
        txn.put(b"image-000000001", encode())
        txn.put(b"label-000000001", b"\xff\xfe")
        txn.put(b"label-000000002", b"no image")
        txn.put(b"image-000000003", encode())
        txn.put(b"label-000000003", "好".encode())
    env.close()
    report = make_lmdb(tmp_path / "out.lmdb", source_lmdb=src, progress=False)
    assert report.written == 1
    assert report.skipped == [("image-000000001", "label is not valid UTF-8"),
                              ("image-000000002", "image key missing")]


def test_argument_and_overwrite_errors(dataset, tmp_path):
    out = tmp_path / "o.lmdb"
    with pytest.raises(ValueError, match="no source"):
        make_lmdb(out)
    with pytest.raises(ValueError, match="not both"):
        make_lmdb(out, root=dataset, source_lmdb=out)
    with pytest.raises(FileNotFoundError):
        make_lmdb(out, source_lmdb=tmp_path / "nope.lmdb")
    with pytest.raises(FileNotFoundError):
        make_lmdb(out, root=tmp_path / "nope")
    make_lmdb(out, root=dataset, progress=False)
    with pytest.raises(FileExistsError):
        make_lmdb(out, root=dataset, progress=False)
    (dataset / "labels.tsv").write_text("good/a.png\tonly one\n", encoding="utf-8")
    assert make_lmdb(out, root=dataset, overwrite=True, progress=False).written == 1
    assert read_count(out) == 1


def test_malformed_labels_write_nothing(dataset, tmp_path):
    (dataset / "labels.tsv").write_text("good/a.png\tok\nbroken\n", encoding="utf-8")
    with pytest.raises(LabelFileError, match="labels.tsv:2"):
        make_lmdb(tmp_path / "o.lmdb", root=dataset, progress=False)
    assert not list(tmp_path.glob("o.lmdb*"))


def test_remove_stale_tmp(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"x.lmdb.tmp-{dead.pid}"
    live = tmp_path / f"x.lmdb.tmp-{os.getpid()}"
    other = tmp_path / f"y.lmdb.tmp-{dead.pid}"
    for d in (stale, live, other):
        d.mkdir()
    assert remove_stale_tmp(tmp_path / "x.lmdb") == [stale]
    assert not stale.exists() and live.exists() and other.exists()


# ---------------------------------------------------------------- CLI


def test_cli_make_lmdb(dataset, tmp_path, capsys):
    out = tmp_path / "cli.lmdb"
    assert main(["make-lmdb", "--labels", str(dataset / "labels.tsv"), "--root", str(dataset),
                 str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 4 samples" in printed and "skipped bad/zero.png: empty file" in printed
    assert main(["make-lmdb", "--from-folder", str(dataset), str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{out} already exists (add --overwrite to replace it)" in err
    assert "overwrite=True" not in err  # command-line wording, not Python's
    assert main(["make-lmdb", "--from-lmdb", str(out), str(tmp_path / "c.lmdb"),
                 "--quiet"]) == 0
    assert read_count(tmp_path / "c.lmdb") == 4
    assert main(["make-lmdb", "--from-folder", str(dataset), str(out), "--overwrite",
                 "--quiet"]) == 0
    assert main(["make-lmdb", "--root", str(dataset), "--from-folder", str(dataset),
                 str(tmp_path / "r.lmdb")]) == 2
    with pytest.raises(SystemExit):  # argparse: two sources
        main(["make-lmdb", "--from-folder", str(dataset), "--from-lmdb", str(out), "x"])


def test_cli_nothing_usable_writes_nothing_and_the_fixed_rerun_works(tmp_path, capsys):
    (tmp_path / "z.png").write_bytes(b"")
    (tmp_path / "labels.tsv").write_text("z.png\tzero\n", encoding="utf-8")
    out = tmp_path / "o.lmdb"
    assert main(["make-lmdb", "--from-folder", str(tmp_path), str(out), "--quiet"]) == 1
    assert "no usable samples" in capsys.readouterr().out
    assert not list(tmp_path.glob("o.lmdb*"))  # no empty data set blocking the rerun
    (tmp_path / "z.png").write_bytes(encode())
    assert main(["make-lmdb", "--from-folder", str(tmp_path), str(out), "--quiet"]) == 0
    assert read_count(out) == 1


def test_cli_missing_images_hint_at_root(dataset, tmp_path, capsys):
    """labels.tsv paths relative to another folder: every image is 'missing'; the message
    shows where each was looked for and the hint names --root."""
    labels = tmp_path / "elsewhere" / "labels.tsv"
    labels.parent.mkdir()
    labels.write_text("good/a.png\tx\n", encoding="utf-8")
    assert main(["make-lmdb", "--labels", str(labels), str(tmp_path / "o.lmdb"),
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert f"no such file: {labels.parent / 'good' / 'a.png'}" in captured.out
    assert f"relative to {labels.parent}" in captured.err and "--root" in captured.err
    assert main(["make-lmdb", "--labels", str(labels), "--root", str(dataset),
                 str(tmp_path / "o.lmdb"), "--no-progress"]) == 0


# Runs the real CLI, with validation slowed to >= 1 ms per image so that the kill lands
# between the first commit (1,000 samples) and the end however fast the machine is.
THROTTLED_CLI = """
import sys, time
import duguang_ocr.data.make_lmdb as m
check = m.image_problem
m.image_problem = lambda data: (time.sleep(0.001), check(data))[1]
from duguang_ocr.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_interrupted_build_leaves_no_output_and_rerun_succeeds(tmp_path):
    n = 2000
    root = tmp_path / "many"
    root.mkdir()
    images = [encode("PNG", w=48 + i, color=(i * 40, 80, 160)) for i in range(5)]
    lines = []
    for i in range(n):
        (root / f"{i:05d}.png").write_bytes(images[i % 5])
        lines.append(f"{i:05d}.png\tline {i} 第{i}行")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "big.lmdb"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(duguang_ocr.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]))
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", THROTTLED_CLI, "make-lmdb", "--from-folder", str(root),
             str(out), "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=err)
    data = tmp_path / f"big.lmdb.tmp-{proc.pid}" / "data.mdb"
    deadline = time.monotonic() + 60
    try:
        # Wait for the first commit (the file grows past ~1,000 small PNGs), then kill.
        while not (data.exists() and data.stat().st_size > 200_000):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline, "make-lmdb never committed"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed mid-way, not finished
    assert not out.exists()
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("big.lmdb"))
    assert leftovers == [f"big.lmdb.tmp-{proc.pid}"]

    assert main(["make-lmdb", "--from-folder", str(root), str(out), "--quiet"]) == 0
    assert read_count(out) == n
    assert read_all(out)[b"label-%09d" % n].decode() == f"line {n - 1} 第{n - 1}行"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("big.lmdb")] == ["big.lmdb"]
