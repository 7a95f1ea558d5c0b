"""Hostile inputs, network faults and crash safety (see docs/HARDENING.md for the table).

Most single-input cases already live next to the code they test (tests/test_io.py,
tests/hub/, tests/data/, tests/test_vocab.py); this file adds what they did not cover:
1x1 and 100,000-px-wide lines through the Recognizer, a real 20,000 x 20,000 bomb, 16-bit
TIFF, meta/CUDA tensors, DNS failures, every hostile input in one ``errors="skip"`` list,
read-only LMDB media, and SIGKILL loops over make-lmdb, training and model downloads.

Kill points are deterministic: the child processes below SIGKILL *themselves* at a named
point (an environment variable picks it), or the test kills them once a slow local server
has sent a given number of bytes.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import torch
from PIL import Image

from duguang_ocr import Recognizer
from duguang_ocr.data.lmdb import close_env, read_count, write_lmdb
from duguang_ocr.data.lmdb_dataset import LmdbDataset, iter_labels
from duguang_ocr.data.make_lmdb import make_lmdb, remove_stale_tmp
from duguang_ocr.hub import download
from duguang_ocr.hub.download import (
    COMPLETE_MARKER,
    DownloadError,
    is_complete,
    snapshot_dir,
    snapshot_download,
)
from duguang_ocr.hub.modelscope import load_model_dir
from duguang_ocr.io import ImageLoadError, describe, load_image
from duguang_ocr.training import Trainer, checkpoint, load_config
from tests.helpers import render

ROOT = Path(__file__).resolve().parents[1]
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
CHILD_ENV = {
    **{k: v for k, v in os.environ.items() if k not in PROXY_VARS},
    "NO_PROXY": "127.0.0.1,localhost",
    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("DUGUANG_OCR_OFFLINE", raising=False)


@pytest.fixture(scope="module")
def rec(tiny_model_dir):
    return Recognizer.from_pretrained(tiny_model_dir, device="cpu", batch_size=4)


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A *valid*, fully decodable 1-bit PNG of width x height, all black, ~50 KB on disk.

    Built row by row through a streaming compressor, so making it costs ~0.2 s and no
    memory; decoding it would take 400 MB (gray) or 1.2 GB (RGB).
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit gray
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 1000) for _ in range(height // 1000)]
    parts += [comp.compress(row * (height % 1000)), comp.flush()]
    idat = b"".join(parts)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------------------ images
def test_one_pixel_images_load_and_recognize(rec, tmp_path):
    p = tmp_path / "px.png"
    Image.new("RGB", (1, 1), (9, 8, 7)).save(p)
    sources = [p, p.read_bytes(), Image.new("L", (1, 1), 9), np.zeros((1, 1, 3), np.uint8),
               np.zeros((1, 1), np.float32), torch.ones(3, 1, 1), torch.zeros(1, 1)]
    for src in sources:
        out = load_image(src)
        assert out.shape == (1, 1, 3) and out.dtype == np.uint8, describe(src)
    results = rec.recognize(sources)
    assert all(r.ok and isinstance(r.text, str) for r in results)
    assert isinstance(rec(p), str)


def test_100k_px_line_is_chunked_in_bounded_passes(tiny_model_dir):
    """A 100,000-px line (397 chunks) is read in passes of at most max_chunks chunks, with
    the same text as one giant pass, and without a memory blow-up."""
    img = np.full((32, 100_000, 3), 255, np.uint8)
    img[8:24, ::37] = 0
    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu", max_chunks=16)
    rec(img[:, :2000])  # warm up allocator and threads before measuring
    passes = []
    backend = rec._backend

    def recording(x):
        passes.append(x.shape[0])
        return backend(x)

    rec._backend = recording
    before = max_rss_mb()
    text = rec(img)
    grown = max_rss_mb() - before
    assert isinstance(text, str) and text
    assert sum(passes) == 397 and max(passes) <= 16
    assert grown < 600, f"peak RSS grew by {grown:.0f} MB"
    one_pass = Recognizer(rec.model, rec.vocab, rec.spec, device="cpu", max_chunks=10_000)
    assert one_pass(img) == text


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("bomb") / "bomb.png"
    p.write_bytes(bomb_png())
    return p


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_20000x20000_bomb_is_refused_from_its_header(bomb):
    assert bomb.stat().st_size < 200_000
    assert struct.unpack(">II", bomb.read_bytes()[16:24]) == (20_000, 20_000)  # IHDR
    before = max_rss_mb()
    # Beyond 2x Pillow's MAX_IMAGE_PIXELS (~358 Mpx), Image.open itself refuses it.
    for src in (bomb, bomb.read_bytes()):
        with pytest.raises(ImageLoadError, match=r"refused as a decompression bomb by Pillow "
                           r"\(Image size \(400000000 pixels\).*raise max_pixels=") as e:
            load_image(src)
        assert str(e.value).startswith(describe(src) + ":")
    # Between our 50 Mpx default and Pillow's limit, our own header check refuses it.
    medium = bomb_png(10_000, 10_000)
    with pytest.raises(ImageLoadError, match=r"bytes \(\d+ B\): 10000x10000 = 100000000 pixels "
                       r"exceeds the limit of 50000000 \(a decompression-bomb guard"):
        load_image(medium)
    assert max_rss_mb() - before < 100  # nothing was decoded (400 MB if it had been)


def test_sixteen_bit_tiff_is_scaled_by_its_range(tmp_path):
    a = np.array([[0, 257 * 100, 40000, 65535]], np.uint16)
    p = tmp_path / "g16.tif"
    Image.fromarray(a).save(p, "TIFF")
    assert Image.open(p).mode == "I;16"
    assert load_image(p)[0, :, 0].tolist() == [0, 100, 156, 255]
    assert load_image(p, composite_alpha=False)[0, :, 0].tolist() == [0, 255, 255, 255]


def test_non_contiguous_tensors():
    rgb = np.random.default_rng(0).integers(0, 255, (12, 18, 3), np.uint8)
    chw = torch.from_numpy(rgb).permute(2, 0, 1)
    assert np.array_equal(load_image(chw[:, ::2, 1::3]), rgb[::2, 1::3])
    assert np.array_equal(load_image(chw.transpose(1, 2)), rgb.transpose(1, 0, 2))
    assert not chw.transpose(1, 2).is_contiguous()
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).expand(6, 5, 3)  # stride 0
    assert (load_image(red) == (255, 0, 0)).all()


def test_meta_device_tensor_is_a_clear_error():
    for t in (torch.zeros(3, 4, 4, device="meta"),
              torch.zeros(3, 4, 4, dtype=torch.uint8, device="meta")):
        with pytest.raises(ImageLoadError, match="on meta: a meta-device tensor has no data"):
            load_image(t)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_tensor_is_moved_to_the_cpu():
    t = torch.rand(3, 8, 20, device="cuda")
    assert np.array_equal(load_image(t), load_image(t.cpu()))


def _hostile_inputs(d: Path) -> dict[str, object]:
    noise = np.random.default_rng(1).integers(0, 255, (40, 60, 3), np.uint8)
    png = encode(Image.fromarray(noise))
    (d / "zero.png").write_bytes(b"")
    (d / "trunc.png").write_bytes(png[: len(png) // 2])
    (d / "text.jpg").write_bytes(b"I am a text file with a .jpg name\n")
    return {
        "zero-byte file": d / "zero.png",
        "truncated file": d / "trunc.png",
        "non-image bytes": d / "text.jpg",
        "missing file": d / "missing.png",
        "0xN array": np.zeros((0, 10, 3), np.uint8),
        "Nx0 array": np.zeros((10, 0), np.uint8),
        "NaN array": np.full((4, 4), np.nan, np.float32),
        "out-of-range float": np.full((4, 4), 300.0),
        "int64 array": np.zeros((4, 4), np.int64),
        "4-D array": np.zeros((1, 4, 4, 3), np.uint8),
        "meta tensor": torch.zeros(3, 4, 4, device="meta"),
        "int tensor": torch.zeros(3, 4, 4, dtype=torch.int32),
        "bomb header": png_header_only(20_000, 20_000),
        "refused URL": f"http://127.0.0.1:{closed_port()}/x.png",
        "DNS failure": "http://no-such-host.invalid/x.png",
        "file:// URL": "file:///etc/passwd",
        "wrong type": 12345,
    }


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def test_every_hostile_input_is_skipped_and_the_rest_come_back(rec, tmp_path, line_images):
    bad = _hostile_inputs(tmp_path)
    good = line_images["short"]
    expected = rec(good)
    items = [good]
    for src in bad.values():
        items += [src, good]
    results = rec.recognize(items, errors="skip")
    assert len(results) == len(items)
    for i, (name, src) in enumerate(bad.items()):
        r = results[2 * i + 1]
        assert not r.ok and r.text == "", name
        if isinstance(src, int):
            assert r.error.startswith("TypeError: load_image() cannot read an image from int")
        else:
            assert r.error.startswith(f"ImageLoadError: {describe(src)}:"), (name, r.error)
    assert [r.text for r in results[::2]] == [expected] * (len(bad) + 1)
    assert all(r.ok for r in results[::2])
    for src in bad.values():  # a single input raises instead
        with pytest.raises((ImageLoadError, TypeError)):
            rec(src)


# -------------------------------------------------------------------------------- URLs
def test_dns_failure_is_a_clear_error():
    url = "http://no-such-host.invalid/x.png"
    with pytest.raises(ImageLoadError, match=r"connection failed \(.*no-such-host\.invalid") as e:
        load_image(url, timeout=(3.0, 3.0))
    assert str(e.value).startswith(f"URL {url!r}:")


def test_hub_download_dns_failure_and_refused_connection(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_sleep", lambda s: None)
    for url in ("http://no-such-host.invalid/f.bin", f"http://127.0.0.1:{closed_port()}/f.bin"):
        with pytest.raises(DownloadError, match="failed after 2 attempt"):
            download.download_file(url, tmp_path / "f.bin", retries=2, timeout=(3, 3))
        assert not (tmp_path / "f.bin").exists()
        assert not list(tmp_path.glob(".f.bin.tmp-*"))


# ----------------------------------------------------------------------- checkpoints
def test_malicious_pickle_in_training_state_is_refused(tmp_path):
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (exec, (f"import pathlib; pathlib.Path({str(marker)!r}).touch()",))

    path = tmp_path / checkpoint.STATE_FILE
    torch.save({"version": checkpoint.STATE_VERSION, "x": Evil()}, path)
    with pytest.raises(RuntimeError, match="(?s)cannot read the training state.*Unsupported global"):
        checkpoint.load_state(path)
    assert not marker.exists()


def test_truncated_training_state_is_a_clear_error(tmp_path):
    path = tmp_path / checkpoint.STATE_FILE
    checkpoint.save_state(path, {"version": checkpoint.STATE_VERSION,
                                 "w": torch.zeros(1000)})
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(RuntimeError, match="cannot read the training state"):
        checkpoint.load_state(path)


# ------------------------------------------------------------------------------- LMDB
def _snapshot(d: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(d.iterdir())}


def _small_lmdb(path: Path, n: int = 6) -> Path:
    write_lmdb([(encode(render(f"w{i}")), f"w{i}") for i in range(n)], path)
    return path


def test_reading_an_lmdb_never_writes_to_it(tmp_path):
    """What makes read-only media work even where chmod cannot prove it (root)."""
    path = _small_lmdb(tmp_path / "ro.lmdb")
    (path / "lock.mdb").unlink()  # as on a copy to media: readers need no lock file
    before = _snapshot(path)
    ds = LmdbDataset(path)
    assert [ds[i][1] for i in range(len(ds))] == [f"w{i}" for i in range(6)]
    assert list(iter_labels(ds)) == [f"w{i}" for i in range(6)]
    close_env(path)
    assert read_count(path) == 6
    assert make_lmdb(tmp_path / "copy.lmdb", source_lmdb=path, progress=False).written == 6
    assert _snapshot(path) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="running as root: chmod does not stop root from writing, so a "
                    "read-only directory proves nothing (test_reading_an_lmdb_never_writes_to_it "
                    "covers the property)")
def test_read_only_lmdb_directory_opens_for_reading(tmp_path):
    path = _small_lmdb(tmp_path / "ro.lmdb")
    (path / "lock.mdb").unlink()
    modes = {p: p.stat().st_mode for p in [path, *path.iterdir()]}
    for p in path.iterdir():
        p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(PermissionError):
            (path / "probe").write_bytes(b"x")  # the directory really is read-only
        ds = LmdbDataset(path)
        assert len(ds) == 6 and ds[5][1] == "w5"
        close_env(path)
        assert make_lmdb(tmp_path / "copy.lmdb", source_lmdb=path, progress=False).written == 6
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


# ---------------------------------------------------------------- crash safety: make-lmdb
# The real CLI, with small commits (every 20 samples) and a SIGKILL of itself at the point
# named by KILL_POINT: "image:N" (while validating the N-th image) or "rename" (the build is
# complete under OUT.tmp-<pid> and about to be renamed onto OUT).
MAKE_LMDB_CHILD = """
import os, signal, sys
import duguang_ocr.data.lmdb as l
import duguang_ocr.data.make_lmdb as m
kind, _, n = os.environ["KILL_POINT"].partition(":")
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if kind == "image":
    check, seen = m.image_problem, [0]
    def image_problem(data):
        seen[0] += 1
        if seen[0] == int(n):
            die()
        return check(data)
    m.image_problem = image_problem
