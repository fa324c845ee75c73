"""repeated_quick_reply — 重复发送快捷短语.

The same (or near-same: punctuation, spaces and emoji ignored) agent reply of at least
`min_chars` characters is sent 2+ times in one conversation. Short acknowledgements
(lexicons/ack.txt: 好的亲, 嗯嗯) are exempt; the same template in different conversations
is fine.

Definition: an agent message whose normalised text (whitespace, punctuation and emoji
removed; ≥ `min_chars` = 6 characters; not an `ack.txt` phrase, not a service formula) equals
an earlier agent message of the same conversation or is one character apart from it. Every
later occurrence is a finding (evidence: the first occurrence's seq and text, the occurrence
number). The same template in **different** conversations is fine.
Flagged message (`message_seq`): each repeat (the 2nd, 3rd … occurrence).

Since 2.0 (DESIGN.md): near-same = one character apart; the 2nd and every later
occurrence is a finding; service formulas (lexicons/service_formulas.txt) are exempt.

违规 (violating):  客服「亲，这款是现货，48小时内发货哦」…客服「亲，这款是现货，48小时内发货哦！」
合规 (compliant):  客服「好的亲」…客服「好的亲」
"""

from .base import Param, Rule

RULE = Rule(
    id="repeated_quick_reply",
    version="2.0",
    name="重复快捷短语",
    category="能力类",
    severity="low",
    description="同一会话中客服重复发送相同（或几乎相同）的快捷回复",
    violating="客服：亲，这款是现货，48小时内发货哦 / …… / 客服：亲，这款是现货，48小时内发货哦！",
    compliant="客服：好的亲 / …… / 客服：好的亲",
    params=(Param("min_chars", int, 6, help="shorter replies (好的亲, 嗯嗯) are never repeated quick replies"),),
)
