"""slow_first_response — 首次响应慢.

The first human agent message came more than `limit_s` (default 30 s) after the
customer's first message. Bot greetings (店小蜜) do not stop the clock.

Definition: The first agent message after the customer's first message came more than
`limit_s` (30 s) after that customer message. Bots do not stop the clock. No agent message
at all → no finding (not this rule).
Flagged message (`message_seq`): the first agent message.

违规 (violating):  10:00:00 顾客「在吗」 10:00:01 店小蜜「您好」 10:00:45 客服「在的亲」
合规 (compliant):  10:00:00 顾客「在吗」 10:00:12 客服「在的亲，请问有什么可以帮您」
"""

from .base import Param, Rule

RULE = Rule(
    id="slow_first_response",
    version="1.0",
    name="首次响应慢",
    category="能力类",
    severity="medium",
    description="顾客第一条消息后，人工客服首次回复超过时限（机器人回复不算）",
    violating="10:00:00 顾客：在吗 / 10:00:01 店小蜜：您好 / 10:00:45 客服：在的亲",
    compliant="10:00:00 顾客：在吗 / 10:00:12 客服：在的亲，请问有什么可以帮您",
    params=(Param("limit_s", int, 30, help="首次响应时限（秒）；practice: first response within 30 s"),),
)
