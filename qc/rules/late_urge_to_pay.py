"""late_urge_to_pay — 未及时催付.

The customer placed an order during the conversation, it was not paid within `window_s`
(default 900 s), and no agent message urged payment (lexicons/urge_pay.txt) within that
window after the order. Practice: urge to pay (催拍/催付) within about 15 minutes.

Definition: An order in `orders` by the conversation's customer (same shop) was created
during the conversation (between its first and last message), it was not paid within
`window_s` (900 s), and no agent message with an `urge_pay.txt` phrase was sent between the
order's creation and creation + `window_s`.
Flagged message (`message_seq`): null (conversation level).

违规 (violating):  10:00 订单创建未付款 …15 分钟内客服没有催付
合规 (compliant):  10:00 订单创建未付款  10:08 客服「亲，看到您拍下了还没付款，库存不多记得付款哦」
"""

from .base import Param, Rule

RULE = Rule(
    id="late_urge_to_pay",
    version="1.0",
    name="未及时催付",
    category="能力类",
    severity="medium",
    description="顾客在会话中下单未付款，客服在规定时间内没有催付",
    violating="10:00 订单创建未付款 / 15 分钟内客服没有催付",
    compliant="10:00 订单创建未付款 / 10:08 客服：亲，看到您拍下了还没付款，库存不多记得付款哦",
    params=(Param("window_s", int, 900, help="下单后催付时限（秒）；practice: urge to pay within ~15 minutes"),),
)
