"""Throughput of examples/ray_batch.py on this machine against in-process recognition.

For each layout ``ACTORSxTHREADS`` a fresh local Ray is started with that many CPUs plus
one for the read tasks, and the pipeline reads every image of the input folders and
recognises them (results streamed back to this process instead of written: writing a few
thousand small rows is negligible); the time counts from submitting the job to the last
result (actor start-up and model loading included, as in a real job) and, separately, the
steady rate after the first result block (start-up excluded), and the CPU time of every
Ray process per line (steadier than lines/s on a shared machine, where more processes
simply get a bigger share of the cores). The baseline is one ``Recognizer.recognize``
call over the same bytes in this process (all cores).

    python benchmarks/bench_ray.py [--lines DIR ...] [--repeat 2] [--layouts 1x2,2x1]

Lines: every ``../shared/realtest`` subset by default, each image read ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALTEST = ROOT.parent / "shared" / "realtest"
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_serve import cpu_seconds  # noqa: E402

# Ray's workers import ray_batch (where OcrActor lives) too; a local Ray inherits this.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT / "examples"), os.environ.get("PYTHONPATH")) if p)


def tree_cpu_seconds() -> float:
    """CPU time of this process and all its descendants (a local Ray's raylet, GCS and
    workers are started under the driver), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):  # exited meanwhile
            continue
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    total = 0.0
    for pid in tree:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def in_process(paths: list[Path]) -> tuple[float, float]:
    """Lines/s and CPU ms per line of one ``recognize`` call over all the images."""
    from duguang_ocr import Recognizer

    rec = Recognizer()
    images = [p.read_bytes() for p in paths]
    rec.recognize(images[:8])
    start, cpu = time.perf_counter(), time.process_time()
    rec.recognize(images)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return len(images) / wall, cpu * 1000 / len(images)


def ray_layout(dirs: list[Path], repeat: int, actors: int, threads: int) -> dict:
    import ray
    from ray_batch import recognized

    ray.init(num_cpus=actors * threads + 1, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        start, cpu = time.perf_counter(), tree_cpu_seconds()
        ds = recognized([str(d) for d in dirs] * repeat, actors=actors, threads=threads)
        first, rows = None, 0
        for batch in ds.iter_batches(batch_size=None):  # streams as blocks finish
            if first is None:
                first, first_rows, first_cpu = (time.perf_counter(), len(batch["path"]),
                                                tree_cpu_seconds())
            rows += len(batch["path"])
        steady = (rows - first_rows) / (time.perf_counter() - first)
        total = time.perf_counter() - start
        end_cpu = tree_cpu_seconds()
        steady_cpu = (end_cpu - first_cpu) / (rows - first_rows)
        cpu = end_cpu - cpu
    finally:
        ray.shutdown()
    return {"layout": f"{actors}x{threads}", "rows": rows, "lines_per_s": rows / total,
            "steady_lines_per_s": steady, "seconds": total, "cpu_ms": cpu * 1000 / rows,
            "steady_cpu_ms": steady_cpu * 1000}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=Path, action="append", default=[])
    ap.add_argument("--repeat", type=int, default=2, help="times each image is read")
    ap.add_argument("--layouts", default="1x2,2x1", help="ACTORSxTHREADS, comma-separated")
    args = ap.parse_args(argv)
    dirs = args.lines or sorted(d for d in REALTEST.glob("*") if d.is_dir())
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
    paths = [p for d in dirs for p in sorted(d.iterdir()) if p.suffix.lower() in suffixes]
    base, base_cpu = in_process(paths * args.repeat)
    print(f"{len(paths) * args.repeat} lines; in-process recognize(): {base:.1f} lines/s, "
          f"{base_cpu:.2f} CPU ms/line")
    out = []
    for layout in args.layouts.split(","):
        actors, threads = map(int, layout.split("x"))
        row = ray_layout(dirs, args.repeat, actors, threads)
        out.append(row)
        print(f"  Ray {row['layout']} (actors x threads): {row['lines_per_s']:.1f} lines/s "
              f"end to end ({row['lines_per_s'] / base:.2f}x in-process, {row['seconds']:.1f} "
              f"s), {row['steady_lines_per_s']:.1f} lines/s after the first block "
              f"({row['steady_lines_per_s'] / base:.2f}x); CPU ms/line over all Ray "
              f"processes: {row['cpu_ms']:.2f} ({base_cpu / row['cpu_ms']:.2f}x in-process's "
              f"efficiency), {row['steady_cpu_ms']:.2f} after the first block "
              f"({base_cpu / row['steady_cpu_ms']:.2f}x)", flush=True)
    return out


if __name__ == "__main__":
    main()
