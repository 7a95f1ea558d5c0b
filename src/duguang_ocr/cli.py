"""Command line: ``duguang-ocr <command> ...``.

Each subcommand parses its arguments and calls one library function; ``main(argv)`` returns
an exit code so tests can call it directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .png .bmp .webp .tif .tiff .gif .pbm .pgm .ppm".split()
)


def _lines(stream) -> Iterator[str]:
    for line in stream:
        if line.strip():
            yield line.rstrip("\r\n")


def _list_file(path: str) -> Iterator[str]:
    """Paths from a text file, one a line; relative ones are taken from the file's folder."""
    base = Path(path).parent
    with open(path, encoding="utf-8") as f:
        for line in _lines(f):
            yield line if "://" in line or os.path.isabs(line) else str(base / line)


def _image_dir(root: str) -> list[str]:
    """Image files under ``root``, recursively, sorted (paths only, never pixels)."""
    return sorted(
        os.path.join(d, name)
        for d, _, names in os.walk(root)
        for name in names
        if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
    )


def _inputs(items: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(name, source) pairs, lazily: ``-`` reads paths from stdin, ``@list.txt`` from a file,
    a directory expands to its images."""
    for item in items:
        if item == "-":
            yield from ((p, p) for p in _lines(sys.stdin))
        elif item.startswith("@") and len(item) > 1:
            yield from ((p, p) for p in _list_file(item[1:]))
        elif os.path.isdir(item):
            yield from ((p, p) for p in _image_dir(item))
        else:
            yield item, item


def _lmdb_inputs(path: str) -> Iterator[tuple[str, bytes]]:
    """(``PATH:index``, encoded image) for every sample of an LMDB data set, in order; images
    are decoded later, a window at a time, by the recognizer."""
    import lmdb

    from .data.lmdb import IMAGE_KEY, read_count

    n = read_count(path)
    env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False)
    try:
        for i in range(1, n + 1):
            with env.begin() as txn:  # short transactions: nothing pins old pages for long
                data = txn.get((IMAGE_KEY % i).encode())
            yield f"{path}:{i}", b"" if data is None else data
    finally:
        env.close()


def _count(args: argparse.Namespace) -> int | None:
    """Input count for the progress bar when it is cheap to know (directories, LMDB)."""
    if any(i == "-" or i.startswith("@") for i in args.inputs):
        return None
    total = sum(len(_image_dir(i)) if os.path.isdir(i) else 1 for i in args.inputs)
    if args.lmdb:
        from .data.lmdb import read_count

        total += read_count(args.lmdb)
    return total


def cmd_recognize(args: argparse.Namespace) -> int:
    from collections import deque
    from itertools import chain

    from tqdm import tqdm

    from .recognizer import Recognizer, results_to_json

    if not args.inputs and not args.lmdb:
        raise ValueError("nothing to recognize: pass images, a directory, @list.txt or --lmdb")
    rec = Recognizer.from_pretrained(
        args.model, device=args.device, batch_size=args.batch_size, beam_width=args.beam,
        mode=args.mode, errors="skip", backend=args.backend, quantize=args.quantize,
        num_workers=args.num_workers, dtype=args.dtype,
    )
    single = (len(args.inputs) == 1 and not args.lmdb and args.inputs[0] != "-"
              and not args.inputs[0].startswith("@") and not os.path.isdir(args.inputs[0]))
    pairs = chain(_inputs(args.inputs), _lmdb_inputs(args.lmdb) if args.lmdb else ())
    names: deque[str] = deque()  # names read ahead but not yet printed (two windows at most)

    def sources() -> Iterator:
        for name, src in pairs:
            names.append(name)
            yield src

    show = args.progress or sys.stderr.isatty()
    bar = tqdm(total=_count(args) if show else None, disable=not show, file=sys.stderr,
               unit="line", dynamic_ncols=True)
    failed = 0
    with bar:
        for result in rec.iter_recognize(sources()):
            src = names.popleft()
            bar.update(1)
            if result.error:
                failed += 1
                bar.write(f"duguang-ocr: {result.error}", file=sys.stderr)
            if args.json:
                print(json.dumps({"input": src, **results_to_json([result])[0]},
                                 ensure_ascii=False))
            elif not result.error:
                print(result.text if single else f"{src}\t{result.text}")
            else:
                print("" if single else f"{src}\t")
            sys.stdout.flush()
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_model_dir

    out = export_model_dir(args.model, args.out, opset=args.opset)
    print(f"wrote {out / 'model.onnx'} (+ configuration.json, vocab.txt)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import platform

    import torch

    from . import __version__, hub
    from .hub.models import ALIASES
    from .models import list_models

    print(f"duguang-ocr {__version__}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"cuda {'yes: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no'}")
    print(f"architectures: {', '.join(list_models())}")
    print("aliases: " + ", ".join(f"{k} -> {v}" for k, v in sorted(ALIASES.items())))
    print(f"default model: {hub.DEFAULT_MODEL_DIR}")
    from .hub.cache import cache_dir

    print(f"cache: {cache_dir()}")
    return 0


def cmd_make_lmdb(args: argparse.Namespace) -> int:
    from .data.make_lmdb import make_lmdb

    if args.root is not None and args.labels is None:
        raise ValueError("--root goes with --labels (use --from-folder DIR for a folder data set)")
    try:
        report = make_lmdb(
            args.out, labels=args.labels, root=args.root if args.labels else args.from_folder,
            source_lmdb=args.from_lmdb, overwrite=args.overwrite, progress=not args.quiet,
        )
    except FileExistsError as e:
        print(f"duguang-ocr: error: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.written else 1


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth.make import run

    try:
        return run(args)
    except FileExistsError as e:
        print(f"duguang-ocr: error: {e}", file=sys.stderr)
        return 2


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .evaluate import REALTEST_PROTOCOLS, evaluate, format_table
    from .recognizer import Recognizer

    rec = Recognizer.from_pretrained(args.model, device=args.device, batch_size=args.batch_size,
                                     beam_width=args.beam, dtype=args.dtype, mode=args.mode)
    jobs = [(d, args.protocol) for d in args.data]
    if args.realtest:
        root = Path(args.realtest)
        jobs += [(root / s, p) for s, p in REALTEST_PROTOCOLS.items() if (root / s).is_dir()]
    if not jobs:
        raise ValueError("nothing to evaluate: pass --data and/or --realtest")
    reports = [evaluate(rec, d, p) for d, p in jobs]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False))
    else:
        print(format_table(reports))
    if args.errors_file:
        with open(args.errors_file, "w", encoding="utf-8") as f:
            f.write("data\titem\tlabel\tprediction\n")
            for r in reports:
                for item, label, pred in r.errors:
                    f.write(f"{r.name}\t{item}\t{label}\t{pred}\n")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import logging
    import os

    from .training import train_from_config

    main_rank = os.environ.get("RANK", "0") == "0"
    logging.basicConfig(level=logging.INFO if main_rank else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    result = train_from_config(args.config, args.set, args.work_dir, args.resume)
    if main_rank:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def _add_precision_and_mode(p: argparse.ArgumentParser) -> None:
    """``--dtype`` and ``--mode``, shared by ``recognize`` and ``eval``."""
    p.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="bf16: GPUs and CPUs with AVX512-BF16/AMX (~2x faster per chunk, "
                   "logits move by ~1e-2); fp16: GPUs only")
    p.add_argument("--mode", choices=("default", "parity", "fast"), default=None,
                   help="default: what the model was trained for (its configuration.json; "
                   "else keep-ratio chunks); parity: ModelScope's exact preprocessing; fast: "
                   "last chunk cut to the line's width (ConvNextViT; see README)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duguang-ocr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("recognize", help="read text lines from images or URLs")
    p.add_argument("inputs", nargs="*",
                   help="image paths, http(s) URLs or directories (recursive, sorted); "
                   "'-' reads paths from stdin, @FILE from a text file")
    p.add_argument("--lmdb", help="also read every image of this LMDB data set, in order")
    p.add_argument("--progress", action="store_true",
                   help="progress bar on stderr (default: only when stderr is a terminal)")
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch")
    p.add_argument("--quantize", choices=("int8",), default=None,
                   help="dynamic int8 Linear layers (CPU; ~2x faster, slightly different logits)")
    p.add_argument("--num-workers", type=int, default=None,
                   help="image loading threads (default: 1; 0 loads inline)")
    p.add_argument("--model", default=None, help="model dir, alias or ModelScope id (default: embedded)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--beam", type=int, default=1, help="beam width (1 = greedy)")
    _add_precision_and_mode(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_recognize)

    p = sub.add_parser("eval", help="line/char accuracy on labelled data sets")
    p.add_argument("--model", default=None, help="model dir, alias or id (default: embedded)")
    p.add_argument("--data", action="append", default=[],
                   help="LMDB dir, folder with labels.tsv, or a labels.tsv (repeatable)")
    p.add_argument("--protocol", choices=("exact", "ci", "alnum-ci"), default="exact")
    p.add_argument("--realtest", metavar="DIR",
                   help="evaluate every subset of shared/realtest with its own protocol")
    p.add_argument("--device", default=None)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.add_argument("--errors-file", help="write every wrong line as TSV")
    _add_precision_and_mode(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train or fine-tune on LMDB data sets (torchrun for DDP)")
    p.add_argument("--config", help="YAML config: a path or a packaged name (tiny_test, "
                   "base, scratch_convnextvit_small, finetune_convnextvit)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. train.max_epochs=15 (repeatable)")
    p.add_argument("--work-dir", help="output dir (default: work_dirs/<config name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from WORK_DIR/train_state.pt if it exists")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="export a model to ONNX (model.onnx + config + vocab)")
    p.add_argument("out", help="output directory")
    p.add_argument("--model", default=None, help="model dir, alias or id (default: embedded)")
    p.add_argument("--format", choices=("onnx",), default="onnx")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="versions, models and cache location")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("make-lmdb", help="validate images and build an LMDB training set")
    p.add_argument("out", help="output LMDB directory (written atomically)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", help="labels.tsv with 'path<TAB>text' lines")
    src.add_argument("--from-lmdb", help="re-validate and copy another LMDB data set")
    src.add_argument("--from-folder", help="folder data set: DIR/labels.tsv plus images")
    p.add_argument("--root", help="folder the --labels paths are relative to (default: its dir)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_make_lmdb)

    from .synth.make import add_arguments as add_synth_arguments

    p = sub.add_parser("synth", help="render synthetic Chinese/English text lines into an LMDB",
                       description="Render synthetic text lines into an LMDB training set "
                       "(installed fonts; scripts/install_fonts.sh) and print lines/s.")
    add_synth_arguments(p)
    p.set_defaults(func=cmd_synth)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"duguang-ocr: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
