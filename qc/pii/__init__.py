"""PII recognisers: phone numbers, landlines, ID-card numbers and street addresses in chat
text, masked where data leaves the team (CSV/Excel exports, reports, jsonl by default).

One recogniser per kind (presidio-style), each a compiled pattern and a replacement, run
in a fixed order by `mask()`; tests/test_pii.py has one test per kind. Full-width digits
(１３８…) are matched like ASCII ones, so a masked text never leaks a number written that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_D = "[0-9０-９]"              # a digit, ASCII or full-width
_SEP = "[ \\-－\u00a0]?"       # an optional space or dash between digit groups


@dataclass(frozen=True)
class Recognizer:
    kind: str
    pattern: re.Pattern
    replace: Callable[[re.Match], str]


def _keep_ends(m: re.Match, head: int = 3, tail: int = 4) -> str:
    digits = [c for c in m.group(0) if c.isdigit()]
    return "".join(digits[:head]) + "*" * max(4, len(digits) - head - tail) + "".join(digits[-tail:])


RECOGNIZERS: tuple[Recognizer, ...] = (
    # 18-digit resident ID card (the last character may be X): before phones, which it contains
    Recognizer("id_card", re.compile(rf"(?<![0-9０-９])[1-9１-９]{_D}{{5}}(?:19|20|１９|２０){_D}{{2}}{_D}{{2}}{_D}{{2}}{_D}{{3}}[0-9０-９Xx](?![0-9０-９])"),
               lambda m: m.group(0)[:2] + "*" * 12 + m.group(0)[-4:]),
    # mainland mobile: 1[3-9]x xxxx xxxx, optionally +86 / 86 / 0086, spaces or dashes between groups
    Recognizer("mobile", re.compile(
        rf"(?<![0-9０-９])(?:(?:\+|＋|00)?(?:86|８６){_SEP})?[1１][3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}(?![0-9０-９])"),
        lambda m: _keep_ends(m, 3 + (2 if re.match(r"[+＋0]?0?(86|８６)", m.group(0)) else 0), 4)),
    # landline with area code: 0571-88886666, (0571)8888-6666, 010 12345678
    Recognizer("landline", re.compile(
        rf"(?<![0-9０-９])(?:[(（]?0{_D}{{2,3}}[)）]?{_SEP}){_D}{{3,4}}{_SEP}{_D}{{4}}(?![0-9０-９])"),
        lambda m: _keep_ends(m, 4, 2)),
)

_PROVINCES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|"
              "四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门")
# From a province, a city (…市) or a district (…区/县) through the street number and the
# building/unit/room (…路88号3栋2单元501室). Requires a street-level marker, so 杭州发货 or
# 上海仓 stay readable.
_ADDRESS = re.compile(
    r"(?P<lead>寄到|送到|发到|改成|改为|地址是|地址[:：]?|收货地址[:：]?|到|在|是)?"
    rf"(?:(?:{_PROVINCES})(?:省|市|自治区|特别行政区)?|[\u4e00-\u9fff]{{2,3}}(?:市|区|县))"
    rf"[\u4e00-\u9fffA-Za-z0-9０-９\-]{{0,30}}?(?:路|街|道|巷|弄|大道|村|镇|小区|花园|大厦)"
    rf"[\u4e00-\u9fffA-Za-z0-9０-９\-]{{0,12}}?(?:号|室|栋|幢|单元|楼)"
    r"(?:[0-9０-９A-Za-z\-]+(?:号|室|栋|幢|单元|楼|层))*"
)
RECOGNIZERS += (Recognizer("address", _ADDRESS, lambda m: (m.group("lead") or "") + "〔地址已隐藏〕"),)


def find(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every PII span, in the recognisers' order (for tests and audits)."""
    out = []
    for r in RECOGNIZERS:
        out += [(r.kind, m.start(), m.end()) for m in r.pattern.finditer(text or "")]
    return out


def mask(text):
    """The text with every recognised PII span replaced; non-strings pass through."""
    if not isinstance(text, str) or not text:
        return text
    for r in RECOGNIZERS:
        text = r.pattern.sub(r.replace, text)
    return text
