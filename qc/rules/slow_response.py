"""slow_response — 慢响应.

A round runs from the customer's first message not yet answered by a human agent to the
next agent message (the platforms' definition); a round longer than `limit_s` (default
60 s) is a finding on that agent message. The first round is `slow_first_response`'s,
so one late reply is flagged once.

Definition: A round starts at the customer's first message not yet answered by an agent and
ends at the next agent message; if that took more than `limit_s` (60 s) → finding. The first
round is left to `slow_first_response`, so one late reply is flagged once.
Flagged message (`message_seq`): the late agent message.

Since 2.0 (DESIGN.md, December 2026): every round counts, the first included — a first reply
after 95 s is both slow_first_response and slow_response.

违规 (violating):  10:05:00 顾客「多久能到」 10:05:20 顾客「在吗」 10:06:30 客服「亲，3 天左右」（90 秒）
合规 (compliant):  10:05:00 顾客「多久能到」 10:05:25 客服「亲，一般 3 天左右到」
"""

from .base import Param, Rule

RULE = Rule(
    id="slow_response",
    version="2.0",
    name="慢响应",
    category="能力类",
    severity="low",
    description="顾客消息（从第一条未回复的消息算起）到客服回复超过时限",
    violating="10:05:00 顾客：多久能到 / 10:05:20 顾客：在吗 / 10:06:30 客服：亲，3 天左右（90 秒）",
    compliant="10:05:00 顾客：多久能到 / 10:05:25 客服：亲，一般 3 天左右到",
    params=(Param("limit_s", int, 60, help="每轮响应时限（秒）"),),
)
