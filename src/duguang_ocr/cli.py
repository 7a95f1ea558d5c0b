"""Command line: ``duguang-ocr <command> ...``.

Each subcommand parses its arguments and calls one library function; ``main(argv)`` returns
an exit code so tests can call it directly.

Conventions every command follows (tests/test_cli*.py check them):

* results go to stdout, everything else (errors, warnings, progress bars) to stderr;
* a progress bar shows when stderr is a terminal; ``--progress``/``--no-progress`` force it;
* an error is one line, ``duguang-ocr: error: ...``, with exit status 2; status 1 means
  some inputs failed and the rest were done;
* ``... | head`` ends quietly when the reader closes the pipe;
* commands that run a model share one option set (:func:`add_model_options`) and build
  their recognizer with :func:`recognizer_from_args`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import __version__
from .evaluate import PROTOCOLS
from .progress import add_progress_option, progress_bar, progress_enabled
from .tsv import escape_field, tsv_row

PROG = "duguang-ocr"
IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .png .bmp .webp .tif .tiff .gif .pbm .pgm .ppm".split()
)
#: Exit status after the reader of stdout went away (128 + SIGPIPE, as a shell reports a
#: tool killed by the signal).
EXIT_BROKEN_PIPE = 141


# ---------------------------------------------------------------------------- shared options
def add_model_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that runs a recognizer: which model, where, how fast.

    ``recognize`` and ``eval`` (and any later command that reads lines) take exactly this
    set, so an option added here is available everywhere at once.
    """
    g = p.add_argument_group("model and speed")
    g.add_argument("--model", default=None,
                   help="model directory (ModelScope format or from `duguang-ocr export`), "
                   "alias (general, handwritten, scene, document, licenseplate, crnn) or "
                   "ModelScope id (default: the embedded model, no download)")
    g.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")
    g.add_argument("--backend", choices=("torch", "onnxruntime"), default=None,
                   help="default: onnxruntime for an exported directory with only "
                   "model.onnx, torch otherwise")
    g.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), default="fp32",
                   help="bf16: GPUs and CPUs with AVX512-BF16/AMX (~2x faster per chunk, "
                   "logits move by ~1e-2); fp16: GPUs only")
    g.add_argument("--mode", choices=("default", "parity", "fast"), default=None,
                   help="omitted: what the model was trained for (its configuration.json; "
                   "else default); default: keep-ratio chunks; parity: ModelScope's exact "
                   "preprocessing; fast: last chunk cut to the line's width (ConvNextViT)")
    g.add_argument("--quantize", choices=("int8",), default=None,
                   help="dynamic int8 Linear layers (CPU; ~2x faster, slightly different "
                   "logits)")
    g.add_argument("--batch-size", type=int, default=32, help="lines per forward pass")
    g.add_argument("--beam-width", "--beam", dest="beam_width", type=int, default=1,
                   help="CTC beam width (1: greedy decoding)")
    g.add_argument("--num-workers", type=int, default=None,
                   help="image loading threads (default: 1; 0 loads inline)")
    _add_reading_options(p)


READING_OPTIONS = ("alternatives", "pattern", "lexicon", "lexicon_mode", "allowed_chars",
                   "blocked_chars", "ignore_case", "spaces", "punctuation", "vertical")


def _add_reading_options(p: argparse.ArgumentParser) -> None:
    """Decoding and output options of ``Recognizer.recognize`` (README: Decoding and output
    options); unset ones take the library's defaults."""
    g = p.add_argument_group("decoding and output")
    g.add_argument("--alternatives", type=int, default=None, metavar="K",
                   help="with --json: up to K (char, probability) alternatives per character")
    g.add_argument("--pattern", help="a regular expression the whole line must match "
                   r"(e.g. '[京沪粤][A-Z][A-Z0-9]{5,6}')")
    g.add_argument("--lexicon", metavar="FILE",
                   help="a word list, one entry a line: the line must be one entry")
    g.add_argument("--lexicon-mode", choices=("line", "words"), default=None,
                   help="words: each space-separated word must be an entry (default: line)")
    g.add_argument("--allowed-chars", metavar="CHARS", help="read only these characters")
    g.add_argument("--blocked-chars", metavar="CHARS", help="never read these characters")
    g.add_argument("--ignore-case", action="store_const", const=True, default=None,
                   help="constraints match letters in either case")
    g.add_argument("--spaces", choices=("auto", "model", "none"), default=None,
                   help="auto (default): spaces where the model saw one, never between "
                   "Chinese characters; model: as decoded; none: no spaces")
    g.add_argument("--punctuation", choices=("auto", "keep", "full", "half"), default=None,
                   help="auto (default): full-width next to Chinese, half-width inside "
                   "Latin/digits; keep: as decoded")
    g.add_argument("--no-vertical", dest="vertical", action="store_const", const=False,
                   default=None, help="never read tall crops as top-to-bottom columns")


