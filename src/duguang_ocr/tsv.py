"""Tab-separated output that stays one record per line, whatever the names and texts hold.

File names may contain tabs or newlines, and labels read from other people's data may too;
written raw, either would split or shift a row of ``recognize``'s ``INPUT<TAB>TEXT`` output
or of an ``errors.tsv``. Fields are escaped the way PostgreSQL's text format and many TSV
readers expect: backslash, tab, newline and carriage return become ``\\\\``, ``\\t``,
``\\n`` and ``\\r``. Ordinary text passes through unchanged.
"""

from __future__ import annotations

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape_field(value: object) -> str:
    """``value`` as one TSV field.

    >>> escape_field("a\\tb\\nc"), escape_field("读光 ¥5"), escape_field(3)
    ('a\\\\tb\\\\nc', '读光 ¥5', '3')
    """
    return str(value).translate(_ESCAPES)


def tsv_row(*fields: object) -> str:
    """The fields escaped and joined by tabs (no line end)."""
    return "\t".join(map(escape_field, fields))
