"""Smoke test of benchmarks/profile_train_step.py: the full and the class-subset softmax."""

import pytest

from duguang_ocr.synth.fonts import discover_fonts
from tests.helpers import load_script


def test_profile_compares_the_full_softmax_with_class_subsets(tiny_model_dir, capsys):
    if not discover_fonts("abc").faces:
        pytest.skip("no fonts installed (scripts/install_fonts.sh): nothing to render")
    load_script("benchmarks/profile_train_step.py").main(
        ["--model", str(tiny_model_dir), "--batch-size", "2", "--steps", "1", "--max-chars", "6",
         "--softmax-top", "0,1", "--softmax-random", "2", "--no-table"])
    out = capsys.readouterr().out
    assert "softmax_top 0, batch 2" in out and "softmax_top 1, batch 2" in out
    assert out.count("x the first setting's lines/s") == 2
    assert "fastest memory format at batch 2: nchw" in out
    assert "fastest cudnn.benchmark at batch 2: off" in out


def test_profile_compares_cudnn_benchmark_settings(tiny_model_dir, capsys):
    if not discover_fonts("abc").faces:
        pytest.skip("no fonts installed (scripts/install_fonts.sh): nothing to render")
    load_script("benchmarks/profile_train_step.py").main(
        ["--model", str(tiny_model_dir), "--batch-size", "2", "--steps", "1", "--max-chars", "6",
         "--cudnn-benchmark", "off,on", "--no-table"])
    out = capsys.readouterr().out
    assert "cpu fp32 nchw, softmax_top 0, batch 2" in out
    assert "cpu fp32 nchw, cudnn.benchmark, softmax_top 0, batch 2" in out
    assert out.count("x the first setting's lines/s") == 2
    assert "fastest cudnn.benchmark at batch 2:" in out


def test_profile_refuses_an_unknown_cudnn_benchmark_setting(tiny_model_dir):
    with pytest.raises(SystemExit):
        load_script("benchmarks/profile_train_step.py").main(
            ["--model", str(tiny_model_dir), "--cudnn-benchmark", "maybe"])
