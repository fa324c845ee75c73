"""bargain_followup_late — 议价后未及时追单.

The customer bargained, went silent without ordering, and no agent message followed the
agent's answer to the customer's last message within `window_s` (default 300 s).
Practice: follow up (追单) within about 5 minutes.

Definition: The customer bargained (`bargain.txt` cue in a customer message). Let L be the
customer's last message (at or after the bargaining) and A the first agent message after L.
If A exists, the customer did not order (no `ordered.txt` cue and no `msg_type=order`
customer message after the bargaining, and no order in `orders` by that customer/shop
between the bargaining and A + window), and no agent message follows A within `window_s`
(300 s) → finding at A. A follow-up at 240 s is fine; one at 360 s, or none, is a finding.
Flagged message (`message_seq`): the agent's answer to the customer's last message.

Since 1.1: a message with a 价保 cue (lexicons/price_protection.txt) is never bargaining, and
the intent model alone counts only in a message about price (lexicons/price_topic.txt).

Since 1.2 (real-chat evaluation, 2026-12): the model alone also needs the message to *ask*
for something on price (lexicons/bargain_ask.txt: 能不能, 给我, 再让, 别家 …): questions on how
coupons or promotions work (券怎么领, 会涨价么) are not bargaining. Post-purchase price questions
(刚买, 此订单) joined the 价保 cues, and 价 / 送点 no longer match inside 评价 / 配送点.

违规 (violating):  顾客「能便宜点吗」 客服「亲这是活动价」 …（6 分钟无追单，顾客未下单）
合规 (compliant):  顾客「能便宜点吗」 客服「亲这是活动价」 客服（4 分钟后）「今天下单给您备注优先发货哦」
"""

from .base import Param, Rule

RULE = Rule(
    id="bargain_followup_late",
    version="1.2",
    name="议价后未及时追单",
    category="能力类",
    severity="medium",
    description="顾客议价后沉默且未下单，客服在回答后规定时间内没有追单",
    violating="顾客：能便宜点吗 / 客服：亲这是活动价 / （6 分钟内没有追单，顾客未下单）",
    compliant="顾客：能便宜点吗 / 客服：亲这是活动价 / 客服（4 分钟后）：今天下单给您备注优先发货哦",
    params=(
        Param("window_s", int, 300, help="议价后追单时限（秒）；practice: follow up within ~5 minutes"),
        Param("bargain_threshold", float, 0.7, max=1, model=("customer_intent", "bargain"),
              help="p(bargain) at which a customer message about price (price_topic.txt) counts as "
                   "bargaining without a lexicon cue. 0.7, below the card's CV threshold (0.91, template "
                   "data): paraphrased bargaining (再让点呗, 三百五卖不卖) scores 0.66-1.0, and the price-topic "
                   "guard removes the model's real-chat false alarms (点 / 你们不送吧 at 0.9+)"),
    ),
    review_labels={"customer_intent": "bargain"},
    teaching_dismissals=("误判：顾客没有议价",),
    review_text="bargain_seq",
)
