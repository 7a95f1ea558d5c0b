"""Minimal reader/writer for the ``.safetensors`` format (no extra dependency).

Layout: 8-byte little-endian header length, a JSON header mapping names to
``{dtype, shape, data_offsets}``, then the raw little-endian tensor bytes. Loading never
executes code, which is the point of the format.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import torch

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read every tensor of a ``.safetensors`` file onto the CPU."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8 : 8 + n])
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise ValueError(f"{path}: tensor {name!r} lies outside the file (truncated?)")
        t = torch.frombuffer(bytearray(body[start:end]), dtype=dtype) if end > start else (
            torch.empty(0, dtype=dtype))
        out[name] = t.reshape(info["shape"])
    return out


def save_file(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """Write tensors (moved to CPU, made contiguous) as a ``.safetensors`` file."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {
            "dtype": _NAMES[t.dtype], "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for raw in chunks:
            f.write(raw)
