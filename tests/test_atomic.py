"""Crash-safe files and directories: nothing is ever visible half-written, and what a crash
leaves behind is cleaned up (or put back) by the next run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from duguang_ocr.atomic import (
    atomic_dir,
    atomic_path,
    atomic_write_bytes,
    recover_dir,
    remove_stale_temps,
    replace_dir,
    temp_name,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_path_replaces_on_success_and_cleans_up_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert re.fullmatch(rf"\.file\.bin\.tmp-{os.getpid()}-[0-9a-f]+", tmp.name)
        tmp.write_bytes(b"v1")
        assert not target.exists()  # nothing visible before the block succeeds
    assert target.read_bytes() == b"v1"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of v2")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"v1"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.bin"]
    assert atomic_write_bytes(target, b"v3").read_bytes() == b"v3"
    assert temp_name(target).name.startswith(".file.bin.tmp-")


def test_stale_temps_of_dead_writers_go_and_live_ones_stay(tmp_path: Path) -> None:
    target = tmp_path / "model.pt"
    dead = tmp_path / f".model.pt.tmp-{_dead_pid()}-abcd"
    live = tmp_path / f".model.pt.tmp-{os.getpid()}-abcd"
    other = tmp_path / f".other.pt.tmp-{_dead_pid()}-abcd"
    for p in (dead, live, other):
        p.write_bytes(b"partial")
    assert remove_stale_temps(target) == [dead]
    assert live.exists() and other.exists()


def test_atomic_dir_swaps_in_only_a_complete_directory(tmp_path: Path) -> None:
    dst = tmp_path / "last"
    with atomic_dir(dst) as tmp:
        tmp.mkdir()
        (tmp / "f").write_text("v1")
        assert not dst.exists()
    assert (dst / "f").read_text() == "v1"
    with pytest.raises(RuntimeError), atomic_dir(dst) as tmp:
        tmp.mkdir()
        (tmp / "f").write_text("half")
        raise RuntimeError("interrupted")
    assert (dst / "f").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]


def test_recover_dir_puts_back_an_interrupted_swap(tmp_path: Path) -> None:
    dst = tmp_path / "x.lmdb"
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "f").write_text("new")
    dst.mkdir()
    (dst / "f").write_text("old")
    replace_dir(tmp_path / "new", dst)
    assert (dst / "f").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["x.lmdb"]
    # Killed after "dst -> dst.old-<pid>", before "tmp -> dst": the old one comes back.
    pid = _dead_pid()
    dst.rename(tmp_path / f"x.lmdb.old-{pid}")
    (tmp_path / f"x.lmdb.tmp-{pid}").mkdir()
    live = tmp_path / f"x.lmdb.tmp-{os.getpid()}"  # another writer, still running
    live.mkdir()
    assert len(recover_dir(dst)) == 2
    assert (dst / "f").read_text() == "new" and live.exists()
    assert recover_dir(dst, live_writers=False) == [live] and not live.exists()
