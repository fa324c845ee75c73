"""Ingest chat messages and orders from JSONL / JSON / CSV files into DuckDB.

How it works, per file (each file is one transaction, so a later file de-duplicates
against an earlier one in the same call):

1. Python reads the bytes and decodes them: UTF-8 (with or without BOM), else GB18030
   (a superset of GBK/GB2312). A file that is mostly one encoding with a few broken lines
   is decoded line by line and the broken lines are quarantined.
2. The lines (JSONL), items (JSON array) or rows (CSV) are staged into DuckDB as one
   Arrow table with their line numbers. No per-row Python validation: JSON parsing,
   header aliases, role/time normalisation and every check are set-wise SQL
   (`qc/sql/ingest_*.sql`).
3. Bad rows go to `quarantine` with file, line, field and reason; good rows are
   de-duplicated by a content key (`msg_key`) and inserted; touched conversations are
   re-derived and marked for (re-)inspection.

Always: read = ingested + duplicate + quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow as pa

from . import arrowcols, lexicon, sqlfiles
from .faults import point
from .config import Config, load_config
from .errors import InputFileError
from .paths import SQL_DIR

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}

# Canonical field -> accepted header/key aliases (common exports of 千牛/京麦/咚咚 and
# spreadsheet hand-offs). Compared after lower-casing and removing spaces, '_' and '-'.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    # chats
    "conversation_id": ("conversation_id", "会话ID", "会话id", "会话编号", "会话", "对话ID", "session_id", "chat_id"),
    "seq": ("seq", "序号", "消息序号", "message_seq"),
    "ts": ("ts", "时间", "发送时间", "消息时间", "timestamp", "time", "datetime"),
    "role": ("role", "发送人", "角色", "发送方", "发送者角色", "sender_role", "sender"),
    "agent_id": ("agent_id", "客服", "客服账号", "客服ID", "客服昵称", "子账号", "接待客服"),
    "customer_id": ("customer_id", "买家", "顾客", "买家昵称", "买家ID", "客户ID", "buyer_id", "buyer"),
    "shop_id": ("shop_id", "店铺", "店铺ID", "店铺名称", "shop"),
    "queue": ("queue", "队列", "分组", "接待组", "客服分组"),
    "text": ("text", "内容", "消息内容", "聊天内容", "content", "message"),
    "msg_type": ("msg_type", "消息类型", "类型", "type"),
    "sku": ("sku", "sku_id", "商品ID", "商品编号", "商品编码", "货号"),
    # orders
    "order_id": ("order_id", "订单号", "订单编号", "订单ID"),
    "created_at": ("created_at", "下单时间", "创建时间", "订单创建时间"),
    "paid_at": ("paid_at", "付款时间", "支付时间"),
    "amount": ("amount", "金额", "实付金额", "订单金额", "付款金额", "实付款"),
}
CANONICAL = tuple(FIELD_ALIASES)

# Role values -> canonical role. A value containing ':' (e.g. 大焊:小李, a Taobao sub-account)
# is an agent account: role agent, and it fills agent_id when that is missing.
ROLE_ALIASES = {
    "customer": ("customer", "buyer", "user", "买家", "顾客", "客户", "用户", "会员", "访客"),
    "agent": ("agent", "seller", "staff", "客服", "卖家", "商家", "人工", "人工客服", "售前", "售后"),
    "bot": ("bot", "robot", "机器人", "店小蜜", "智能客服", "自动回复", "阿里店小蜜", "京小智"),
    "system": ("system", "系统", "系统消息", "通知"),
}
MSG_TYPE_ALIASES = {
    "text": ("text", "文字", "文本", "txt"),
    "emoji": ("emoji", "表情", "sticker", "动画表情"),
    "image": ("image", "图片", "img", "picture"),
    "card": ("card", "卡片", "商品卡片", "链接", "商品链接", "link"),
    "order": ("order", "订单", "订单卡片"),
}
QUEUE_ALIASES = {
    "presales": ("presales", "pre-sales", "pre_sales", "售前"),
    "aftersales": ("aftersales", "after-sales", "after_sales", "售后"),
}


def _norm_key(k: str) -> str:
    return "".join(ch for ch in str(k).strip().lower() if ch not in " _-\ufeff")


_ALIAS_INDEX = {_norm_key(a): canon for canon, aliases in FIELD_ALIASES.items() for a in aliases}


@dataclass
class FileReport:
    file: str
    kind: str = ""  # jsonl | json | csv
    encoding: str = ""
    read: int = 0
    ingested: int = 0
    duplicate: int = 0
    quarantined: int = 0
    orders_ingested: int = 0
    late_conversations: int = 0
    error: str | None = None


@dataclass
class IngestReport:
    run_id: int
    files: list[FileReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # files in folders that are not chat/order exports

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def ok(self) -> bool:
        return all(f.error is None for f in self.files)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "files": len(self.files),
            "read": self.total("read"),
            "ingested": self.total("ingested"),
            "duplicate": self.total("duplicate"),
            "quarantined": self.total("quarantined"),
            "orders_ingested": self.total("orders_ingested"),
            "late_conversations": self.total("late_conversations"),
            "errors": [f"{f.file}: {f.error}" for f in self.files if f.error],
            "skipped": list(self.skipped),
        }


# --------------------------------------------------------------------------- reading


def iter_input_files(paths: Iterable[str | Path], skipped: list | None = None) -> list[Path]:
    """Files and folders (recursively) of .jsonl/.ndjson/.json/.csv, in a stable order. Other
    files found in a folder are appended to `skipped` (the CLI names them: nothing is
    silently ignored). A file named directly is always tried (and refused with a reason)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                if f.suffix.lower() in SUFFIXES:
                    out.append(f)
                elif skipped is not None and not f.name.startswith("."):
                    skipped.append(str(f))
        else:
            out.append(p)
    return out


