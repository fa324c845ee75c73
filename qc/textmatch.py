"""Many-phrase matching over a whole batch of messages: one Aho-Corasick pass.

All lexicons go into one automaton; each hit carries (lexicon, entry). The output is
sparse — one row per hit — and goes back into DuckDB as a table, where the rules use it.

Word-awareness: a forbidden entry of one or two characters (滚, 靠, 有病) counts only
when the private jieba tokenizer cuts exactly that span out as a word, so 滚 does not
match inside 滚筒洗衣机. A hit inside an allow-listed phrase (财源滚滚, 靠谱) is dropped.
"""

from __future__ import annotations

from functools import lru_cache

import ahocorasick
import pyarrow as pa

from . import lexicon
from .text import normalize

# Lexicons matched on every message. The role a lexicon applies to is the rules' business.
MATCHED = ("forbidden", "allowlist", "apology", "soothing", "complaint", "bargain", "ordered",
           "followup", "urge_pay", "question")
WORD_AWARE_MAX_LEN = 2


@lru_cache(maxsize=1)
def tokenizer():
    """One private jieba Tokenizer, loaded with the lexicon words (never the global one)."""
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
    return tok


def token_boundaries(text: str) -> set[int]:
    bounds, pos = {0}, 0
    for w in tokenizer().lcut(text, HMM=False):
        pos += len(w)
        bounds.add(pos)
    return bounds


class Matcher:
    def __init__(self):
        self.lexicons = {name: lexicon.load(name) for name in MATCHED}
        self.automaton = ahocorasick.Automaton()
        payloads: dict[str, list] = {}
        for name, lx in self.lexicons.items():
            for idx, e in enumerate(lx.entries):
                payloads.setdefault(e.phrase, []).append((name, idx))
        for phrase, pl in payloads.items():
            self.automaton.add_word(phrase, (phrase, tuple(pl)))
        self.automaton.make_automaton()

    @property
    def versions(self) -> dict[str, str]:
        return {n: lx.version for n, lx in self.lexicons.items()}

    def match_column(self, texts: list[str]) -> pa.Table:
        """texts[i] -> rows (row, lexicon, phrase, start, end, category, severity, source)."""
        rows, lexs, entries, starts, ends = [], [], [], [], []
        it = self.automaton.iter
        for i, t in enumerate(texts):
            if not t:
                continue
            nt = normalize(t)
            for end, (phrase, pl) in it(nt):
                s = end - len(phrase) + 1
                for name, idx in pl:
                    rows.append(i)
                    lexs.append(name)
                    entries.append(idx)
                    starts.append(s)
                    ends.append(end + 1)
        # Post-filter forbidden hits (rare): allow-list and word boundaries.
        keep = [True] * len(rows)
        by_row_allow: dict[int, list[tuple[int, int]]] = {}
        for k, name in enumerate(lexs):
            if name == "allowlist":
                by_row_allow.setdefault(rows[k], []).append((starts[k], ends[k]))
        forbidden = self.lexicons["forbidden"].entries
        for k, name in enumerate(lexs):
            if name != "forbidden":
                continue
            r, s, e = rows[k], starts[k], ends[k]
            if any(a <= s and e <= b for a, b in by_row_allow.get(r, ())):
                keep[k] = False
                continue
            if len(forbidden[entries[k]].phrase) <= WORD_AWARE_MAX_LEN:
                b = token_boundaries(normalize(texts[r]))
                if s not in b or e not in b:
                    keep[k] = False
        cols = {"row": [], "lexicon": [], "phrase": [], "span_start": [], "span_end": [],
                "category": [], "severity": [], "source": []}
        for k in range(len(rows)):
            if not keep[k]:
                continue
            e = self.lexicons[lexs[k]].entries[entries[k]]
            cols["row"].append(rows[k])
            cols["lexicon"].append(lexs[k])
            cols["phrase"].append(e.phrase)
            cols["span_start"].append(starts[k])
            cols["span_end"].append(ends[k])
            cols["category"].append(e.fields.get("category") or e.fields.get("kind"))
            cols["severity"].append(e.fields.get("severity"))
            cols["source"].append(e.source)
        return pa.table({
            "row": pa.array(cols["row"], pa.int64()),
            "lexicon": pa.array(cols["lexicon"], pa.string()),
            "phrase": pa.array(cols["phrase"], pa.string()),
            "span_start": pa.array(cols["span_start"], pa.int32()),
            "span_end": pa.array(cols["span_end"], pa.int32()),
            "category": pa.array(cols["category"], pa.string()),
            "severity": pa.array(cols["severity"], pa.string()),
            "source": pa.array(cols["source"], pa.string()),
        })


@lru_cache(maxsize=1)
def matcher() -> Matcher:
    return Matcher()
