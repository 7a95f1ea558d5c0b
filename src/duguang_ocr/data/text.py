"""Label text normalisation shared by every data set reader.

Scanned and typed Chinese documents mix full-width Latin letters, digits and punctuation
(``ＡＢＣ１２３，``) with their ASCII forms; a recognizer whose vocabulary holds only one of
the two would be penalised for an invisible difference, so labels are folded to ASCII.
"""

from __future__ import annotations

# U+FF01..U+FF5E are the full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII variants (U+FF01..U+FF5E) and U+3000 to their ASCII forms.

    Everything else, Chinese characters and CJK punctuation such as ``。`` and ``、``
    included, is returned unchanged.

    >>> to_halfwidth("ＯＣＲ识别，２０２４")
    'OCR识别,2024'
    """
    return text.translate(_HALFWIDTH)
