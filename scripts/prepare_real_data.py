#!/usr/bin/env python3
"""Build the real (non-synthetic) training sets of the default model from public git repos.

Each source is read straight out of a bare git directory at a pinned commit (nothing is
downloaded here: bring the repositories with any git client first), written as a folder
``OUT/<name>/`` with the images and a ``labels.tsv`` (``relative/path<TAB>text``), and
then turned into ``OUT/<name>.lmdb`` with the project's own ``duguang-ocr make-lmdb``.

Sources (see docs/DATA.md for the full table and caveats):

======== ================================ ======= ============================ =====
name     repository                       commit  what is used                 lines
======== ================================ ======= ============================ =====
ic15     ocr-algorithm-and-data/ICDAR2015 50f031d WordRecognition/TrainingSet/  4468
ic13     yeyupiaoling/LearnPaddle         6a242b5 note8/data/train_data/        1095
plates   lyl8213/Plate_Recognition-LPRnet 80e38c0 train/ + valid/ (file names)   885
iiit5k   gsy-cv/IIIT5K                    3d361ac train/ + train.tags           1993
svt      OCR-Benchmark/SVT                fe1a7f3 img/ + train.xml (own crops)   257
svt_test OCR-Benchmark/SVT                fe1a7f3 img/ + test.xml (own crops)    647
cute80   Jyouhou/CUTE80                   83c42cf timage/ + gt.txt               287
======== ================================ ======= ============================ =====

Licences as the repositories state them: LearnPaddle is Apache-2.0 (its crops are ICDAR 2013
data); the others state none (academic benchmark data distributed for research).

Rules applied to every image, in this order, each with its own count in the report:

1. **eval-hash rule**: the sha256 of the file bytes exactly as git stores them is looked up in
   the evaluation hash list (``--eval-hashes``, one hex digest a line); a hit is dropped.
   For SVT, whose crops are cut here, both the *source* photograph and the cut crop are
   hashed: a listed source photograph drops all of its crops.
2. **drop list**: known near-copies of test crops (re-encoded, so the hash differs) and
   confirmed wrong plate labels.
3. **byte duplicates** within a source: only the first copy is kept.

Never point this at a test split; the sources and paths are fixed in the code on purpose.

Usage::

    python scripts/prepare_real_data.py --out /work/data/real \\
        --eval-hashes ../shared/eval_sha256.txt \\
        --ic15 /path/ICDAR2015.git --ic13 /path/LearnPaddle.git \\
        --plates /path/Plate_Recognition-LPRnet.git --iiit5k /path/IIIT5K.git \\
        --svt /path/SVT.git --svt_test /path/SVT.git --cute80 /path/CUTE80.git

Any subset of the sources may be given. ``OUT/report.json`` records, per source, the
repository, commit, licence, counts kept and dropped per rule, and the sha256 of every
image and source photograph that was kept.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    licence: str
    expected: int
    paths: str
    drop: frozenset[str] = frozenset()


SOURCES = {
    s.name: s
    for s in [
        Source("ic15", "ocr-algorithm-and-data/ICDAR2015",
               "50f031dff55faec509f34d58b0b073e14a129360",
               "none stated (ICDAR 2015 Robust Reading Challenge 4 data, research use)", 4468,
               "WordRecognition/TrainingSet/ + gt.txt"),
        Source("ic13", "yeyupiaoling/LearnPaddle", "6a242b52230937eee29ca1299adc536995d26b4e",
               "repo: Apache-2.0; crops are ICDAR 2013 RRC data, terms unclear", 1095,
               "note8/data/train_data/ + gt.txt (deleted in later commits)"),
        Source("plates", "lyl8213/Plate_Recognition-LPRnet",
               "80e38c060e2b5c934f2ed6ec2ad254df1c0e398f", "none stated", 885,
               "train/ + valid/, label from the file name",
               # labels checked by eye and found wrong
               frozenset({"train/S13_EK1M59_2.jpg", "train/S13_A1Q7V8_6.jpg",
                          "train/S13_B11110_0.jpg", "train/S13_BM5768_0.jpg"})),
        Source("iiit5k", "gsy-cv/IIIT5K", "3d361ac71f783af2f1af3f3e9185a06993d45e3d",
               "none stated (IIIT 5K-word, research use)", 1993, "train/ + train.tags",
               # re-encoded near-copies of IIIT5K test crops
               frozenset({"train/1053_8.png", "train/1053_1.png", "train/838_3.png",
                          "train/2129_7.png", "train/2105_1.png", "train/934_4.png",
                          "train/934_2.png"})),
        Source("svt", "OCR-Benchmark/SVT", "fe1a7f3408de465e38d0f6406d113f43c4c5ef38",
               "none stated (Street View Text, research use)", 257,
               "img/ + train.xml, axis-aligned boxes cut here (train_crop/ is broken)"),
        # SVT's and CUTE80's test splits are public benchmarks that shared/realtest does not
        # use: training on them only rules out reporting SVT or CUTE80 (we report neither).
        Source("svt_test", "OCR-Benchmark/SVT", "fe1a7f3408de465e38d0f6406d113f43c4c5ef38",
               "none stated (Street View Text, research use)", 647,
               "img/ + test.xml, axis-aligned boxes cut here"),
        Source("cute80", "Jyouhou/CUTE80", "83c42cfb1de03c2eb33937a84ffd0a256ae7cb9f",
               "none stated (CUTE80, research use)", 287, "timage/ + gt.txt",
               # the PARSeq demo image cute-184 (shared/realtest en_scene_misc), re-encoded
               frozenset({"timage/184.jpg"})),
    ]
}

# Province codes in the plate file names (the table in the repo's LPRtf3.py).
PROVINCES = dict(zip(
    "A01 A02 A03 B02 S01 S02 S03 S04 S05 S06 S07 S08 S09 S10 S12 S13 S14 S15 S17 S18 S22 "
    "S30 S31 S32 S33 S34 S35 S36 S37 S38 S39".split(),
    "京津沪蒙皖闽粤甘贵鄂冀黑湘豫吉苏赣辽川鲁浙渝晋桂琼云藏陕青宁新", strict=True))


class GitReader:
    """Reads blobs of one commit through a single ``git cat-file --batch`` process."""

    def __init__(self, gitdir: str, commit: str):
        self.gitdir, self.commit = gitdir, commit
        self.proc = subprocess.Popen(["git", "-C", gitdir, "cat-file", "--batch"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, path: str) -> bytes:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{self.commit}:{path}\n".encode())
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode().split()
        if len(header) != 3 or header[1] != "blob":
            raise FileNotFoundError(f"{self.gitdir}: {self.commit}:{path} -> {' '.join(header)}")
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # trailing newline
        return data

    def ls(self, prefix: str) -> list[str]:
        """Paths under ``prefix``, verbatim (-z: git quotes non-ASCII names otherwise)."""
        out = subprocess.run(["git", "-C", self.gitdir, "ls-tree", "-r", "-z", "--name-only",
                              self.commit, "--", prefix], check=True, capture_output=True)
        return [p.decode("utf-8") for p in out.stdout.split(b"\0") if p]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


@dataclass
class Item:
    rel: str          # path written under OUT/<name>/ (the git path, or crops/... for SVT)
    data: bytes       # image bytes written
    text: str
    hashed: dict[str, bytes] = field(default_factory=dict)  # what the eval-hash rule checks


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _quoted_gt(git: GitReader, folder: str) -> Iterator[Item]:
    """ICDAR word gt.txt: ``word_1.png, "Text"`` (BOM, CRLF, ``\\"`` for a quote)."""
    for line in git.read(folder + "gt.txt").decode("utf-8-sig").splitlines():
        if not line.strip():
            continue
        name, sep, quoted = line.partition(", ")
        quoted = quoted.strip()
        if not sep or len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
            raise ValueError(f"{folder}gt.txt: unexpected line {line!r}")
        rel = folder + name.strip()
        data = git.read(rel)
        yield Item(rel, data, quoted[1:-1].replace('\\"', '"'), {rel: data})


def _iiit5k(git: GitReader) -> Iterator[Item]:
    for line in git.read("train.tags").decode("utf-8").splitlines():
        if not line.strip():
            continue
        rel, _, text = line.partition(" ")
        if not rel.startswith("train/"):
            raise ValueError(f"train.tags names a file outside train/: {rel!r}")
        data = git.read(rel)
        yield Item(rel, data, text, {rel: data})


def _plates(git: GitReader) -> Iterator[Item]:
    for folder in ("train/", "valid/"):
        for rel in git.ls(folder):
            if not rel.endswith(".jpg"):
                continue
            name = os.path.basename(rel)  # S13_EK1M59_0.jpg -> 苏EK1M59
            m = re.fullmatch(r"([AB]\d\d|S\d\d)_(\w{6})_.*\.jpg", name)
            if not m or m.group(1) not in PROVINCES:
                raise ValueError(f"plate file name not understood: {rel!r}")
            data = git.read(rel)
            yield Item(rel, data, PROVINCES[m.group(1)] + m.group(2), {rel: data})


def _cute80(git: GitReader) -> Iterator[Item]:
    for line in git.read("gt.txt").decode("utf-8").splitlines():
        if not line.strip():
            continue
        rel, _, text = line.partition(" ")
        data = git.read(rel)
        yield Item(rel, data, text.strip(), {rel: data})


def _svt(git: GitReader, xml: str = "train.xml") -> Iterator[Item]:
    root = ET.fromstring(git.read(xml))
    for image in root.iter("image"):
        name = image.findtext("imageName")
        assert name and name.startswith("img/"), name
        photo = git.read(name)
        img = Image.open(io.BytesIO(photo)).convert("RGB")
        for i, rect in enumerate(image.iter("taggedRectangle")):
            x, y, w, h = (int(rect.get(k)) for k in ("x", "y", "width", "height"))
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(x + w, img.width), min(y + h, img.height)
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"{name}: box {i} is empty after clipping")
            buf = io.BytesIO()
            img.crop((x0, y0, x1, y1)).save(buf, "PNG")
            rel = f"crops/{Path(name).stem}_{i}.png"
            crop = buf.getvalue()
            yield Item(rel, crop, (rect.findtext("tag") or "").strip(), {name: photo, rel: crop})


