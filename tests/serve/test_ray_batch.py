"""examples/ray_batch.py on a local Ray: image folders, a file list and a sharded LMDB, a
few hundred lines, results equal to the in-process Recognizer's."""

from __future__ import annotations

import io
import json
import signal

import pytest

from duguang_ocr.data.lmdb import write_lmdb
from tests.helpers import load_script, render

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel 你好 世界 Hello 2026".split()


def _example():
    return load_script("examples/ray_batch.py")


def png(text: str) -> bytes:
    buf = io.BytesIO()
    render(text).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 3 logical CPUs (2 actors + 1 for reading) on any machine; a job
    that hangs fails after 5 minutes instead of stalling the test run."""
    def hung(signum, frame):
        raise TimeoutError("the Ray job did not finish in 300 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(300)
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_an_actor_pool_must_leave_a_cpu_for_reading():
    ex = _example()
    ex.check_room(2, 3)
    with pytest.raises(ValueError, match="leaves none of the cluster's 2 for reading"):
        ex.check_room(2, 2)


@pytest.mark.slow
def test_ray_batch_reads_files_lists_and_lmdb_shards(tmp_path, local_ray, tiny_model_dir):
    from duguang_ocr import Recognizer

    expected: dict[str, bytes] = {}
    for i in range(200):  # nested folders, plus a file that is not an image
        d = tmp_path / "crops" / f"part{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{i:03d}.png"
        p.write_bytes(png(f"{i} {WORDS[i % len(WORDS)]}"))
        expected[str(p)] = p.read_bytes()
    (tmp_path / "crops" / "notes.txt").write_text("not an image")
    listed = tmp_path / "listed.png"
    listed.write_bytes(png("from a list"))
    (tmp_path / "list.txt").write_text(f"{listed}\n")
    expected[str(listed)] = listed.read_bytes()
    samples = [(png(f"lmdb {i} {WORDS[i % 5]}"), "x") for i in range(99)]
    samples.append((b"corrupt", "x"))  # a bad image: a row with an error, not a crash
    write_lmdb(samples, tmp_path / "shard.lmdb")
    for i, (data, _) in enumerate(samples, start=1):
        expected[f"{tmp_path / 'shard.lmdb'}:{i}"] = data

    ex = _example()
    ds = ex.recognized([str(tmp_path / "crops"), f"@{tmp_path / 'list.txt'}",
                        str(tmp_path / "shard.lmdb")],
                       actors=2, threads=1, batch_size=32, shard_size=30,
                       model=str(tiny_model_dir), options={"alternatives": 2}).materialize()
    ex.write(ds, str(tmp_path / "parquet"))
    ex.write(ds, str(tmp_path / "jsonl"), "jsonl")
    rows = pq.read_table(tmp_path / "parquet").to_pylist()
    assert len(rows) == len(expected) == 301
    by_path = {r["path"]: r for r in rows}
    assert set(by_path) == set(expected)  # every image exactly once, nothing else
    lines = [json.loads(line) for f in sorted((tmp_path / "jsonl").iterdir())
             for line in f.read_text(encoding="utf-8").splitlines()]
    assert sorted(lines, key=lambda r: r["path"]) == sorted(rows, key=lambda r: r["path"])

    paths = sorted(expected)[::3]  # a third of them, against the library in this process
    results = Recognizer(tiny_model_dir, alternatives=2).recognize(
        [expected[p] for p in paths])
    for p, r in zip(paths, results):
        row = by_path[p]
        assert row["text"] == r.text, p
        assert row["confidence"] == pytest.approx(r.confidence, abs=1e-3)
        assert (row["error"] is None) == (r.error is None)
        assert [tuple(b) for b in row["char_boxes"]] == [
            pytest.approx(b, abs=0.01) for b in r.char_boxes]
        if r.error is None:
            assert [[a["char"] for a in alts] for alts in row["alternatives"]] == \
                [[c for c, _ in alts] for alts in r.alternatives]
    bad = by_path[f"{tmp_path / 'shard.lmdb'}:100"]
    assert bad["text"] == "" and "not an image file" in bad["error"]
