"""Batch OCR of many line images on a Ray cluster (or one machine) with Ray Data.

    pip install 'duguang-ocr[ray]'
    python examples/ray_batch.py crops/ more.lmdb @list.txt --output results/
    python examples/ray_batch.py s3://bucket/crops/ --output s3://bucket/ocr/ \\
        --address auto --actors 32 --threads 4 --format jsonl

Inputs: directories or object-store prefixes of image files (read with
``ray.data.read_binary_files``), ``@list.txt`` files of image paths, and LMDB data sets
in ModelScope's layout (split into ranges of ``--shard-size`` samples so many tasks read one
file at once). Each Ray actor loads one :class:`duguang_ocr.Recognizer` and runs
``map_batches`` over ``--batch-size`` images at a time with ``--threads`` torch threads;
results go to Parquet (default) or JSON-lines files under ``--output``, one row per image:
``path`` (a file path, or ``LMDB:index``) and ``recognize --json``'s fields (``text``,
``confidence``, ``char_confidences``, ``char_positions``, ``char_boxes``, ``alternatives``,
``constraint_met``, ``vertical``, ``error``; ``--options`` passes decoding options such
as a pattern or a lexicon file). A bad image gives a row with ``error`` set; it never stops
the job.

docs/RAY.md explains how to run it over millions of images (sharding, actors per node,
measured throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"]


def schema() -> Any:
    """One Arrow schema for every output block: a block whose lines all read fine would
    otherwise type ``error`` as null, and the files would not read back as one table."""
    import pyarrow as pa

    floats = pa.list_(pa.float64())
    alternative = pa.struct([("char", pa.string()), ("probability", pa.float64())])
    return pa.schema([("path", pa.string()), ("text", pa.string()),
                      ("confidence", pa.float64()), ("char_confidences", floats),
                      ("char_positions", floats), ("char_boxes", pa.list_(floats)),
                      ("alternatives", pa.list_(pa.list_(alternative))),
                      ("constraint_met", pa.bool_()), ("vertical", pa.bool_()),
                      ("error", pa.string())])


def columns(paths: list[str], rows: list[dict], names: list[str]) -> dict[str, list]:
    """``results_to_json`` rows as columns; fields a row leaves out are null (``vertical``
    False), ``alternatives`` pairs become ``{char, probability}`` structs."""
    out: dict[str, list] = {"path": paths}
    for name in names:
        out[name] = [row.get(name, False if name == "vertical" else None) for row in rows]
    out["alternatives"] = [None if alts is None else
                           [[{"char": c, "probability": p} for c, p in at] for at in alts]
                           for alts in out["alternatives"]]
    return out


class OcrActor:
    """One Recognizer per Ray actor: loaded once, then fed batches of encoded images."""

    def __init__(self, model: str | None, threads: int, batch_size: int,
                 device: str | None = None, options: dict | None = None):
        import torch

        from duguang_ocr import Recognizer

        torch.set_num_threads(threads)  # the actor's share of the node's cores
        self.rec = Recognizer.from_pretrained(model, device=device, batch_size=batch_size,
                                              errors="skip", **(options or {}))

        self.schema = schema()

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        import pyarrow as pa

        from duguang_ocr.recognizer import results_to_json

        images = [bytes(b) for b in batch["bytes"]]
        rows = results_to_json(self.rec.recognize(images))
        out = columns([str(p) for p in batch["path"]], rows, self.schema.names[1:])
        return pa.Table.from_pydict(out, schema=self.schema)


def lmdb_ranges(path: str, shard_size: int) -> list[dict[str, Any]]:
    """``{"lmdb", "start", "stop"}`` ranges (1-based, stop exclusive) covering a data set."""
    from duguang_ocr.data.lmdb import read_count

    n = read_count(path)
    return [{"lmdb": path, "start": s, "stop": min(s + shard_size, n + 1)}
            for s in range(1, n + 1, shard_size)]


def read_lmdb_range(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows ``{"path": "LMDB:i", "bytes": ...}`` of one range, in one read transaction."""
    import lmdb

    from duguang_ocr.data.lmdb import IMAGE_KEY

    env = lmdb.open(item["lmdb"], readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin() as txn:
            for i in range(item["start"], item["stop"]):
                data = txn.get((IMAGE_KEY % i).encode())
                yield {"path": f"{item['lmdb']}:{i}", "bytes": b"" if data is None else data}
    finally:
        env.close()


def is_lmdb(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "data.mdb"))