READERS = {
    "ic15": lambda g: _quoted_gt(g, "WordRecognition/TrainingSet/"),
    "ic13": lambda g: _quoted_gt(g, "note8/data/train_data/"),
    "plates": _plates,
    "iiit5k": _iiit5k,
    "svt": _svt,
    "svt_test": lambda g: _svt(g, "test.xml"),
    "cute80": _cute80,
}


def load_eval_hashes(path: str) -> set[str]:
    hashes = set()
    for line in open(path, encoding="utf-8"):
        line = line.strip().lower()
        if re.fullmatch(r"[0-9a-f]{64}", line):
            hashes.add(line)
    if not hashes:
        raise SystemExit(f"{path}: no sha256 digests found; refusing to run without the rule")
    return hashes


def prepare(src: Source, gitdir: str, out: Path, eval_hashes: set[str]) -> dict:
    folder = out / src.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    git = GitReader(gitdir, src.commit)
    dropped = {"eval_hash": [], "drop_list": [], "byte_duplicate": []}
    seen: set[str] = set()
    kept: list[tuple[Item, str]] = []
    try:
        for item in READERS[src.name](git):
            hits = [p for p, d in item.hashed.items() if _sha(d) in eval_hashes]
            digest = _sha(item.data)
            if hits:
                dropped["eval_hash"].append(item.rel + (f" (listed: {', '.join(hits)})"
                                                        if hits != [item.rel] else ""))
            elif item.rel in src.drop or any(p in src.drop for p in item.hashed):
                dropped["drop_list"].append(item.rel)
            elif digest in seen:
                dropped["byte_duplicate"].append(item.rel)
            else:
                seen.add(digest)
                kept.append((item, digest))
    finally:
        git.close()
    lines = []
    for item, _ in kept:
        if "\t" in item.text or "\n" in item.text or not item.text.strip():
            raise ValueError(f"{src.name}: unusable label {item.text!r} for {item.rel}")
        path = folder / item.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        lines.append(f"{item.rel}\t{item.text}\n")
    (folder / "labels.tsv").write_text("".join(lines), encoding="utf-8")
    return {
        "repo": src.repo, "commit": src.commit, "licence": src.licence, "paths": src.paths,
        "kept": len(kept), "expected": src.expected,
        "dropped": {k: len(v) for k, v in dropped.items()},
        "dropped_items": dropped,
        "sha256_kept": sorted({h for item, _ in kept for h in map(_sha, item.hashed.values())}),
    }


