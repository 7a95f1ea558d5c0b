"""Render synthetic text lines into an LMDB training set, on as many processes as wanted.

Sample ``i`` of a run with seed ``s`` draws every random number from
``numpy.random.default_rng([s, i])``, so the data set is the same whatever the worker count
or chunking, and any single sample can be regenerated on its own (``LineGenerator``).

    python -m duguang_ocr.synth.make train.lmdb --n 100000 --seed 0 --workers 16 --max-width 300
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from ..data.lmdb import write_lmdb
from ..progress import add_progress_option, progress_bar
from .charset import load_charset
from .corpus import TextSampler
from .fonts import FontSet, discover_fonts
from .render import LineTooWide, RenderConfig, render_line

CHUNK_HEIGHT = 32
CHUNK_WIDTH = 300


@dataclass
class LineGenerator:
    """Text sampler + fonts + renderer: ``gen(seed, index) -> (image, label)``.

    Attributes:
        sampler: text source; its charset should only hold symbols some font can draw.
        fonts: faces to draw with; each line uses one that covers all its characters.
        config: rendering ranges.
        height: output height (None: rendering resolution).
        max_width_ratio: keep only lines with width/height <= this; a line that would be
            wider is replaced by a new, shorter text (not truncated, so labels stay whole).
        max_tries: texts tried per sample before giving up.
    """

    sampler: TextSampler
    fonts: FontSet
    config: RenderConfig = field(default_factory=RenderConfig)
    height: int | None = 32
    max_width_ratio: float | None = None
    max_tries: int = 200

    @classmethod
    def default(
        cls,
        *,
        charset: Sequence[str] | None = None,
        fonts: FontSet | None = None,
        config: RenderConfig | None = None,
        height: int | None = 32,
        max_width_ratio: float | None = None,
        max_chars: int = 40,
    ) -> LineGenerator:
        """Shipped charset, installed fonts; texts limited to symbols the fonts can draw."""
        charset = load_charset() if charset is None else list(charset)
        fonts = discover_fonts(charset) if fonts is None else fonts
        if not fonts.faces:
            raise RuntimeError(
                "no usable fonts found; run scripts/install_fonts.sh or set DUGUANG_OCR_FONTS"
            )
        drawable = fonts.coverage()
        sampler = TextSampler([c for c in charset if c in drawable or c == " "],
                              max_chars=max_chars)
        return cls(sampler, fonts, config or RenderConfig(), height, max_width_ratio)

    def __call__(self, seed: int, index: int) -> tuple[np.ndarray, str]:
        rng = np.random.default_rng([seed, index])
        max_chars = None
        for _ in range(self.max_tries):
            text = self.sampler.sample(rng, max_chars)
            face = self.fonts.pick(text, rng)
            if face is None:
                continue
            try:
                img = render_line(text, face, rng, height=self.height, config=self.config,
                                  max_width_ratio=self.max_width_ratio)
            except LineTooWide as e:
                # Ask for a text about as long as what would have fitted this time.
                max_chars = max(1, min(len(text) - 1, int(len(text) * e.limit / e.ratio)))
                continue
            return img, text
        raise RuntimeError(f"no renderable line after {self.max_tries} texts "
                           f"(seed {seed}, index {index}); are the fonts too narrow in coverage?")


def encode_image(img: np.ndarray, image_format: str = "png", quality: int = 95) -> bytes:
    """RGB uint8 image -> PNG (lossless, compression 3) or JPEG bytes."""
    bgr = np.ascontiguousarray(img[:, :, ::-1])
    fmt = image_format.lower()
    if fmt == "png":
        ok, enc = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    elif fmt in ("jpg", "jpeg"):
        ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    if not ok:
        raise RuntimeError(f"cv2 could not encode a {img.shape} image as {fmt}")
    return enc.tobytes()


_WORKER: dict = {}


def _init_worker(gen: LineGenerator, seed: int, image_format: str) -> None:
    cv2.setNumThreads(1)  # one process per core already; threads would oversubscribe
    _WORKER.update(gen=gen, seed=seed, image_format=image_format)


def _render_encoded(index: int) -> tuple[bytes, str]:
    img, text = _WORKER["gen"](_WORKER["seed"], index)
    return encode_image(img, _WORKER["image_format"]), text


def iter_synth(
    n: int,
    seed: int,
    workers: int = 1,
    generator: LineGenerator | None = None,
    image_format: str = "png",
) -> Iterator[tuple[bytes, str]]:
    """Yield ``n`` ``(encoded_image, label)`` pairs in index order, rendered by ``workers``
    processes (1: in this process)."""
    gen = generator or LineGenerator.default()
    if workers <= 1:
        for i in range(n):
            img, text = gen(seed, i)
            yield encode_image(img, image_format), text
        return
    chunk = max(1, min(64, n // (workers * 8)))
    # fork shares the loaded fonts and corpus without pickling; spawn elsewhere.
    method = "fork" if "fork" in _start_methods() else "spawn"
    # A child forked while OpenCV's thread pool has threads (this process rendered before)
    # inherits the pool without its threads and hangs in the worker's setNumThreads; so
    # stop the pool's threads across the fork and restore the thread count afterwards.
    threads = cv2.getNumThreads()
    if method == "fork":
        cv2.setNumThreads(1)
    try:
        with get_context(method).Pool(workers, _init_worker, (gen, seed, image_format)) as pool:
            yield from pool.imap(_render_encoded, range(n), chunksize=chunk)
    finally:
        cv2.setNumThreads(threads)


def _start_methods() -> list[str]:
    from multiprocessing import get_all_start_methods

    return get_all_start_methods()


def make_synth_lmdb(
    out: str | os.PathLike,
    n: int,
    seed: int,
    workers: int = 1,
    max_width_ratio: float | None = None,
    config: RenderConfig | None = None,
    *,
    height: int | None = 32,
    image_format: str = "png",
    charset: Sequence[str] | None = None,
    fonts: FontSet | None = None,
    max_chars: int = 40,
    overwrite: bool = False,
    progress: bool | None = False,
) -> int:
    """Render ``n`` synthetic lines into an LMDB data set at ``out``; returns ``n``.

    Args:
        out: LMDB directory (ModelScope layout, written atomically by ``write_lmdb``).
        n: number of samples.
        seed: sample ``i`` uses ``default_rng([seed, i])``: the output does not depend on
            ``workers``.
        workers: processes rendering in parallel.
        max_width_ratio: keep only lines whose width/height (after the resize to height 32)
            is at most this, e.g. ``300 / 32`` for lines that fit one model chunk.
        config: rendering ranges (default ``RenderConfig()``).
        height: stored image height (None: keep the rendering resolution).
        image_format: ``"png"`` (lossless) or ``"jpg"`` (quality 95, ~3x smaller).
        charset: label symbols (default: the shipped charset).
        fonts: faces to draw with (default: every installed font, see ``discover_fonts``).
        max_chars: longest text, in characters.
        overwrite: replace an existing ``out``.
        progress: a lines-rendered bar on stderr (None: when stderr is a terminal or in a
            notebook, see :mod:`duguang_ocr.progress`).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    gen = LineGenerator.default(charset=charset, fonts=fonts, config=config, height=height,
                                max_width_ratio=max_width_ratio, max_chars=max_chars)
    samples = iter_synth(n, seed, workers, gen, image_format)
    with progress_bar(samples, total=n, desc=f"synth {Path(out).name}", unit="line",
                      progress=progress) as bar:
        return write_lmdb(bar, out, overwrite=overwrite)


