"""Text normalisation shared by lexicons and messages (so both sides match alike)."""

from __future__ import annotations

import re
import unicodedata

_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20


def normalize(s: str) -> str:
    """Full-width ASCII -> half-width, latin lower-case. Keeps length stable per character,
    so spans found on normalised text are spans of the original text."""
    if not s:
        return ""
    return s.translate(_FULLWIDTH).lower()


# Sticker codes exported by Taobao/Qianniu look like [微笑] or /:^_^
_STICKER = re.compile(r"\[[^\[\]]{1,6}\]|/:[^\s]{1,4}")
_KEEP = re.compile(r"[\w\u4e00-\u9fff]+")


def strip_for_compare(s: str) -> str:
    """Remove whitespace, punctuation, emoji and sticker codes: 'near-same' replies compare equal."""
    s = _STICKER.sub("", normalize(s))
    return "".join(_KEEP.findall(s))


def is_emoji_only(text: str) -> bool:
    """True when the message carries no words: only emoji, sticker codes, punctuation."""
    if not text or not text.strip():
        return False
    s = _STICKER.sub("", text)
    for ch in s:
        if ch.isspace():
            continue
        cat = unicodedata.category(ch)
        if cat.startswith(("L", "N")) and not (0x1F000 <= ord(ch) <= 0x1FAFF):
            return False
    return True