def recognizer_from_args(args: argparse.Namespace, **overrides):
    """A :class:`~duguang_ocr.Recognizer` from :func:`add_model_options`' options; keyword
    ``overrides`` go to the constructor as well (e.g. ``errors="skip"``)."""
    from .recognizer import Recognizer

    options = dict(device=args.device, backend=args.backend, dtype=args.dtype, mode=args.mode,
                   quantize=args.quantize, batch_size=args.batch_size,
                   beam_width=args.beam_width, num_workers=args.num_workers,
                   **{k: getattr(args, k) for k in READING_OPTIONS}, **overrides)
    # Options left unset take the library's defaults, so both always agree.
    options = {k: v for k, v in options.items() if v is not None}
    return Recognizer.from_pretrained(args.model, **options)


# ----------------------------------------------------------------------------------- inputs
def _lines(stream) -> Iterator[str]:
    for line in stream:
        if line.strip():
            yield line.rstrip("\r\n")


def _list_file(path: str) -> Iterator[str]:
    """Paths from a text file, one a line; relative ones are taken from the current
    directory, as for paths read from stdin, so one list works both ways."""
    with open(path, encoding="utf-8") as f:
        yield from _lines(f)


def _image_dir(root: str) -> list[str]:
    """Image files under ``root``, recursively, sorted (paths only, never pixels)."""
    return sorted(
        os.path.join(d, name)
        for d, _, names in os.walk(root)
        for name in names
        if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
    )


def _inputs(items: Sequence[str]) -> Iterator[str]:
    """Input names, lazily: ``-`` reads paths from stdin, ``@list.txt`` from a file, a
    directory expands to its images."""
    for item in items:
        if item == "-":
            yield from _lines(sys.stdin)
        elif item.startswith("@") and len(item) > 1:
            yield from _list_file(item[1:])
        elif os.path.isdir(item):
            yield from _image_dir(item)
        else:
            yield item


def _lmdb_inputs(path: str) -> Iterator[tuple[str, bytes]]:
    """(``PATH:index``, encoded image) for every sample of an LMDB data set, in order; images
    are decoded later, a window at a time, by the recognizer."""
    from .data.lmdb import read_records

    for i, data, _ in read_records(path):
        yield f"{path}:{i}", b"" if data is None else data


def _count(args: argparse.Namespace) -> int | None:
    """Input count for the progress bar when it is cheap to know (directories, LMDB)."""
    if any(i == "-" or i.startswith("@") for i in args.inputs):
        return None
    total = sum(len(_image_dir(i)) if os.path.isdir(i) else 1 for i in args.inputs)
    if args.lmdb:
        from .data.lmdb import read_count

        total += read_count(args.lmdb)
    return total


# --------------------------------------------------------------------------------- commands
def _print_result(args: argparse.Namespace, name: str, result) -> None:
    """One result on stdout: ``name<TAB>text``, the text alone with ``--text-only``, or a
    JSON object. A failed input writes no TSV/text line: its error goes to stderr."""
    from .recognizer import results_to_json

    if args.json:
        print(json.dumps({"input": name, **results_to_json([result])[0]}, ensure_ascii=False))
    elif not result.error:
        print(escape_field(result.text) if args.text_only else tsv_row(name, result.text))


