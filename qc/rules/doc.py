"""docs/rules.md, generated from the registry: each rule's module docstring, metadata and
declared parameters. Regenerate after changing a rule:

    qc rules --markdown > docs/rules.md

tests/test_rules_meta.py fails when the file is stale.
"""

from __future__ import annotations

import inspect as _inspect
from importlib import import_module

from . import RULES

PREAMBLE = """# 质检规则 Rule reference

Generated from `qc/rules/` by `qc rules --markdown` — edit the rule modules, not this file.
The rule ids are a contract (DESIGN.md). Parameter defaults are declared in each rule's
module; `config/qc.yaml` may override them (`qc rules` shows the values in effect).

General semantics: "agent" always means a **human** agent message (`role = agent`); bot
messages (`role = bot`, e.g. 店小蜜) never count as a reply, an apology or a follow-up, and
are never flagged. `seq` is the message's position in the conversation (1-based). Phrase
lists live in `lexicons/`. Phrase matching is on characters (Aho-Corasick) after
normalisation (full-width → half-width, lower-case latin). Entries of 1–2 characters are
word-aware (jieba token boundaries), and a match inside an `allowlist.txt` phrase is
dropped. When trained models exist in `models/` (`qc train`), rules with a model parameter
also use the model's probability; without a model, inspection falls back to the lexicons
and says so in the run notes.

| rule_id | 名称 | category | default severity | parameters |
|---|---|---|---|---|
"""


def reference_markdown() -> str:
    out = [PREAMBLE]
    for r in RULES:
        params = ", ".join(f"`{p.name}`={p.default}" for p in r.params) or "—"
        out.append(f"| `{r.id}` | {r.name} | {r.category} | {r.severity or 'from the lexicon'} | {params} |\n")
    for r in RULES:
        doc = _inspect.cleandoc(import_module(f"qc.rules.{r.id}").__doc__ or "")
        title, _, body = doc.partition("\n")
        out.append(f"\n## `{r.id}` — {r.name}\n\n")
        out.append(f"Version {r.version} · {r.category} · severity {r.severity or 'from the lexicon'} · "
                   f"SQL `qc/rules/sql/{r.sql}`\n\n")
        out.append(body.strip() + "\n")
        if r.params:
            out.append("\n| parameter | type | default | bounds | meaning |\n|---|---|---|---|---|\n")
            for p in r.params:
                lo = f"> {p.min}" if p.min is not None else ""
                hi = f"≤ {p.max}" if p.max is not None else ""
                model = f" Model signal: `{p.model[0]}` p({p.model[1]}); `auto` = the model card's threshold." if p.model else ""
                out.append(f"| `{p.name}` | {p.type.__name__} | {p.default} | {' '.join(x for x in (lo, hi) if x)} | "
                           f"{p.help}{model} |\n")
        if r.review_labels:
            teaches = ", ".join(f"{t}:{l}" for t, l in r.review_labels.items())
            out.append(f"\nReviews teach the classifiers: a confirmed finding is an example of {teaches}"
                       f"{'; a dismissal is an `other` example' if r.dismissal_teaches else ''}"
                       f"{'; a dismissal with reason ' + ' / '.join(r.teaching_dismissals) + ' is an `other` example' if r.teaching_dismissals else ''}.\n")
    return "".join(out)
