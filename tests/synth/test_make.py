"""LineGenerator, iter_synth, make_synth_lmdb and the ``synth`` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest

from duguang_ocr.cli import main as cli_main
from duguang_ocr.data.lmdb import close_env, read_count
from duguang_ocr.data.lmdb_dataset import LmdbDataset
from duguang_ocr.synth import (
    LineGenerator,
    RenderConfig,
    TextSampler,
    iter_synth,
    make_synth_lmdb,
)
from duguang_ocr.synth.make import encode_image

N = 16
RATIO = 300 / 32


@pytest.fixture(scope="module")
def gen(fonts) -> LineGenerator:
    return LineGenerator.default(fonts=fonts, max_width_ratio=RATIO)


def same(a: tuple[np.ndarray, str], b: tuple[np.ndarray, str]) -> bool:
    return a[1] == b[1] and a[0].shape == b[0].shape and np.array_equal(a[0], b[0])


def read_all(path: Path) -> list[tuple[bytes, str]]:
    env = lmdb.open(str(path), readonly=True, lock=False)
    try:
        with env.begin() as txn:
            n = int(txn.get(b"num-samples"))
            return [(txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i).decode())
                    for i in range(1, n + 1)]
    finally:
        env.close()


def test_generator_output(gen, fonts):
    allowed = gen.sampler.allowed
    for i in range(24):
        img, text = gen(0, i)
        assert img.dtype == np.uint8 and img.shape[0] == 32 and img.shape[2] == 3
        assert img.shape[1] <= RATIO * 32  # max_width_ratio: lines fit one 300-px chunk
        assert text and set(text) <= allowed
        assert fonts.covering(text)  # some installed face draws every character


def test_generator_is_deterministic_and_order_independent(gen, fonts):
    forward = [gen(3, i) for i in range(10)]
    other = LineGenerator.default(fonts=fonts, max_width_ratio=RATIO)  # a fresh instance
    backward = [other(3, i) for i in reversed(range(10))][::-1]
    assert all(same(a, b) for a, b in zip(forward, backward))
    assert same(gen(3, 7), forward[7])  # any sample regenerates on its own
    assert not same(gen(4, 7), forward[7])  # the seed matters ...
    assert len({t for _, t in forward}) > 5  # ... and so does the index


def test_generator_with_a_small_charset(fonts):
    """Only charset symbols some face draws are used, and lines stay renderable."""
    charset = list("0123456789 -:.ABCDEFabcdef年月日元合计的一是中国人")
    g = LineGenerator.default(charset=charset, fonts=fonts, config=RenderConfig.plain())
    for i in range(10):
        img, text = g(1, i)
        assert set(text) <= set(charset) and img.shape[0] == 32


def test_generator_gives_up_when_nothing_is_drawable(fonts):
    latin_only = fonts.subset(cjk=False)
    g = LineGenerator(TextSampler(list("中文")), latin_only, max_tries=5)
    with pytest.raises(RuntimeError, match="no renderable line"):
        g(0, 0)
    with pytest.raises(ValueError, match="no symbol"):  # no face draws any charset symbol
        LineGenerator.default(charset=list("中文"), fonts=latin_only)(0, 0)


def test_iter_synth_does_not_depend_on_the_worker_count(gen):
    one = list(iter_synth(8, seed=5, workers=1, generator=gen))
    two = list(iter_synth(8, seed=5, workers=2, generator=gen))
    assert one == two and len(one) == 8
    img = cv2.imdecode(np.frombuffer(one[0][0], np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.array_equal(img, gen(5, 0)[0])  # PNG is lossless, channels RGB


def test_make_synth_lmdb_layout_and_workers(tmp_path, fonts):
    a, b = tmp_path / "w1.lmdb", tmp_path / "w2.lmdb"
    assert make_synth_lmdb(a, N, seed=11, workers=1, max_width_ratio=RATIO, fonts=fonts) == N
    assert make_synth_lmdb(b, N, seed=11, workers=2, max_width_ratio=RATIO, fonts=fonts) == N
    assert read_all(a) == read_all(b)  # byte-identical images and labels

    # standard layout: num-samples, image-%09d / label-%09d numbered from 1
    env = lmdb.open(str(a), readonly=True, lock=False)
    with env.begin() as txn:
        keys = [k.decode() for k, _ in txn.cursor()]
    env.close()
    assert sorted(keys) == sorted(["num-samples"] + [f"image-{i:09d}" for i in range(1, N + 1)]
                                  + [f"label-{i:09d}" for i in range(1, N + 1)])
    assert read_count(a) == N

    ds = LmdbDataset(a, normalize_width=False)
    try:
        assert len(ds) == N
        gen = LineGenerator.default(fonts=fonts, max_width_ratio=RATIO)
        for i in (0, 5, N - 1):
            img, text = ds[i]
            want_img, want_text = gen(11, i)  # sample k+1 of the LMDB is index k of the seed
            assert text == want_text and np.array_equal(img, want_img)
    finally:
        close_env(a)


def test_make_synth_lmdb_options(tmp_path, fonts):
    out = tmp_path / "jpg.lmdb"
    make_synth_lmdb(out, 4, seed=0, fonts=fonts, image_format="jpg", height=48)
    items = read_all(out)
    assert all(img[:3] == b"\xff\xd8\xff" for img, _ in items)  # JPEG
    assert all(cv2.imdecode(np.frombuffer(img, np.uint8), cv2.IMREAD_COLOR).shape[0] == 48
               for img, _ in items)
    with pytest.raises(FileExistsError):
        make_synth_lmdb(out, 2, seed=0, fonts=fonts)
    assert make_synth_lmdb(out, 2, seed=0, fonts=fonts, overwrite=True) == 2
    assert make_synth_lmdb(tmp_path / "empty.lmdb", 0, seed=0, fonts=fonts) == 0
    with pytest.raises(ValueError):
        make_synth_lmdb(tmp_path / "neg.lmdb", -1, seed=0, fonts=fonts)
    with pytest.raises(ValueError, match="png"):
        encode_image(np.zeros((4, 4, 3), np.uint8), "gif")


def test_cli_synth_in_process(tmp_path, fonts, capsys):
    out = tmp_path / "cli.lmdb"
    assert cli_main(["synth", str(out), "--n", "6", "--seed", "2", "--workers", "1",
                     "--max-width", "300", "--format", "png"]) == 0
    printed = capsys.readouterr().out
    assert "lines/s" in printed and "per worker" in printed
    assert read_count(out) == 6
    assert read_all(out) == list(iter_synth(
        6, 2, generator=LineGenerator.default(fonts=fonts, max_width_ratio=RATIO)))
    assert cli_main(["synth", str(out), "--n", "2"]) == 2  # exists, no --overwrite
    assert "already exists (add --overwrite to replace it)" in capsys.readouterr().err
    # Progress: none when stderr is not a terminal, a lines bar with --progress.
    assert cli_main(["synth", str(out), "--n", "2", "--overwrite", "--progress"]) == 0
    assert "2/2" in capsys.readouterr().err
    # README's `duguang-ocr synth data/synth_val.lmdb` in a fresh checkout: no data/ yet.
    nested = tmp_path / "data" / "val.lmdb"
    assert cli_main(["synth", str(nested), "--n", "2", "--workers", "1"]) == 0
    assert read_count(nested) == 2


def test_cli_synth_subprocess(tmp_path, fonts):
    out = tmp_path / "sub.lmdb"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "duguang_ocr.cli", "synth", str(out), "--n", "8", "--seed", "0",
         "--workers", "2", "--max-width", "300"],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lines/s per worker, 2 worker(s)" in proc.stdout
    assert read_count(out) == 8


def test_cli_synth_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["synth", "--help"])
    assert exc.value.code == 0
    help_out = capsys.readouterr().out
    for opt in ("--n", "--seed", "--workers", "--max-width", "--format", "--overwrite"):
        assert opt in help_out
