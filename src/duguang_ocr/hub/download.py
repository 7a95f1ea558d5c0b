"""Download DuGuang checkpoints from ModelScope into the local cache.

Only ``requests`` is used (no ``modelscope`` package), so installing the library does not pull
in the ModelScope SDK and its dependency tree. Downloads are written through
:func:`duguang_ocr.atomic.atomic_path`: a crash, a dropped connection or a checksum failure
never leaves a partial file under a final name.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import requests

from duguang_ocr.atomic import atomic_path, atomic_write_bytes, remove_stale_temps
from duguang_ocr.hub.aliases import ALIASES, MODEL_FILES
from duguang_ocr.hub.cache import OFFLINE_ENV, is_offline
from duguang_ocr.hub.cache import cache_dir as _cache_root
from duguang_ocr.netutil import (
    BodyTooLarge,
    BodyTruncated,
    content_length,
    open_stream,
    read_body,
    root_cause,
)
from duguang_ocr.progress import progress_bar

MODELSCOPE_ENDPOINT = "https://modelscope.cn"
ENDPOINT_ENV = "DUGUANG_OCR_ENDPOINT"
COMPLETE_MARKER = ".complete"

#: ``(connect, read)`` seconds. A reachable hub connects in well under a second and sends
#: its first byte within a few; these bound how long a dead or silent one can keep us waiting.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 15.0)
#: Seconds after which no new attempt starts (a body that is arriving is never cut off), so
#: a hub that accepts connections and never answers fails in about this long, not in
#: ``retries * read timeout``.
DEFAULT_DEADLINE: float = 30.0

_MAX_RETRY_AFTER = 30.0
logger = logging.getLogger(__name__)
# Network failures worth another attempt. ChunkedEncodingError is what requests raises when the
# connection closes before Content-Length bytes arrived; it is not a ConnectionError subclass.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# Indirection so tests can observe back-off delays without actually sleeping.
_sleep = time.sleep


class DownloadError(RuntimeError):
    """A file could not be fetched (HTTP error, network failure, bad checksum)."""


class OfflineError(DownloadError):
    """Network access was needed but ``$DUGUANG_OCR_OFFLINE`` forbids it."""


class _RetryableError(Exception):
    """Internal: a failure worth another attempt (5xx/429, truncated body)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def resolve_endpoint(endpoint: str | None = None) -> str:
    """Pick the hub base URL: argument, then ``$DUGUANG_OCR_ENDPOINT``, then ModelScope.

    A mirror or an on-prem proxy can thus be configured once in the environment.
    """
    base = endpoint or os.environ.get(ENDPOINT_ENV) or MODELSCOPE_ENDPOINT
    return base.rstrip("/")


def file_url(
    model_id: str, filename: str, revision: str = "master", endpoint: str | None = None
) -> str:
    """URL of one file of a model through ModelScope's ``repo`` file API.

    Revision and file name are percent-encoded because they are query values: a ``&`` or
    space in either would otherwise corrupt the query string.

    >>> file_url("damo/m", "vocab.txt", endpoint="http://hub")
    'http://hub/api/v1/models/damo/m/repo?Revision=master&FilePath=vocab.txt'
    """
    base = resolve_endpoint(endpoint)
    return (
        f"{base}/api/v1/models/{quote(model_id, safe='/')}/repo"
        f"?Revision={quote(revision, safe='')}&FilePath={quote(filename, safe='')}"
    )


def files_url(model_id: str, revision: str = "master", endpoint: str | None = None) -> str:
    """URL of ModelScope's file listing of a model revision (names, sizes, sha256).

    >>> files_url("damo/m", endpoint="http://hub")
    'http://hub/api/v1/models/damo/m/repo/files?Revision=master&Recursive=False'
    """
    return (f"{resolve_endpoint(endpoint)}/api/v1/models/{quote(model_id, safe='/')}/repo/files"
            f"?Revision={quote(revision, safe='')}&Recursive=False")