elif kind == "rename":
    replace = os.replace
    def killing_replace(src, dst):
        if ".tmp-" in os.fspath(src):
            die()
        return replace(src, dst)
    os.replace = killing_replace
write = l.write_lmdb
m.write_lmdb = lambda samples, out, **kw: write(samples, out, commit_every=20, **kw)
from duguang_ocr.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_killed(script: str, point: str, *args: str) -> None:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env={**CHILD_ENV, "KILL_POINT": point}, timeout=120)
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stderr[-2000:])


@pytest.mark.slow
def test_make_lmdb_killed_at_every_point_never_leaves_a_complete_looking_output(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    images = [encode(render(w)) for w in ("alpha", "beta", "gamma")]
    lines = []
    for i in range(60):
        (root / f"{i:03d}.png").write_bytes(images[i % 3])
        lines.append(f"{i:03d}.png\tline {i}")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "first50.tsv").write_text("\n".join(lines[:50]) + "\n", encoding="utf-8")
    out = tmp_path / "out.lmdb"
    cli = ["make-lmdb", "--from-folder", str(root), str(out), "--quiet"]

    def others() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out.lmdb."))

    # A fresh build killed before the first commit, after two commits, and when complete
    # but not yet renamed: OUT never exists, only OUT.tmp-<pid>.
    for point in ("image:1", "image:45", "rename"):
        _run_killed(MAKE_LMDB_CHILD, point, *cli)
        assert not out.exists(), point
        # The first image is validated before the temporary LMDB is opened (a build with no
        # usable image writes nothing), so that kill leaves nothing at all.
        expected = [] if point == "image:1" else ["out.lmdb.tmp"]
        assert [n.split("-")[0] for n in others()] == expected, point
        with pytest.raises(FileNotFoundError):
            LmdbDataset(out)
    report = make_lmdb(out, root=root, progress=False)  # the rerun cleans up and completes
    assert report.written == 60 and read_count(out) == 60 and others() == []
    assert LmdbDataset(out)[59][1] == "line 59"
    close_env(out)

    # Overwriting with a 50-sample set, killed mid-build: the old 60-sample set is untouched.
    over = ["make-lmdb", "--labels", str(root / "first50.tsv"), "--root", str(root), str(out),
            "--overwrite", "--quiet"]
    _run_killed(MAKE_LMDB_CHILD, "image:45", *over)
    assert read_count(out) == 60
    # Killed between the two renames of the swap: the old set is aside as OUT.old-<pid> and
    # the next run (or remove_stale_tmp) puts it back before anything else.
    _run_killed(MAKE_LMDB_CHILD, "rename", *over)
    assert not out.exists()
    assert sorted(n.split("-")[0] for n in others()) == ["out.lmdb.old", "out.lmdb.tmp"]
    restored = remove_stale_tmp(out)
    assert len(restored) == 2 and read_count(out) == 60 and others() == []
    report = make_lmdb(out, labels=root / "first50.tsv", root=root, overwrite=True,
                       progress=False)
    assert report.written == 50 and read_count(out) == 50 and others() == []