def build_dataset(inputs: list[str], shard_size: int) -> Any:
    """One Ray dataset of ``{"path", "bytes"}`` rows over every input."""
    import ray.data

    parts, files, ranges = [], [], []
    for item in inputs:
        if item.startswith("@"):
            lines = Path(item[1:]).read_text(encoding="utf-8").splitlines()
            files += [line.strip() for line in lines if line.strip()]
        elif is_lmdb(item):
            ranges += lmdb_ranges(item, shard_size)
        else:
            files.append(item)
    if files:
        parts.append(ray.data.read_binary_files(files, include_paths=True,
                                                file_extensions=[e[1:] for e in
                                                                 IMAGE_EXTENSIONS]))
    if ranges:
        parts.append(ray.data.from_items(ranges, override_num_blocks=len(ranges))
                     .flat_map(read_lmdb_range))
    if not parts:
        raise ValueError("nothing to read: pass image folders, @list.txt files or LMDBs")
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def check_room(actor_cpus: float, cluster_cpus: float) -> None:
    """Refuse actor pools that would hold every CPU: Ray Data's read tasks need one too,
    and without it the job waits forever (actors idle, reads never scheduled)."""
    if actor_cpus > cluster_cpus - 1:
        raise ValueError(
            f"actors x threads = {actor_cpus:g} CPUs leaves none of the cluster's "
            f"{cluster_cpus:g} for reading images; use at most {max(cluster_cpus - 1, 0):g}")


def recognized(inputs: list[str], *, actors: int = 1, threads: int = 1, batch_size: int = 64,
               model: str | None = None, device: str | None = None,
               gpus_per_actor: float = 0.0, shard_size: int = 10_000,
               options: dict | None = None) -> Any:
    """The (lazy) dataset of result rows for every image of ``inputs``."""
    import ray
    import ray.data

    check_room(actors * threads, ray.cluster_resources().get("CPU", 0))
    return build_dataset(inputs, shard_size).map_batches(
        OcrActor,
        fn_constructor_kwargs={"model": model, "threads": threads, "batch_size": batch_size,
                               "device": device, "options": options},
        batch_size=batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=threads, num_gpus=gpus_per_actor,
    )


def write(ds: Any, output: str, fmt: str = "parquet") -> None:
    """Write result rows as Parquet or JSON lines (one file per block) under ``output``."""
    if fmt == "parquet":
        ds.write_parquet(output)
    elif fmt == "jsonl":
        ds.write_json(output, force_ascii=False)
    else:
        raise ValueError(f"format must be parquet or jsonl, got {fmt!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+",
                    help="image folders or object-store prefixes, @list.txt, LMDB dirs")
    ap.add_argument("--output", required=True, help="output folder (local or s3://...)")
    ap.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    ap.add_argument("--address", default=None,
                    help="Ray cluster ('auto' inside one; default: start a local Ray)")
    ap.add_argument("--actors", type=int, default=1, help="Recognizer actors in total")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPUs (torch threads) per actor")
    ap.add_argument("--gpus-per-actor", type=float, default=0.0,
                    help="e.g. 1 (or 0.5 to put two actors on a GPU); sets --device cuda")
    ap.add_argument("--batch-size", type=int, default=64, help="images per model call")
    ap.add_argument("--shard-size", type=int, default=10_000, help="LMDB samples per task")
    ap.add_argument("--model", default=None, help="model dir, alias or ModelScope id")
    ap.add_argument("--options", type=json.loads, default={},
                    help='Recognizer options as JSON, e.g. \'{"beam_width": 5, "pattern": '
                    '"[A-Z0-9]+", "alternatives": 3}\' (see Recognizer.recognize)')
    args = ap.parse_args(argv)

    import ray

    if not ray.is_initialized():
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    device = "cuda" if args.gpus_per_actor else "cpu"
    start = time.perf_counter()
    ds = recognized(args.inputs, actors=args.actors, threads=args.threads,
                    batch_size=args.batch_size, model=args.model, device=device,
                    gpus_per_actor=args.gpus_per_actor, shard_size=args.shard_size,
                    options=args.options)
    write(ds, args.output, args.format)
    print(f"wrote {args.output} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