def hub_sha256(model_id: str, revision: str = "master", endpoint: str | None = None,
               session: requests.Session | None = None) -> dict[str, str]:
    """File name -> the sha256 the hub lists for it, so downloads are verified against it.

    Best effort: a hub or mirror without the listing, or one that fails to answer it, gives
    ``{}`` and the files are then checked by their length only.
    """
    chunks: list[bytes] = []
    try:
        with open_stream(files_url(model_id, revision, endpoint), timeout=DEFAULT_TIMEOUT,
                         session=session) as response:
            if response.status_code != 200:
                return {}
            read_body(response, chunks.append, max_bytes=1 << 22)
        data = json.loads(b"".join(chunks))
    except (requests.RequestException, BodyTooLarge, BodyTruncated, ValueError) as exc:
        logger.debug("no file listing for %s: %s", model_id, exc)
        return {}
    files = (data.get("Data") or {}).get("Files") if isinstance(data, dict) else None
    out = {}
    for f in files if isinstance(files, list) else []:
        name = isinstance(f, dict) and (f.get("Path") or f.get("Name"))
        sha = isinstance(f, dict) and str(f.get("Sha256") or "").lower()
        if name and sha and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
            out[name] = sha
    return out


def _retry_after_seconds(response: requests.Response) -> float | None:
    """Parse a numeric ``Retry-After`` header, capped so a hostile value cannot stall us."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _fetch_once(
    session: requests.Session,
    url: str,
    dest: Path,
    timeout: float | tuple[float, float],
    progress: bool | None,
    expected_sha256: str | None,
) -> None:
    """One attempt: stream ``url`` into a temp file and move it onto ``dest`` if valid.

    Raises:
        _RetryableError: 5xx/429 status or a body shorter than ``Content-Length``.
        DownloadError: a permanent failure (4xx, checksum mismatch).
        requests.ConnectionError, requests.Timeout: network failures (retried by the caller).
    """
    # Identity encoding keeps Content-Length equal to the bytes we count and hash.
    with open_stream(url, timeout=timeout, session=session,
                     headers={"Accept-Encoding": "identity"}) as response:
        status = response.status_code
        if status == 429 or status >= 500:
            raise _RetryableError(
                f"HTTP {status} ({response.reason}) from {url}", _retry_after_seconds(response)
            )
        if status >= 400:
            raise DownloadError(
                f"GET {url} failed with HTTP {status} ({response.reason}); client errors are "
                "permanent, not retrying (check the model id, revision and file name)"
            )
        bar = progress_bar(total=content_length(response), unit="B", unit_scale=True,
                           unit_divisor=1024, desc=dest.name, progress=progress)

        def write(chunk: bytes) -> None:
            fh.write(chunk)
            bar.update(len(chunk))

        try:
            with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
                try:
                    body = read_body(response, write)
                except BodyTruncated as exc:
                    raise _RetryableError(f"truncated body from {url}: {exc}") from None
                fh.flush()
                if expected_sha256 is not None and body.sha256 != expected_sha256.lower():
                    # The body arrived whole (length checked), so a different digest means the
                    # expectation or the hosted file is wrong; retrying would not help.
                    raise DownloadError(
                        f"sha256 mismatch for {url}: expected {expected_sha256.lower()}, "
                        f"got {body.sha256}"
                    )
        finally:
            bar.close()


def _timeout_pair(timeout: float | tuple[float, float]) -> tuple[float, float]:
    """``requests``' timeout as an explicit ``(connect, read)`` pair."""
    return (float(timeout), float(timeout)) if not isinstance(timeout, tuple) else timeout


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    retries: int = 3,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    deadline: float | None = DEFAULT_DEADLINE,
    backoff: float = 0.5,
    progress: bool | None = False,
    expected_sha256: str | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download ``url`` to ``dest`` with retries, never leaving a partial file behind.

    Transient failures (connection errors, timeouts, truncated bodies, HTTP 5xx and 429) are
    retried with exponential back-off (``backoff * 2**k`` seconds, or the server's numeric
    ``Retry-After`` if larger, capped at 30 s), as long as ``deadline`` seconds have not
    passed since the first attempt; each retry is logged, so a slow failure is never silent.
    Other 4xx statuses fail at once: asking again for a file that does not exist only
    wastes time.

    Args:
        url: the file URL.
        dest: final path; written only once the full body has arrived and been verified.
        retries: most attempts (at least 1).
        timeout: ``requests`` timeout, ``(connect, read)`` seconds; the read timeout bounds
            each wait for data, so a large file on a slow but live link still completes.
        deadline: no attempt starts, and no retry waits, past this many seconds after the
            first one (None: only ``retries`` limits them).
        backoff: base delay in seconds before the second attempt; doubles each time.
        progress: a byte-count progress bar on stderr (None: when stderr is a terminal or
            in a notebook, see :mod:`duguang_ocr.progress`).
        expected_sha256: if given, the hex digest the body must have.
        session: a ``requests.Session`` to reuse connections across files.

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        OfflineError: ``$DUGUANG_OCR_OFFLINE`` is set.
        DownloadError: a permanent failure, or all attempts failed; the message names the URL.
    """
    dest = Path(dest)
    if is_offline():
        raise OfflineError(f"offline mode ({OFFLINE_ENV} is set): refusing to download {url}")
    attempts = max(1, int(retries))
    connect, read = _timeout_pair(timeout)
    started = time.monotonic()
    stop_at = None if deadline is None else started + deadline
    own_session = session is None
    sess = requests.Session() if session is None else session
    last_error: BaseException | None = None
    why = ""
    try:
        for attempt in range(attempts):
            retry_after: float | None = None
            left = None if stop_at is None else max(stop_at - time.monotonic(), 1.0)
            try:
                attempt_timeout = (connect, round(min(read, left or read), 1))
                _fetch_once(sess, url, dest, attempt_timeout, progress, expected_sha256)
                return dest
            except DownloadError:
                raise
            except _RetryableError as exc:
                last_error, why, retry_after = exc, str(exc), exc.retry_after
            except _TRANSIENT as exc:
                last_error, why = exc, root_cause(exc)
            except requests.RequestException as exc:
                # Malformed URL, too many redirects, ...: retrying cannot fix these.
                raise DownloadError(f"GET {url} failed: {exc}") from exc
            delay = max(backoff * (2**attempt), retry_after or 0.0)
            left = None if stop_at is None else stop_at - time.monotonic()
            if attempt + 1 == attempts or (left is not None and left <= delay):
                break
            logger.warning("%s: %s; retrying in %.1f s (attempt %d of %d)",
                           dest.name, why, delay, attempt + 2, attempts)
            _sleep(delay)
    finally:
        if own_session:
            sess.close()
    raise DownloadError(
        f"GET {url} failed after {attempt + 1} attempt(s) in "
        f"{time.monotonic() - started:.1f} s; last error: {why}"
    ) from last_error


def snapshot_dir(
    model_id: str, revision: str = "master", cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Local directory of one model revision: ``<cache>/models/<ns>--<name>/<revision>/``.

    ``/`` becomes ``--`` so each id maps to a single directory level, mirroring the
    Hugging Face cache layout users already know.

    Raises:
        ValueError: ``model_id`` or ``revision`` could escape the cache directory.
    """
    parts = model_id.split("/")
    if any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ValueError(f"invalid model id {model_id!r}")
    rev = revision.replace("/", "--")
    if rev in ("", ".", "..") or "\\" in rev:
        raise ValueError(f"invalid revision {revision!r}")
    return _cache_root(cache_dir) / "models" / "--".join(parts) / rev


