"""What every architecture's config dataclass declares about its class (timm's
``default_cfgs`` spirit).

Code outside ``models/`` that must treat architectures differently (how the vocabulary is
numbered, whether a line is cut into chunks, which parameters form the CTC head, what
ModelScope calls the class) reads these facts from the config instead of comparing names,
so adding an architecture is one file plus one ``MODELS`` line.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar


class ArchConfig:
    """Base of the architecture config dataclasses; subclasses set every ``ClassVar``.

    Attributes:
        modelscope_name: ``model.recognizer`` in ModelScope's ``configuration.json``.
        vocab_offset: class id of ``vocab.txt``'s first line (0 is the CTC blank;
            ModelScope's ConvNextViT and LightweightEdge also reserve id 1).
        head_prefix: key prefix of the CTC classifier's parameters (rows follow the vocab).
        chunked: True if the model reads fixed-width chunks of a line (merged afterwards),
            False if it reads the whole line at once.
        default_width: ModelScope's ``inference_kwargs.img_width`` for this class (the
            canvas parity mode pads every line to).
        trace_width: input width used to trace an ONNX export.
        pipeline: ModelScope pipeline type written into ``configuration.json``.
    """

    modelscope_name: ClassVar[str]
    vocab_offset: ClassVar[int]
    head_prefix: ClassVar[str]
    chunked: ClassVar[bool] = False
    default_width: ClassVar[int]
    trace_width: ClassVar[int] = 160
    pipeline: ClassVar[str] = "ocr-recognition"

    def to_dict(self) -> dict:
        """The instance fields as JSON-friendly values (tuples as lists; ``extra`` left out)."""
        d = asdict(self)  # type: ignore[call-overload]
        d.pop("extra", None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
