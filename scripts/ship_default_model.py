"""Write a trained model dir into the package as the embedded default model (fp16 weights).

The training record (``model.duguang_ocr``: preprocessing, steps and ``lines_seen``, the lines
the weights were trained on over every run that led to them, which the trainer counts) is
kept, so the model card's numbers come from the files themselves. ``--lines-seen`` overrides
the count (weights from a trainer too old to record it).

    python scripts/ship_default_model.py runs/default/last
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from duguang_ocr.hub import DEFAULT_MODEL_DIR
from duguang_ocr.hub.modelscope import load_model_dir, save_model_dir


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="trained model dir (e.g. WORK/last)")
    ap.add_argument("--lines-seen", type=int, default=None,
                    help="override the trainer's count (default: the model's own record)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    args = ap.parse_args()
    model, vocab, spec = load_model_dir(args.src)
    record = json.loads((args.src / "configuration.json").read_text(encoding="utf-8"))
    ours = dict(record["model"].get("duguang_ocr", {}))
    extra = {k: v for k, v in ours.items() if k not in ("variant", "config")}
    if args.lines_seen is not None:
        extra["lines_seen"] = args.lines_seen
    if not extra.get("lines_seen"):
        print(f"{args.src} does not record lines_seen: pass --lines-seen", file=sys.stderr)
        return 2
    save_model_dir(args.out, model, vocab, spec.variant, img_width=spec.img_width, half=True,
                   extra=extra)
    size = (args.out / "pytorch_model.pt").stat().st_size / 2**20
    print(f"{args.src} -> {args.out}: {spec.variant}, {len(vocab)} symbols, {size:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
