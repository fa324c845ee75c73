"""Deterministic sample data: realistic shop chats and orders, with injected rule
violations and their ground truth.

    qc sample --conversations 300 --seed 7 --out data/generated
    python -m tools.sample --conversations 300 --seed 7 --out data/generated

Writes into the output folder:

* ``chats.jsonl``  one message a line (conversation_id, seq, ts, role, agent_id,
  customer_id, shop_id, queue, text, msg_type), ordered by conversation then seq;
* ``orders.jsonl`` one order a line (order_id, customer_id, shop_id, agent_id,
  created_at, paid_at, amount);
* ``ground_truth.jsonl`` one expected finding a line (conversation_id, rule_id,
  message_seq) under the semantics of docs/rules.md with the default thresholds.

Four shops (welding machines, home appliances, snacks, clothing), 15 agents, pre-sales
inquiries, bargaining, orders, after-sales complaints and service questions, an
店小蜜 bot greeting in ~40 % of the chats. Each rule is injected into a share
(``RATES``) of the conversations it can apply to; everything else is built clean:

* the texts and shop data are data: ``templates.yaml`` next to this module (its comments
  say what each pool is for). Agent texts come from pools checked against ``lexicons/``
  at start-up (read with ``qc.lexicon``: no forbidden phrase, no apology or 催付 phrase
  outside the pools meant for them), customer texts from pools checked for cue words
  (complaint cues only in complaints, bargaining cues only in bargaining, ordered cues
  only when ordering), so a clean conversation yields no finding;
* timing follows the rules' default parameters (``qc.rules``), each with a margin: with the
  defaults, the first human reply comes 3–25 s after the customer's first message
  (slow_first_response: 30 s), later rounds are answered within 58 s (slow_response: 60 s),
  bargaining follow-ups within 60–240 s (bargain_followup_late: 300 s), clean orders are
  paid within 850 s or urged to pay (late_urge_to_pay: 900 s); the injected violations
  miss those limits by a margin too (see the timing constants below);
* a customer's conversations with one shop never overlap (orders are matched to chats
  by customer and shop), and orders outside chats fall outside them.

The same seed gives byte-identical files. Needs the standard library, PyYAML and the
``qc`` package (lexicons, rule registry).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import yaml

from qc import lexicon
from qc.paths import LEXICON_DIR
from qc.rules import BY_ID, REGISTRY
from qc.text import normalize as _normalize  # = qc.lexicon.normalize_phrase: phrases and texts alike

TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")

# Share of the *eligible* conversations that get each violation:
#   forbidden_phrase, repeated_quick_reply, slow_first_response, unanswered_question: any chat
#   missing_apology: after-sales complaints; bargain_followup_late: bargaining without order;
#   slow_response: chats with a second answered round; emoji_only_reply: chats with a
#   question turn; late_urge_to_pay: chats in which an order is placed.
RATES: dict[str, float] = {
    "forbidden_phrase": 0.06,
    "missing_apology": 0.08,
    "bargain_followup_late": 0.08,
    "repeated_quick_reply": 0.05,
    "slow_first_response": 0.06,
    "slow_response": 0.05,
    "emoji_only_reply": 0.04,
    "late_urge_to_pay": 0.08,
    "unanswered_question": 0.05,
}

# The rules the generator injects (those with a rate), in the registry's order; rude_tone
# (a model's judgement) is never injected.
RULE_IDS: tuple[str, ...] = tuple(r for r in REGISTRY if r in RATES)
if len(RULE_IDS) != len(RATES):
    raise ValueError(f"RATES names rules not in the registry: {sorted(set(RATES) - set(RULE_IDS))}")

# The rules any chat may get, drawn in this order (the order is part of the random sequence).
ANY_CHAT_RULES = ("forbidden_phrase", "repeated_quick_reply", "slow_first_response", "slow_response",
                  "emoji_only_reply", "unanswered_question")

# Scenario mix (per conversation).
MIX = {"inquiry": 0.36, "bargain": 0.24, "complaint": 0.25, "service": 0.15}
ORDER_SHARE = {"inquiry": 0.35, "bargain": 0.45}  # presales chats that lead to an order
BOT_SHARE = 0.40
REUSE_SHARE = 0.22          # conversations by a customer seen before
TZ = "+08:00"

# --------------------------------------------------------------------------- timing

# The rules' default parameters: the ground truth holds under these thresholds.
FIRST_LIMIT = BY_ID["slow_first_response"].defaults["limit_s"]       # 30 s
ROUND_LIMIT = BY_ID["slow_response"].defaults["limit_s"]             # 60 s
FOLLOW_WINDOW = BY_ID["bargain_followup_late"].defaults["window_s"]  # 300 s
URGE_WINDOW = BY_ID["late_urge_to_pay"].defaults["window_s"]         # 900 s
QUICK_MIN_CHARS = BY_ID["repeated_quick_reply"].defaults["min_chars"]  # 6 characters

# Timing, in seconds: (lo, hi) ranges for randint, each kept a margin inside (clean) or outside
# (injected) the rule limit it is about. The numbers in comments are those with the defaults, the
# ones data/sample was generated with.
#
# The first round (slow_first_response's clock starts at the customer's first message):
FIRST_REPLY = (3, FIRST_LIMIT - 5)                        # (3, 25): clean, 5 s inside the limit
SLOW_FIRST_REPLY = (FIRST_LIMIT + 5, FIRST_LIMIT + 170)   # (35, 200): injected, 5 s to ~3 min past it
# A nudge ("在吗？") before the slow first reply still comes inside the limit: the reply is late on
# the rule's clock (the first message's), not necessarily after the nudge.
NUDGE_FIRST = (15, FIRST_LIMIT - 2)                       # (15, 28)
#
# Later rounds (slow_response's clock starts at the first customer message not yet answered):
ROUND_REPLY_MAX = ROUND_LIMIT - 2                         # 58: clean replies are clamped 2 s inside
SLOW_ROUND_REPLY = (ROUND_LIMIT + 10, ROUND_LIMIT + 340)  # (70, 400): injected, 10 s to ~6 min past
NUDGE_LATER = (25, ROUND_LIMIT - 5)                       # (25, 55): a nudge, inside the limit as above
#
# Agent messages that answer nothing, after the agent's last answer (bargain_followup_late's window):
FOLLOWUP_OK = (60, FOLLOW_WINDOW - 60)                    # (60, 240): a follow-up 1 min inside the window;
# also the 催付 follow-up of an urged order, which so stays far inside late_urge_to_pay's window
FOLLOWUP_LATE = (FOLLOW_WINDOW + 30, FOLLOW_WINDOW * 3)   # (330, 900): injected, 30 s past the window
#                                                           up to 3 windows after the answer
#
# Payment of an order placed in the chat (late_urge_to_pay's window runs from the order's creation):
PAID_MAX = URGE_WINDOW - 50                               # 850: a clean order is paid 50 s inside it...
PAID_SOON = (10, 300)                                     # ...or, without a 已付款 message that does
#                                                           so, 10 s-5 min after ordering
URGED_PAID = (400, 3000)                                  # an order urged in time: paid any time, if at all
LATE_PAID = (URGE_WINDOW + 100, 7200)                     # (1000, 7200): injected (no urge): paid, if at
#                                                           all, 100 s past the window up to 2 h
#
# repeated_quick_reply: quick replies must count, so they are kept well over min_chars.
QUICK_REPLY_MIN = QUICK_MIN_CHARS + 4                     # 10 compared characters

# --------------------------------------------------------------------------- templates (templates.yaml)


class Product(NamedTuple):
    name: str    # the {p} slot and the order card's 商品
    short: str   # product group: the key of the shop's topics
    lo: int      # unit price range, yuan
    hi: int


class Topic(NamedTuple):
    q: list[str]  # the customer's questions (one is asked)
    a: list[str]  # the agent's answers (one answers it)


class Complaint(NamedTuple):
    complaint: list[str]  # the customer's complaint
    act: list[str]        # the agent's first step
    solve: list[str]      # the solution, once the proof is in


def _load_templates(path: Path = TEMPLATES_FILE) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _topics(items: list[dict]) -> list[Topic]:
    return [Topic(t["q"], t["a"]) for t in items]


def _shop(s: dict) -> dict:
    return {
        **s,
        "pre": list(s["pre"].items()),      # [(nickname, weight)]
        "after": list(s["after"].items()),
        "amount": tuple(float(x) for x in s["amount"]),
        "products": [Product(**p) for p in s["products"]],
        "topics": {group: _topics(ts) for group, ts in s["topics"].items()},
        "service": _topics(s["service"]),
        "complaints": [Complaint(c["complaint"], c["act"], c["solve"]) for c in s["complaints"]],
    }


_T = _load_templates()

CITIES: list[tuple[str, int]] = list(_T["CITIES"].items())        # (city, delivery days)
HOUR_WEIGHTS: list[tuple[int, int]] = list(_T["HOUR_WEIGHTS"].items())
NICKS: list[str] = _T["NICKS"]
SLOT_VALUES: dict[str, list[str]] = {k: [str(v) for v in vs] for k, vs in _T["SLOT_VALUES"].items()}
SHOPS: list[dict] = [_shop(s) for s in _T["SHOPS"]]
COMMON_TOPICS: list[Topic] = _topics(_T["COMMON_TOPICS"])

C_OPENERS: list[str] = _T["C_OPENERS"]
C_OPEN_PREFIX: list[str] = _T["C_OPEN_PREFIX"]
C_QA_PREFIX: list[str] = _T["C_QA_PREFIX"]
C_ACKS: list[str] = _T["C_ACKS"]
C_THANKS: list[str] = _T["C_THANKS"]
C_STATEMENTS: list[str] = _T["C_STATEMENTS"]
C_CONSIDER: list[str] = _T["C_CONSIDER"]
C_PRE_TAIL: list[str] = _T["C_PRE_TAIL"]
C_NUDGES: list[str] = _T["C_NUDGES"]
C_REASK: list[str] = _T["C_REASK"]
C_IMAGE: str = _T["C_IMAGE"]
C_BARGAIN: list[str] = _T["C_BARGAIN"]
C_BARGAIN2: list[str] = _T["C_BARGAIN2"]
C_ORDERED: list[str] = _T["C_ORDERED"]
C_PAID: list[str] = _T["C_PAID"]
C_COMPLAINT_OPEN_DETAIL: list[str] = _T["C_COMPLAINT_OPEN_DETAIL"]
C_COMPLAINT_PROOF: list[str] = _T["C_COMPLAINT_PROOF"]
C_COMPLAINT_QA: list[Topic] = _topics(_T["C_COMPLAINT_QA"])
C_SERVICE_COMMON: list[Topic] = _topics(_T["C_SERVICE_COMMON"])
C_SERVICE_DETAIL: list[str] = _T["C_SERVICE_DETAIL"]
C_UNANSWERED_Q: list[str] = _T["C_UNANSWERED_Q"]

A_GREET: list[str] = _T["A_GREET"]
A_GREET_SHORT: list[str] = _T["A_GREET_SHORT"]
A_GREET_AFTER: list[str] = _T["A_GREET_AFTER"]
A_BOT: list[str] = _T["A_BOT"]
A_BARGAIN: list[str] = _T["A_BARGAIN"]
A_ORDER_ACK: list[str] = _T["A_ORDER_ACK"]
A_URGE: list[str] = _T["A_URGE"]
A_PAID_ACK: list[str] = _T["A_PAID_ACK"]
A_CONSIDER: list[str] = _T["A_CONSIDER"]
A_FOLLOWUP: list[str] = _T["A_FOLLOWUP"]
A_CLOSE: list[str] = _T["A_CLOSE"]
A_APOLOGY: list[str] = _T["A_APOLOGY"]
A_SOOTHE: list[str] = _T["A_SOOTHE"]
A_COMPLAINT_ACK: list[str] = _T["A_COMPLAINT_ACK"]
A_COMPLAINT_CLOSE_OK: list[str] = _T["A_COMPLAINT_CLOSE_OK"]
A_COMPLAINT_CLOSE: list[str] = _T["A_COMPLAINT_CLOSE"]
A_TRANSFER: list[str] = _T["A_TRANSFER"]
A_PREFIX: list[str] = _T["A_PREFIX"]
A_SUFFIX: list[str] = _T["A_SUFFIX"]
EMOJI: list[str] = _T["EMOJI"]
QUICK_REPLIES: list[str] = _T["QUICK_REPLIES"]

# Forbidden-phrase categories (the phrases are lexicons/forbidden.txt's)
FORBIDDEN_PREFIX: frozenset[str] = frozenset(_T["FORBIDDEN_PREFIX"])
FORBIDDEN_PREFERRED: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _T["FORBIDDEN_PREFERRED"].items()}

# --------------------------------------------------------------------------- text helpers

_NORM_DROP = re.compile(r"\[[^\[\]]{1,6}\]|[\W_]+")


def _norm_key(s: str) -> str:
    """The near-same comparison key of repeated_quick_reply (no punctuation/emoji/stickers)."""
    return _NORM_DROP.sub("", _normalize(s))


class _Lex:
    """The lexicons' phrases (normalised), read with qc.lexicon."""

    def __init__(self):
        def phrases(name: str) -> list[str]:
            return lexicon.load(name).phrases

        self.forbidden = phrases("forbidden")
        self.allow = phrases("allowlist")
        self.apology = phrases("apology")
        self.complaint = phrases("complaint")
        self.bargain = phrases("bargain")
        self.ordered = phrases("ordered")
        self.urge = phrases("urge_pay")
        self.question = phrases("question")
        self.ack = phrases("ack")
        self.ack_keys = {_norm_key(a) for a in self.ack} - {""}

    @staticmethod
    def has(text: str, phrases: list[str]) -> bool:
        t = _normalize(text)
        return any(p in t for p in phrases)

    def forbidden_in(self, text: str) -> list[str]:
        """Forbidden phrases in text, allow-listed words masked first (so 滚筒 is no 滚)."""
        t = _normalize(text)
        for a in self.allow:
            if a in t:
                t = t.replace(a, "□" * len(a))
        return [p for p in self.forbidden if p in t]