def _decode(raw: bytes) -> tuple[str, str, list[tuple[int, str]]]:
    """Decode a whole file. Returns (text, encoding, bad_lines) where bad_lines are
    (line number, reason) of lines that could not be decoded (their text is blanked so
    line numbers stay right).

    A file that is all UTF-8 is UTF-8. Otherwise it is decoded line by line: a line that is
    valid UTF-8 is UTF-8 (exports concatenated from two tools mix encodings, and GB18030
    would decode UTF-8 bytes into mojibake without an error: 你好 -> 浣犲ソ), any other line
    GB18030 (a superset of GBK/GB2312); a line neither can decode is quarantined."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, bom = raw[3:], True
    else:
        bom = False
    try:
        return raw.decode("utf-8"), ("utf-8-sig" if bom else "utf-8"), []
    except UnicodeDecodeError:
        pass
    out, bad = [], []
    used = {"utf-8": 0, "gb18030": 0}
    for i, ln in enumerate(raw.split(b"\n"), start=1):
        try:
            u = ln.decode("utf-8")
        except UnicodeDecodeError:
            u = None
        try:
            g = ln.decode("gb18030")
        except UnicodeDecodeError as exc:
            g, err_at = None, exc.start
        if u is not None and (g is None or u == g or _plausible(u) >= _plausible(g)):
            # a few GBK byte pairs are also valid UTF-8 ([微笑] -> [΢Ц]): when a line reads
            # both ways, the reading that looks like Chinese chat wins; ties go to UTF-8
            out.append(u)
            if u != g:
                used["utf-8"] += 1
        elif g is not None:
            out.append(g)
            used["gb18030"] += 1
        else:
            out.append("")
            bad.append((i, f"无法解码的字节 (undecodable bytes: neither UTF-8 nor GB18030) at byte {err_at}"))
    enc = "gb18030" if not used["utf-8"] else "gb18030+utf-8" if used["gb18030"] else "utf-8"
    return "\n".join(out), enc, bad


def _plausible(text: str) -> float:
    """Share of characters a Chinese chat export is made of: ASCII, CJK ideographs, CJK
    punctuation, full-width forms, emoji. Mojibake (Greek, Cyrillic, kana, rare CJK
    extensions) scores lower."""
    if not text:
        return 1.0
    ok = sum(1 for c in text if c < "\x80" or "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
             or "\uff00" <= c <= "\uffef" or c >= "\U0001f300")
    return ok / len(text)


@dataclass
class Staged:
    """A file's rows as Arrow, plus the rows already rejected while reading."""

    kind: str
    encoding: str
    table: pa.Table  # columns: line, raw, json_ok, + CANONICAL (strings)
    pre_bad: list[tuple[int, str, str, str]]  # (line, field, reason, raw)
    sha256: str  # of the file's bytes: quarantine rows are keyed by it


_NL_BLOCK = 1 << 24      # newline search block: a bool mask of 16 MB at a time, not of the whole file
_NOT_SPACE = re.compile(rb"[^ \t\r\n\x0b\x0c]")     # what bytes.strip() keeps


def _first_byte(buf) -> bytes:
    """The first byte that is not ASCII whitespace (b'' for none), of bytes or a memoryview."""
    m = _NOT_SPACE.search(buf)
    return m.group() if m else b""


def _split_lines_fast(data: bytes) -> pa.Table | None:
    """Lines -> Arrow without copying them: numpy finds the newlines, and the `raw` column is
    a string array whose offsets point into `data` itself, each line keeping its line end
    (JSON allows the trailing whitespace; `staged_raw` strips it for quarantine rows). Row i
    is line i+1 (empty lines are kept; blank lines are dropped in SQL, see _stage_view).
    Returns None when the bytes are not valid UTF-8; the caller then takes the careful path.
    Arrow's CSV reader (one unsplittable column) did the same in 1.06 s for a 308 MB day,
    copying every line; this takes 0.28 s (December 2026). `_split_lines` is the reference:
    tests/test_ingest.py (the fast line split test) checks the two give the same database."""
    import numpy as np

    if not _first_byte(data):
        return pa.table({"line": pa.array([], pa.int64()), "raw": pa.array([], pa.string())})
    a = np.frombuffer(data, np.uint8)
    ends = [np.flatnonzero(a[i:i + _NL_BLOCK] == 10) + (i + 1) for i in range(0, len(a), _NL_BLOCK)]
    n_ends = sum(len(e) for e in ends)
    tail = bool(a[-1] != 10)                 # a last line without a line end
    n = n_ends + tail
    large = len(data) >= 2**31 - 1
    offsets = np.empty(n + 1, np.int64 if large else np.int32)
    offsets[0] = 0
    np.concatenate(ends, out=offsets[1:n_ends + 1], casting="unsafe")
    if tail:
        offsets[n] = len(data)
    raw = (pa.LargeStringArray if large else pa.StringArray).from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        raw.validate(full=True)           # UTF-8
    except pa.ArrowInvalid:
        return None
    return pa.table({"line": arrowcols.numbers(np.arange(1, n + 1, dtype=np.int64)), "raw": raw})


def _split_lines(text: str, bad_lines: set[int]) -> pa.Table:
    lines, raws = [], []
    for i, ln in enumerate(text.split("\n"), start=1):
        s = ln.strip()
        if s and i not in bad_lines:
            lines.append(i)
            raws.append(s)
    return _json_table(lines, raws)


