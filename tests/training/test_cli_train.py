"""End to end through processes: the CLI killed with SIGKILL and resumed; DDP with gloo."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from duguang_ocr.recognizer import Recognizer
from duguang_ocr.training import Trainer, checkpoint, load_config
from tests.training.conftest import png

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def overrides(data, steps):
    return [f"data.train=[{data['train']}]", f"data.eval=[{data['eval']}]",
            f"train.max_steps={steps}", "eval.every_steps=0"]


def cli_train(work, data, steps, *extra):
    cmd = [sys.executable, "-m", "duguang_ocr.cli", "train", "--config", "tiny_test",
           "--work-dir", str(work), *extra]
    for o in overrides(data, steps):
        cmd += ["--set", o]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
def test_sigkill_after_first_checkpoint_then_resume(tiny_lmdb, tmp_path):
    work, steps = tmp_path / "run", 80
    proc = cli_train(work, tiny_lmdb, steps)
    deadline = time.monotonic() + 60
    while not (work / "train_state.pt").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    killed_at = checkpoint.load_state(work / "train_state.pt")["step"]
    assert 10 <= killed_at < steps

    resumed = cli_train(work, tiny_lmdb, steps, "--resume")
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert json.loads(stdout.strip().splitlines()[-1])["step"] == steps
    assert f"resumed at step {killed_at}/{steps}" in stderr
    assert isinstance(Recognizer.from_pretrained(work / "best", device="cpu")(png("red")), str)
    steps_logged = [json.loads(line)["step"] for line in
                    (work / "metrics.jsonl").read_text().splitlines()
                    if json.loads(line)["kind"] == "train"]
    assert steps_logged == list(range(5, steps + 1, 5))  # no duplicates from the killed run
    assert not [p for p in work.iterdir() if ".tmp" in p.name or ".old-" in p.name]

    straight = Trainer(load_config("tiny_test", overrides(tiny_lmdb, steps)), tmp_path / "ref")
    straight.fit()
    final = checkpoint.load_state(work / "train_state.pt")["model"]
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(final[k], v, rtol=0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["train.softmax_top=1", "train.softmax_random=3"]],
                         ids=["full_softmax", "class_subsets"])
def test_ddp_two_gloo_processes(tiny_lmdb, tmp_path, extra):
    """Two ranks stay identical; with class subsets each rank draws its own classes and the
    averaged gradients still keep them identical."""
    work, out = tmp_path / "run", tmp_path / "ranks"
    out.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--standalone", str(ROOT / "tests/training/ddp_worker.py"), str(work), str(out),
           *overrides(tiny_lmdb, 12), *extra]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["result"] == r1["result"] and r0["result"]["step"] == 12
    for k in r0["state"]:
        torch.testing.assert_close(r0["state"][k], r1["state"][k], rtol=0, atol=0)
    # 96 lines / (2 ranks x 8) = 6 steps per epoch; eval lines summed over both shards.
    assert r0["result"]["eval"]["eval.lmdb"]["lines"] == 24
    lines = [json.loads(x) for x in (work / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if r["kind"] == "train"] == [5, 10, 12]  # rank 0 only
    assert [r["step"] for r in lines if r["kind"] == "eval"] == [6, 12]
    assert sorted(p.name for p in work.iterdir()) == [
        "best", "config.yaml", "errors.tsv", "last", "metrics.jsonl", "train_state.pt"]
    state = checkpoint.load_state(work / "train_state.pt")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    Recognizer.from_pretrained(work / "best", device="cpu")


def test_cli_train_in_process_and_config_errors(tiny_lmdb, tmp_path, capsys):
    from duguang_ocr.cli import main

    work = tmp_path / "run"
    args = ["train", "--config", "configs/tiny_test.yaml", "--work-dir", str(work)]
    for o in overrides(tiny_lmdb, 3):
        args += ["--set", o]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 3
    assert main(["train", "--resume", "--work-dir", str(work), "--set", "train.max_steps=5"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 5  # config.yaml of the run, extended
    assert main(["train", "--config", "tiny_test", "--set", "train.max_step=3"]) == 2
    assert "unknown key 'train.max_step'" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "pass --config" in capsys.readouterr().err