def add_arguments(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the data-set options (OUT, --n, --seed, --workers, ...) to ``ap``; shared by
    ``python -m duguang_ocr.synth.make`` and ``duguang-ocr synth``."""
    ap.add_argument("out", type=Path, help="output LMDB directory")
    ap.add_argument("--n", type=int, default=1000, help="number of lines (default 1000)")
    ap.add_argument("--seed", type=int, default=0,
                    help="sample i depends only on (seed, i), whatever --workers is")
    ap.add_argument("--workers", type=int, default=1, help="rendering processes")
    ap.add_argument("--max-width", type=float, default=None,
                    help=f"keep lines at most this wide at height {CHUNK_HEIGHT} "
                         f"(e.g. {CHUNK_WIDTH}: one model chunk)")
    ap.add_argument("--height", type=int, default=32,
                    help="stored image height; 0 keeps the rendering resolution")
    ap.add_argument("--format", choices=("png", "jpg"), default="png",
                    help="stored image format (jpg: quality 95, ~3x smaller)")
    ap.add_argument("--max-chars", type=int, default=40, help="longest text, in characters")
    ap.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_progress_option(ap)
    return ap


def run(args: argparse.Namespace) -> int:
    """Render the data set ``args`` (from ``add_arguments``) asks for and print the rate."""
    ratio = args.max_width / CHUNK_HEIGHT if args.max_width else None
    if args.workers <= 1:
        cv2.setNumThreads(1)  # a per-core rate, comparable with the multi-process one
    t0 = time.perf_counter()
    count = make_synth_lmdb(args.out, args.n, args.seed, args.workers, ratio,
                            height=args.height or None, image_format=args.format,
                            max_chars=args.max_chars, overwrite=args.overwrite,
                            progress=args.progress)
    dt = time.perf_counter() - t0
    workers = max(1, args.workers)
    print(f"wrote {count} lines to {args.out} in {dt:.1f} s: {count / dt:.1f} lines/s "
          f"({count / dt / workers:.1f} lines/s per worker, {workers} worker(s))")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: render N lines into an LMDB and report the rendering rate."""
    ap = argparse.ArgumentParser(prog="python -m duguang_ocr.synth.make",
                                 description="Render synthetic text lines into an LMDB.")
    return run(add_arguments(ap).parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