@lru_cache(maxsize=1)
def _lex() -> _Lex:
    return _Lex()


@lru_cache(maxsize=None)
def _lexicon_lines(file: str) -> list[str]:
    return (LEXICON_DIR / file).read_text(encoding="utf-8").splitlines()


def _as_written(entry: lexicon.Entry) -> str:
    """The entry's phrase spelt as in its file (傻X, where Entry.phrase is the normalised 傻x):
    the generator writes phrases into messages as the lexicon spells them. Normalisation keeps
    the length, so the phrase's span in the normalised line is its spelling."""
    line = _lexicon_lines(entry.file)[entry.line - 1]
    i = _normalize(line).find(entry.phrase)
    return line[i:i + len(entry.phrase)] if i >= 0 else entry.phrase


class _Blank(dict):
    def __missing__(self, key):
        return ""


# --------------------------------------------------------------------------- validation

def _expansions(tpl: str, slot_values: dict[str, list[str]]) -> list[str]:
    """The template with each slot left blank, and with every value of each slot (others blank)."""
    out = [tpl.format_map(_Blank())]
    for key in re.findall(r"\{(\w+)\}", tpl):
        for v in slot_values.get(key, []):
            out.append(tpl.format_map(_Blank({key: v})))
    return out


def _slot_values() -> dict[str, list[str]]:
    vals: dict[str, list[str]] = {"city": [c for c, _ in CITIES], **{k: list(v) for k, v in SLOT_VALUES.items()}}
    for s in SHOPS:
        vals.setdefault("p", []).extend(p.name for p in s["products"])
        vals.setdefault("gift", []).extend(s["gifts"])
        vals.setdefault("name", []).extend(n for n, _ in s["pre"] + s["after"])
        vals.setdefault("shop", []).append(s["name"])
        vals.setdefault("prefix", []).append(s["prefix"])
    return vals