def cmd_recognize(args: argparse.Namespace) -> int:
    from collections import deque
    from itertools import chain

    if not args.inputs and not args.lmdb:
        raise ValueError("nothing to recognize: pass images, a directory, @list.txt or --lmdb")
    rec = recognizer_from_args(args, errors="skip")
    pairs = chain(((n, n) for n in _inputs(args.inputs)),
                  _lmdb_inputs(args.lmdb) if args.lmdb else ())
    names: deque[str] = deque()  # names read ahead but not yet printed (two windows at most)

    def sources() -> Iterator:
        for name, src in pairs:
            names.append(name)
            yield src

    total = _count(args) if progress_enabled(args.progress) else None
    bar = progress_bar(total=total, unit="line", progress=args.progress)
    failed = 0
    with bar:
        for result in rec.iter_recognize(sources()):
            name = names.popleft()
            bar.update(1)
            if result.error:
                failed += 1
                where = "" if name in result.error else f"{name}: "
                bar.write(f"{PROG}: {where}{result.error}", file=sys.stderr)
            _print_result(args, name, result)
            sys.stdout.flush()
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_table, labelled_sets

    sets = labelled_sets(args.realtest, args.data, args.protocol)
    if not sets:
        raise ValueError("nothing to evaluate: pass --data and/or --realtest")
    rec = recognizer_from_args(args)
    reports = [evaluate(rec, s.path, s.protocol, s.name, progress=args.progress)
               for s in sets]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False))
    else:
        print(format_table(reports))
    if args.errors_file:
        with open(args.errors_file, "w", encoding="utf-8") as f:
            f.write("data\titem\tlabel\tprediction\n")
            for r in reports:
                for item, label, pred in r.errors:
                    f.write(tsv_row(r.name, item, label, pred) + "\n")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from . import hub
    from .calibration import fit_calibration, save_calibration
    from .recognizer import Recognizer

    model_dir = hub.resolve(args.model)
    rec = Recognizer(model_dir, device=args.device)
    calibration = fit_calibration(rec, args.data, method=args.method, protocol=args.protocol)
    print(json.dumps(calibration, ensure_ascii=False))
    if args.write:
        print(f"wrote the calibration into {save_calibration(model_dir, calibration)}",
              file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_model_dir

    out = export_model_dir(args.model, args.out, opset=args.opset)
    print(f"wrote {out / 'model.onnx'} (+ configuration.json, vocab.txt)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from . import hub
    from .devices import available_devices
    from .hub.aliases import ALIASES
    from .hub.cache import CACHE_ENV, OFFLINE_ENV, cache_dir, is_offline
    from .hub.download import ENDPOINT_ENV, resolve_endpoint
    from .models import list_models

    print(_version_line())
    print(f"devices: {', '.join(available_devices())}")
    print(f"architectures: {', '.join(list_models())}")
    print("aliases: " + ", ".join(f"{k} -> {v}" for k, v in sorted(ALIASES.items())))
    print(f"default model: {hub.DEFAULT_MODEL_DIR}")
    print(f"cache: {cache_dir()} (${CACHE_ENV})")
    print(f"hub: {resolve_endpoint()} (${ENDPOINT_ENV}); offline: "
          f"{'yes' if is_offline() else 'no'} (${OFFLINE_ENV})")
    return 0


def _labels_root(args: argparse.Namespace) -> Path | None:
    """The folder ``make-lmdb`` resolves labels.tsv paths against, for error hints."""
    if args.labels:
        return Path(args.root) if args.root else Path(args.labels).parent
    return Path(args.from_folder) if args.from_folder else None


def cmd_make_lmdb(args: argparse.Namespace) -> int:
    from .data.make_lmdb import make_lmdb

    if args.root is not None and args.labels is None:
        raise ValueError("--root goes with --labels (use --from-folder DIR for a folder data set)")
    report = make_lmdb(
        args.out, labels=args.labels, root=args.root if args.labels else args.from_folder,
        source_lmdb=args.from_lmdb, overwrite=args.overwrite, progress=args.progress,
    )
    print(report.summary())
    root = _labels_root(args)
    if root is not None and any(r.startswith("no such file") for _, r in report.skipped):
        print(f"{PROG}: hint: labels.tsv paths are read relative to {root}; if the images "
              "are elsewhere, pass --root DIR", file=sys.stderr)
    return 0 if report.written else 1


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth.make import run

    return run(args)


def cmd_train(args: argparse.Namespace) -> int:
    import logging

    from .training import train_from_config

    main_rank = os.environ.get("RANK", "0") == "0"
    logging.basicConfig(level=logging.INFO if main_rank else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    result = train_from_config(args.config, args.set, args.work_dir, args.resume)
    if main_rank:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    from .data.check import check_data, collate_for, describe_model, open_sets
    from .data.lmdb_dataset import iter_labels
    from .data.text import to_halfwidth
    from .training import load_config
    from .training.checkpoint import peek_model
    from .training.config import parse_overrides

    flags = {"model.init": args.model, "model.vocab": args.vocab, "data.unknown": args.unknown,
             "data.normalize_width": args.normalize_width}
    cfg = load_config(args.config, {**parse_overrides(args.set),
                                    **{k: v for k, v in flags.items() if v is not None}})
    m, d = cfg.model, cfg.data
    sets = open_sets(args.sets)
    try:
        def labels():  # for model.vocab=from_data, as the trainer reads them
            norm = to_halfwidth if d.normalize_width else str
            return (norm(t) for ds in sets for t in iter_labels(ds))

        config, vocab, name = peek_model(m, labels)
        collate = collate_for(vocab, config, unknown=d.unknown, preprocess=m.preprocess,
                              num_chunks=m.num_chunks, img_width=m.img_width)
        report = check_data(sets, collate, normalize_width=d.normalize_width,
                            decode=args.decode, model=describe_model(name, collate),
                            progress=args.progress)
    finally:
        for ds in sets:
            getattr(ds, "close", lambda: None)()
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.format())
    return 0 if report.kept else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve.server import run

    return run(args, lambda: recognizer_from_args(args, errors="skip"))


# ----------------------------------------------------------------------------------- parser
def _version_line() -> str:
    import platform

    import torch

    return (f"{PROG} {__version__} (python {platform.python_version()}, "
            f"torch {torch.__version__})")


def _add_recognize(sub) -> None:
    p = sub.add_parser(
        "recognize", help="read text lines from images or URLs",
        description="Read one line of text from each image. Output: one 'INPUT<TAB>TEXT' "
        "line per input, in input order, whatever the number of inputs (--text-only: the "
        "text alone; --json: one object per line). A failed input prints its error on "
        "stderr, no stdout line, and makes the exit status 1.")
    p.add_argument("inputs", nargs="*",
                   help="image paths, http(s) URLs or directories (recursive, sorted); "
                   "'-' reads paths from stdin and @FILE from a text file, one a line, "
                   "relative paths in both taken from the current directory")
    p.add_argument("--lmdb", help="also read every image of this LMDB data set, in order "
                   "(named PATH:INDEX in the output)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="one JSON object per input: input, text, confidences, positions "
                     "(and error, for a failed input)")
    out.add_argument("--text-only", action="store_true",
                     help="print only the text of each line that was read")
    add_model_options(p)
    add_progress_option(p)
    p.set_defaults(func=cmd_recognize)


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="line/char accuracy on labelled data sets")
    p.add_argument("--data", action="append", default=[],
                   metavar="[NAME=]PATH", help="LMDB dir, folder with labels.tsv, or a "
                   "labels.tsv, shown as NAME (default: its folder name); repeatable")
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="exact",
                   help="how predictions are compared with labels: exactly, "
                   "case-insensitively, or on letters and digits only, case-insensitively")
    p.add_argument("--realtest", metavar="DIR",
                   help="evaluate every subset of shared/realtest with its own protocol")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--errors-file", help="write every wrong line as TSV")
    add_model_options(p)
    add_progress_option(p)
    p.set_defaults(func=cmd_eval)


