"""emoji_only_reply — 仅用表情敷衍.

A customer question or bargaining is answered by agent messages that are only emoji or
stickers ([微笑]) — practice lists "sending only an emoji instead of an answer" among
forbidden behaviour.

Definition: A customer block (consecutive customer messages) that asks a question
(`question.txt`) or bargains is answered by an agent block (consecutive agent messages until
the next customer message) made only of emoji: `msg_type = emoji`, or text that is only
emoji / sticker codes like `[微笑]`.
Flagged message (`message_seq`): the first emoji message of the reply.

Since 1.1 (DESIGN.md): only emoji and the sticker codes of lexicons/stickers.txt count;
export placeholders ([数字x], [链接x] …) are content.

违规 (violating):  顾客「这个面罩能自动变光吗？」 客服「[微笑]」
合规 (compliant):  顾客「这个面罩能自动变光吗？」 客服「可以的亲[微笑]」
"""

from .base import Rule

RULE = Rule(
    id="emoji_only_reply",
    version="1.1",
    name="仅用表情回复",
    category="态度类",
    severity="medium",
    description="顾客提问或议价，客服只回复了表情",
    violating="顾客：这个面罩能自动变光吗？ / 客服：[微笑]",
    compliant="顾客：这个面罩能自动变光吗？ / 客服：可以的亲[微笑]",
)