@lru_cache(maxsize=1)
def validate_templates() -> bool:
    """Check every text pool against the lexicons; raise ValueError naming the template.

    Customer pools: cue words only where intended (complaint, bargaining, ordered).
    Agent pools: no forbidden phrase anywhere; apology and 催付 phrases only in their pools.
    """
    lx = _lex()
    vals = _slot_values()
    problems = []

    def check(pool, name, need=(), avoid=()):
        for tpl in pool:
            for text in _expansions(tpl, vals):
                for lex_name in need:
                    if not lx.has(text, getattr(lx, lex_name)):
                        problems.append(f"{name}: {text!r} lacks a {lex_name} cue")
                for lex_name in avoid:
                    if lex_name == "forbidden":
                        hit = lx.forbidden_in(text)
                    else:
                        hit = [p for p in getattr(lx, lex_name) if p in _normalize(text)]
                    if hit:
                        problems.append(f"{name}: {text!r} contains {lex_name} {hit}")

    cust_plain = ("complaint", "bargain", "ordered")
    agent_plain = ("forbidden", "apology", "urge")
    shop_c_q, shop_a, shop_c_complaint, shop_closers = [], [], [], []
    for s in SHOPS:
        for p in s["products"]:
            if p.short not in s["topics"]:
                problems.append(f"{s['name']}: product {p.name!r} has no topics {p.short!r}")
        for topics in s["topics"].values():
            for qs, ans in topics:
                shop_c_q += qs
                shop_a += ans
        for qs, ans in s["service"]:
            shop_c_q += qs
            shop_a += ans
        for cs, acts, sols in s["complaints"]:
            shop_c_complaint += cs
            shop_a += acts + sols
        shop_closers += s["closers"]
    common_q = [q for qs, _ in COMMON_TOPICS + C_COMPLAINT_QA + C_SERVICE_COMMON for q in qs]
    common_a = [a for _, ans in COMMON_TOPICS + C_COMPLAINT_QA + C_SERVICE_COMMON for a in ans]
    check(shop_c_q + common_q + C_UNANSWERED_Q + C_NUDGES, "customer question", need=("question",), avoid=cust_plain)
    check(C_OPENERS + C_OPEN_PREFIX + C_QA_PREFIX + C_THANKS + C_STATEMENTS + C_CONSIDER + C_PRE_TAIL + C_REASK
          + C_COMPLAINT_OPEN_DETAIL + C_COMPLAINT_PROOF + C_SERVICE_DETAIL, "customer text", avoid=cust_plain)
    check(C_THANKS + C_STATEMENTS + C_CONSIDER + C_PRE_TAIL + C_SERVICE_DETAIL + C_COMPLAINT_PROOF,
          "customer statement", avoid=("question",))
    check(C_BARGAIN + C_BARGAIN2, "customer bargaining", need=("bargain",), avoid=("complaint", "ordered"))
    check(shop_c_complaint, "customer complaint", need=("complaint",), avoid=("bargain",))
    check(C_ORDERED + C_PAID, "customer ordered", need=("ordered",), avoid=("complaint", "bargain"))
    for a in C_ACKS:
        if _norm_key(a) not in lx.ack_keys:
            problems.append(f"customer ack {a!r} is not an ack.txt phrase")
    check(shop_a + common_a + shop_closers + A_GREET + A_GREET_SHORT + A_GREET_AFTER + A_BARGAIN + A_ORDER_ACK
          + A_PAID_ACK + A_CONSIDER + A_FOLLOWUP + A_CLOSE + A_SOOTHE + A_COMPLAINT_ACK + A_COMPLAINT_CLOSE
          + A_TRANSFER + A_PREFIX + A_SUFFIX + QUICK_REPLIES, "agent text", avoid=agent_plain)
    check(A_APOLOGY + A_COMPLAINT_CLOSE_OK, "agent apology", need=("apology",), avoid=("forbidden", "urge"))
    check(A_URGE, "agent urge", need=("urge",), avoid=("forbidden", "apology"))
    for q in QUICK_REPLIES:
        if len(_norm_key(q)) < QUICK_REPLY_MIN:
            problems.append(f"quick reply {q!r} shorter than {QUICK_REPLY_MIN} characters")
    for e in EMOJI:
        if _norm_key(e):
            problems.append(f"emoji {e!r} has words")
    if problems:
        raise ValueError("sample templates do not fit the lexicons:\n  " + "\n  ".join(problems))
    return True


class Forbidden(NamedTuple):
    phrase: str         # as forbidden.txt spells it
    category: str       # its category field (推诿, 硬拒议价, ...)
    has_apology: bool   # contains an apology.txt phrase: not for complaints (it would be their apology)
    has_urge: bool      # contains an urge_pay.txt phrase: not in chats with an order (it would urge)


@lru_cache(maxsize=1)
def _forbidden_choices() -> tuple[Forbidden, ...]:
    """Every forbidden.txt entry, in file order."""
    lx = _lex()
    out = []
    for e in lexicon.load("forbidden").entries:
        phrase = _as_written(e)
        out.append(Forbidden(phrase, e.fields["category"], lx.has(phrase, lx.apology), lx.has(phrase, lx.urge)))
    return tuple(out)


# --------------------------------------------------------------------------- conversation model

