"""Chat text is written by strangers: make it safe where a report leaves the tool."""

from __future__ import annotations

import re


def safe_cell(v):
    """Spreadsheet-safe cell: a leading = + - @ (or tab/CR) would run as a formula."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ADDRESS = re.compile(r"([\u4e00-\u9fff]{2,}(?:省|市|区|县|镇|街道|路|街|号|栋|单元|室))+")


def mask_pii(text: str) -> str:
    """Mask mainland mobile numbers (138****5678) and street addresses (〔地址已隐藏〕)
    before a report leaves the team."""
    if not text:
        return text
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _ADDRESS.sub("〔地址已隐藏〕", text)
