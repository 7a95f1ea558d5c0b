"""Copy a line data set (LMDB or folder) with every image scaled down to at most
``--max-height`` px (keeping the aspect ratio) and re-encoded as JPEG, for carrying training
data to a machine with a size limit (a lent GPU takes 64 MiB of files per call). Recognizers
read lines at height 32, so 40-48 px keeps what they see and room for augmentation. The copy
is a folder with ``labels.tsv`` (LMDB pages would waste most of their 4 KiB on ~2 KiB crops)
unless DST ends in ``.lmdb``.

    python scripts/shrink_lmdb.py data/real/ic13.lmdb .gpudata/real/ic13 --max-height 40
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.evaluate import iter_labelled


def shrink(data: bytes, max_height: int, quality: int) -> bytes:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return data  # let the training reader report it, as it would the original
    h, w = img.shape[:2]
    if h > max_height:
        img = cv2.resize(img, (max(1, round(w * max_height / h)), max_height),
                         interpolation=cv2.INTER_AREA)
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return enc.tobytes() if ok else data


def write_folder(items, dst: Path) -> int:
    """``dst/NNNNNN.jpg`` files and ``dst/labels.tsv`` (``file<TAB>text``)."""
    dst.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (data, label) in enumerate(items):
        name = f"{i:06d}.jpg"
        (dst / name).write_bytes(data)
        rows.append(f"{name}\t{label}\n")
    (dst / "labels.tsv").write_text("".join(rows), encoding="utf-8")
    return len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--max-height", type=int, default=48)
    ap.add_argument("--quality", type=int, default=90)
    args = ap.parse_args()
    items = ((shrink(src if isinstance(src, bytes) else Path(src).read_bytes(),
                     args.max_height, args.quality), label)
             for _, src, label in iter_labelled(args.src))
    if args.dst.endswith(".lmdb"):
        n = write_lmdb(items, args.dst, overwrite=True)
    else:
        n = write_folder(items, Path(args.dst))
    print(f"{args.src} -> {args.dst}: {n} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
