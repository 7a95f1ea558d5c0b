"""One progress-bar convention for every long-running call, library and command line alike.

``progress=None`` (the default everywhere) means *automatic*: a bar on stderr when stderr is
a terminal, or a widget in a Jupyter notebook, and nothing when output goes to a file or a
pipe, where bar redraws would only litter logs. ``True`` and ``False`` force it either way
(the command line's ``--progress`` / ``--no-progress``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (whose stderr is not a terminal, yet shows a
    progress widget well)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress: bool | None = None) -> bool:
    """Resolve ``progress`` (None: automatic, see the module docstring) to on or off."""
    if progress is not None:
        return bool(progress)
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        tty = False
    return tty or in_notebook()


def progress_bar(iterable: Iterable | None = None, *, total: float | None = None,
                 desc: str | None = None, unit: str = "it", progress: bool | None = None,
                 **kwargs: Any):
    """A ``tqdm`` bar (``tqdm.auto``: a widget in notebooks) on stderr, disabled unless
    :func:`progress_enabled`. Iterate it to count the items of ``iterable``, or use it as a
    context manager and call ``.update(n)``; ``.write(msg)`` works whether or not it shows."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit,
                disable=not progress_enabled(progress), dynamic_ncols=True, **kwargs)


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--no-progress`` on an ``argparse`` parser (dest ``progress``,
    default None: automatic), so every long command spells the choice the same way."""
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: only when stderr is a "
                        "terminal)")
