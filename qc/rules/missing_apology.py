"""missing_apology — 售后未致歉.

A customer reports a problem (lexicons/complaint.txt: damaged, wrong item, missing part,
not working, late, refund dispute) and no agent message after it apologises
(lexicons/apology.txt). Practice: in after-sales, apologise first, then soothe, verify,
solve. Bot messages do not count as an apology.

违规 (violating):  顾客「收到的焊机外壳摔坏了」 客服「您拍个照片发过来」
合规 (compliant):  顾客「收到的焊机外壳摔坏了」 客服「非常抱歉给您带来不便，麻烦拍个照片」
"""

from .base import Rule

RULE = Rule(
    id="missing_apology",
    version="1.0",
    name="售后未致歉",
    category="态度类",
    severity="high",
    description="顾客反映问题（破损、错发、少件、故障、物流、退款纠纷）后，客服始终没有致歉",
    violating="顾客：收到的焊机外壳摔坏了 / 客服：您拍个照片发过来",
    compliant="顾客：收到的焊机外壳摔坏了 / 客服：非常抱歉给您带来不便，麻烦拍个照片",
    sql="missing_apology.sql",
    params={"complaint_threshold": "auto", "apology_threshold": "auto"},
)
