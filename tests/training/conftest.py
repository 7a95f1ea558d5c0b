"""Tiny rendered LMDB data sets for the training tests, built once per session."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from duguang_ocr.data.lmdb import write_lmdb
from tests.helpers import render

WORDS = ["hello", "world", "text", "line", "stone", "river", "red", "hat", "no", "ten",
         "2024", "42", "one", "now", "tree", "sea"]


def png(text: str) -> bytes:
    buf = io.BytesIO()
    render(text).save(buf, format="PNG")
    return buf.getvalue()


def make_lmdb(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    texts = [" ".join(rng.sample(WORDS, rng.randint(1, 2))) for _ in range(n)]
    write_lmdb(((png(t), t) for t in texts), path)
    return path


@pytest.fixture(scope="session")
def tiny_lmdb(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lmdb")
    return {"train": make_lmdb(root / "train.lmdb", 96, 0),
            "eval": make_lmdb(root / "eval.lmdb", 24, 1)}
