"""rude_tone — 语气不耐烦/粗鲁（模型）.

The agent-act classifier scores an agent message as impatient, cold, mocking or ordering
the customer around (不耐烦/冷淡/讥讽/命令) at or above `threshold`, and no forbidden
phrase already flagged it. Catches what the lexicon never wrote down (爱要不要, 你自己不会
看吗). The finding names model@version and its probability.

Definition: `agent_act` p(rude) ≥ `threshold` (`auto`) and no forbidden phrase flagged the
message; severity high at p ≥ 0.97. Evidence: model@version and p.
Flagged message (`message_seq`): the agent message.

Since 1.1 (real-chat evaluation, 2026-12): courteous formulas (lexicons/courtesy.txt as the
whole message) are never model findings, and a reply of at most `short_chars` letters needs
p(rude) >= `short_threshold`.

Since 1.2 (real-chat evaluation, 2026-12): the model alone flags only the blunt register —
no softener of lexicons/tone_softeners.txt (亲, 您, 哦, 呢, 哈 …) and at least one marker of
lexicons/tone_blunt.txt (你, 别, 呗, 烦, 几遍 …). The model read neutral real replies
(我问问, 不冲突, 您需要自己买dp线) at p 0.9–1.0, as high as the rude paraphrases it was meant
for, so p cannot separate them; the register can. Explicit forbidden phrases are unaffected.

违规 (violating):  客服「你自己不会看详情吗，问这么多」
合规 (compliant):  客服「亲，详情页第三张图有尺码表，我也可以帮您量一下哦」
"""

from .base import Param, Rule

RULE = Rule(
    id="rude_tone",
    version="1.2",
    name="语气不耐烦（模型）",
    category="态度类",
    severity="medium",
    description="分类模型判断客服语气不耐烦、冷淡、讥讽或命令（词库未命中的说法）",
    violating="客服：你自己不会看详情吗，问这么多",
    compliant="客服：亲，详情页第三张图有尺码表，我也可以帮您量一下哦",
    params=(
        Param("threshold", float, "auto", max=1, model=("agent_act", "rude"), help="p(rude) that makes a finding"),
        Param("high_threshold", float, 0.97, max=1, help="p(rude) at or above which the finding is high severity"),
        Param("short_chars", int, 10, help="replies of at most this many letters count as short"),
        Param("short_threshold", float, 0.9, max=1, help="p(rude) a short reply needs: courtesy is short, and the model "
              "read 亲 增票是吧 / 热点吗 as rude at 0.77-0.86 on real chats; the short rude replies of our cases score >= 0.92"),
    ),
    review_labels={"agent_act": "rude"},
    dismissal_teaches=True,
)