def _add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="fit a model's confidence calibration on held-out labelled lines",
        description="Read labelled lines the model never trained on (e.g. `duguang-ocr "
        "synth` with an unused seed), fit the map from its line scores to the probability "
        "that a line is exactly right, print it as JSON and, with --write, store it in the "
        "model directory's configuration.json, where Recognizer picks it up.")
    p.add_argument("--data", required=True,
                   help="LMDB dir, folder with labels.tsv, or a labels.tsv")
    p.add_argument("--model", default=None,
                   help="model directory (default: the embedded model's own directory)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N")
    p.add_argument("--method", choices=("logistic", "isotonic"), default="logistic",
                   help="logistic (default): sigmoid of the line's log score and peak "
                   "features; isotonic: monotone step map of the raw score")
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default="exact",
                   help="what counts as a right line (as for eval)")
    p.add_argument("--write", action="store_true",
                   help="store the map in the model directory's configuration.json")
    p.set_defaults(func=cmd_calibrate)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train or fine-tune on LMDB data sets (torchrun for DDP)")
    p.add_argument("--config", help="YAML config: a path or a packaged name (tiny_test, "
                   "base, scratch_convnextvit_small, finetune_convnextvit)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. train.max_epochs=15 (repeatable)")
    p.add_argument("--work-dir", help="output dir (default: work_dirs/<config name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from WORK_DIR/train_state.pt if it exists")
    p.set_defaults(func=cmd_train)