def _check_filename(name: str) -> None:
    """Reject file names that are absolute or climb out of the snapshot directory."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid model file name {name!r}")


def is_complete(directory: Path, files: Iterable[str] = MODEL_FILES) -> bool:
    """Whether ``directory`` holds a finished snapshot of ``files``.

    The marker is written last, so its presence proves an earlier run got through every file;
    checking the files too catches ones deleted afterwards or a request for extra files.
    """
    return (directory / COMPLETE_MARKER).is_file() and all(
        (directory / name).is_file() for name in files
    )


def _manual_steps(model_id: str, revision: str, directory: Path, missing: list[str],
                  endpoint: str | None) -> str:
    """How to put a model in place by hand: the files, their URLs and where they go.

    Shared by the offline refusal and by failed downloads, so both end in the same next step.
    """
    listing = "\n".join(
        f"  {name}: {file_url(model_id, name, revision, endpoint)}" for name in missing
    )
    return (
        f"Or download these files on a machine with access and copy them into {directory} "
        f"(then create an empty {COMPLETE_MARKER} file there):\n{listing}"
    )


def _prune_empty_dirs(directory: Path, root: Path) -> None:
    """Remove ``directory`` and its parents up to (not including) ``root`` while they are
    empty, so a failed first download leaves no empty model folder behind that looks like
    a cached model (a folder with any file in it, a live writer's temp included, stays)."""
    directory, root = directory.absolute(), root.absolute()
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty, or already gone
            return
        directory = directory.parent


def _fetch_missing(model_id: str, revision: str, directory: Path, missing: list[str],
                   endpoint: str | None, progress: bool | None) -> None:
    """Download ``missing`` into ``directory``; on failure remove what is left empty and
    raise a :class:`DownloadError` that says what to try next."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with requests.Session() as session:
            sha256 = hub_sha256(model_id, revision, endpoint, session) if missing else {}
            for name in missing:
                target = directory / name
                remove_stale_temps(target)
                # Module constants read at call time, so a deployment (or a test) can tune them.
                download_file(file_url(model_id, name, revision, endpoint), target,
                              timeout=DEFAULT_TIMEOUT, deadline=DEFAULT_DEADLINE,
                              progress=progress, session=session,
                              expected_sha256=sha256.get(name))
    except DownloadError as exc:
        _prune_empty_dirs(directory, directory.parents[2])
        still = [name for name in missing if not (directory / name).is_file()]
        raise DownloadError(
            f"could not download model {model_id!r} (revision {revision!r}) from "
            f"{resolve_endpoint(endpoint)}: {exc}\n"
            f"Check the network or proxy (HTTPS_PROXY), or point {ENDPOINT_ENV} at a mirror "
            f"of the hub, then run again: files already fetched are kept.\n"
            + _manual_steps(model_id, revision, directory, still, endpoint)
        ) from exc


def snapshot_download(
    model_id: str,
    *,
    revision: str = "master",
    cache_dir: str | os.PathLike[str] | None = None,
    endpoint: str | None = None,
    files: Iterable[str] = MODEL_FILES,
    progress: bool | None = None,
) -> Path:
    """Make sure a model's files are in the local cache and return their directory.

    A snapshot counts as present only when every file exists *and* the ``.complete`` marker
    does; the marker is written after the last file, so an interrupted run is detected and the
    next call fetches just the files still missing (files are written atomically, so one that
    exists under its final name is whole). A failed download removes the folders it created
    if they are still empty, and its error lists the URLs and the folder for a manual copy.

    Args:
        model_id: ModelScope id such as ``"iic/cv_convnextTiny_ocr-recognition-general_damo"``
            or an alias from :data:`duguang_ocr.hub.aliases.ALIASES`.
        revision: branch or tag on the hub.
        cache_dir: cache root override (see :func:`duguang_ocr.hub.cache.cache_dir`).
        endpoint: hub base URL override (see :func:`resolve_endpoint`).
        files: file names to fetch.
        progress: per-file byte progress bars (None: when stderr is a terminal or in a
            notebook).

    Returns:
        The snapshot directory.

    Raises:
        OfflineError: files are missing and ``$DUGUANG_OCR_OFFLINE`` is set.
        DownloadError: a file could not be downloaded.
        ValueError: malformed model id, revision or file name.
    """
    model_id = ALIASES.get(model_id, model_id)
    names = list(dict.fromkeys(files))
    for name in names:
        _check_filename(name)
    directory = snapshot_dir(model_id, revision, cache_dir)
    if is_complete(directory, names):
        return directory

    missing = [name for name in names if not (directory / name).is_file()]
    if is_offline():
        what = ", ".join(missing) or f"{COMPLETE_MARKER} marker (an earlier download stopped)"
        raise OfflineError(
            f"model {model_id!r} (revision {revision!r}) is not fully cached in {directory} and "
            f"offline mode is on ({OFFLINE_ENV}={os.environ.get(OFFLINE_ENV)!r}).\n"
            f"Missing: {what}.\n"
            f"Unset {OFFLINE_ENV} and run again with network access.\n"
            + _manual_steps(model_id, revision, directory, missing, endpoint)
        )
    _fetch_missing(model_id, revision, directory, missing, endpoint, progress)
    manifest = {
        "model_id": model_id,
        "revision": revision,
        "files": {name: (directory / name).stat().st_size for name in names},
    }
    atomic_write_bytes(directory / COMPLETE_MARKER, json.dumps(manifest, indent=2).encode())
    return directory
