"""scripts/prepare_real_data.py on a tiny git repository made here: the leakage rules that
decide which public plates the default model may train on."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess

import numpy as np
import pytest
from PIL import Image

from tests.helpers import load_script

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True)
                                .returncode != 0, reason="git not installed")


def _jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 94, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG")
    return buf.getvalue()


def _repo(tmp_path, files: dict[str, bytes]) -> tuple[str, str]:
    repo = tmp_path / "repo"
    for rel, data in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "plates"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True)
    return str(repo), head.stdout.decode().strip()


def test_plates_more_drops_evaluation_plates_by_hash_and_by_plate_number(tmp_path):
    prep = load_script("scripts/prepare_real_data.py")
    folder = "data/lprnet/test/"
    evaluation, other_view, kept, short = _jpeg(0), _jpeg(1), _jpeg(2), _jpeg(3)
    gitdir, commit = _repo(tmp_path, {
        folder + "皖A12345.jpg": evaluation,  # a byte copy of an evaluation plate
        folder + "皖A12345.JPG": other_view,  # another image of that car
        folder + "沪C11111.jpg": kept,
        folder + "浙B67890.jpg": kept,  # the same bytes again (git lists 沪 before 浙)
        folder + "浙B6789.jpg": short,  # not a plate number
        folder + "notes.txt": b"not an image",
    })
    src = dataclasses.replace(prep.SOURCES["plates_more"], commit=commit, expected=1)
    out = tmp_path / "out"
    report = prep.prepare(src, gitdir, out, {hashlib.sha256(evaluation).hexdigest()})
    assert report["dropped"] == {"eval_hash": 1, "eval_label": 1, "bad_label": 1,
                                 "drop_list": 0, "byte_duplicate": 1}
    assert report["kept"] == 1
    assert (out / "plates_more" / "labels.tsv").read_text(encoding="utf-8") == \
        f"{folder}沪C11111.jpg\t沪C11111\n"
    assert (out / "plates_more" / folder / "沪C11111.jpg").read_bytes() == kept


def test_git_reader_lists_non_ascii_paths_verbatim(tmp_path):
    """git quotes non-ASCII names ("\\347\\232\\226...") unless asked for -z: the listing
    then named no file that could be read, and a hanzi-named source came out empty."""
    prep = load_script("scripts/prepare_real_data.py")
    gitdir, commit = _repo(tmp_path, {"d/皖A12345.jpg": b"x", "d/plain.jpg": b"y"})
    git = prep.GitReader(gitdir, commit)
    try:
        assert sorted(git.ls("d/")) == ["d/plain.jpg", "d/皖A12345.jpg"]
        assert git.read("d/皖A12345.jpg") == b"x"
    finally:
        git.close()
