"""Append one checkpoint of the default model's training to its learning curve.

Scores a model dir on every ``../shared/realtest`` subset (each with its protocol), on the
browser-rendered Chinese check set and on a synthetic validation set, and appends a row
(lines seen, character accuracy per set) to ``docs/default_model_progress.jsonl``; the
markdown table in ``docs/DEFAULT_MODEL.md`` is rebuilt from that file, so the curve stays
visible across sessions and machines.

    python benchmarks/default_model_progress.py runs/default/last \
        --run "H200, 2016 steps of 256" [--lines-seen N] [--realtest ../shared/realtest] \
        [--data zh_browser=/work/data/zh_browser] [--data synth_val=data/synth_val.lmdb]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from duguang_ocr import Recognizer, hub
from duguang_ocr.evaluate import evaluate, labelled_sets
from duguang_ocr.hub.modelscope import read_spec

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "default_model_progress.jsonl"
TABLE = ROOT / "docs" / "DEFAULT_MODEL.md"
BEGIN, END = "<!-- progress table: begin -->", "<!-- progress table: end -->"


def score(model: str, realtest: Path | None, data: list[str]) -> dict[str, float]:
    """Character accuracy per set (``data``: ``NAME=PATH`` specs), rounded to 4 digits."""
    rec = Recognizer.from_pretrained(model, device="cpu")
    return {s.name: round(evaluate(rec, s.path, s.protocol, name=s.name).char_acc, 4)
            for s in labelled_sets(realtest, data)}


def render_table(rows: list[dict]) -> str:
    sets = list(dict.fromkeys(k for r in rows for k in r["char_acc"]))
    head = "| date | run | lines seen | " + " | ".join(sets) + " |"
    lines = [head, "|" + "---|" * (3 + len(sets))]
    for r in rows:
        accs = " | ".join(f"{r['char_acc'][s]:.3f}" if s in r["char_acc"] else "–" for s in sets)
        lines.append(f"| {r['date']} | {r['run']} | {r['lines_seen']:,} | {accs} |")
    return "\n".join(lines)


def update_table(rows: list[dict]) -> None:
    text = TABLE.read_text(encoding="utf-8") if TABLE.exists() else f"{BEGIN}\n{END}\n"
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    TABLE.write_text(f"{before}{BEGIN}\n{render_table(rows)}\n{END}{after}", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--lines-seen", type=int, default=None,
                    help="default: the count recorded in the model's configuration.json")
    ap.add_argument("--run", required=True, help="what produced it (hardware, steps)")
    ap.add_argument("--realtest", type=Path, default=ROOT.parent / "shared" / "realtest")
    ap.add_argument("--data", action="append", default=[], metavar="NAME=PATH")
    args = ap.parse_args()
    realtest = args.realtest if args.realtest.is_dir() else None
    lines_seen = args.lines_seen
    if lines_seen is None:
        lines_seen = read_spec(hub.resolve(args.model)).lines_seen
    if not lines_seen:
        ap.error(f"{args.model} does not record lines_seen: pass --lines-seen")
    row = {"date": datetime.date.today().isoformat(), "run": args.run,
           "lines_seen": lines_seen, "char_acc": score(args.model, realtest, args.data)}
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    rows = [json.loads(line) for line in LOG.read_text(encoding="utf-8").splitlines()]
    update_table(rows)
    print(render_table(rows[-1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
