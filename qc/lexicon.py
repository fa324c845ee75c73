"""Lexicon files: `phrase | field | field  # comment`, validated at load.

A bad entry (unknown category or severity, empty phrase, duplicate phrase, wrong number of
fields) fails at load with `file:line`, so a typo never silently weakens a rule.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError
from .paths import LEXICON_DIR

SEVERITIES = ("low", "medium", "high", "redline")
FORBIDDEN_CATEGORIES = ("推诿", "不耐烦", "讥讽", "责怪", "命令", "硬拒议价", "辱骂")
COMPLAINT_KINDS = ("破损", "错发", "少件", "故障", "物流", "退款纠纷", "质量", "服务")

# file name -> (field names after the phrase, allowed values per field or None)
SCHEMAS: dict[str, tuple[tuple[str, tuple[str, ...] | None], ...]] = {
    "forbidden.txt": (("category", FORBIDDEN_CATEGORIES), ("severity", SEVERITIES)),
    "complaint.txt": (("kind", COMPLAINT_KINDS),),
}


@dataclass(frozen=True)
class Entry:
    phrase: str
    fields: dict[str, str]
    file: str
    line: int

    @property
    def source(self) -> str:
        return f"lexicons/{self.file}:{self.line}"


@dataclass(frozen=True)
class Lexicon:
    name: str
    entries: tuple[Entry, ...]
    sha: str  # content hash: findings cite it as the lexicon version

    @property
    def phrases(self) -> list[str]:
        return [e.phrase for e in self.entries]

    @property
    def version(self) -> str:
        return f"{self.name}@{self.sha[:8]}"

    def by_phrase(self) -> dict[str, Entry]:
        return {e.phrase: e for e in self.entries}


def normalize_phrase(s: str) -> str:
    """Same normalisation as message text (qc.text.normalize): full-width -> half-width, lower."""
    from .text import normalize

    return normalize(s)


def parse_lexicon(path: Path) -> Lexicon:
    name = path.name
    schema = SCHEMAS.get(name, ())
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "-", f"不是 UTF-8 编码 (not UTF-8): {exc}") from None
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        body = line
        # '#' starts a comment; a phrase that must contain '#' is not supported on purpose.
        if "#" in body:
            body = body[: body.index("#")]
        if not body.strip():
            continue
        # `\|` is a literal bar (a regex alternation in a pattern file), not a field separator
        parts = [p.strip().replace("\\|", "|") for p in re.split(r"(?<!\\)\|", body)]
        phrase = normalize_phrase(parts[0])
        if not phrase:
            raise ConfigError(path, f"line {lineno}", "空词条 (empty phrase)")
        if len(parts) - 1 != len(schema):
            want = " | ".join(["phrase"] + [f for f, _ in schema])
            raise ConfigError(path, f"line {lineno}", f"字段数不对 (expected: {want}), got {line.strip()!r}")
        fields = {}
        for (fname, allowed), value in zip(schema, parts[1:]):
            if allowed is not None and value not in allowed:
                raise ConfigError(path, f"line {lineno}", f"未知{fname} {value!r}; allowed: {', '.join(allowed)}")
            fields[fname] = value
        if phrase in seen:
            raise ConfigError(path, f"line {lineno}", f"重复词条 {phrase!r} (first at line {seen[phrase]})")
        seen[phrase] = lineno
        entries.append(Entry(phrase, fields, name, lineno))
    if not entries:
        raise ConfigError(path, "-", "词库为空 (lexicon has no entries)")
    return Lexicon(name.removesuffix(".txt"), tuple(entries), hashlib.sha256(raw).hexdigest())


@lru_cache(maxsize=None)
def load(name: str, directory: str | None = None) -> Lexicon:
    d = Path(directory) if directory else LEXICON_DIR
    path = d / f"{name}.txt"
    if not path.exists():
        raise ConfigError(path, "-", "词库文件不存在 (lexicon file not found)")
    return parse_lexicon(path)