def _json_table(lines: list[int], raws: list[str]) -> pa.Table:
    return pa.table({"line": pa.array(lines, pa.int64()), "raw": pa.array(raws, pa.string())})


def read_file(path: Path) -> Staged:
    if not path.exists():
        raise InputFileError(path, "文件不存在 (file not found)")
    if not path.is_file():
        raise InputFileError(path, "不是文件 (not a regular file)")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFileError(path, f"不支持的文件类型 {path.suffix!r}; 支持 .jsonl .ndjson .json .csv")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"无法读取 (cannot read): {exc}") from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    body = memoryview(raw)[3:] if bom else raw
    if kind == "jsonl" or (kind == "json" and _first_byte(body) != b"["):
        # Fast path: the lines split and UTF-8 checked without a copy, while the file's hash is
        # computed beside it (hashlib holds no GIL on big buffers: 0.28 s of a 308 MB day);
        # anything else (GB18030, damaged bytes) falls through to the careful path below.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-sha") as pool:
            digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())
            table = _split_lines_fast(body)
            sha = digest.result()
        if table is not None:
            return Staged("jsonl", "utf-8-sig" if bom else "utf-8", table, [], sha)
    else:
        sha = hashlib.sha256(raw).hexdigest()
    text, encoding, bad = _decode(raw)
    if bad and len(bad) * 2 > max(1, text.count("\n") + 1):
        raise InputFileError(path, f"无法识别编码: 多数行既不是 UTF-8 也不是 GB18030/GBK ({len(bad)} 行)")
    pre_bad = [(ln, "(整行)", reason, "") for ln, reason in bad]
    if kind == "json" and text.lstrip()[:1] != "[":
        kind = "jsonl"  # a .json file holding one object per line is JSON Lines
    if kind == "jsonl":
        table = None
        if not bad:
            table = _split_lines_fast(text.encode("utf-8") if encoding != "utf-8" else raw)
        if table is None:
            table = _split_lines(text, {b[0] for b in bad})
        return Staged("jsonl", encoding, table, pre_bad, sha)
    if kind == "json":
        lines, raws = _json_array_items(text, pre_bad)
        # For a JSON array, "line" is the item's 1-based position in the array.
        return Staged("json", encoding, _json_table(lines, raws), pre_bad, sha)
    return _read_csv(path, text, encoding, pre_bad, sha)


# A JSON Lines file bigger than INGEST_ONE_PIECE_BYTES is read and ingested in pieces of about
# INGEST_CHUNK_BYTES, each cut at a line end, so the file, its Arrow lines and the staging tables
# of only one piece (and the next one, read ahead) are in memory at a time (3.2M messages: 2.3 GB
# peak as one piece). Each piece is its own transaction; the conversations are rebuilt once,
# after the last piece. A file up to INGEST_ONE_PIECE_BYTES is one piece: every piece costs its
# own commit, checkpoint and staging passes, and a 1M-message day (308 MB) took 0.6-0.9 s longer
# in three pieces than in one (eighth session: faster in 12 of 16 alternating pairs), for a peak
# of 1.51-1.53 GB against 1.31-1.36 GB — within the 2 GB budget.
INGEST_CHUNK_BYTES = 128 << 20
INGEST_ONE_PIECE_BYTES = 384 << 20


def _env_bytes(name: str) -> int | None:
    import os

    v = os.environ.get(name, "")
    try:
        return int(v) if v else None
    except ValueError:
        from .errors import QCError

        raise QCError(f"{name}={v!r}: 不是字节数 (not a number of bytes)") from None


def _chunk_bytes() -> int:
    """The size of a piece (QC_INGEST_CHUNK_BYTES, default 128 MB)."""
    return _env_bytes("QC_INGEST_CHUNK_BYTES") or INGEST_CHUNK_BYTES


def _one_piece_bytes() -> int:
    """The largest file ingested as one piece: QC_INGEST_ONE_PIECE_BYTES, else the piece size
    when QC_INGEST_CHUNK_BYTES is set (asking for small pieces means pieces), else 384 MB."""
    return _env_bytes("QC_INGEST_ONE_PIECE_BYTES") or _env_bytes("QC_INGEST_CHUNK_BYTES") or INGEST_ONE_PIECE_BYTES


