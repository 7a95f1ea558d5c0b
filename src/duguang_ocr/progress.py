"""One progress-bar convention for every long-running call, library and command line alike.

``progress=None`` (the default everywhere) means *automatic*: a bar on stderr when stderr is
a terminal, or a widget in a Jupyter notebook, and nothing when output goes to a file or a
pipe, where bar redraws would only litter logs. ``True`` and ``False`` force it either way
(the command line's ``--progress`` / ``--no-progress``).
"""

from __future__ import annotations

import sys
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


def progress_bar(*, total: float | None = None, desc: str | None = None, unit: str = "it",
                 progress: bool | None = None, **kwargs: Any):
    """A ``tqdm`` bar (``tqdm.auto``: a widget in notebooks) on stderr, disabled unless
    :func:`progress_enabled`. Use it as a context manager; ``.update(n)`` and ``.write(msg)``
    work whether or not it shows."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress_enabled(progress),
                dynamic_ncols=True, **kwargs)
