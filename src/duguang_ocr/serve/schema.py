"""What a ``POST /v1/recognize`` request may contain, and turning it into images.

Three body kinds carry the same thing, a list of images plus options:

* ``multipart/form-data``: every file part is an image, in order; an optional ``options``
  field holds a JSON object;
* ``image/*`` or ``application/octet-stream``: the body is one encoded image;
* ``application/json``: ``{"images": [...], "options": {...}}`` where each image is base64
  (a ``data:image/...;base64,`` prefix is accepted) or, with ``--allow-urls``, an http(s)
  URL for the server to fetch.

Options may also come as query parameters (``?beam_width=5&pattern=...``), which suits
the first two kinds; body options win over query ones. Every option is a keyword argument
of :meth:`Recognizer.recognize` under the same name, so adding one to the API means adding
one typed field to :class:`Options` (values are checked before anything is queued).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import io

MAX_BEAM = 64
MAX_ALTERNATIVES = 20
MAX_CHARSET = 10_000  # characters in allowed_chars / blocked_chars
MAX_PATTERN = 512
MAX_LEXICON = 100_000  # entries
MAX_ENTRY = 200  # characters per lexicon entry


class RequestError(Exception):
    """A request the server answers with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


Entry = Annotated[str, Field(max_length=MAX_ENTRY)]


class Options(BaseModel):
    """Per-request options.

    Every field but ``errors`` is a keyword of :meth:`Recognizer.recognize` under the same
    name, passed on when the client set it. Types and size caps are checked here (a
    request must not be able to make the model thread compile a huge automaton); the
    values themselves (``spaces``, ``punctuation``, ``lexicon_mode``, pattern syntax) by
    the library, see :func:`check_options`. ``lexicon`` is a list only: the library reads
    a string as a file path, which a client must never name on the server.

    ``errors`` is the server's own: ``"raise"`` (default) answers 400/413 when any image
    cannot be loaded, ``"skip"`` answers 200 with an ``error`` in that image's result, as
    the Python API does for lists.
    """

    model_config = ConfigDict(extra="forbid")

    beam_width: int | None = Field(None, ge=1, le=MAX_BEAM)
    alternatives: int | None = Field(None, ge=0, le=MAX_ALTERNATIVES)
    allowed_chars: str | None = Field(None, max_length=MAX_CHARSET)
    blocked_chars: str | None = Field(None, max_length=MAX_CHARSET)
    pattern: str | None = Field(None, max_length=MAX_PATTERN)
    lexicon: list[Entry] | None = Field(None, max_length=MAX_LEXICON)
    lexicon_mode: str | None = None
    ignore_case: bool | None = None
    spaces: str | None = None
    punctuation: str | None = None
    vertical: bool | None = None
    errors: Literal["raise", "skip"] = "raise"

    def recognize_kwargs(self, supported: frozenset[str]) -> dict[str, Any]:
        """The options the client set, as keyword arguments for ``recognize``.

        Raises:
            RequestError: an option this Recognizer's ``recognize`` does not take.
        """
        kwargs = {k: v for k, v in self.model_dump(exclude_unset=True).items()
                  if k not in SERVER_OPTIONS and v is not None}
        unknown = sorted(set(kwargs) - supported)
        if unknown:
            raise RequestError(400, f"option(s) {', '.join(unknown)} not supported by this "
                               "server's recognizer")
        return kwargs


SERVER_OPTIONS = frozenset({"errors"})
ALIASES = {"beam": "beam_width"}  # the CLI's name for it
# recognize() keywords the server decides itself (batching) or that make no sense remotely.
_RESERVED = frozenset({"self", "inputs", "return_details", "batch_size", "errors", "window"})


def supported_options(recognizer: Any) -> frozenset[str]:
    """Options the recognizer takes: the named keywords of ``recognize``/``iter_recognize``
    and the fields of its ``options`` (a ``ReadOptions``), so the server offers exactly
    what the installed library implements."""
    names: set[str] = set()
    for method in (recognizer.recognize, recognizer.iter_recognize):
        for p in inspect.signature(method).parameters.values():
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.add(p.name)
    options = getattr(recognizer, "options", None)
    if dataclasses.is_dataclass(options):
        names.update(f.name for f in dataclasses.fields(options))
    return frozenset(names - _RESERVED)


