"""rude_tone — 语气不耐烦/粗鲁（模型）.

The agent-act classifier scores an agent message as impatient, cold, mocking or ordering
the customer around (不耐烦/冷淡/讥讽/命令) at or above `threshold`, and no forbidden
phrase already flagged it. Catches what the lexicon never wrote down (爱要不要, 你自己不会
看吗). The finding names model@version and its probability.

违规 (violating):  客服「你自己不会看详情吗，问这么多」
合规 (compliant):  客服「亲，详情页第三张图有尺码表，我也可以帮您量一下哦」
"""

from .base import Rule

RULE = Rule(
    id="rude_tone",
    version="1.0",
    name="语气不耐烦（模型）",
    category="态度类",
    severity="medium",
    description="分类模型判断客服语气不耐烦、冷淡、讥讽或命令（词库未命中的说法）",
    violating="客服：你自己不会看详情吗，问这么多",
    compliant="客服：亲，详情页第三张图有尺码表，我也可以帮您量一下哦",
    sql="rude_tone.sql",
    params={"threshold": "auto"},
)
