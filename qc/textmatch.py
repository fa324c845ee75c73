"""Many-phrase matching over a whole batch of messages: one Aho-Corasick pass.

All lexicons go into one automaton. The scan is the only per-message Python: it emits
sparse hits (row, end offset, entry id); everything else — joining entry metadata, the
allow-list, which lexicon a hit belongs to — is set-wise SQL in DuckDB (`resolve_hits`).

Word-awareness: a forbidden entry of one or two characters (滚, 靠, 有病) counts only
when the private jieba tokenizer cuts exactly that span out as a word, so 滚 does not
match inside 滚筒洗衣机. A hit inside an allow-listed phrase (财源滚滚, 靠谱) is dropped.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain

import numpy as np
import pyarrow as pa

from . import arrowcols, lexicon
from .text import normalize

# Lexicons matched on every message. The role a lexicon applies to is the rules' business.
MATCHED = ("forbidden", "allowlist", "apology", "soothing", "complaint", "bargain", "ordered",
           "followup", "urge_pay", "question", "closing_question")
# Lexicons that only qualify a rule's few candidate messages (price_protection, price_topic,
# hypothetical, own_fault) are not matched on every message: the rules apply them as regexes
# (qc/inspect.py whole_message_patterns) — single characters like 价 / 券 would otherwise add
# a hit to most messages of a day.
WORD_AWARE_MAX_LEN = 2
# Matched lexicons whose hits only ever set a per-message flag (has_question). The inspection's
# scan leaves them out and flags them in SQL with one RE2 alternation over the same normalised
# text (qc/inspect.py flag_messages): two in three of all hits were ？ / 吗 / 么, each a tuple
# through Python, for a flag. The full automaton (the classifiers' cue features) keeps them.
FLAG_ONLY = ("question",)


class PhraseAutomaton:
    """Every occurrence of every phrase (overlapping), each phrase carrying an int payload.

    ahocorasick_rs (Rust) searches without holding the GIL, so the inspection scans a batch
    in a thread while the classifiers run beside it (qc/inspect.py); pyahocorasick's
    iterator held the GIL for its whole pass. Offsets are in characters.

    Both automata are DFAs (the library's default picks an NFA for a few hundred phrases):
    over the 16M characters of a 1M-message batch a str search took 0.50 s as an NFA and
    0.34 s as a DFA, with the same matches. `hits_utf8` searches UTF-8 bytes (0.14 s): on a
    str the library held the GIL for about half of its pass (mapping byte offsets back to
    characters, we suppose), which slowed the classifiers running beside it; on bytes it
    hardly holds it, and `utf8_chars` maps the offsets back with numpy."""

    def __init__(self, phrases: dict[str, int]):
        import ahocorasick_rs as ac

        items = [(p, v) for p, v in phrases.items() if p]     # an empty phrase matches nothing
        self.phrases = [p for p, _ in items]
        self.values = np.fromiter((v for _, v in items), dtype=np.int64, count=len(items))
        opts = {"matchkind": ac.MatchKind.Standard, "implementation": ac.Implementation.DFA}
        self._ac = ac.AhoCorasick(self.phrases, **opts) if items else None
        self._bytes = ac.BytesAhoCorasick([p.encode("utf-8") for p in self.phrases], **opts) if items else None

    def hits(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(end offsets, exclusive; payloads) of all occurrences, as two int64 arrays."""
        if self._ac is None or not text:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        found = self._ac.find_matches_as_indexes(text, overlapping=True)
        flat = np.fromiter(chain.from_iterable(found), dtype=np.int64, count=3 * len(found)).reshape(-1, 3)
        return flat[:, 2], self.values[flat[:, 0]]

    def hits_utf8(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """`hits` of the UTF-8 text `data`: the same occurrences, end offsets in characters."""
        if self._bytes is None or not data:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        found = self._bytes.find_matches_as_indexes(data, overlapping=True)
        flat = np.fromiter(chain.from_iterable(found), dtype=np.int64, count=3 * len(found)).reshape(-1, 3)
        return utf8_chars(data, flat[:, 2]), self.values[flat[:, 0]]

    def iter(self, text: str):
        """(end offset, inclusive; payload) per occurrence — pyahocorasick's `iter` shape."""
        ends, vals = self.hits(text)
        return zip((ends - 1).tolist(), vals.tolist())


def utf8_chars(data: bytes, offsets: np.ndarray) -> np.ndarray:
    """Character offsets of byte offsets into the UTF-8 text `data` (each on a character
    boundary, as a match of a UTF-8 pattern always is). With c1..c4 the characters of 1..4
    bytes before an offset B: B = c1 + 2c2 + 3c3 + 4c4, so c1 + c2 + c3 + c4 =
    (B + 2c1 + c2 - c4) / 3 — only ASCII bytes and the rare 2- and 4-byte lead bytes are
    counted (Chinese text is mostly 3-byte characters)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if not len(offsets):
        return offsets
    u = np.frombuffer(data, dtype=np.uint8)
    c1 = np.searchsorted(np.flatnonzero(u < 0x80), offsets)
    c2 = np.searchsorted(np.flatnonzero((u & 0xE0) == 0xC0), offsets)
    c4 = np.searchsorted(np.flatnonzero((u & 0xF8) == 0xF0), offsets)
    return (offsets + 2 * c1 + c2 - c4) // 3


def new_tokenizer(extra_lexicons: tuple[str, ...] = ()):
    """A fresh private jieba Tokenizer (never the global one) loaded with the forbidden and
    allow-list words, then the words of `extra_lexicons` not yet in its dictionary."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for name in ("forbidden", "allowlist"):
        for e in lexicon.load(name).entries:
            # Single characters are always cut when not inside a dictionary word; adding
            # them with a forced frequency would break words like 靠谱.
            if len(e.phrase) >= 2:
                tok.add_word(e.phrase)
    for name in extra_lexicons:
        for e in lexicon.load(name).entries:
            if len(e.phrase) >= 2 and e.phrase not in tok.FREQ:
                tok.add_word(e.phrase)
    return tok


@lru_cache(maxsize=1)
def tokenizer():
    """The word-boundary tokenizer: forbidden and allow-list words only."""
    return new_tokenizer()


@lru_cache(maxsize=1)
def _boundary_cut():
    """The cut used for word boundaries: rjieba loaded with the same words when installed
    (it loads in 0.16 s where jieba's dictionary takes ~0.5 s, and tests/test_textmatch.py
    proves it cuts our texts exactly like `tokenizer()`), else the jieba tokenizer itself."""
    try:
        import rjieba
    except ImportError:
        tok = tokenizer()
        return lambda t: tok.lcut(t, HMM=False)
    rj = rjieba.Jieba()
    for name in ("forbidden", "allowlist"):
        for e in lexicon.load(name).entries:
            if len(e.phrase) >= 2:
                rj.add_word(e.phrase, None, None)    # frequency suggested as jieba's add_word does
    return lambda t: rj.cut(t, False)


def token_boundaries(text: str) -> set[int]:
    bounds, pos = {0}, 0
    for w in _boundary_cut()(text):
        pos += len(w)
        bounds.add(pos)
    return bounds


class Matcher:
    def __init__(self):
        self.lexicons = {name: lexicon.load(name) for name in MATCHED}
        self.entries: list[tuple[str, lexicon.Entry]] = []
        by_phrase: dict[str, list[int]] = {}
        for name, lx in self.lexicons.items():
            for e in lx.entries:
                by_phrase.setdefault(e.phrase, []).append(len(self.entries))
                self.entries.append((name, e))
        # every entry (qc/features.py's cue tokens), and the inspection's scan without FLAG_ONLY
        self.automaton, self.extra = self._automaton(by_phrase)
        self.scan_automaton, self.scan_extra = self._automaton(
            {p: kept for p, ids in by_phrase.items() if (kept := [i for i in ids if self.entries[i][0] not in FLAG_ONLY])})

    @staticmethod
    def _automaton(by_phrase: dict[str, list[int]]):
        # payload = the first entry id; phrases listed in several lexicons (rare) expand later
        extra = {ids[0]: ids[1:] for ids in by_phrase.values() if len(ids) > 1}
        return PhraseAutomaton({phrase: ids[0] for phrase, ids in by_phrase.items()}), extra

    def flag_pattern(self, name: str) -> str:
        """A FLAG_ONLY lexicon as one RE2 alternation of its phrases (longest first): a message
        matches it exactly when the scan would have found one of them in it."""
        import re

        return "|".join(re.escape(p) for p in sorted({e.phrase for e in self.lexicons[name].entries if e.phrase},
                                                     key=len, reverse=True))

    @property
    def versions(self) -> dict[str, str]:
        return {n: lx.version for n, lx in self.lexicons.items()}

    def entries_table(self) -> pa.Table:
        return pa.table({
            "entry": arrowcols.numbers(range(len(self.entries)), pa.int32()),
            "lexicon": arrowcols.strings(n for n, _ in self.entries),
            "phrase": arrowcols.strings(e.phrase for _, e in self.entries),
            "plen": arrowcols.numbers([len(e.phrase) for _, e in self.entries], pa.int32()),
            "category": arrowcols.strings(e.fields.get("category") or e.fields.get("kind") for _, e in self.entries),
            "severity": arrowcols.strings(e.fields.get("severity") for _, e in self.entries),
            "source": arrowcols.strings(e.source for _, e in self.entries),
        })

    def scan(self, rows: np.ndarray, texts: list[str]) -> pa.Table:
        """texts must be normalised (qc.text.normalize or the SQL equivalent).
        Returns sparse hits: (row, entry, span_end) with span_end exclusive; FLAG_ONLY
        lexicons are not scanned (their flag is SQL: `flag_pattern`)."""
        texts = [t or "" for t in texts]
        return self.scan_joined(rows, np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), "\n".join(texts))

    def scan_joined(self, rows: np.ndarray, lens: np.ndarray, big: str | bytes) -> pa.Table:
        """`scan` over a batch already joined: `big` is the texts joined by newlines (no lexicon
        phrase holds one, so no hit spans two messages), as a str or as its UTF-8 bytes (the
        inspection's: Arrow's buffer, never decoded), `lens` their lengths in characters.
        One Aho-Corasick call; hits come back as flat int arrays — no Python per message,
        and per hit only for the rare phrases listed in two lexicons. Holds no GIL while
        searching: safe and useful to run in a thread."""
        n = len(lens)
        starts = np.zeros(n, dtype=np.int64)
        if n > 1:
            starts[1:] = np.cumsum(lens + 1)[:-1]
        scan = self.scan_automaton
        ends, eids = scan.hits_utf8(big) if isinstance(big, (bytes, bytearray)) else scan.hits(big)
        doc = np.searchsorted(starts, ends - 1, side="right") - 1
        span_end = ends - starts[doc]
        if self.scan_extra and len(eids):
            extra = self.scan_extra
            shared = np.flatnonzero(np.isin(eids, list(extra)))
            more = [(d, e, x) for d, e, eid in zip(doc[shared].tolist(), span_end[shared].tolist(), eids[shared].tolist())
                    for x in extra[eid]]
            if more:
                m = np.array(more, dtype=np.int64)
                doc, span_end, eids = (np.concatenate([doc, m[:, 0]]), np.concatenate([span_end, m[:, 1]]),
                                       np.concatenate([eids, m[:, 2]]))
        return pa.table({
            "row": arrowcols.numbers(np.asarray(rows)[doc] if len(doc) else np.zeros(0, dtype=np.int64), pa.int64()),
            "entry": arrowcols.numbers(eids, pa.int32()),
            "span_end": arrowcols.numbers(span_end, pa.int32()),
        })


def resolve_hits(con, m: "Matcher", hits: pa.Table, text_of_row, judged_rows_sql: str | None = None) -> None:
    """Create TEMP TABLE mm (grain: one row per kept lexicon hit) from raw hits.

    Forbidden hits are kept only on rows of `judged_rows_sql` (agent messages in the
    inspection), and dropped inside an allow-listed span or, for 1–2 character entries,
    when jieba does not cut the span out as a word. `text_of_row(rows)` returns
    {row: normalised text} for the few rows that need that word-boundary check."""
    con.register("hits_raw", hits)
    con.register("match_entries", m.entries_table())
    judged = judged_rows_sql or "SELECT DISTINCT row FROM hits_raw"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE mm_all AS
        SELECT r.row, e.lexicon, e.phrase, (r.span_end - e.plen) AS span_start, r.span_end,
               e.category, e.severity, e.source, e.plen
        FROM hits_raw r JOIN match_entries e USING (entry)
        WHERE e.lexicon <> 'forbidden' OR r.row IN ({judged})
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE mm_forbidden AS
        SELECT h.* FROM mm_all h
        WHERE h.lexicon = 'forbidden' AND NOT EXISTS (
            SELECT 1 FROM mm_all a WHERE a.lexicon = 'allowlist' AND a.row = h.row
              AND a.span_start <= h.span_start AND h.span_end <= a.span_end)
        """
    )
    short = con.execute(
        f"SELECT row, span_start, span_end FROM mm_forbidden WHERE plen <= {WORD_AWARE_MAX_LEN}"
    ).fetchall()
    bad = []
    if short:
        texts = text_of_row(sorted({r for r, _, _ in short}))
        cache: dict[int, set[int]] = {}
        for r, s, e in short:
            b = cache.get(r)
            if b is None:
                b = cache[r] = token_boundaries(texts[r])
            if s not in b or e not in b:
                bad.append((r, s, e))
    con.register("not_words", pa.table({"row": arrowcols.numbers([r for r, _, _ in bad], pa.int64()),
                                         "span_start": arrowcols.numbers([s for _, s, _ in bad], pa.int32()),
                                         "span_end": arrowcols.numbers([e for _, _, e in bad], pa.int32())}))
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE mm AS
        SELECT * EXCLUDE (plen) FROM mm_all WHERE lexicon <> 'forbidden'
        UNION ALL
        SELECT * EXCLUDE (plen) FROM mm_forbidden f
        WHERE NOT EXISTS (SELECT 1 FROM not_words w WHERE w.row = f.row AND w.span_start = f.span_start
                          AND w.span_end = f.span_end)
        """
    )
    con.execute("DROP TABLE mm_all")
    con.execute("DROP TABLE mm_forbidden")
    for name in ("hits_raw", "match_entries", "not_words"):
        con.unregister(name)


@lru_cache(maxsize=1)
def matcher() -> Matcher:
    return Matcher()


def match_texts(texts: list[str]) -> list[dict]:
    """Convenience for a handful of texts (tests, tools): the same path as the batch."""
    import duckdb

    m = matcher()
    norm = [normalize(t) for t in texts]
    con = duckdb.connect()
    hits = m.scan(np.arange(len(norm), dtype=np.int64), norm)
    resolve_hits(con, m, hits, lambda rows: {r: norm[r] for r in rows})
    out = con.sql("SELECT * FROM mm ORDER BY row, span_start, lexicon").to_arrow_table().to_pylist()
    con.close()
    return out