# ------------------------------------------------------------------ crash safety: training
# The real `duguang-ocr train`, SIGKILLing itself at KILL_POINT: "state:N" (halfway through
# writing train_state.pt at step N), "swap:N" (between the two renames of the N-th
# replacement of last/), "step:N" (after optimizer step N, between saves).
TRAIN_CHILD = """
import io, os, signal, sys
import torch
from duguang_ocr.training import checkpoint, trainer
kind, _, n = os.environ["KILL_POINT"].partition(":")
n = int(n)
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if kind == "state":
    save = checkpoint.save_state
    def save_state(path, state):
        if state["step"] == n:
            buf = io.BytesIO()
            torch.save(state, buf)
            data = buf.getvalue()
            path.with_name(f"{path.name}.tmp-{os.getpid()}").write_bytes(data[: len(data) // 2])
            die()
        save(path, state)
    checkpoint.save_state = save_state
elif kind == "swap":
    replace, calls = checkpoint.replace_dir, [0]
    def replace_dir(tmp, dst):
        if dst.name == "last" and dst.exists():
            calls[0] += 1
            if calls[0] == n:
                os.replace(dst, dst.with_name(f"{dst.name}.old-{os.getpid()}"))
                die()
        replace(tmp, dst)
    checkpoint.replace_dir = replace_dir
elif kind == "step":
    after = trainer.Trainer._after_step
    def _after_step(self, *args):
        if self.step == n:
            die()
        return after(self, *args)
    trainer.Trainer._after_step = _after_step
from duguang_ocr.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _train_overrides(data: dict[str, Path], steps: int) -> list[str]:
    return [f"data.train=[{data['train']}]", f"data.eval=[{data['eval']}]",
            f"train.max_steps={steps}", "eval.every_steps=0"]


@pytest.fixture(scope="module")
def train_data(tmp_path_factory) -> dict[str, Path]:
    from tests.training.conftest import make_lmdb as make_train_lmdb

    root = tmp_path_factory.mktemp("train_lmdb")
    return {"train": make_train_lmdb(root / "train.lmdb", 96, 0),
            "eval": make_train_lmdb(root / "eval.lmdb", 24, 1)}


@pytest.mark.slow
def test_training_killed_at_every_point_resumes_to_the_same_model(train_data, tmp_path,
                                                                  capsys):
    """Saves happen at steps 10, 12 (epoch end), 20, 24, 30 with tiny_test; the run is
    killed three times in a row at different points, each resume picks up from the last
    *complete* state, and the end result equals an uninterrupted run."""
    from duguang_ocr.cli import main

    work, steps = tmp_path / "run", 30
    cli = ["train", "--config", "tiny_test", "--work-dir", str(work)]
    for o in _train_overrides(train_data, steps):
        cli += ["--set", o]

    def leftovers() -> list[str]:
        return sorted(p.name for p in work.iterdir() if ".tmp" in p.name or ".old-" in p.name)

    # 1. Killed halfway through the first train_state.pt: no state file at its final name.
    _run_killed(TRAIN_CHILD, "state:10", *cli)
    assert not (work / checkpoint.STATE_FILE).exists()
    assert [n.split("-")[0] for n in leftovers()] == ["train_state.pt.tmp"]
    load_model_dir(work / "last")  # last/ (written before the state) is complete

    # 2. --resume with no state starts over (dropping the dead run's records and temp);
    #    killed between the renames of the step-12 swap of last/.
    _run_killed(TRAIN_CHILD, "swap:2", *cli, "--resume")
    assert checkpoint.load_state(work / checkpoint.STATE_FILE)["step"] == 10
    assert not (work / "last").exists()
    assert [n.split("-")[0] for n in leftovers()] == ["last.old", "last.tmp"]

    # 3. --resume restores last/ from last.old-<pid>, resumes at 10, is killed at step 17.
    _run_killed(TRAIN_CHILD, "step:17", *cli, "--resume")
    assert checkpoint.load_state(work / checkpoint.STATE_FILE)["step"] == 12
    assert leftovers() == []
    for name in ("last", "best"):
        load_model_dir(work / name)

    # 4. The final --resume finishes cleanly.
    capsys.readouterr()
    assert main([*cli, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == steps
    assert leftovers() == []
    logged = [json.loads(x)["step"] for x in (work / "metrics.jsonl").read_text().splitlines()
              if json.loads(x)["kind"] == "train"]
    assert logged == list(range(5, steps + 1, 5))  # nothing duplicated by the dead runs
    for name in ("last", "best"):
        assert isinstance(Recognizer.from_pretrained(work / name, device="cpu")(
            render("red hat")), str)

    straight = Trainer(load_config("tiny_test", _train_overrides(train_data, steps)),
                       tmp_path / "ref")
    straight.fit()
    final = checkpoint.load_state(work / checkpoint.STATE_FILE)["model"]
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(final[k], v, rtol=0, atol=1e-6)


# ------------------------------------------------------------------ crash safety: download
HUB_FILES = {
    "configuration.json": json.dumps({"model": {"type": "x"}, "pad": "x" * 4000}).encode(),
    "pytorch_model.pt": bytes(range(256)) * 256,  # 64 KiB
    "vocab.txt": ("\n".join(chr(0x4E00 + i) for i in range(2000)) + "\n").encode(),
}
PIECES = 8  # each body goes out in 8 pieces with a pause after each


class SlowHub:
    """A ModelScope-style file API on 127.0.0.1 that dribbles every body out slowly and
    lets the test wait until a given number of pieces of a given file has been sent."""

    def __init__(self, pause: float = 0.15):
        self.pause = pause
        self.sent: dict[str, int] = {}
        self.requests: list[str] = []
        self.cond = threading.Condition()
        self.release = threading.Event()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = parse_qs(urlsplit(self.path).query).get("FilePath", [""])[0]
                body = HUB_FILES.get(name)
                with hub.cond:
                    hub.requests.append(name)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                size = -(-len(body) // PIECES)
                try:
                    for i in range(PIECES):
                        self.wfile.write(body[i * size : (i + 1) * size])
                        self.wfile.flush()
                        with hub.cond:
                            hub.sent[name] = hub.sent.get(name, 0) + 1
                            hub.cond.notify_all()
                        hub.release.wait(hub.pause)
                except OSError:  # the client was killed
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_sent(self, name: str, pieces: int, proc: subprocess.Popen) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: self.sent.get(name, 0) >= pieces or
                                    proc.poll() is not None, timeout=60)
        assert ok and proc.poll() is None, (name, proc.poll(), self.sent)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


DOWNLOAD_CHILD = """
import os, signal, sys
from duguang_ocr.hub import download
if os.environ.get("KILL_POINT") == "marker":  # every file done, the marker not yet written
    write = download.atomic_write_bytes
    def atomic_write_bytes(path, data):
        if path.name == download.COMPLETE_MARKER:
            os.kill(os.getpid(), signal.SIGKILL)
        return write(path, data)
    download.atomic_write_bytes = atomic_write_bytes