def chunked(path: Path) -> bool:
    """Is this file read in pieces? JSON Lines only (a JSON array or a CSV with quoted line
    breaks cannot be cut at an arbitrary line end)."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("jsonl", "json") or not path.is_file() or path.stat().st_size <= _one_piece_bytes():
        return False
    if kind == "json":
        with path.open("rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return head[:1] != b"["
    return True


def read_chunks(path: Path):
    """(staged piece, is it the last) for a big JSON Lines file, in order; line numbers are the
    file's. The file's sha256 (quarantine rows cite it) is computed in a first streaming pass.
    The generator holds one piece at a time (the caller drops it before asking for the next);
    `_read_ahead` asks for the next while the current one is stored, so ingest holds two."""
    size = _chunk_bytes()
    h = hashlib.sha256()
    try:
        total = path.stat().st_size
        with path.open("rb") as f:
            while block := f.read(8 << 20):
                h.update(block)
    except OSError as exc:
        raise InputFileError(path, f"无法读取 (cannot read): {exc}") from None
    sha = h.hexdigest()
    first_line, carry, first, consumed = 1, b"", True, 0
    with path.open("rb") as f:
        while True:
            block = f.read(size)
            data = carry + block
            if not block:
                if data:
                    yield _stage_piece(data, first_line, sha, first), True
                return
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            piece, carry = data[: cut + 1], data[cut + 1:]
            consumed += len(piece)
            n_lines = piece.count(b"\n")
            staged = _stage_piece(piece, first_line, sha, first)
            del piece, data, block
            yield staged, consumed == total
            if consumed == total:
                return
            del staged
            first_line += n_lines
            first = False


def _stage_piece(data: bytes, first_line: int, sha: str, first: bool) -> Staged:
    import pyarrow.compute as pc

    bom = first and data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    off = first_line - 1
    table = _split_lines_fast(body)
    if table is not None:
        table = table.set_column(0, "line", pc.add(table.column("line"), off))
        return Staged("jsonl", "utf-8-sig" if bom else "utf-8", table, [], sha)
    text, encoding, bad = _decode(data)
    table = _split_lines(text, {b[0] for b in bad})
    table = table.set_column(0, "line", pc.add(table.column("line"), off))
    return Staged("jsonl", encoding, table, [(ln + off, "(整行)", reason, "") for ln, reason in bad], sha)


def _json_array_items(text: str, pre_bad: list) -> tuple[list[int], list[str]]:
    """The items of a JSON array, one at a time: a damaged item or a truncated tail costs
    only itself (quarantined with its item number), never the good items before it."""
    dec = json.JSONDecoder()
    i = text.index("[") + 1
    n = len(text)
    lines, raws = [], []
    item = 0

    def skip(i):
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(i)
    if i < n and text[i] == "]":
        return lines, raws
    while i < n:
        item += 1
        try:
            obj, j = dec.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            tail = text[i:i + 200]
            pre_bad.append((item, "(整项)", f"JSON 数组第 {item} 项无法解析，之后的内容也无法读取 (item {item} and the rest "
                                           f"of the array are unreadable: {exc.msg}; the array may be truncated)", tail))
            break
        try:
            raw = json.dumps(obj, ensure_ascii=False)
            raw.encode("utf-8")
        except UnicodeEncodeError:
            pre_bad.append((item, "(整项)", "包含无效的 Unicode 代理字符 (invalid unicode: a lone surrogate such as \\ud800)",
                            json.dumps(obj)[:2000]))
        else:
            lines.append(item)
            raws.append(raw)
        i = skip(j)
        if i < n and text[i] == ",":
            i = skip(i + 1)
            continue
        if i < n and text[i] == "]":
            break
        if i >= n:
            pre_bad.append((item + 1, "(整项)", "JSON 数组没有结束 (the array is truncated: no closing ])", ""))
            break
        pre_bad.append((item + 1, "(整项)", f"JSON 数组第 {item + 1} 项前缺少逗号 (expected , or ])", text[i:i + 200]))
        break
    return lines, raws


# A quoted CSV field may hold newlines (a chat message of several lines), but not this many:
# past it, an opening quote that never closes is a broken row, not a long message.
CSV_MAX_RECORD_LINES = 200


def _csv_records(text: str, width: list):
    """(first physical line, fields, raw) per CSV record; fields is None for a record whose
    quote never closes (within CSV_MAX_RECORD_LINES lines or before the end of the file), or
    whose quoted newlines produce a record that does not parse or does not have the
    header's `width[0]` columns: that one line is rejected and reading resumes on the next
    line, so one stray `"好的` costs one row, not the rows after it."""
    lines = text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        j = i
        state = _quote_state(lines[i], False)
        while state and j + 1 < n and j - i < CSV_MAX_RECORD_LINES:
            j += 1
            state = _quote_state(lines[j], True)
        if state:
            yield i + 1, None, lines[i].rstrip("\r")
            i += 1
            continue
        rec = "\n".join(lines[i:j + 1])
        try:
            # strict: text after a closing quote (`"a"b`) is an error, not glued on
            row = next(csv.reader([rec], strict=True), [])
        except csv.Error:
            # the quote that opened this record was a stray one: reject its first line only
            yield i + 1, None, lines[i].rstrip("\r")
            i += 1
            continue
        if j > i and width and (len(row) != width[0] or any(
                '"' not in ln and ln.count(",") == width[0] - 1 and ln.strip() for ln in lines[i + 1:j])):
            # wrong width, or a line swallowed inside the "quoted field" is itself a whole
            # record: the opening quote was stray
            yield i + 1, None, lines[i].rstrip("\r")
            i += 1
            continue
        yield i + 1, row, rec.rstrip("\r")
        i = j + 1


def _quote_state(line: str, in_quotes: bool) -> bool:
    """Whether a quoted field is still open at the end of `line` (RFC 4180: a quote opens a
    field only at its start; inside, "" is a literal quote). Lines without a quote keep the
    state, so the scan is per character only where a quote occurs."""
    if '"' not in line:
        return in_quotes
    at_start = not in_quotes
    k, n = 0, len(line)
    while k < n:
        ch = line[k]
        if in_quotes:
            if ch == '"':
                if k + 1 < n and line[k + 1] == '"':
                    k += 2
                    continue
                in_quotes = False
        elif ch == '"' and at_start:
            in_quotes = True
        at_start = ch == "," and not in_quotes
        k += 1
    return in_quotes


def _read_csv(path: Path, text: str, encoding: str, pre_bad, sha: str) -> Staged:
    width_known: list = []
    records = _csv_records(text, width_known)
    header = None
    for line, row, raw in records:
        if row is None:
            raise InputFileError(path, f"CSV 表头（第 {line} 行）引号未闭合 (unbalanced quote in the header)")
        if row and any(c.strip() for c in row):
            header = row
            break
    if header is None:
        return Staged("csv", encoding, pa.table({"line": pa.array([], pa.int64()), "raw": pa.array([], pa.string())}), pre_bad, sha)
    mapping: dict[int, str] = {}
    for idx, name in enumerate(header):
        canon = _ALIAS_INDEX.get(_norm_key(name))
        if canon and canon not in mapping.values():
            mapping[idx] = canon
    if "conversation_id" not in mapping.values() and "order_id" not in mapping.values():
        raise InputFileError(
            path,
            f"CSV 表头既没有会话ID也没有订单号 (no conversation_id / order_id column); header: {header}",
        )
    cols: dict[str, list] = {c: [] for c in mapping.values()}
    lines: list[int] = []
    raws: list[str] = []
    width = len(header)
    width_known.append(width)
    for line, row, raw in records:
        if row is None:
            pre_bad.append((line, "(整行)", "CSV 引号未闭合 (unbalanced quote: a field opens with \" and never closes)", raw[:2000]))
            continue
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != width:
            pre_bad.append((line, "(整行)", f"列数不符: 表头 {width} 列, 本行 {len(row)} 列", raw[:2000]))
            continue
        lines.append(line)
        raws.append(raw)
        for idx, canon in mapping.items():
            cols[canon].append(row[idx])
    data = {"line": pa.array(lines, pa.int64()), "raw": pa.array(raws, pa.string())}
    for c, v in cols.items():
        data[c] = pa.array(v, pa.string())
    return Staged("csv", encoding, pa.table(data), pre_bad, sha)


# --------------------------------------------------------------------------- staging SQL


# A row with a conversation id is a chat message — also when it carries an order id (a
# message about an order: 订单号 is a common column of chat exports) — unless it has no
# role but an order id (an order export that names the conversation). Otherwise a row with
# an order id or an order time is an order.
_KIND = (
    "CASE WHEN coalesce(qtrim(conversation_id), '') <> '' "
    "      AND (coalesce(qtrim(role), '') <> '' OR coalesce(qtrim(order_id), '') = '') THEN 'chat' "
    "WHEN coalesce(qtrim(order_id), '') <> '' OR coalesce(qtrim(created_at), '') <> '' THEN 'order' "
    "ELSE 'chat' END"
)


# A line of nothing but whitespace — any Unicode whitespace, as Python's str.isspace (a full-
# width space U+3000, U+2028, \x1c…) — is a blank line, not a bad row. DuckDB's trim() only
# removes spaces.
_BLANK = "regexp_full_match(raw, '[\\s\\p{Z}\\x{0B}\\x{1C}-\\x{1F}\\x{85}]*')"


def _stage_view(con, staged: Staged, path: Path) -> None:
    """Create TEMP TABLE `staged`: line, kind (chat | order | bad), and every canonical field
    as text (NULL when absent), materialised once (JSON is parsed once per row); and VIEW
    `staged_raw` (line, raw): the line as read, for the rows that are quarantined."""
    con.register("staged_input", staged.table)
    present = set(staged.table.column_names)
    if staged.kind in ("jsonl", "json"):
        # Two JSON parses a line, not three: the keys come from try(json_keys) and validity from
        # the extraction itself (NULL exactly where json_valid is false: an unreadable line
        # raises, try() turns that into NULL). Saved ~0.15 s a 460k-line piece.
        con.execute(
            """CREATE OR REPLACE TEMP TABLE staged_arrow AS
               SELECT line, raw, starts_with(raw, '{') AS obj
               FROM (SELECT line, qtrim(raw) AS raw FROM staged_input) WHERE raw <> '' AND NOT """ + _BLANK
        )
        keys = [r[0] for r in con.execute(
            "SELECT DISTINCT unnest(try(json_keys(raw))) FROM staged_arrow WHERE obj").fetchall()]
        by_canon: dict[str, list[int]] = {}
        paths: list[str] = []
        for k in sorted(keys):
            canon = _ALIAS_INDEX.get(_norm_key(k))
            if canon:
                by_canon.setdefault(canon, []).append(len(paths) + 1)
                paths.append("'$.\"" + k.replace("'", "''").replace('"', '\\"') + "\"'")
        exprs = []
        for c in CANONICAL:
            idx = by_canon.get(c, [])
            if not idx:
                exprs.append(f"NULL::VARCHAR AS {c}")
            else:
                parts = ", ".join(f"l[{i}]" for i in idx)
                exprs.append(f"coalesce({parts}) AS {c}" if len(idx) > 1 else f"{parts} AS {c}")
        # One json_extract_string call with a list of paths parses each document once.
        extract = (f"try(json_extract_string(raw, [{', '.join(paths)}]))" if paths
                   else "CASE WHEN json_valid(raw) THEN []::VARCHAR[] END")
        # `staged` leaves the raw line out: it stays in staged_arrow, and `staged_raw` hands it
        # to the few rows that are quarantined (a second copy of every line cost ~0.1 s a piece)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE staged AS
            SELECT line,
                   CASE WHEN NOT ok THEN 'bad' ELSE {_KIND} END AS kind,
                   {", ".join(CANONICAL)}
            FROM (
                SELECT line, ok, {", ".join(exprs)}
                FROM (SELECT line, l IS NOT NULL AS ok, l
                      FROM (SELECT line, CASE WHEN obj THEN {extract} END AS l FROM staged_arrow))
            )
            """
        )
        # the line as read, less its line end (the fast split keeps it: _split_lines_fast),
        # from the Arrow lines: the copy in staged_arrow is dropped now, before the checks
        # (under ingest's 1 GB cap its ~300 MB a 1M-line day made DuckDB spill ~140 MB of
        # the checks to disk)
        con.execute("DROP TABLE staged_arrow")
        con.execute("CREATE OR REPLACE TEMP VIEW staged_raw AS "
                    "SELECT line, qtrim(rtrim(qtrim(raw), chr(13) || chr(10))) AS raw FROM staged_input")
    else:
        exprs = [c if c in present else f"NULL::VARCHAR AS {c}" for c in CANONICAL]
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE staged AS
            SELECT line, raw,
                   {_KIND} AS kind,
                   {", ".join(CANONICAL)}
            FROM (SELECT line, qtrim(raw) AS raw, {", ".join(exprs)} FROM staged_input
                  WHERE qtrim(raw) <> '' AND NOT {_BLANK.replace("raw", "qtrim(raw)")})
            """
        )
        con.execute("CREATE OR REPLACE TEMP VIEW staged_raw AS SELECT line, raw FROM staged")


def _alias_tables(con, config: Config) -> None:
    def table(name, mapping):
        # one Arrow insert (executemany costs ~25 ms a table: most of a small ingest)
        seen: dict[str, str] = {}
        for canon, aliases in mapping.items():
            for a in aliases:
                seen.setdefault(a.lower(), canon)
        con.register("alias_in", pa.table({"alias": arrowcols.strings(seen), "value": arrowcols.strings(seen.values())}))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT alias, value FROM alias_in")
        con.unregister("alias_in")

    sqlfiles.run(con, "macros.sql")
    table("role_alias", ROLE_ALIASES)
    table("msg_type_alias", MSG_TYPE_ALIASES)
    table("queue_alias", QUEUE_ALIASES)
    con.execute("CREATE OR REPLACE TEMP TABLE shop_tz (shop_id VARCHAR PRIMARY KEY, tz VARCHAR)")
    if config.shop_timezones:
        con.executemany("INSERT INTO shop_tz VALUES (?, ?)", list(config.shop_timezones.items()))


def _complaint_regex() -> str:
    return "|".join(re.escape(p) for p in lexicon.load("complaint").phrases)


# --------------------------------------------------------------------------- main entry


# DuckDB's staging tables of a big file are what makes ingest's peak: with no limit a 1M-message
# file peaked at 3.1 GB; with 1 GB DuckDB spills to its temp directory and the whole process
# peaks at 1.6 GB, no slower (measured, December 2026). QC_INGEST_MEMORY_LIMIT overrides
# ("4GB", or "none" for DuckDB's default of 80 % of RAM).
INGEST_MEMORY_LIMIT = "1GB"


def _bound_memory(con) -> None:
    import os

    limit = os.environ.get("QC_INGEST_MEMORY_LIMIT", INGEST_MEMORY_LIMIT)
    if limit.lower() != "none":
        try:
            con.execute("SET memory_limit = ?", [limit])
        except Exception as exc:  # a typo in the variable must name itself
            from .errors import QCError

            raise QCError(f"QC_INGEST_MEMORY_LIMIT={limit!r}: 不是有效的内存上限 (not a memory size such as 1GB): {exc}") from None


def ingest_paths(con, paths: Iterable[str | Path], config: Config | None = None, progress=None) -> IngestReport:
    """Ingest every file under `paths`. Never raises for a bad row; a file that cannot be
    read at all is reported in its FileReport.error (the CLI exits non-zero). DuckDB's memory
    is capped at INGEST_MEMORY_LIMIT meanwhile, and the store's cap put back after (the
    nightly flow inspects on the same connection)."""
    from . import store

    _bound_memory(con)
    try:
        return _ingest_paths(con, paths, config, progress)
    finally:
        store.apply_memory_limit(con)


def _ingest_paths(con, paths, config, progress) -> IngestReport:
    config = config or load_config()
    skipped: list[str] = []
    files = iter_input_files(paths, skipped)
    # A run still 'running' was killed (DuckDB admits one writer: none runs beside us).
    con.execute("UPDATE ingest_runs SET status = 'interrupted' WHERE status = 'running' OR (status IS NULL AND finished_at IS NULL)")
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM ingest_runs").fetchall()[0][0]
    con.execute(
        "INSERT INTO ingest_runs (run_id, started_at, paths, files, status) VALUES (?, now(), ?, ?, 'running')",
        [run_id, [str(p) for p in paths], len(files)],
    )
    report = IngestReport(run_id, skipped=skipped)
    _alias_tables(con, config)
    _repair_conversations(con, run_id)
    for path in files:
        fr = FileReport(str(path))
        report.files.append(fr)
        try:
            if chunked(path):
                _ingest_pieces(con, path, fr, run_id, config)
            else:
                staged = read_file(path)
                fr.kind, fr.encoding = staged.kind, staged.encoding
                _ingest_staged(con, path, staged, fr, run_id, config)
        except InputFileError as exc:
            fr.error = str(exc).split(": ", 1)[-1]
            continue
        if progress:
            progress(fr)
    con.execute(
        "UPDATE ingest_runs SET finished_at = now(), status = 'finished', read = ?, ingested = ?, duplicate = ?, quarantined = ? WHERE run_id = ?",
        [report.total("read"), report.total("ingested"), report.total("duplicate"), report.total("quarantined"), run_id],
    )
    return report


def _read_ahead(pieces):
    """Yield the pieces of `pieces` while the next one is read and split in a thread: reading,
    hashing and Arrow's line split release the GIL, so they overlap DuckDB's work on the piece
    before (two pieces are held at a time, not one). An error while reading surfaces at the
    piece it belongs to."""
    from concurrent.futures import ThreadPoolExecutor

    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qc-read") as pool:
        ahead = pool.submit(next, pieces, done)
        while (item := ahead.result()) is not done:
            ahead = pool.submit(next, pieces, done)
            yield item
            del item


def _ingest_pieces(con, path: Path, fr: FileReport, run_id: int, config: Config) -> None:
    """A big JSON Lines file, piece by piece (read_chunks); the counts add up into `fr`."""
    # ingest_order = base + the file's line, with one base for the whole file (as in one piece)
    base = con.execute("SELECT coalesce(max(ingest_order), 0) FROM messages").fetchall()[0][0]
    fr.kind, fr.encoding = "jsonl", ""
    for staged, last in _read_ahead(read_chunks(path)):
        part = FileReport(str(path))
        _ingest_staged(con, path, staged, part, run_id, config, refresh=last, order_base=base)
        fr.encoding = fr.encoding or staged.encoding
        for k in ("read", "ingested", "duplicate", "quarantined", "orders_ingested", "late_conversations"):
            setattr(fr, k, getattr(fr, k) + getattr(part, k))
        del staged
    fr.encoding = fr.encoding or "utf-8"


def _ingest_staged(con, path: Path, staged: Staged, fr: FileReport, run_id: int, config: Config,
                   refresh: bool = True, order_base: int | None = None) -> None:
    file_sha = staged.sha256
    params = {"file": str(path), "sha": file_sha, "run": run_id, "tz": config.timezone}
    began = False
    try:
        # The staging tables are temporary: built before the store's transaction, so the ~300 MB
        # copy of the lines is freed the moment it is dropped (inside a transaction DuckDB keeps
        # a dropped table until commit; under ingest's 1 GB cap it spilled ~140 MB to disk).
        _stage_view(con, staged, path)
        con.execute("BEGIN TRANSACTION")
        began = True
        # Rows rejected while reading (undecodable bytes, wrong CSV width).
        if staged.pre_bad:
            con.executemany(
                "INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(str(path), file_sha, ln, f, r, raw, run_id) for ln, f, r, raw in staged.pre_bad],
            )
        point("ingest.staged")
        n_staged = con.execute("SELECT count(*) FROM staged").fetchone()[0]
        fr.read = n_staged + len(staged.pre_bad)

        # --- chats -------------------------------------------------------------
        sqlfiles.run(con, "ingest_messages_check.sql", {"tz": config.timezone})
        bad = con.execute(
            """
            INSERT OR IGNORE INTO quarantine
            SELECT $file, $sha, c.line, c.bad_field, c.bad_reason, s.raw, $run
            FROM chat_checked c JOIN staged_raw s USING (line) WHERE c.bad_field IS NOT NULL
            """,
            {"file": params["file"], "sha": params["sha"], "run": run_id},
        )
        chat_bad = con.execute("SELECT count(*) FROM chat_checked WHERE bad_field IS NOT NULL").fetchone()[0]
        if order_base is None:
            order_base = con.execute("SELECT coalesce(max(ingest_order), 0) FROM messages").fetchone()[0]
        ts_lo, ts_hi = con.execute("SELECT min(ts), max(ts) FROM chat_checked WHERE bad_field IS NULL").fetchone()
        sqlfiles.run(con, "ingest_messages_insert.sql", {"file": str(path), "run": run_id, "order_base": order_base,
                                                         "ts_lo": ts_lo, "ts_hi": ts_hi})
        point("ingest.messages_inserted")
        stats = con.execute(
            "SELECT count(*) FILTER (WHERE status = 'new'), count(*) FILTER (WHERE status = 'duplicate'), "
            "count(*) FILTER (WHERE status = 'conflict') FROM chat_keyed"
        ).fetchone()
        new, dup, conflict = stats
        if conflict:
            con.execute(
                """
                INSERT OR IGNORE INTO quarantine
                SELECT $file, $sha, k.line, 'seq', 'seq 与同一会话中另一条不同的消息重复 (seq already used by another message)', s.raw, $run
                FROM chat_keyed k JOIN staged_raw s USING (line) WHERE k.status = 'conflict'
                """,
                {"file": str(path), "sha": file_sha, "run": run_id},
            )
        # --- orders ------------------------------------------------------------
        point("ingest.before_orders")
        sqlfiles.run(con, "ingest_orders.sql", {"tz": config.timezone, "file": str(path), "run": run_id})
        o_bad, o_new, o_dup = con.execute(
            "SELECT count(*) FILTER (WHERE bad_field IS NOT NULL), count(*) FILTER (WHERE status IN ('new','updated')), "
            "count(*) FILTER (WHERE status = 'duplicate') FROM order_checked"
        ).fetchone()
        con.execute(
            """
            INSERT OR IGNORE INTO quarantine
            SELECT $file, $sha, o.line, o.bad_field, o.bad_reason, s.raw, $run
            FROM order_checked o JOIN staged_raw s USING (line) WHERE o.bad_field IS NOT NULL
            """,
            {"file": str(path), "sha": file_sha, "run": run_id},
        )
        # Rows of unreadable JSON (kind 'bad') are counted in chat_checked.
        fr.ingested = new + o_new
        fr.orders_ingested = o_new
        fr.duplicate = dup + o_dup
        fr.quarantined = len(staged.pre_bad) + chat_bad + conflict + o_bad
        if new:
            # The conversations to rebuild, durable with the messages themselves (see below).
            # A conversation already listed by an earlier piece of this file spans pieces: its
            # rows were numbered piece by piece, so it is renumbered (the same numbering rule).
            # With each its time span: the new messages' and the stored row's (every stored
            # message of a listed conversation lies in its conversations row's span or in an
            # earlier listing's), so the rebuild reads only that span of the history.
            con.execute(
                """
                INSERT INTO pending_refresh
                SELECT k.conversation_id, $run,
                       any_value(c.conversation_id) IS NOT NULL AS late,
                       any_value(c.conversation_id) IS NOT NULL
                         OR (count(k.source_seq) > 0 AND count(k.source_seq) < count(*)) AS renumber,
                       least(min(k.ts), any_value(c.started_at)) AS ts_lo,
                       greatest(max(k.ts), any_value(c.ended_at)) AS ts_hi
                FROM chat_keyed k LEFT JOIN conversations c USING (conversation_id)
                WHERE k.status = 'new'
                GROUP BY k.conversation_id
                ON CONFLICT (conversation_id) DO UPDATE
                SET ingest_run = excluded.ingest_run, late = pending_refresh.late OR excluded.late, renumber = true,
                    -- an unknown span (NULL) stays unknown
                    ts_lo = CASE WHEN pending_refresh.ts_lo IS NOT NULL THEN least(pending_refresh.ts_lo, excluded.ts_lo) END,
                    ts_hi = CASE WHEN pending_refresh.ts_hi IS NOT NULL THEN greatest(pending_refresh.ts_hi, excluded.ts_hi) END
                """,
                {"run": run_id},
            )
        point("ingest.before_commit")
        con.execute("COMMIT")
        point("ingest.committed")
    except Exception:
        if began:
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP VIEW IF EXISTS staged_raw")
        con.execute("DROP TABLE IF EXISTS staged_arrow")
        con.execute("DROP TABLE IF EXISTS staged")
        con.unregister("staged_input")
    # DuckDB 2.0.0: after a large insert (more than a row group), filters on the new rows
    # return nothing in the same connection — even inside the same transaction — until a
    # checkpoint (seen here: conversations came out empty and re-ingesting a 300k-line
    # file re-added every row). So: commit the rows with the list of conversations to
    # rebuild (pending_refresh), checkpoint, then rebuild them in a second transaction that
    # clears the list. A run killed in between leaves the list; the next ingest finishes it
    # (tests/test_crash.py kills runs at many points and compares with an uninterrupted one).
    con.execute("CHECKPOINT")
    point("ingest.checkpointed")
    if refresh:
        # (a piece that added nothing may still be the last one: earlier pieces wait for it)
        fr.late_conversations = refresh_pending(con, run_id)
        point("ingest.refreshed")
    assert fr.read == fr.ingested + fr.duplicate + fr.quarantined, fr


# the span of "every message": wider than ts_in_range's 2000-2100 (ingest_messages_check.sql)
_EPOCH_LO = datetime(1900, 1, 1, tzinfo=timezone.utc)
_EPOCH_HI = datetime(2200, 1, 1, tzinfo=timezone.utc)


def refresh_pending(con, run_id: int) -> int:
    """Rebuild every conversation in pending_refresh: renumber where needed, derive its row,
    mark it for inspection, clear the list — one transaction. Returns how many of them
    already existed before (late messages)."""
    from . import store

    if not con.execute("SELECT count(*) FROM pending_refresh").fetchall()[0][0]:
        return 0
    with store.transaction(con):
        con.execute("CREATE OR REPLACE TEMP TABLE touched AS SELECT conversation_id FROM pending_refresh")
        con.execute("CREATE OR REPLACE TEMP TABLE renumber AS SELECT conversation_id FROM pending_refresh WHERE renumber")
        late = con.execute("SELECT count(*) FROM pending_refresh WHERE late").fetchall()[0][0]
        # the time span of every listed conversation's messages; one listed without a span
        # (qc doctor, a repair, an older version) makes it the whole history
        lo, hi, unknown = con.execute(
            "SELECT min(ts_lo), max(ts_hi), count(*) FILTER (WHERE ts_lo IS NULL OR ts_hi IS NULL) FROM pending_refresh"
        ).fetchall()[0]
        span = {"ts_lo": _EPOCH_LO, "ts_hi": _EPOCH_HI} if unknown else {"ts_lo": lo, "ts_hi": hi}
        if con.execute("SELECT count(*) FROM renumber").fetchall()[0][0]:
            sqlfiles.run(con, "ingest_renumber.sql", span)
            point("refresh.renumbered")
        sqlfiles.run(con, "conversations_refresh.sql", {"run": run_id, "complaint_re": _complaint_regex(), **span})
        point("refresh.derived")
        store.empty_table(con, "pending_refresh")      # (a DELETE costs ~1 s at commit: see there)
    con.execute("CHECKPOINT")
    return late


def _repair_conversations(con, run_id: int) -> None:
    """Finish what a killed run left: conversations still listed in pending_refresh, and
    (databases from before that list existed) conversations with messages but no row.
    Afterwards every conversation with stored messages has a row (ingest_messages_insert.sql
    relies on it). The search for rows missing reads every message, so it runs only when the
    counts say one may be missing: the messages outnumber what the conversation rows count
    (a store of months would otherwise pay a full scan every night)."""
    n_msgs, counted = con.execute(
        "SELECT (SELECT count(*) FROM messages), (SELECT coalesce(sum(n_messages), 0) FROM conversations)").fetchone()
    if n_msgs != counted:
        con.execute(
            """INSERT OR IGNORE INTO pending_refresh (conversation_id, ingest_run, late, renumber)
               SELECT DISTINCT conversation_id, ?, false, true FROM messages
               WHERE conversation_id NOT IN (SELECT conversation_id FROM conversations)""",
            [run_id],
        )
    refresh_pending(con, run_id)
