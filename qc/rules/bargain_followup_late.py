"""bargain_followup_late — 议价后未及时追单.

The customer bargained, went silent without ordering, and no agent message followed the
agent's answer to the customer's last message within `window_s` (default 300 s).
Practice: follow up (追单) within about 5 minutes.

违规 (violating):  顾客「能便宜点吗」 客服「亲这是活动价」 …（6 分钟无追单，顾客未下单）
合规 (compliant):  顾客「能便宜点吗」 客服「亲这是活动价」 客服（4 分钟后）「今天下单给您备注优先发货哦」
"""

from .base import Rule

RULE = Rule(
    id="bargain_followup_late",
    version="1.0",
    name="议价后未及时追单",
    category="能力类",
    severity="medium",
    description="顾客议价后沉默且未下单，客服在回答后规定时间内没有追单",
    violating="顾客：能便宜点吗 / 客服：亲这是活动价 / （6 分钟内没有追单，顾客未下单）",
    compliant="顾客：能便宜点吗 / 客服：亲这是活动价 / 客服（4 分钟后）：今天下单给您备注优先发货哦",
    sql="bargain_followup_late.sql",
    params={"window_s": 300, "bargain_threshold": "auto"},
)
