"""slow_first_response — 首次响应慢.

The first human agent message came more than `limit_s` (default 30 s) after the
customer's first message. Bot greetings (店小蜜) do not stop the clock.

违规 (violating):  10:00:00 顾客「在吗」 10:00:01 店小蜜「您好」 10:00:45 客服「在的亲」
合规 (compliant):  10:00:00 顾客「在吗」 10:00:12 客服「在的亲，请问有什么可以帮您」
"""

from .base import Rule

RULE = Rule(
    id="slow_first_response",
    version="1.0",
    name="首次响应慢",
    category="能力类",
    severity="medium",
    description="顾客第一条消息后，人工客服首次回复超过时限（机器人回复不算）",
    violating="10:00:00 顾客：在吗 / 10:00:01 店小蜜：您好 / 10:00:45 客服：在的亲",
    compliant="10:00:00 顾客：在吗 / 10:00:12 客服：在的亲，请问有什么可以帮您",
    sql="slow_first_response.sql",
    params={"limit_s": 30},
)
