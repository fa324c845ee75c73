"""Chat text is written by strangers: make it safe where a report leaves the tool."""

from __future__ import annotations

import re


def safe_cell(v):
    """Spreadsheet-safe cell: a leading = + - @ (or tab/CR) would run as a formula."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_PROVINCES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|"
              "四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门")
# From a province/municipality through the street number (…路88号, …3栋2单元501室).
_ADDRESS = re.compile(
    rf"(?:{_PROVINCES})(?:省|市|自治区|特别行政区)?[\u4e00-\u9fffA-Za-z0-9\-]{{2,40}}?(?:号|室|栋|幢|单元)"
    r"(?:[0-9A-Za-z\-]+(?:号|室|栋|幢|单元))*"
)


def mask_pii(text: str) -> str:
    """Mask mainland mobile numbers (138****5678) and street addresses (〔地址已隐藏〕)
    before a report leaves the team."""
    if not text:
        return text
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _ADDRESS.sub("〔地址已隐藏〕", text)


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
