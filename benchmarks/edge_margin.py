"""How a model reads lines whose ink touches the crop's edge: accuracy with margins added.

Every line is drawn on a zero (black) canvas after its last pixel, so a dark glyph that
touches a light crop's right edge (a hyphen, a period, the second dot of a colon) merges with
that padding. This script reads each labelled set as it is and again with strips of the
crop's own edge colour (the median of its first or last pixel column) added on the left,
the right or both sides, as a share of the crop's height, and prints character accuracy per
set and setting, so a change of the recognizer's or the training's margins can be judged on
every set at once:

    python benchmarks/edge_margin.py --realtest ../shared/realtest --margins 0,r0.1,lr0.15
    python benchmarks/edge_margin.py --data zh_browser=DIR --model runs/x/last

A margin spec is ``0`` (as is) or ``l``, ``r`` or ``lr`` followed by the share of the height.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from duguang_ocr import Recognizer
from duguang_ocr.evaluate import EvalReport, iter_labelled, labelled_sets
from duguang_ocr.io import load_image


def parse_margin(spec: str) -> tuple[str, float]:
    """``"r0.1"`` -> ``("r", 0.1)``; ``"0"`` -> ``("", 0.0)``."""
    if spec in ("0", ""):
        return "", 0.0
    sides = spec.rstrip("0123456789.")
    if sides not in ("l", "r", "lr") or not spec[len(sides):]:
        raise ValueError(f"margin {spec!r}: 0, or l, r or lr and a share of the height "
                         "(r0.1)")
    return sides, float(spec[len(sides):])


def add_margin(rgb: np.ndarray, sides: str, share: float) -> np.ndarray:
    """``rgb`` with strips of ``share`` x its height in its edge columns' median colour."""
    if not sides or share <= 0:
        return rgb
    h = rgb.shape[0]
    m = max(1, round(share * h))
    parts = [rgb]
    if "l" in sides:
        colour = np.median(rgb[:, 0], axis=0).astype(np.uint8)
        parts.insert(0, np.broadcast_to(colour, (h, m, 3)))
    if "r" in sides:
        colour = np.median(rgb[:, -1], axis=0).astype(np.uint8)
        parts.append(np.broadcast_to(colour, (h, m, 3)))
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def read_set(rec: Recognizer, name: str, path: Path, protocol: str,
             margins: list[str]) -> dict[str, EvalReport]:
    """One report per margin spec for the labelled set at ``path``."""
    items = list(iter_labelled(path))
    images = [load_image(src) for _, src, _ in items]
    reports = {}
    for spec in margins:
        sides, share = parse_margin(spec)
        # PIL images: numpy arrays would be taken as BGR (cv2's convention)
        preds = rec([Image.fromarray(add_margin(img, sides, share)) for img in images])
        report = EvalReport(name, protocol)
        for (item, _, label), pred in zip(items, preds):
            report.add(item, label, pred)
        reports[spec] = report
    return reports


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realtest", metavar="DIR", help="every subset of shared/realtest")
    ap.add_argument("--data", action="append", default=[], metavar="NAME=PATH",
                    help="extra labelled set, exact protocol (repeatable)")
    ap.add_argument("--model", default=None, help="model dir (default: embedded)")
    ap.add_argument("--margins", default="0,r0.1,lr0.15",
                    help="comma-separated margin specs (see the module doc)")
    args = ap.parse_args(argv)
    margins = args.margins.split(",")
    try:
        for spec in margins:
            parse_margin(spec)
    except ValueError as e:
        ap.error(str(e))
    sets = labelled_sets(args.realtest, args.data)
    if not sets:
        ap.error("nothing to read: pass --realtest and/or --data")
    rec = Recognizer(args.model) if args.model else Recognizer()
    print("| set | lines | " + " | ".join(margins) + " |")
    print("|---|---|" + "---|" * len(margins))
    for s in sets:
        reports = read_set(rec, s.name, s.path, s.protocol, margins)
        n = reports[margins[0]].lines
        cells = " | ".join(f"{reports[m].char_acc:.3f}" for m in margins)
        print(f"| {s.name} | {n} | {cells} |")


if __name__ == "__main__":
    main()
