"""The embedded default model against other OCR engines, on the same cropped lines.

Every engine reads each line crop of every labelled set as a single text line (no text
detection) and is scored with :class:`duguang_ocr.evaluate.EvalReport` under the set's
protocol, so the numbers mean what ``duguang-ocr eval`` prints. Sets: each subset of
``shared/realtest`` with its protocol from ``REALTEST_PROTOCOLS``, plus any ``--data
NAME=PATH`` (a folder with labels.tsv, a labels.tsv or an LMDB; scored with ``--protocol``).

    python benchmarks/compare_peers.py --realtest ../shared/realtest \\
        [--data zh_browser=/path/to/zh_browser] [--engines duguang,tesseract,rapidocr,...] \\
        [--limit N] [--json out.json] [--errors errors.tsv]

Engines (each peer is optional: when it is missing its column says "not installed"):

* ``duguang``: ``Recognizer()`` (the embedded default; ``--model`` for another), float32,
  default batch size, fed the file paths exactly like ``duguang-ocr eval``.
* ``tesseract``: the Tesseract 5 binary, ``--psm 7`` (one text line), default OEM (LSTM),
  no other option. Language ``eng`` for English sets (names starting with ``en_``) and
  ``chi_sim+eng`` for every other set (Chinese, plates, mixed), the usual setting for
  Chinese text that carries Latin letters and digits; ``--tess-lang`` forces one language
  for all. One process per set reads all its lines from a list file (the page separator
  splits the outputs), so the time includes loading the language model once per set.
* ``rapidocr``: RapidOCR 3.x, ``rapidocr`` on PyPI, with the PP-OCR recognizer shipped in
  the wheel (3.10: PP-OCRv6 small), called with ``use_det=False, use_cls=False`` so only the
  recognizer runs on the crop.
* ``rapidocr_v1``: RapidOCR 1.x, ``rapidocr_onnxruntime`` on PyPI, whose wheel ships the
  PP-OCRv4 mobile recognizer (what issue tables called "RapidOCR"); same rec-only call.
* ``easyocr``: ``easyocr.Reader(..., detector=False, download_enabled=False)`` then
  ``recognize``. EasyOCR downloads its weights at run time; where they are not already in
  ``~/.EasyOCR/model`` (no network) the column says so instead of a number.

The peers see the same pixels as our model: each image is decoded once by
``duguang_ocr.io.load_image`` (EXIF orientation applied, transparency over white) and
handed over as an array (RapidOCR, BGR), a grey array (EasyOCR) or a PNG (Tesseract).
Decoding for the peers is not timed; our model's time includes decoding its files.

Speed is lines per second of recognition (wall time, after one warm-up line), one line
per call for the peers and batches of 32 for ours. By default each engine threads as it
likes (torch and onnxruntime use all cores, Tesseract its OpenMP default); ``--threads N``
gives every engine N threads, fairer on a machine busy with other work, where
onnxruntime's spinning worker threads lose the most. The numbers are indicative only.

Installing the peers (none is a dependency of duguang_ocr; ``pip install ".[peers]"``
brings the Python ones):

    apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim   # Debian/Ubuntu
    pip install rapidocr onnxruntime        # RapidOCR 3.x and its inference engine
    pip install --no-deps rapidocr_onnxruntime pyclipper shapely six
        # RapidOCR 1.x (Python < 3.13). Its metadata asks for opencv-python, which would sit
        # beside (and fight over cv2 with) the opencv-python-headless that duguang_ocr uses:
        # --no-deps and the three small dependencies it lacks avoid that.
    pip install easyocr                     # runs only where its weights are on disk
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duguang_ocr.evaluate import LabelledSet

ENGINES = ("duguang", "tesseract", "rapidocr", "rapidocr_v1", "easyocr")
TITLES = {
    "duguang": "duguang_ocr default",
    "tesseract": "Tesseract",
    "rapidocr": "RapidOCR",
    "rapidocr_v1": "RapidOCR 1.x",
    "easyocr": "EasyOCR",
}


# Licence plates carry a printed separator dot that realtest's plate_zh labels leave out
# (its README); an engine that reads the dot loses a character per plate under the exact
# protocol. The table adds a row scoring the same predictions with these removed.
DOT_SETS = ("plate_zh",)
DOTS = "\u00b7\u2022\u2027\u30fb\u2219"  # · • ‧ ・ ∙


class Unavailable(Exception):
    """The engine cannot run here: ``cell`` goes into its table cells, the message below."""

    def __init__(self, cell: str, detail: str = ""):
        super().__init__(f"{cell}: {detail}" if detail else cell)
        self.cell = cell


@dataclass
class DataSet:
    """A labelled set (name, path, protocol: ``evaluate.LabelledSet``) with its lines read
    once and its images decoded once, shared by every engine."""

    labelled: LabelledSet
    items: list[tuple[str, object, str]] = field(default_factory=list)  # item, source, label
    images: list | None = None  # RGB arrays (None: unreadable), decoded once for the peers

    @property
    def name(self) -> str:
        return self.labelled.name

    @property
    def protocol(self) -> str:
        return self.labelled.protocol

    @property
    def english(self) -> bool:
        return self.name.startswith("en_")

    def decoded(self) -> list:
        if self.images is None:
            from duguang_ocr.io import load_image

            self.images = []
            for _, src, _ in self.items:
                try:
                    self.images.append(load_image(src))
                except Exception:  # scored as an empty prediction, like evaluate() does
                    self.images.append(None)
        return self.images


@dataclass
class Result:
    report: object | None = None  # EvalReport
    seconds: float = 0.0
    note: str = ""  # why there is no report
    preds: list[str | None] = field(default_factory=list)


# --------------------------------------------------------------------------- engines


class Engine:
    """A peer: reads decoded RGB lines one at a time (subclasses override ``read``)."""

    key = ""

    def version(self) -> str:
        return ""

    def check(self, ds: DataSet) -> None:
        """Raise :class:`Unavailable` when this engine cannot read ``ds``."""

    def read(self, rgb, ds: DataSet) -> str:
        raise NotImplementedError

    def evaluate(self, ds: DataSet) -> Result:
        self.check(ds)
        images = ds.decoded()
        first = next((x for x in images if x is not None), None)
        if first is not None:
            self.read(first, ds)  # warm-up (and lazy model loading) outside the clock
        preds: list[str | None] = []
        t0 = time.perf_counter()
        for img in images:
            try:
                preds.append(None if img is None else self.read(img, ds))
            except Exception:
                preds.append(None)
        seconds = time.perf_counter() - t0
        return Result(score(ds, preds), seconds, preds=preds)


class Duguang(Engine):
    key = "duguang"

    def __init__(self, model: str | None, limit: int | None, threads: int | None):
        from duguang_ocr import Recognizer

        if threads:
            import torch

            torch.set_num_threads(threads)

        self.rec = Recognizer(model) if model else Recognizer()
        self.model, self.limit = model, limit

    def version(self) -> str:
        import hashlib

        from duguang_ocr import __version__
        from duguang_ocr.hub import DEFAULT_MODEL_DIR

        spec = self.rec.spec
        info = spec.raw.get("model", {}).get("duguang_ocr", {})
        seen = f", {info['lines_seen']:,} lines seen" if "lines_seen" in info else ""
        where = self.model or "embedded"
        if self.model is None:
            weights = DEFAULT_MODEL_DIR / "pytorch_model.pt"
            if weights.is_file():
                digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
                where += f" (pytorch_model.pt sha256 {digest}…)"
        return f"duguang_ocr {__version__}, {where} model {spec.variant}{seen}, float32"

    def evaluate(self, ds: DataSet) -> Result:
        # what duguang_ocr.evaluate.evaluate() does, keeping the predictions
        if ds.items:
            self.rec.recognize(ds.items[0][1])  # warm-up
        t0 = time.perf_counter()
        results = list(self.rec.iter_recognize([x for _, x, _ in ds.items], errors="skip"))
        seconds = time.perf_counter() - t0
        preds = [r.text if r.ok else None for r in results]
        return Result(score(ds, preds), seconds, preds=preds)


class Tesseract(Engine):
    key = "tesseract"

    def __init__(self, lang: str | None, threads: int | None):
        self.env = dict(os.environ, OMP_THREAD_LIMIT=str(threads)) if threads else None
        self.exe = shutil.which("tesseract")
        if not self.exe:
            raise Unavailable("not installed")
        out = subprocess.run([self.exe, "--list-langs"], capture_output=True, text=True)
        lines = out.stdout.splitlines()[1:] if out.returncode == 0 else []  # 0: a heading
        self.langs = {x.strip() for x in lines if x.strip()}
        self.force_lang = lang

    def version(self) -> str:
        out = subprocess.run([self.exe, "--version"], capture_output=True, text=True)
        first = (out.stdout or out.stderr).splitlines()[0].strip()
        return f"{first}, --psm 7, traineddata {', '.join(sorted(self.langs - {'osd'}))}"

    def lang_for(self, ds: DataSet) -> str:
        return self.force_lang or ("eng" if ds.english else "chi_sim+eng")

    def check(self, ds: DataSet) -> None:
        missing = [x for x in self.lang_for(ds).split("+") if x not in self.langs]
        if missing:
            raise Unavailable(f"no {'+'.join(missing)} traineddata")

    def _cmd(self, src: str, lang: str) -> list[str]:
        return [self.exe, src, "stdout", "--psm", "7", "-l", lang]

    def evaluate(self, ds: DataSet) -> Result:
        import cv2

        self.check(ds)
        lang = self.lang_for(ds)
        images = ds.decoded()
        with tempfile.TemporaryDirectory(prefix="compare-peers-") as tmp:
            paths = []
            for i, img in enumerate(images):
                paths.append(str(Path(tmp) / f"{i:06d}.png"))
                cv2.imwrite(paths[-1], (img if img is not None else _blank())[:, :, ::-1])
            listing = Path(tmp) / "list.txt"
            listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            out = subprocess.run(self._cmd(str(listing), lang), capture_output=True,
                                 env=self.env)
            pages = out.stdout.decode("utf-8", "replace").split("\f")
            if out.returncode != 0 or len(pages) != len(paths):
                # cannot split the list's output reliably: one process per line instead
                pages = []
                for p in paths:
                    one = subprocess.run(self._cmd(p, lang), capture_output=True,
                                         env=self.env)
                    pages.append(one.stdout.decode("utf-8", "replace")
                                 if one.returncode == 0 else None)
            seconds = time.perf_counter() - t0
        preds = [None if img is None or page is None else " ".join(page.split())
                 for img, page in zip(images, pages)]
        return Result(score(ds, preds), seconds, preds=preds)


class RapidOCR(Engine):
    """RapidOCR 3.x (``rapidocr``): its recognizer alone on the crop."""

    key = "rapidocr"

    def __init__(self, threads: int | None):
        try:
            import rapidocr
        except ImportError as e:
            raise Unavailable("not installed") from e
        params = {"Global.use_det": False, "Global.use_cls": False,
                  "Global.log_level": "error"}
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self.engine = rapidocr.RapidOCR(params=params)

    def version(self) -> str:
        from importlib.metadata import version

        rec = self.engine.cfg.Rec
        name = " ".join(str(getattr(x, "value", x))
                        for x in (rec.ocr_version, rec.model_type, rec.lang_type))
        return (f"rapidocr {version('rapidocr')}, recognizer {name} from the wheel, onnxruntime "
                f"{version('onnxruntime')}")

    def read(self, rgb, ds: DataSet) -> str:
        out = self.engine(_bgr(rgb), use_det=False, use_cls=False, use_rec=True)
        return "".join(out.txts or ())


class RapidOCRv1(Engine):
    """RapidOCR 1.x (``rapidocr_onnxruntime``): its recognizer alone on the crop."""

    key = "rapidocr_v1"

    def __init__(self, threads: int | None):
        try:
            import rapidocr_onnxruntime
        except ImportError as e:
            raise Unavailable("not installed") from e
        self.package = Path(rapidocr_onnxruntime.__file__).parent
        kw = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads else {}
        self.engine = rapidocr_onnxruntime.RapidOCR(**kw)

    def version(self) -> str:
        from importlib.metadata import version

        recs = sorted(p.name for p in (self.package / "models").glob("*rec*.onnx"))
        return (f"rapidocr_onnxruntime {version('rapidocr_onnxruntime')}, recognizer "
                f"{', '.join(recs) or '?'} from the wheel, onnxruntime "
                f"{version('onnxruntime')}")

    def read(self, rgb, ds: DataSet) -> str:
        res, _ = self.engine(_bgr(rgb), use_det=False, use_cls=False, use_rec=True)
        return "".join(r[0] for r in res or ())


class EasyOCR(Engine):
    key = "easyocr"

    def __init__(self, threads: int | None):
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            import easyocr
        except ImportError as e:
            raise Unavailable("not installed", "it also downloads its models at run time, "
                              "impossible without network") from e
        self.mod = easyocr
        self.readers: dict[tuple[str, ...], object] = {}

    def version(self) -> str:
        return f"easyocr {getattr(self.mod, '__version__', '?')}"

    def check(self, ds: DataSet) -> None:
        langs = ("en",) if ds.english else ("ch_sim", "en")
        if langs not in self.readers:
            try:
                self.readers[langs] = self.mod.Reader(
                    list(langs), gpu=False, detector=False, download_enabled=False,
                    verbose=False)
            except Exception as e:  # FileNotFoundError when the weights are not on disk
                raise Unavailable("no models offline", "EasyOCR downloads its models at "
                                  f"run time, impossible without network ({e})") from e

    def read(self, rgb, ds: DataSet) -> str:
        import cv2

        langs = ("en",) if ds.english else ("ch_sim", "en")
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return " ".join(self.readers[langs].recognize(grey, detail=0))


def _bgr(rgb):
    import numpy as np

    return np.ascontiguousarray(rgb[:, :, ::-1])


def _blank():
    import numpy as np

    return np.full((32, 32, 3), 255, np.uint8)


def score(ds: DataSet, preds: list[str | None], name: str | None = None,
          drop: str = ""):
    """The EvalReport of ``preds`` on ``ds`` (None: the engine failed on that image), with
    the characters in ``drop`` removed from the predictions first."""
    from duguang_ocr.evaluate import EvalReport

    report = EvalReport(name or ds.name, ds.protocol)
    table = str.maketrans("", "", drop)
    for (item, _, label), pred in zip(ds.items, preds):
        report.unreadable += pred is None
        report.add(item, label, (pred or "").translate(table))
    return report


def make_engine(key: str, args) -> Engine:
    if key == "duguang":
        return Duguang(args.model, args.limit, args.threads)
    if key == "tesseract":
        return Tesseract(args.tess_lang, args.threads)
    peers = {"rapidocr": RapidOCR, "rapidocr_v1": RapidOCRv1, "easyocr": EasyOCR}
    return peers[key](args.threads)


# --------------------------------------------------------------------------- output


def tables(rows: list[tuple[str, str, int, bool]], engines: list[str], results: dict,
           notes: dict) -> str:
    """Accuracy and speed tables; ``rows``: (set name, protocol, lines, timed)."""
    head = "| set | protocol | lines | " + " | ".join(TITLES[e] for e in engines) + " |"
    rule = "|---|---|---|" + "---|" * len(engines)
    acc = [head, rule]
    speed = ["| set | lines | " + " | ".join(TITLES[e] for e in engines) + " |",
             "|---|---|" + "---|" * len(engines)]
    total_lines = {e: 0 for e in engines}
    total_s = {e: 0.0 for e in engines}
    for name, protocol, n, timed in rows:
        cells, scells = [], []
        for e in engines:
            r = results.get((e, name))
            if r is None or r.report is None:
                why = (r.note if r is not None else notes.get(e, "")) or "–"
                cells.append(why)
                scells.append("–")
                continue
            rep = r.report
            unread = f", {rep.unreadable} failed" if rep.unreadable else ""
            cells.append(f"{rep.char_acc:.3f} ({rep.line_acc:.3f}{unread})")
            scells.append(f"{rep.lines / r.seconds:.1f}" if r.seconds > 0 else "–")
            if timed:
                total_lines[e] += rep.lines
                total_s[e] += r.seconds
        acc.append(f"| {name} | {protocol} | {n} | " + " | ".join(cells) + " |")
        if timed:
            speed.append(f"| {name} | {n} | " + " | ".join(scells) + " |")
    speed.append("| **all sets** | " + str(sum(r[2] for r in rows if r[3])) + " | " + " | ".join(
        f"**{total_lines[e] / total_s[e]:.1f}**" if total_s[e] > 0 else "–" for e in engines)
        + " |")
    return ("Character accuracy (line accuracy in brackets):\n\n" + "\n".join(acc)
            + "\n\nLines per second (indicative; wall time of recognition only):\n\n"
            + "\n".join(speed))


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr.evaluate import PROTOCOLS, iter_labelled, labelled_sets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realtest", metavar="DIR", help="every subset of shared/realtest")
    ap.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                    help="extra labelled set (repeatable)")
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS), default="exact",
                    help="protocol for --data sets (default exact)")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma-separated subset of {','.join(ENGINES)}")
    ap.add_argument("--model", default=None, help="our model (default: embedded)")
    ap.add_argument("--tess-lang", default=None,
                    help="one Tesseract language for every set (default: eng for en_* "
                         "sets, chi_sim+eng otherwise)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every engine (torch, onnxruntime intra-op, Tesseract's "
                         "OMP_THREAD_LIMIT); default: each engine's own default")
    ap.add_argument("--limit", type=int, default=None, help="first N lines of each set")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    ap.add_argument("--errors", metavar="FILE",
                    help="TSV of every wrong line: set, engine, item, label, prediction")
    args = ap.parse_args(argv)

    engines = [e for e in args.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engines {sorted(unknown)}; choose from {','.join(ENGINES)}")

    sets = [DataSet(s) for s in labelled_sets(args.realtest, args.data, args.protocol)]
    if not sets:
        ap.error("nothing to evaluate: pass --realtest and/or --data")
    for ds in sets:
        ds.items = list(iter_labelled(ds.labelled.path))[: args.limit]

    results: dict[tuple[str, str], Result] = {}
    notes: dict[str, str] = {}  # engine -> why it did not run (in full)
    cells: dict[str, str] = {}  # engine -> the same, short, for the table
    versions: dict[str, str] = {}
    for key in engines:
        try:
            engine = make_engine(key, args)
        except Unavailable as e:
            notes[key] = str(e)
            cells[key] = e.cell
            print(f"{TITLES[key]}: {e}", file=sys.stderr)
            continue
        versions[key] = engine.version()
        print(f"{TITLES[key]}: {versions[key]}", file=sys.stderr)
        for ds in sets:
            try:
                r = engine.evaluate(ds)
            except Unavailable as e:
                r = Result(note=e.cell)
                if str(e) != e.cell:
                    notes.setdefault(key, str(e))
            results[(key, ds.name)] = r
            if r.report is not None:
                print(f"  {ds.name}: char {r.report.char_acc:.3f} line {r.report.line_acc:.3f}"
                      f" ({r.report.lines} lines, {r.seconds:.1f}s)", file=sys.stderr)
            else:
                print(f"  {ds.name}: {r.note}", file=sys.stderr)

    print(f"Measured {date.today().isoformat()} on {os.cpu_count()} CPU cores; "
          "`python benchmarks/compare_peers.py " + " ".join(argv if argv is not None
                                                            else sys.argv[1:]) + "`\n")
    rows = []
    for ds in sets:
        rows.append((ds.name, ds.protocol, len(ds.items), True))
        if ds.name in DOT_SETS:  # the same predictions, separator dots removed
            name = f"{ds.name}, dot dropped"
            rows.append((name, ds.protocol, len(ds.items), False))
            for e in engines:
                r = results.get((e, ds.name))
                if r is not None and r.report is not None:
                    results[(e, name)] = Result(score(ds, r.preds, name, DOTS), preds=r.preds)
    print(tables(rows, engines, results, cells))
    print("\nVersions:\n")
    for key in engines:
        extra = f" ({notes[key]})" if key in notes and key in versions else ""
        print(f"- {TITLES[key]}: {versions.get(key) or notes.get(key, '')}{extra}")

    if args.json:
        out = {"date": date.today().isoformat(), "versions": versions, "notes": notes,
               "results": [{"engine": e, **(r.report.to_dict() if r.report else
                                           {"data": n, "note": r.note}),
                            "seconds": round(r.seconds, 3)}
                           for (e, n), r in results.items()]}
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            f.write("set\tengine\titem\tlabel\tprediction\n")
            for (e, n), r in results.items():
                for item, label, pred in (r.report.errors if r.report else ()):
                    f.write(f"{n}\t{e}\t{item}\t{label}\t{pred}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
