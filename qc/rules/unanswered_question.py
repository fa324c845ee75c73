"""unanswered_question — 顾客问题未回复.

The conversation ends with customer messages that ask a question (lexicons/question.txt;
a bare acknowledgement such as 好的 is not a question) and no human agent message
follows. Only conversations with at least one agent message are judged: one that never
reached a human is a queue problem, not an agent's.

Definition: The conversation's last customer block contains a question (`question.txt` cue;
a message that is only an `ack.txt` phrase is not a question) and no agent message follows
it. Only conversations with at least one agent message are judged (one that never reached a
human is a queue problem).
Flagged message (`message_seq`): the customer question.

违规 (violating):  …客服「亲，已为您登记」 顾客「那什么时候能发货？」（会话结束）
合规 (compliant):  …客服「亲，已为您登记」 顾客「好的谢谢」（会话结束）
"""

from .base import Rule

RULE = Rule(
    id="unanswered_question",
    version="1.0",
    name="顾客问题未回复",
    category="能力类",
    severity="high",
    description="会话以顾客的提问结束，客服没有回复",
    violating="客服：亲，已为您登记 / 顾客：那什么时候能发货？（会话结束）",
    compliant="客服：亲，已为您登记 / 顾客：好的谢谢（会话结束）",
)
