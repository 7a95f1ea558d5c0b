"""Device names in, a usable ``torch.device`` out, or one error that says what exists here.

torch's own failures for an unusable device are far from the cause (``AssertionError: Torch
not compiled with CUDA enabled`` at the first ``.to()``, or a parser message listing twenty
device types for ``"gpu"``), so devices are checked once, up front.
"""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """The requested device does not exist on this machine or in this torch build."""


def available_devices() -> list[str]:
    """Devices this process can run on, e.g. ``['cpu']`` or ``['cpu', 'cuda:0', 'cuda:1']``."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def default_device() -> str:
    """CUDA when this machine has it, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _why_missing(kind: str) -> str:
    if kind == "cuda" and torch.version.cuda is None:
        return f"this torch ({torch.__version__}) was built without CUDA"
    if kind == "cuda":
        return "no CUDA GPU is visible (check the driver and CUDA_VISIBLE_DEVICES)"
    return f"no {kind} device is available"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` (None: :func:`default_device`) as a ``torch.device`` that exists here.

    Raises:
        DeviceError: an unknown name (``"gpu"``), or a device this machine or torch build
            lacks; the message lists the devices that are available.
    """
    if device is None:
        return torch.device(default_device())
    available = available_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(
            f"unknown device {str(device)!r}: use cpu, cuda or cuda:N (available here: "
            f"{', '.join(available)})") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda" and dev.index is None and "cuda:0" in available:
        return dev
    if str(dev) not in available:
        same_kind = [a for a in available if a.split(":")[0] == dev.type]
        reason = (f"this machine has {len(same_kind)} {dev.type} device(s)" if same_kind
                  else _why_missing(dev.type))
        raise DeviceError(
            f"device {str(device)!r} is not available: {reason}; available here: "
            f"{', '.join(available)}")
    return dev


def set_cudnn_benchmark(device: torch.device, on: bool) -> bool:
    """Let cuDNN time its algorithms per input shape (``torch.backends.cudnn.benchmark``)
    when ``device`` is a CUDA device; other devices leave the process-wide flag alone.
    Returns whether the flag was set."""
    if device.type != "cuda":
        return False
    torch.backends.cudnn.benchmark = on
    return True
