"""What the speed options cost in accuracy: the same model and data under each configuration.

For every labelled data set (an LMDB, a folder with labels.tsv, or each subset of
shared/realtest with its own protocol) this prints, per configuration, line and character
accuracy and the share of lines whose string equals the float32 ``default`` configuration's.
Configurations: ``default`` (float32), ``fast`` (``mode="fast"``), ``bf16``
(``dtype="bf16"``), ``fast-bf16``, ``int8`` (``quantize="int8"``) and ``parity``.

    python benchmarks/compare_modes.py --model DIR [--data LMDB ...] [--realtest DIR]
        [--configs default,fast,bf16,fast-bf16,int8]

Use it on your own checkpoint and data before switching a speed option on: the numbers in
README were measured on small models trained here, not on ModelScope's official weights.
Nothing is timed (see bench_inference.py for speed).
"""

from __future__ import annotations

import argparse
import sys

OPTIONS = {
    "default": {},
    "fast": {"mode": "fast"},
    "bf16": {"dtype": "bf16"},
    "fast-bf16": {"mode": "fast", "dtype": "bf16"},
    "int8": {"quantize": "int8"},
    "parity": {"mode": "parity"},
}


def main(argv: list[str] | None = None) -> int:
    from duguang_ocr import Recognizer
    from duguang_ocr.evaluate import PROTOCOLS, EvalReport, iter_labelled, labelled_sets

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model dir, alias or id (default: embedded)")
    ap.add_argument("--data", action="append", default=[],
                    metavar="[NAME=]PATH",
                    help="labelled LMDB, folder with labels.tsv or labels.tsv (repeatable)")
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS), default="exact",
                    help="protocol for --data sets")
    ap.add_argument("--realtest", metavar="DIR", help="also every subset of shared/realtest")
    ap.add_argument("--configs", default="default,fast,bf16,fast-bf16,int8",
                    help=f"comma-separated subset of {','.join(OPTIONS)}")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    configs = [c for c in args.configs.split(",") if c]
    unknown = set(configs) - set(OPTIONS)
    if unknown:
        ap.error(f"unknown configs {sorted(unknown)}; choose from {','.join(OPTIONS)}")
    if "default" not in configs:
        configs.insert(0, "default")  # agreement is measured against it
    jobs = labelled_sets(args.realtest, args.data, args.protocol)
    if not jobs:
        ap.error("nothing to evaluate: pass --data and/or --realtest")

    recs = {c: Recognizer.from_pretrained(args.model, device=args.device, **OPTIONS[c])
            for c in configs}
    print(f"model: {args.model or 'embedded default'} "
          f"({next(iter(recs.values())).spec.variant})")
    head = f"{'data':<18} {'config':<10} {'lines':>6} {'line acc':>9} {'char acc':>9} {'same as default':>16}"
    print(head)
    print("-" * len(head))
    for data in jobs:
        items = list(iter_labelled(data.path))
        sources = [x for _, x, _ in items]
        texts = {c: [r.text for r in rec.iter_recognize(sources, errors="skip")]
                 for c, rec in recs.items()}
        for c in configs:
            report = EvalReport(data.name, data.protocol)
            for (item, _, label), pred in zip(items, texts[c]):
                report.add(item, label, pred)
            same = sum(a == b for a, b in zip(texts[c], texts["default"])) / max(1, len(items))
            print(f"{data.name[:18]:<18} {c:<10} {report.lines:>6} {report.line_acc:>9.1%} "
                  f"{report.char_acc:>9.1%} {same:>16.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
