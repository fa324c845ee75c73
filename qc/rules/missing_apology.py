"""missing_apology — 售后未致歉.

A customer reports a problem (lexicons/complaint.txt: damaged, wrong item, missing part,
not working, late, refund dispute) and no agent message after it apologises
(lexicons/apology.txt). Practice: in after-sales, apologise first, then soothe, verify,
solve. Bot messages do not count as an apology.

Definition: A customer message contains a `complaint.txt` cue, at least one agent message
follows it, and **no** agent message after the first complaint contains an `apology.txt`
phrase. At most one finding per conversation. `agent_id` = the first agent who answered
after the complaint.
Flagged message (`message_seq`): the first complaint message (a customer message).

违规 (violating):  顾客「收到的焊机外壳摔坏了」 客服「您拍个照片发过来」
合规 (compliant):  顾客「收到的焊机外壳摔坏了」 客服「非常抱歉给您带来不便，麻烦拍个照片」
"""

from .base import Param, Rule

RULE = Rule(
    id="missing_apology",
    version="1.0",
    name="售后未致歉",
    category="态度类",
    severity="high",
    description="顾客反映问题（破损、错发、少件、故障、物流、退款纠纷）后，客服始终没有致歉",
    violating="顾客：收到的焊机外壳摔坏了 / 客服：您拍个照片发过来",
    compliant="顾客：收到的焊机外壳摔坏了 / 客服：非常抱歉给您带来不便，麻烦拍个照片",
    params=(
        Param("complaint_threshold", float, "auto", max=1, model=("customer_intent", "complaint"),
              help="p(complaint) at which a customer message counts as a complaint without a lexicon cue"),
        Param("apology_threshold", float, "auto", max=1, model=("agent_act", "apology"),
              help="p(apology) at which an agent message counts as an apology"),
    ),
    review_labels={"customer_intent": "complaint"},
)