def check_options(recognizer: Any, kwargs: dict[str, Any]) -> None:
    """The library's own checks of option values and of constraints (a pattern's syntax, a
    lexicon's entries), run in the request's thread so that a mistake is this request's
    400 rather than a failed batch in the model thread.

    Raises:
        RequestError: 400 with the library's message.
    """
    options = getattr(recognizer, "options", None)
    if not kwargs or not hasattr(options, "updated"):
        return
    from ..readout import build_constraint

    try:
        o = options.updated(**kwargs)
        if o.constrained:  # compiled again, and cached, by the model thread
            build_constraint(recognizer.vocab.itos, o.allowed_chars, o.blocked_chars,
                             o.pattern, o.lexicon, o.lexicon_mode, o.ignore_case)
    except (ValueError, TypeError) as e:
        raise RequestError(400, f"bad options: {e}") from None


def parse_options(*sources: Mapping[str, Any]) -> Options:
    """Validate merged option mappings (later ones win) into :class:`Options`."""
    merged: dict[str, Any] = {}
    for s in sources:
        merged.update((ALIASES.get(k, k), v) for k, v in s.items())
    try:
        return Options.model_validate(merged)
    except ValidationError as e:
        raise RequestError(400, f"bad options: {_errors_text(e)}") from None


def _errors_text(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}"
                     for err in e.errors())


class JsonBody(BaseModel):
    """``application/json`` request body."""

    model_config = ConfigDict(extra="forbid")

    images: list[str] = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Source:
    """One image of a request: encoded bytes or a URL, and how errors name it."""

    name: str
    data: bytes | str


def parse_json(body: bytes, allow_urls: bool) -> tuple[list[Source], dict[str, Any]]:
    """Sources and raw options from a JSON body."""
    try:
        parsed = JsonBody.model_validate_json(body)
    except ValidationError as e:
        raise RequestError(400, f"bad JSON body: {_errors_text(e)}") from None
    sources = []
    for i, item in enumerate(parsed.images):
        name = f"images[{i}]"
        if io.is_url(item):
            if not allow_urls:
                raise RequestError(400, f"{name}: fetching URLs is off on this server "
                                   "(start it with --allow-urls); send the image bytes")
            sources.append(Source(name, item))
        else:
            sources.append(Source(name, _b64(item, name)))
    return sources, parsed.options


def _b64(text: str, name: str) -> bytes:
    if text.startswith("data:"):
        head, sep, text = text.partition(",")
        if not sep or not head.endswith(";base64"):
            raise RequestError(400, f"{name}: only base64 data URLs are accepted")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"{name}: not valid base64 (nor an http(s) URL)") from None
    if not data:
        raise RequestError(400, f"{name}: empty image")
    return data


def parse_options_field(values: list[str]) -> dict[str, Any]:
    """The multipart ``options`` field: one JSON object."""
    if len(values) > 1:
        raise RequestError(400, "more than one 'options' field")
    if not values:
        return {}
    try:
        value = json.loads(values[0])
    except json.JSONDecodeError as e:
        raise RequestError(400, f"the 'options' field is not JSON ({e})") from None
    if not isinstance(value, dict):
        raise RequestError(400, "the 'options' field must be a JSON object")
    return value


@dataclass
class Loaded:
    """A request's images after loading: arrays for the model, errors for the rest."""

    images: list[np.ndarray]
    positions: list[int]  # index in the request of each array
    errors: dict[int, str]  # index in the request -> why it could not be loaded
    count: int


def load_sources(sources: list[Source], *, max_pixels: int, composite_alpha: bool,
                 skip_errors: bool) -> Loaded:
    """Decode every source with the library's loader (its size and bomb checks included).

    Runs in a worker thread: decoding, and fetching with ``--allow-urls``, must not block
    the event loop.

    Returns arrays in the **BGR** order that :class:`Recognizer` reads numpy arrays in (a
    reversed view of the loader's RGB output, copied once more by the recognizer).

    Raises:
        RequestError: 413 for an image over the pixel limit, 400 for any other load
            failure, naming the image; only when ``skip_errors`` is false.
    """
    out = Loaded([], [], {}, len(sources))
    for i, src in enumerate(sources):
        try:
            rgb = io.load_image(src.data, composite_alpha=composite_alpha,
                                max_pixels=max_pixels)
        except io.ImageLoadError as e:
            if not skip_errors:
                raise RequestError(413 if e.too_large else 400,
                                   f"{src.name}: {e}") from None
            out.errors[i] = f"{type(e).__name__}: {e}"
            continue
        out.images.append(rgb[:, :, ::-1])
        out.positions.append(i)
    return out
