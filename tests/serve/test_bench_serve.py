"""benchmarks/bench_serve.py on a few dozen lines: the load and fault test of README's
"Serving" section, with its outcomes asserted (real server processes, loopback only)."""

from __future__ import annotations

import pytest

from tests.helpers import load_script, render

pytest.importorskip("fastapi")
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel 你好 世界 Hello".split()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_load_and_faults(tmp_path, tiny_model_dir):
    bench = load_script("benchmarks/bench_serve.py")
    for i in range(40):
        render(f"{i:02d} {WORDS[i % len(WORDS)]}").save(tmp_path / f"{i:02d}.png")
    s = bench.main(["--n", "40", "--lines", str(tmp_path), "--concurrency", "16",
                    "--rounds", "1", "--no-warm", "--max-batch", "16",
                    "--model", str(tiny_model_dir)])
    for row in s["load"]:  # every line answered, each exactly as in-process
        assert (row["lines"], row["errors"], row["wrong"]) == (40, 0, 0)
    f = s["faults"]
    assert f["malformed JSON"][0] == 400 and f["truncated multipart body"][0] == 400
    assert f["wrong content type"][0] == 415
    assert f["decompression bomb (10000x10000 PNG)"][0] == 413
    assert f["then a correct request"] == (200, "right strings")
    k = s["kill"]
    assert k["killed_exit"] == -9 and k["wrong"] == 0 and k["ok_after_restart"] >= 8
    b = s["burst"]  # past the queue: 503; admitted: right, or 504 past the 2-s timeout
    assert set(b) <= {"200", "503", "504", "200 right", "503 with Retry-After"}
    assert b["503"] > 0 and b["503 with Retry-After"] == b["503"]
    assert b["200 right"] == b.get("200", 0)
    assert s["slow_client"]["status"] == 408 and s["slow_client"]["other client"]
    d = s["drain"]
    assert d["in-flight"] == (200, True) and d["new request"] == (503, "1")
    assert d["exit"] == 0
