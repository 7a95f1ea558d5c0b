#!/usr/bin/env python3
"""Check training LMDBs against the evaluation hash list and summarise their labels.

Independent of the code that built the sets: it reads the LMDBs themselves (``make-lmdb``
stores the original encoded bytes, so the sha256 of a stored image is the sha256 of the
file it came from) and, optionally, extra files to hash (e.g. the source photographs that
crops were cut from, listed one path a line). Prints per set: lines, images whose sha256
is in the evaluation list, byte duplicates across all sets, and the label characters that
are not in the synthetic charset.

Usage::

    python scripts/check_eval_overlap.py --eval-hashes ../shared/eval_sha256.txt \\
        /work/data/real/*.lmdb [--extra-files sources.txt] [--charset PATH] [--json OUT]

Exit status 1 when any image (or extra file) has a listed hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from duguang_ocr.data.lmdb import read_records


def read_lmdb(path: str):
    for _, image, label in read_records(path):
        yield image, label.decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lmdbs", nargs="+")
    ap.add_argument("--eval-hashes", required=True)
    ap.add_argument("--extra-files", help="file with paths of further files to hash")
    ap.add_argument("--charset", help="charset.txt (default: the package's synth charset)")
    ap.add_argument("--json", help="write the summary here as JSON")
    args = ap.parse_args(argv)

    listed = {ln.strip().lower() for ln in open(args.eval_hashes, encoding="utf-8")
              if re.fullmatch(r"[0-9a-fA-F]{64}", ln.strip())}
    if args.charset:
        charset_path = Path(args.charset)
    else:
        from duguang_ocr.synth.charset import CHARSET_FILE
        charset_path = CHARSET_FILE
    charset = set(charset_path.read_text(encoding="utf-8").split("\n")) - {""}

    summary, first_seen, bad = {}, {}, 0
    total_lines = 0
    print(f"{len(listed)} evaluation hashes; charset {charset_path} ({len(charset)} symbols)")
    print(f"{'set':12} {'lines':>6} {'eval-hits':>9} {'dup-in-set':>10} {'dup-other-set':>13} "
          f"{'chars':>5} {'not-in-charset'}")
    for path in args.lmdbs:
        name = Path(path).name.removesuffix(".lmdb")
        hits, dup_in, dup_other, lines = [], 0, 0, 0
        chars: Counter[str] = Counter()
        for i, (img, text) in enumerate(read_lmdb(path), start=1):
            lines += 1
            digest = hashlib.sha256(img).hexdigest()
            if digest in listed:
                hits.append(i)
            owner = first_seen.setdefault(digest, name)
            if owner != name:
                dup_other += 1
            elif digest in summary.get("_hashes_" + name, set()):
                dup_in += 1
            summary.setdefault("_hashes_" + name, set()).add(digest)
            chars.update(text)
        outside = {c: n for c, n in sorted(chars.items(), key=lambda kv: -kv[1])
                   if c not in charset}
        bad += len(hits)
        total_lines += lines
        shown = " ".join(f"{c!r}:{n}({unicodedata.name(c, '?')})" for c, n in outside.items())
        print(f"{name:12} {lines:6d} {len(hits):9d} {dup_in:10d} {dup_other:13d} "
              f"{len(chars):5d} {shown or '-'}")
        summary[name] = {"lines": lines, "eval_hash_hits": hits, "byte_dup_in_set": dup_in,
                         "byte_dup_of_other_set": dup_other, "distinct_chars": len(chars),
                         "chars_not_in_charset": outside}
    print(f"{'total':12} {total_lines:6d}")
    summary = {k: v for k, v in summary.items() if not k.startswith("_hashes_")}
    if args.extra_files:
        extra = [p for p in Path(args.extra_files).read_text().split("\n") if p.strip()]
        extra_hits = [p for p in extra
                      if hashlib.sha256(Path(p).read_bytes()).hexdigest() in listed]
        bad += len(extra_hits)
        print(f"extra files hashed: {len(extra)}; with a listed hash: {len(extra_hits)}")
        summary["extra_files"] = {"hashed": len(extra), "eval_hash_hits": extra_hits}
    summary["total_lines"] = total_lines
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    print("OK: no listed hash" if not bad else f"FAIL: {bad} images with a listed hash")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