@dataclass(slots=True)
class Msg:
    """A message while the chat is built; mutable: injections rewrite text, type, hint and tag."""
    role: str                   # customer | agent | bot
    text: str
    msg_type: str = "text"      # text | image | emoji | order
    agent_id: str | None = None
    hint: str | None = None     # timing: slow_first, slow, followup_ok, followup_late, nudge
    tag: str | None = None      # marks for the ground truth, "+"-joined: complaint, bargain_A, rep2,
    #                             emoji, tailq, forbidden (and order, paid, card, detail)


@dataclass(slots=True)
class Exchange:
    """Customer messages and the agent messages after them; rendered in order, customer first."""
    kind: str             # open, qa, bargain, bargain_A, consider, followup, order, paid, complaint,
    #                       proof, detail, end, tail, qa_emoji, reask
    customer: list[Msg]
    agent: list[Msg]


class _Buyer(NamedTuple):
    """An order placed in an earlier chat: after-sales chats may come back to it."""
    customer: str
    order_id: str
    created: int
    product: Product
    amount: float


def _one_apart(a: str, b: str) -> bool:
    """One substitution, insertion or deletion apart (characters, not bytes)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))


class _Conv:
    __slots__ = ("rng", "shop", "slots", "agent", "agent2", "used", "ex", "order", "queue", "scenario",
                 "product", "max_qa")

    def __init__(self, rng, shop, scenario):
        self.rng = rng
        self.shop = shop
        self.scenario = scenario
        self.used: set[str] = set()
        self.ex: list[Exchange] = []
        self.order = None       # dict describing an order placed in the chat
        self.max_qa = 4

    def is_new(self, k: str) -> bool:
        """Neither sent before nor one character apart from a text sent before: the
        near-same test of repeated_quick_reply (DESIGN.md), so a clean chat has no repeat."""
        return k not in self.used and not any(_one_apart(k, u) for u in self.used)

    # -- text picking
    def c(self, text, mtype="text", hint=None, tag=None) -> Msg:
        return Msg("customer", text, mtype, None, hint, tag)

    def a(self, text, mtype="text", hint=None, tag=None, agent=None) -> Msg:
        return Msg("agent", text, mtype, agent or self.agent, hint, tag)

    def fill(self, tpl):
        return tpl.format_map(self.slots) if "{" in tpl else tpl

    def agent_text(self, pool, decorate=True, agent=None):
        """An agent sentence not yet sent (near-same) in this chat."""
        rng = self.rng
        self.slots["name"] = (agent or self.agent).split(":", 1)[1]
        for attempt in range(12):
            t = self.fill(rng.choice(pool))
            if decorate and attempt < 8:
                pre = rng.choice(A_PREFIX)
                if pre and ("亲" in t[:8] or t.startswith(("您好", "在的", "好的", "不客气"))):
                    pre = ""
                suf = rng.choice(A_SUFFIX)
                if suf.startswith("哦") and t.endswith(("哦", "的", "吗", "呢", "吧", "~", "！", "。")):
                    suf = ""
                t = pre + t + suf
            k = _norm_key(t)
            if self.is_new(k):
                self.used.add(k)
                return t
        # pools are large enough that this is rare: make it distinct with a prefix
        for pre in ("好的亲，", "亲，这边说明一下：", "补充一下，", "再跟您确认一下，"):
            k = _norm_key(pre + t)
            if self.is_new(k):
                self.used.add(k)
                return pre + t
        return t

    def unique(self, make):
        """make() -> text; retried until its near-same key is new in this chat, then registered."""
        for _ in range(12):
            t = make()
            k = _norm_key(t)
            if self.is_new(k):
                self.used.add(k)
                return t
        t = "补充一下，" + t
        self.used.add(_norm_key(t))
        return t

    def question(self, qs, prefix=True):
        rng = self.rng
        q = self.fill(rng.choice(qs))
        if prefix:
            q = rng.choice(C_QA_PREFIX) + q
        if q.endswith("？") and rng.random() < 0.35:
            bare = q[:-1]
            if _lex().has(bare, _lex().question):
                q = bare
            elif rng.random() < 0.5:
                q = bare + "?"
        return q


def _pick_weighted(rng, items):
    total = sum(w for _, w in items)
    x = rng.random() * total
    for v, w in items:
        x -= w
        if x < 0:
            return v
    return items[-1][0]


def _topics_for(shop, kind):
    return shop["topics"][kind] + COMMON_TOPICS


def _opening(cv: _Conv, qa_pool, after=False):
    """Exchange 0: the customer's first message(s) and the agent's greeting."""
    rng = cv.rng
    r = rng.random()
    greet_pool = A_GREET_AFTER if after else A_GREET
    if qa_pool is None or r < 0.45:
        cust = [cv.c(rng.choice(C_OPENERS))] if rng.random() < 0.9 else [cv.c(rng.choice(EMOJI), "emoji")]
        if rng.random() < 0.12:
            cust.append(cv.c(C_IMAGE, "image"))
        return Exchange("open", cust, [cv.a(cv.agent_text(greet_pool, decorate=False))]), None
    qs, ans = qa_pool
    if r < 0.75:
        cust = [cv.c(rng.choice(C_OPENERS)), cv.c(cv.question(qs, prefix=False))]
    else:
        cust = [cv.c(rng.choice(C_OPEN_PREFIX) + cv.question(qs, prefix=False))]
    if rng.random() < 0.5:
        agents = [cv.a(cv.agent_text(greet_pool, decorate=False)), cv.a(cv.agent_text(ans))]
    else:
        agents = [cv.a(cv.unique(lambda: rng.choice(A_GREET_SHORT) + cv.fill(rng.choice(ans))))]
    return Exchange("open", cust, agents), qa_pool


def _qa_exchanges(cv: _Conv, topics, n, skip=None):
    rng = cv.rng
    pool = [t for t in topics if t is not skip]
    rng.shuffle(pool)
    out = []
    for qs, ans in pool[:n]:
        cust = [cv.c(cv.question(qs))]
        agents = [cv.a(cv.agent_text(ans))]
        if cv.shop["code"] == "YX" and "码" in cust[0].text and rng.random() < 0.4:
            agents.insert(0, cv.a(C_IMAGE, "image"))  # the size chart
        out.append(Exchange("qa", cust, agents))
    return out


def _ending_plain(cv: _Conv):
    """Clean end after an agent answer: leave, a bare acknowledgement, or thanks + closing."""
    rng = cv.rng
    r = rng.random()
    if r < 0.3:
        return []
    if r < 0.6:
        return [Exchange("end", [cv.c(rng.choice(C_ACKS))], [])]
    cust = [cv.c(rng.choice(C_THANKS if r < 0.85 else C_STATEMENTS))]
    if rng.random() < 0.12 and cust[0].text in C_THANKS:
        return [Exchange("end", cust, [cv.a(rng.choice(EMOJI), "emoji")])]  # emoji to a thank-you: fine
    pool = A_CLOSE + cv.shop["closers"]
    return [Exchange("end", cust, [cv.a(cv.agent_text(pool))])]


def _tail_question(cv: _Conv):
    rng = cv.rng
    cust = []
    if rng.random() < 0.25:
        cust.append(cv.c(rng.choice(C_PRE_TAIL)))
    cust.append(cv.c(cv.question(C_UNANSWERED_Q, prefix=False), tag="tailq"))
    if rng.random() < 0.2:
        cust.append(cv.c(rng.choice(C_NUDGES)))
    return Exchange("tail", cust, [])


def _build_presales(cv: _Conv, bargain: bool, will_order: bool, inj: set):
    rng = cv.rng
    shop = cv.shop
    topics = _topics_for(shop, cv.product.short)
    first = rng.choice(topics)
    ex0, used_topic = _opening(cv, first)
    ex = [ex0]
    n_qa = min(cv.max_qa, rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))
    ex += _qa_exchanges(cv, topics, n_qa, skip=used_topic)
    if bargain:
        ex.append(Exchange("bargain", [cv.c(cv.fill(rng.choice(C_BARGAIN)))], [cv.a(cv.agent_text(A_BARGAIN))]))
        if rng.random() < 0.35:
            ex.append(Exchange("bargain", [cv.c(rng.choice(C_BARGAIN2))], [cv.a(cv.agent_text(A_BARGAIN))]))
    if will_order:
        ex += _order_exchanges(cv, inj)
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        else:
            ex += _ending_plain(cv)
    elif bargain:
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        elif "bargain_followup_late" in inj:
            if rng.random() < 0.5:  # the customer's last words: "let me think"
                ex.append(Exchange("consider", [cv.c(rng.choice(C_CONSIDER))], [cv.a(cv.agent_text(A_CONSIDER))]))
            last = ex[-1]  # the agent's answer to the customer's last words: nothing follows it in time
            last.agent = last.agent[:1]
            last.agent[0].tag = "bargain_A"
            last.kind = "bargain_A"
            if rng.random() < 0.6:
                ex.append(Exchange("followup", [], [cv.a(cv.agent_text(A_FOLLOWUP), hint="followup_late")]))
        else:
            r = rng.random()
            if r < 0.35:
                ex.append(Exchange("end", [cv.c(rng.choice(C_ACKS))], []))
            else:
                if r < 0.7:
                    ex.append(Exchange("consider", [cv.c(rng.choice(C_CONSIDER))], [cv.a(cv.agent_text(A_CONSIDER))]))
                ex.append(Exchange("followup", [], [cv.a(cv.agent_text(A_FOLLOWUP), hint="followup_ok")]))
                if rng.random() < 0.3:
                    ex.append(Exchange("end", [cv.c(rng.choice(C_ACKS))], []))
    else:
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        else:
            ex += _ending_plain(cv)
    return ex


def _order_exchanges(cv: _Conv, inj: set):
    """The customer orders: the order is created just before the first message below."""
    rng = cv.rng
    late = "late_urge_to_pay" in inj
    mode = "late" if late else ("urged" if rng.random() < 0.25 else "paid")
    cv.order = {"mode": mode}
    r = rng.random()
    if r < 0.6:
        cust = [cv.c(rng.choice(C_ORDERED), tag="order")]
    elif r < 0.8:
        cust = [cv.c("", "order", tag="order")]  # the order card; text filled once the id is known
    else:
        cust = [cv.c(rng.choice(C_ORDERED), tag="order"), cv.c("", "order")]
    agents = [cv.a(cv.agent_text(A_ORDER_ACK))]
    out = [Exchange("order", cust, agents)]
    if mode == "urged":
        if rng.random() < 0.5:
            agents.append(cv.a(cv.agent_text(A_URGE, decorate=False)))
        else:
            out.append(Exchange("followup", [], [cv.a(cv.agent_text(A_URGE, decorate=False), hint="followup_ok")]))
    elif mode == "paid" and rng.random() < 0.4:
        out.append(Exchange("paid", [cv.c(rng.choice(C_PAID), tag="paid")], [cv.a(cv.agent_text(A_PAID_ACK))]))
    return out


def _build_complaint(cv: _Conv, inj: set):
    rng = cv.rng
    shop = cv.shop
    apologise = "missing_apology" not in inj
    cs, acts, sols = rng.choice(shop["complaints"])
    complaint = cv.c(cv.fill(rng.choice(cs)), tag="complaint")
    extra = []
    if rng.random() < 0.35:
        extra.append(cv.c(C_IMAGE, "image"))
    if rng.random() < 0.25:
        extra.append(cv.c(rng.choice(C_COMPLAINT_OPEN_DETAIL)))

    def first_reply(greet_prefix=""):
        parts = []
        if apologise:
            parts.append(rng.choice(A_APOLOGY))
        if rng.random() < 0.5 or not apologise:
            parts.append(rng.choice(A_SOOTHE))
        parts.append(cv.fill(rng.choice(acts)))
        return cv.unique(lambda: greet_prefix + "，".join(parts))

    ex = []
    transfer = rng.random() < 0.1
    if rng.random() < 0.5:  # greet first, then the complaint
        cust = [cv.c(rng.choice(C_OPENERS))]
        greeter = cv.agent2 if transfer else cv.agent
        ex.append(Exchange("open", cust, [cv.a(cv.agent_text(A_GREET_AFTER if not transfer else A_GREET,
                                                             decorate=False, agent=greeter), agent=greeter)]))
        agents = [cv.a(first_reply())]
        if transfer:
            agents.insert(0, cv.a(cv.agent_text(A_TRANSFER, decorate=False, agent=greeter), agent=greeter))
        ex.append(Exchange("complaint", [complaint] + extra, agents))
    else:  # the first message is the complaint
        if transfer:
            agents = [cv.a(cv.agent_text(A_TRANSFER, decorate=False, agent=cv.agent2), agent=cv.agent2),
                      cv.a(first_reply())]
        else:
            agents = [cv.a(first_reply(rng.choice(A_GREET_SHORT)))]
        ex.append(Exchange("open", [complaint] + extra, agents))
    proof = cv.c(rng.choice(C_COMPLAINT_PROOF), "image") if rng.random() < 0.5 else cv.c("", "order", tag="card")
    if proof.msg_type == "image" and proof.text != C_IMAGE:
        proof.msg_type = "text"
    agents = [cv.a(cv.agent_text(A_COMPLAINT_ACK, decorate=False)), cv.a(cv.agent_text(sols))]
    ex.append(Exchange("proof", [proof], agents))
    for qs, ans in rng.sample(C_COMPLAINT_QA, min(cv.max_qa, rng.choice((0, 1, 1, 2)))):
        ex.append(Exchange("qa", [cv.c(cv.question(qs))], [cv.a(cv.agent_text(ans))]))
    if "unanswered_question" in inj:
        ex.append(_tail_question(cv))
        return ex
    r = rng.random()
    if r < 0.35:
        ex.append(Exchange("end", [cv.c(rng.choice(C_ACKS))], []))
    elif r < 0.85:
        pool = A_COMPLAINT_CLOSE + (A_COMPLAINT_CLOSE_OK if apologise else [])
        ex.append(Exchange("end", [cv.c(rng.choice(C_THANKS))], [cv.a(cv.agent_text(pool))]))
    return ex


def _build_service(cv: _Conv, inj: set):
    rng = cv.rng
    pool = cv.shop["service"] + C_SERVICE_COMMON
    first = rng.choice(pool)
    ex0, used = _opening(cv, first, after=True)
    ex = [ex0]
    rest = [t for t in pool if t is not first]
    cv.rng.shuffle(rest)
    if used is None:
        ex += _qa_exchanges(cv, rest[:1], 1)
        rest = rest[1:]
    if rng.random() < 0.4:
        detail = cv.c(cv.fill(rng.choice(C_SERVICE_DETAIL)), tag="detail")
        ex.append(Exchange("detail", [detail], [cv.a(cv.agent_text(A_COMPLAINT_ACK, decorate=False))]))
        if detail.text == C_IMAGE:
            detail.msg_type = "image"
        elif detail.text == "就是这个订单" and rng.random() < 0.5:
            ex[-1].customer.append(cv.c("", "order", tag="card"))
    ex += _qa_exchanges(cv, rest, min(cv.max_qa, rng.choice((0, 1, 1, 2))))
    if "unanswered_question" in inj:
        ex.append(_tail_question(cv))
    else:
        ex += _ending_plain(cv)
    return ex


# --------------------------------------------------------------------------- injections on exchanges

def _inject_emoji(cv: _Conv):
    """A question turn answered by emoji only; the customer asks again, then gets the answer."""
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex) if e.kind == "qa" and e.agent and e.agent[0].msg_type == "text"]
    if not cands:
        return False
    i = rng.choice(cands)
    e = cv.ex[i]
    emo = [cv.a(rng.choice(EMOJI), "emoji", tag="emoji")]
    if rng.random() < 0.2:
        emo.append(cv.a(rng.choice(EMOJI), "emoji"))
    cv.ex[i] = Exchange("qa_emoji", e.customer, emo)
    cv.ex.insert(i + 1, Exchange("reask", [cv.c(rng.choice(C_REASK))], e.agent))
    return True


def _inject_slow_response(cv: _Conv):
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex) if i > 0 and e.customer and e.agent]
    if not cands:
        return False
    e = cv.ex[rng.choice(cands)]
    # a nudge ("在吗？") asks: not before an emoji-only reply to a customer block that did not ask
    if rng.random() < 0.4 and any(m.msg_type != "emoji" for m in e.agent):
        e.customer.append(cv.c(rng.choice(C_NUDGES), hint="nudge"))
    e.agent[0].hint = "slow"
    return True


def _inject_slow_first(cv: _Conv):
    e = cv.ex[0]
    if cv.rng.random() < 0.4:
        e.customer.append(cv.c(cv.rng.choice(C_NUDGES), hint="nudge"))
    e.agent[0].hint = "slow_first"


def _inject_repeat(cv: _Conv):
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex)
             if e.agent and e.kind not in ("qa_emoji", "followup", "bargain_A") and e.agent[-1].msg_type == "text"]
    if len(cands) < 2:
        return False
    i, j = sorted(rng.sample(cands, 2))
    q = rng.choice(QUICK_REPLIES)
    q2 = q if rng.random() < 0.5 else q.rstrip("哦") + rng.choice(("！", "~", "[微笑]", "哦~", "。"))
    if _norm_key(q2) != _norm_key(q):
        q2 = q
    cv.ex[i].agent.append(cv.a(q))
    cv.ex[j].agent.append(cv.a(q2, tag="rep2"))
    return True


def _inject_forbidden(cv: _Conv):
    rng = cv.rng
    choices = [f for f in _forbidden_choices()
               if not (f.has_apology and cv.scenario == "complaint") and not (f.has_urge and cv.order is not None)]
    if rng.random() < 0.75:
        pref = [f for f in choices if f.category in FORBIDDEN_PREFERRED[cv.scenario]]
        choices = pref or choices
    f = rng.choice(choices)

    def ok(m: Msg):  # not the emoji reply, not a repeated quick reply (it would stop repeating)
        return m.msg_type == "text" and m.tag != "rep2" and "[" not in m.text and m.text not in QUICK_REPLIES

    msgs = [m for e in cv.ex for m in e.agent if ok(m)]
    if cv.scenario == "bargain" and f.category == "硬拒议价":
        msgs = [m for e in cv.ex if e.kind in ("bargain", "bargain_A") for m in e.agent if ok(m)] or msgs
    if not msgs:
        return False
    m = rng.choice(msgs)
    base = m.text.rstrip("。~！!哦")
    if f.category in FORBIDDEN_PREFIX and rng.random() < 0.6:
        m.text = f"{f.phrase}，{base}"
    else:
        m.text = f"{base}，{f.phrase}！" if rng.random() < 0.5 else f"{base}。{f.phrase}"
    m.tag = "forbidden" if m.tag is None else m.tag + "+forbidden"
    return True


# --------------------------------------------------------------------------- timeline

def _think(rng):
    return min(120, 5 + int(rng.expovariate(1 / 28)))


def _timeline(msgs: list[Msg], start, rng):
    """Assign integer local seconds to the rendered messages (see the timing constants)."""
    times = []
    t = start
    round_start = None
    first_round = True
    prev_role = None
    for i, m in enumerate(msgs):
        role, hint = m.role, m.hint
        if i == 0:
            t = start
            round_start = t
        elif role == "bot":
            t += rng.randint(1, 2)
        elif role == "customer":
            if hint == "nudge":
                lo, hi = NUDGE_FIRST if first_round else NUDGE_LATER
                t = max(t + 2, round_start + rng.randint(lo, hi))
            elif prev_role == "customer":
                t += rng.randint(2, 6) if first_round else rng.randint(2, 8)
            else:
                t += _think(rng)
            if round_start is None:
                round_start = t
        else:  # agent
            if round_start is not None:
                if first_round:
                    if hint == "slow_first":
                        t = max(t + 5, round_start + rng.randint(*SLOW_FIRST_REPLY))
                    else:
                        t = max(t + 2, round_start + rng.randint(*FIRST_REPLY))
                    first_round = False
                elif hint == "slow":
                    t = max(t + 5, round_start + rng.randint(*SLOW_ROUND_REPLY))
                else:
                    d = rng.randint(5, 20) if rng.random() < 0.8 else rng.randint(21, 40)
                    t = max(t + 1, min(t + d, round_start + ROUND_REPLY_MAX))
                round_start = None
            elif hint == "followup_ok":
                t += rng.randint(*FOLLOWUP_OK)
            elif hint == "followup_late":
                t += rng.randint(*FOLLOWUP_LATE)
            else:
                t += rng.randint(3, 15)
        if role != "bot":
            prev_role = role
        times.append(t)
    return times


# --------------------------------------------------------------------------- the generator

class _Clock:
    """Local seconds since the start date's midnight -> ISO-8601 with +08:00."""

    def __init__(self, start: date):
        self.start = start
        self.days: dict[int, str] = {}

    def iso(self, s: int) -> str:
        d, r = divmod(s, 86400)
        day = self.days.get(d)
        if day is None:
            day = self.days[d] = (self.start + timedelta(days=d)).isoformat()
        h, r = divmod(r, 3600)
        mi, se = divmod(r, 60)
        return f"{day}T{h:02d}:{mi:02d}:{se:02d}{TZ}"