download.snapshot_download(sys.argv[1], endpoint=sys.argv[2], cache_dir=sys.argv[3],
                           progress=False)
"""


@pytest.mark.slow
def test_download_killed_at_every_point_never_leaves_a_partial_file(tmp_path):
    model_id, cache = "damo/cv_hardening_test", tmp_path / "cache"
    hub = SlowHub()
    directory = snapshot_dir(model_id, cache_dir=cache)

    def start(point: str = "") -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", DOWNLOAD_CHILD, model_id, hub.endpoint, str(cache)],
            env={**CHILD_ENV, "KILL_POINT": point}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)

    def check_no_partial_file() -> list[str]:
        assert not (directory / COMPLETE_MARKER).exists()
        assert not is_complete(directory)
        whole = []
        for name, body in HUB_FILES.items():
            if (directory / name).exists():
                assert (directory / name).read_bytes() == body, name  # never partial
                whole.append(name)
        return whole

    try:
        # Killed by the test in the middle of a body: of the first file, then of the weights.
        for name, expect_whole in (("configuration.json", []),
                                   ("pytorch_model.pt", ["configuration.json"])):
            proc = start()
            hub.wait_sent(name, 3, proc)
            proc.kill()
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
            assert check_no_partial_file() == expect_whole, name
            assert list(directory.glob(f".{name}.tmp-*"))  # the dead writer's partial temp

        # Killed by itself after the last file, before the marker.
        proc = start("marker")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        assert check_no_partial_file() == list(HUB_FILES)

        # The rerun only writes the marker; no temp of any dead writer survives.
        hub.requests.clear()
        assert snapshot_download(model_id, endpoint=hub.endpoint, cache_dir=cache,
                                 progress=False) == directory
        assert hub.requests == [] and is_complete(directory)
        assert sorted(p.name for p in directory.iterdir()) == sorted(
            [COMPLETE_MARKER, *HUB_FILES])
    finally:
        hub.close()
