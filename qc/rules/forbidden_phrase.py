"""forbidden_phrase — 禁用语 / 高压线.

An agent message contains a phrase of lexicons/forbidden.txt (word-aware for 1–2
character entries, allow-list applied). Severity and sub-category come from the lexicon;
`redline` (辱骂) fails the conversation.

Definition: An agent message contains a phrase of `forbidden.txt`. One finding per message
(evidence lists every phrase; severity = the most severe). Severity `redline` (辱骂) fails the
conversation.
Flagged message (`message_seq`): the agent message.

Since 1.1: allow-list entries for 靠 meaning "rely on" (靠连接, 靠手机 …).

Since 1.2: two hits of one severity at one position (滚 and 滚蛋) resolve to the longer, and the
finding's severity, sub-category and span all come from that one hit, whatever order DuckDB's
threads hand the hits over in (before, a tie went to whichever came first).

违规 (violating):  客服「已经很低了，爱买不买」
合规 (compliant):  客服「这款滚筒洗衣机已经是活动价了，我帮您申请一份赠品」
"""

from .base import Rule

RULE = Rule(
    id="forbidden_phrase",
    version="1.2",
    name="禁用语",
    category="态度类",
    severity=None,
    description="客服消息包含禁用语（硬拒议价、推诿、不耐烦、讥讽、命令、辱骂）",
    violating="客服：已经很低了，爱买不买",
    compliant="客服：这款滚筒洗衣机已经是活动价了，我帮您申请一份赠品",
    review_labels={"agent_act": "rude"},
    dismissal_teaches=True,
)
