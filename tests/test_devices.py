"""Unusable devices fail up front with one message that lists what this machine has."""

from __future__ import annotations

import pytest
import torch

from duguang_ocr import Recognizer
from duguang_ocr.devices import DeviceError, available_devices, resolve_device, set_cudnn_benchmark


@pytest.fixture
def cpu_only_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """This torch as a CPU-only build, whatever the test machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)


def test_default_and_cpu(cpu_only_torch: None) -> None:
    assert resolve_device(None) == torch.device("cpu") == resolve_device("cpu")
    assert available_devices()[0] == "cpu"


def test_cuda_on_a_cpu_only_build_names_the_cause(cpu_only_torch: None) -> None:
    with pytest.raises(DeviceError) as info:
        resolve_device("cuda")
    assert "built without CUDA" in str(info.value)
    assert str(info.value).endswith("available here: cpu")


def test_unknown_name_lists_the_valid_ones(cpu_only_torch: None) -> None:
    with pytest.raises(DeviceError, match=r"unknown device 'gpu': use cpu, cuda or cuda:N"):
        resolve_device("gpu")


def test_gpu_index_beyond_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match=r"has 1 cuda device.*available here: cpu, cuda:0"):
        resolve_device("cuda:3")


def test_recognizer_checks_before_loading(tiny_model_dir, cpu_only_torch: None) -> None:
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        Recognizer(tiny_model_dir, device="gpu")
    with pytest.raises(ValueError, match="available here: cpu"):
        Recognizer.from_pretrained(tiny_model_dir, device="cuda")


def test_cudnn_benchmark_is_set_for_cuda_devices_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    assert not set_cudnn_benchmark(torch.device("cpu"), True)
    assert torch.backends.cudnn.benchmark is False
    assert set_cudnn_benchmark(torch.device("cuda:0"), True)
    assert torch.backends.cudnn.benchmark is True
    assert set_cudnn_benchmark(torch.device("cuda"), False)
    assert torch.backends.cudnn.benchmark is False