def _add_check_data(sub) -> None:
    p = sub.add_parser(
        "check-data", help="what training will see, change and drop in line data sets",
        description="Read every sample once and report sizes, label lengths, symbols outside "
        "the vocabulary, labels too long for their line, unreadable and duplicate images, "
        "label normalisation and what each epoch will drop, by the trainer's own rules. "
        "`train` logs the same report before its first step.")
    p.add_argument("sets", nargs="+", metavar="SET",
                   help="LMDB dir, folder with labels.tsv, or a labels.tsv file")
    p.add_argument("--config", help="the training config to check against (default: "
                   "base.yaml's defaults); the options below override it")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. model.preprocess=squash (repeatable)")
    p.add_argument("--model", default=None,
                   help="model.init: a variant to train from scratch (convnextvit_small, "
                   "crnn_lite...) or the model dir/alias/id you fine-tune")
    p.add_argument("--vocab", default=None,
                   help="model.vocab: a vocab.txt, a model whose vocabulary to use, charset "
                   "or from_data (default: the model's own; from_data for a fresh variant)")
    p.add_argument("--unknown", choices=("skip", "drop_chars"), default=None,
                   help="data.unknown: what training does with out-of-vocabulary labels")
    p.add_argument("--no-normalize-width", dest="normalize_width", action="store_const",
                   const=False, default=None,
                   help="data.normalize_width=false: keep full-width ASCII forms in labels")
    p.add_argument("--decode", action="store_true",
                   help="decode every image (~40x slower than reading headers; also finds "
                   "truncated files)")
    add_progress_option(p)
    p.add_argument("--json", action="store_true", help="the report as one JSON object")
    p.set_defaults(func=cmd_check_data)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX (model.onnx + config + vocab)")
    p.add_argument("out", help="output directory")
    p.add_argument("--model", default=None, help="model dir, alias or id (default: embedded)")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.set_defaults(func=cmd_export)


def _add_make_lmdb(sub) -> None:
    p = sub.add_parser("make-lmdb", help="validate images and build an LMDB training set")
    p.add_argument("out", help="output LMDB directory (written atomically; not created when "
                   "no item is usable)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", help="labels.tsv with 'path<TAB>text' lines")
    src.add_argument("--from-lmdb", help="re-validate and copy another LMDB data set")
    src.add_argument("--from-folder", help="folder data set: DIR/labels.tsv plus images")
    p.add_argument("--root", help="folder the --labels paths are relative to (default: its dir)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_progress_option(p)
    p.add_argument("--quiet", dest="progress", action="store_false",
                   help="same as --no-progress")
    p.set_defaults(func=cmd_make_lmdb)


def _add_synth(sub) -> None:
    from .synth.make import add_arguments as add_synth_arguments

    p = sub.add_parser("synth", help="render synthetic Chinese/English text lines into an LMDB",
                       description="Render synthetic text lines into an LMDB training set "
                       "(installed fonts; scripts/install_fonts.sh) and print lines/s.")
    add_synth_arguments(p)
    p.set_defaults(func=cmd_synth)


def _add_serve(sub) -> None:
    from .serve.server import add_arguments as add_serve_arguments

    p = sub.add_parser("serve", help="HTTP server with dynamic batching (extra: [serve])",
                       description="Serve POST /v1/recognize with dynamic batching; see "
                       "docs/SERVING.md.")
    add_serve_arguments(p)
    add_model_options(p)
    p.set_defaults(func=cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version_line(),
                        help="print the version (and Python's and torch's) and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="`duguang-ocr COMMAND --help` lists its options")
    for add in (_add_recognize, _add_eval, _add_calibrate, _add_train, _add_check_data,
                _add_export, _add_make_lmdb, _add_synth, _add_serve):
        add(sub)
    p = sub.add_parser("info", help="versions, devices, models, cache and hub settings")
    p.set_defaults(func=cmd_info)
    return parser


def _error(args: argparse.Namespace, exc: BaseException) -> str:
    """The one-line message for a failure, in command-line terms."""
    if isinstance(exc, FileExistsError) and hasattr(args, "overwrite"):
        return f"{args.out} already exists (add --overwrite to replace it)"
    return str(exc)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null after the reader left, so the interpreter's final flush
    does not raise a second BrokenPipeError (Python's documented recipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (tests' capture)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as e:
        print(f"{PROG}: error: {_error(args, e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
