"""Chat text is written by strangers: make it safe where a report leaves the tool."""

from __future__ import annotations

import re


def safe_cell(v):
    """Spreadsheet-safe cell: a leading = + - @ (or tab/CR) would run as a formula."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def mask_pii(text: str) -> str:
    """Mask phones, landlines, ID-card numbers and street addresses (qc/pii) before a
    report leaves the team."""
    from .pii import mask

    return mask(text)


# Terminal control: ESC sequences (CSI/OSC/…), other C0 controls but \t and \n, DEL, C1
# controls, and bidi overrides that reorder what a reviewer reads (Trojan-source style).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def for_terminal(v) -> str:
    """Text safe to print: escape sequences removed, other control characters shown as
    U+FFFD so a reviewer sees that something was there. Rich markup is not interpreted by
    our tables (cells are rich Text), so `[/x]` in chat text prints as typed."""
    if v is None:
        return ""
    s = str(v)
    if "\x1b" in s:
        s = _ANSI.sub("\ufffd", s)
    return _CONTROL.sub("\ufffd", s)


# Characters openpyxl refuses in a cell (XML 1.0 forbids them).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def for_sheet(v):
    """A spreadsheet cell: formulas neutralised and XML-illegal characters replaced."""
    if isinstance(v, str):
        v = _XML_ILLEGAL.sub("\ufffd", v)
    return safe_cell(v)