def make_lmdb(out: Path, name: str) -> None:
    cmd = ["duguang-ocr", "make-lmdb", "--labels", str(out / name / "labels.tsv"),
           "--root", str(out / name), "--overwrite", "--quiet", str(out / f"{name}.lmdb")]
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument("--eval-hashes", required=True, help="sha256 list of evaluation images")
    for name, src in SOURCES.items():
        ap.add_argument(f"--{name}", metavar="GITDIR", help=f"git dir of {src.repo}")
    ap.add_argument("--no-lmdb", action="store_true", help="only write the folders")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_hashes = load_eval_hashes(args.eval_hashes)
    todo = [(n, getattr(args, n)) for n in SOURCES if getattr(args, n)]
    if not todo:
        ap.error("give at least one source git dir (--ic15, --ic13, --plates, --iiit5k, --svt)")
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    ok = True
    print(f"{'set':8} {'kept':>6} {'expected':>8} {'eval-hash':>9} {'drop-list':>9} {'dup':>5}")
    for name, gitdir in todo:
        src = SOURCES[name]
        rep = prepare(src, gitdir, out, eval_hashes)
        if not args.no_lmdb:
            make_lmdb(out, name)
        report[name] = rep
        d = rep["dropped"]
        flag = "" if rep["kept"] == src.expected else "   <-- count differs from expected"
        ok &= not flag
        print(f"{name:8} {rep['kept']:6d} {src.expected:8d} {d['eval_hash']:9d} "
              f"{d['drop_list']:9d} {d['byte_duplicate']:5d}{flag}")
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"report: {report_path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
