"""scripts/prepare_real_data.py's git access, on a tiny repository made here."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import load_script

pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True)
                                .returncode != 0, reason="git not installed")


def _repo(tmp_path, files: dict[str, bytes]) -> tuple[str, str]:
    repo = tmp_path / "repo"
    for rel, data in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(data)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "files"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True)
    return str(repo), head.stdout.decode().strip()


def test_git_reader_lists_non_ascii_paths_verbatim(tmp_path):
    """git quotes non-ASCII names ("\\347\\232\\226...") unless asked for -z: the listing
    then named no file that could be read, and a source of hanzi-named plates came out
    empty."""
    prep = load_script("scripts/prepare_real_data.py")
    gitdir, commit = _repo(tmp_path, {"d/皖A12345.jpg": b"x", "d/plain.jpg": b"y",
                                      "other/z.jpg": b"z"})
    git = prep.GitReader(gitdir, commit)
    try:
        assert sorted(git.ls("d/")) == ["d/plain.jpg", "d/皖A12345.jpg"]
        assert git.read("d/皖A12345.jpg") == b"x"
    finally:
        git.close()