def _amount(rng, shop, product: Product):
    lo, hi = product.lo, product.hi
    qty = 1
    if shop["code"] == "GL" and rng.random() < 0.35:
        qty = rng.choice((2, 2, 3))
    unit = rng.randint(int(lo), int(hi))
    unit = unit - unit % 10 + (9 if rng.random() < 0.8 else 8)
    if unit > hi:
        unit -= 10
    v = unit * qty
    if shop["code"] == "GL" and rng.random() < 0.6:
        v = v - 0.1  # x9.9
    a_lo, a_hi = shop["amount"]
    return round(min(max(float(v), a_lo), a_hi), 2)


def generate(out_dir, conversations: int = 300, seed: int = 7, start: str = "2026-11-01", days: int = 7,
             progress=None) -> dict:
    """Write chats.jsonl, orders.jsonl and ground_truth.jsonl into out_dir; return counts.
    `progress(n)` is called every 1,000 conversations (the CLI's progress bar)."""
    validate_templates()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    start_date = date.fromisoformat(str(start))
    clock = _Clock(start_date)
    days = max(1, int(days))
    n = int(conversations)
    width = max(6, len(str(n)))

    # conversation start times (local seconds), sorted so ids follow time
    starts = []
    for _ in range(n):
        d = rng.randrange(days)
        h = _pick_weighted(rng, HOUR_WEIGHTS)
        mi = rng.randrange(30) if h == 23 else rng.randrange(60)
        starts.append(d * 86400 + h * 3600 + mi * 60 + rng.randrange(60))
    starts.sort()

    agents_by_shop = []
    for s in SHOPS:
        agents_by_shop.append({
            "pre": [(f"{s['prefix']}:{nm}", w) for nm, w in s["pre"]],
            "after": [(f"{s['prefix']}:{nm}", w) for nm, w in s["after"]],
        })
    shop_weights = [(i, s["weight"]) for i, s in enumerate(SHOPS)]
    mix = list(MIX.items())

    counts = {r: 0 for r in RULE_IDS}
    n_msgs = 0
    orders_out: list[str] = []
    truth_out: list[str] = []
    cust_counter = 0
    order_counter = 0
    customers: list[str] = []
    last_end: dict[tuple[str, int], int] = {}
    buyers_by_shop: list[list[_Buyer]] = [[] for _ in SHOPS]  # earlier chat orders per shop

    def new_customer():
        nonlocal cust_counter
        cust_counter += 1
        if rng.random() < 0.65:
            cid = f"tb{(cust_counter * 7919 + 104729) % 10**9:09d}"
        else:
            cid = f"{rng.choice(NICKS)}{cust_counter}"
        customers.append(cid)
        return cid

    def new_order_id(s):
        nonlocal order_counter
        order_counter += 1
        day = clock.iso(s)[:10].replace("-", "")[2:]
        return f"{day}{(order_counter * 982451653 + 12345) % 10**12:012d}"

    def order_line(oid, cust, shop, agent, created, paid, amount):
        return json.dumps({"order_id": oid, "customer_id": cust, "shop_id": shop["name"], "agent_id": agent,
                           "created_at": clock.iso(created), "paid_at": None if paid is None else clock.iso(paid),
                           "amount": amount}, ensure_ascii=False)

    f_chats = (out / "chats.jsonl").open("w", encoding="utf-8")
    buf: list[str] = []
    dumps = json.dumps
    try:
        for ci in range(n):
            if progress and ci % 1000 == 0:
                progress(ci)
            st = starts[ci]
            si = _pick_weighted(rng, shop_weights)
            shop = SHOPS[si]
            scenario = _pick_weighted(rng, mix)
            queue = "presales" if scenario in ("inquiry", "bargain") else "aftersales"
            pool = agents_by_shop[si]["pre" if queue == "presales" else "after"]
            product = rng.choice(shop["products"])

            # customer: new, a returning buyer (after-sales on an earlier order), or seen before
            cust = None
            past_order = past_amount = None
            if queue == "aftersales" and buyers_by_shop[si] and rng.random() < 0.35:
                cand = buyers_by_shop[si][rng.randrange(len(buyers_by_shop[si]))]
                if cand.created < st - 86400 and last_end.get((cand.customer, si), -10**9) < st - 3600:
                    cust, past_order, product, past_amount = cand.customer, cand.order_id, cand.product, cand.amount
            if cust is None and customers and rng.random() < REUSE_SHARE:
                cand = customers[rng.randrange(len(customers))]
                if last_end.get((cand, si), -10**9) < st - 3600:
                    cust = cand
            if cust is None:
                cust = new_customer()

            # the chat's plan: which rules to inject (each at its rate among eligible chats)
            will_order = scenario in ORDER_SHARE and rng.random() < ORDER_SHARE[scenario]
            inj = set()
            for rule in ANY_CHAT_RULES:
                if rng.random() < RATES[rule]:
                    inj.add(rule)
            if scenario == "complaint" and rng.random() < RATES["missing_apology"]:
                inj.add("missing_apology")
            if scenario == "bargain" and not will_order and rng.random() < RATES["bargain_followup_late"]:
                inj.add("bargain_followup_late")
            if will_order and rng.random() < RATES["late_urge_to_pay"]:
                inj.add("late_urge_to_pay")
            if "bargain_followup_late" in inj and "unanswered_question" in inj:
                inj.discard("unanswered_question" if rng.random() < 0.5 else "bargain_followup_late")

            slots = _Blank({
                "p": product.name, "shop": shop["name"], "prefix": shop["prefix"],
                "d": "", "city": "", "c": rng.choice(SLOT_VALUES["c"]), "gift": rng.choice(shop["gifts"]),
                "h": rng.choice(SLOT_VALUES["h"]), "w": rng.choice(SLOT_VALUES["w"]),
                "size": rng.choice(SLOT_VALUES["size"]),
                "price": str(int(product.lo * 0.85) // 10 * 10 + 9),
            })
            city, dd = rng.choice(CITIES)
            slots["city"], slots["d"] = city, str(dd + rng.choice((0, 0, 1)))

            for attempt in range(8):
                cv = _Conv(rng, shop, scenario)
                cv.max_qa = (4, 3, 2, 2, 1, 1, 0, 0)[attempt]
                cv.slots = slots
                cv.product = product
                cv.queue = queue
                cv.agent = _pick_weighted(rng, pool)
                other = agents_by_shop[si]["pre"]
                cv.agent2 = _pick_weighted(rng, other)
                if scenario == "inquiry":
                    cv.ex = _build_presales(cv, False, will_order, inj)
                elif scenario == "bargain":
                    cv.ex = _build_presales(cv, True, will_order, inj)
                elif scenario == "complaint":
                    cv.ex = _build_complaint(cv, inj)
                else:
                    cv.ex = _build_service(cv, inj)
                done = set(inj) & {"missing_apology", "bargain_followup_late", "late_urge_to_pay",
                                   "unanswered_question"}
                if "emoji_only_reply" in inj and _inject_emoji(cv):
                    done.add("emoji_only_reply")
                if "slow_first_response" in inj:
                    _inject_slow_first(cv)
                    done.add("slow_first_response")
                if "slow_response" in inj and _inject_slow_response(cv):
                    done.add("slow_response")
                if "repeated_quick_reply" in inj and _inject_repeat(cv):
                    done.add("repeated_quick_reply")
                if "forbidden_phrase" in inj and _inject_forbidden(cv):
                    done.add("forbidden_phrase")
                msgs = []
                for k, e in enumerate(cv.ex):
                    msgs.extend(e.customer)
                    if k == 0 and rng.random() < BOT_SHARE:
                        msgs.insert(1, Msg("bot", rng.choice(A_BOT).format_map(slots)))
                    msgs.extend(e.agent)
                if 4 <= len(msgs) <= 20:
                    break
                # too long (or short): rebuild, with fewer question turns the next time round
            else:
                raise RuntimeError(f"could not build a conversation of 4-20 messages ({len(msgs)})")
            times = _timeline(msgs, st, rng)
            end = times[-1]
            chatted_here_before = (cust, si) in last_end
            last_end[(cust, si)] = end
            conv_id = f"{shop['code']}-{clock.iso(st)[:10].replace('-', '')}-{ci + 1:0{width}d}"

            # orders: the one placed in this chat, and the earlier one an after-sales chat is about
            card_order, card_amount = past_order, past_amount
            if cv.order is not None:
                k = next(i for i, m in enumerate(msgs) if m.tag == "order")
                lo = times[k - 1] + 1
                created = max(lo, times[k] - rng.randint(1, 4))
                mode = cv.order["mode"]
                if mode == "paid":
                    kp = next((i for i, m in enumerate(msgs) if m.tag == "paid"), None)
                    if kp is not None:  # paid just before the customer says so, inside the urge window
                        paid = max(created + 5, times[kp] - rng.randint(1, 4))
                        if paid - created > PAID_MAX:
                            paid = created + rng.randint(*PAID_SOON)
                    else:
                        paid = created + rng.randint(*PAID_SOON)
                elif mode == "urged":
                    paid = None if rng.random() < 0.5 else created + rng.randint(*URGED_PAID)
                else:  # late_urge_to_pay: not paid within the window, and no urge
                    paid = None if rng.random() < 0.7 else created + rng.randint(*LATE_PAID)
                oid = new_order_id(created)
                amount = _amount(rng, shop, product)
                orders_out.append(order_line(oid, cust, shop, cv.agent if rng.random() < 0.5 else None,
                                             created, paid, amount))
                buyers_by_shop[si].append(_Buyer(cust, oid, created, product, amount))
                card_order, card_amount = oid, amount
            if queue == "aftersales" and past_order is None and not chatted_here_before:
                # an order from before this chat; this customer never chatted with this shop
                # before, and later chats start after this one: it lies in no chat
                created = st - rng.randint(86400, 8 * 86400)
                paid = created + rng.randint(10, 600)
                card_order = new_order_id(created)
                card_amount = _amount(rng, shop, product)
                orders_out.append(order_line(card_order, cust, shop, None if rng.random() < 0.5 else
                                             _pick_weighted(rng, agents_by_shop[si]["pre"]), created, paid, card_amount))

            # ground truth, by construction
            gt = []
            agent_seen = False
            for i, m in enumerate(msgs):
                seq = i + 1
                tag = m.tag
                if m.msg_type == "order" and not m.text:
                    if card_order is None:
                        m.text, m.msg_type = C_IMAGE, "image"
                    else:
                        m.text = f"订单号：{card_order}，商品：{product.name}，实付：¥{card_amount:.2f}"
                if m.role == "agent" and not agent_seen:
                    agent_seen = True
                    if m.hint == "slow_first":
                        gt.append(("slow_first_response", seq))
                        # every round counts for slow_response, the first included (DESIGN.md)
                        first_c = next(k for k, x in enumerate(msgs) if x.role == "customer")
                        if times[i] - times[first_c] > ROUND_LIMIT:
                            gt.append(("slow_response", seq))
                if m.hint == "slow" and m.role == "agent":
                    gt.append(("slow_response", seq))
                if not tag:
                    continue
                tags = tag.split("+")
                if "complaint" in tags and "missing_apology" in inj and not any(r == "missing_apology" for r, _ in gt):
                    gt.append(("missing_apology", seq))
                if "bargain_A" in tags:
                    gt.append(("bargain_followup_late", seq))
                if "rep2" in tags:
                    gt.append(("repeated_quick_reply", seq))
                if "emoji" in tags:
                    gt.append(("emoji_only_reply", seq))
                if "tailq" in tags:
                    gt.append(("unanswered_question", seq))
                if "forbidden" in tags:
                    gt.append(("forbidden_phrase", seq))
            if "late_urge_to_pay" in inj:
                gt.append(("late_urge_to_pay", None))
            for rule, seq in gt:
                counts[rule] += 1
                truth_out.append(dumps({"conversation_id": conv_id, "rule_id": rule, "message_seq": seq},
                                       ensure_ascii=False))

            # messages
            iso = clock.iso
            shop_name = shop["name"]
            for i, m in enumerate(msgs):
                buf.append(dumps({"conversation_id": conv_id, "seq": i + 1, "ts": iso(times[i]), "role": m.role,
                                  "agent_id": m.agent_id, "customer_id": cust, "shop_id": shop_name, "queue": queue,
                                  "text": m.text, "msg_type": m.msg_type}, ensure_ascii=False))
            n_msgs += len(msgs)
            if len(buf) >= 50000:
                f_chats.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f_chats.write("\n".join(buf) + "\n")
    finally:
        f_chats.close()

    # orders placed without any chat (静默下单), by buyers who never chatted
    silent = max(1, len(orders_out) // 10) if n else 0
    for _ in range(silent):
        si = _pick_weighted(rng, shop_weights)
        shop = SHOPS[si]
        product = rng.choice(shop["products"])
        cust_counter += 1
        cust = f"tb{(cust_counter * 7919 + 104729) % 10**9:09d}"
        created = rng.randrange(days) * 86400 + rng.randint(8 * 3600, 23 * 3600 + 1800)
        paid = created + rng.randint(10, 600) if rng.random() < 0.85 else None
        orders_out.append(order_line(new_order_id(created), cust, shop, None, created, paid, _amount(rng, shop, product)))

    (out / "orders.jsonl").write_text("\n".join(orders_out) + ("\n" if orders_out else ""), encoding="utf-8")
    (out / "ground_truth.jsonl").write_text("\n".join(truth_out) + ("\n" if truth_out else ""), encoding="utf-8")
    return {"conversations": n, "messages": n_msgs, "orders": len(orders_out), "violations": counts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.sample", description="生成样例聊天、订单及标注 (sample data with ground truth)")
    ap.add_argument("--conversations", "-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("data/generated"))
    ap.add_argument("--start", default="2026-11-01", help="first day, YYYY-MM-DD")
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args(argv)
    counts = generate(args.out, conversations=args.conversations, seed=args.seed, start=args.start, days=args.days)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
