"""Deterministic sample data: realistic shop chats and orders, with injected rule
violations and their ground truth.

    python -m tools.sample --conversations 300 --seed 7 --out data/generated

Writes into the output folder:

* ``chats.jsonl``  one message a line (conversation_id, seq, ts, role, agent_id,
  customer_id, shop_id, queue, text, msg_type), ordered by conversation then seq;
* ``orders.jsonl`` one order a line (order_id, customer_id, shop_id, agent_id,
  created_at, paid_at, amount);
* ``ground_truth.jsonl`` one expected finding a line (conversation_id, rule_id,
  message_seq) under the semantics of docs/rules.md with the default thresholds.

Four shops (welding machines, home appliances, snacks, clothing), 15 agents, pre-sales
inquiries, bargaining, orders, after-sales complaints and service questions, an
店小蜜 bot greeting in ~40 % of the chats. Each rule is injected into a share
(``RATES``) of the conversations it can apply to; everything else is built clean:

* agent texts come from pools checked against ``lexicons/`` at start-up (no forbidden
  phrase, no apology or 催付 phrase outside the pools meant for them), customer texts
  from pools checked for cue words (complaint cues only in complaints, bargaining cues
  only in bargaining, ordered cues only when ordering), so a clean conversation yields
  no finding;
* timing: first human reply 3–25 s after the customer's first message, later rounds
  answered within 58 s, bargaining follow-ups within 60–240 s, clean orders paid within
  minutes or urged to pay;
* a customer's conversations with one shop never overlap (orders are matched to chats
  by customer and shop), and orders outside chats fall outside them.

The same seed gives byte-identical files. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

try:  # the project's lexicon folder (honours QC_HOME)
    from qc.paths import LEXICON_DIR
except ImportError:  # pragma: no cover
    LEXICON_DIR = Path(__file__).resolve().parent.parent / "lexicons"

RULE_IDS = (
    "forbidden_phrase", "missing_apology", "bargain_followup_late", "repeated_quick_reply",
    "slow_first_response", "slow_response", "emoji_only_reply", "late_urge_to_pay",
    "unanswered_question",
)

# Share of the *eligible* conversations that get each violation:
#   forbidden_phrase, repeated_quick_reply, slow_first_response, unanswered_question: any chat
#   missing_apology: after-sales complaints; bargain_followup_late: bargaining without order;
#   slow_response: chats with a second answered round; emoji_only_reply: chats with a
#   question turn; late_urge_to_pay: chats in which an order is placed.
RATES: dict[str, float] = {
    "forbidden_phrase": 0.06,
    "missing_apology": 0.08,
    "bargain_followup_late": 0.08,
    "repeated_quick_reply": 0.05,
    "slow_first_response": 0.06,
    "slow_response": 0.05,
    "emoji_only_reply": 0.04,
    "late_urge_to_pay": 0.08,
    "unanswered_question": 0.05,
}

# Scenario mix (per conversation).
MIX = {"inquiry": 0.36, "bargain": 0.24, "complaint": 0.25, "service": 0.15}
ORDER_SHARE = {"inquiry": 0.35, "bargain": 0.45}  # presales chats that lead to an order
BOT_SHARE = 0.40
REUSE_SHARE = 0.22          # conversations by a customer seen before
TZ = "+08:00"

# --------------------------------------------------------------------------- text helpers

_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_NORM_DROP = re.compile(r"\[[^\[\]]{1,6}\]|[\W_]+")


def _normalize(s: str) -> str:
    return s.translate(_FULLWIDTH).lower()


def _norm_key(s: str) -> str:
    """The near-same comparison key of repeated_quick_reply (no punctuation/emoji/stickers)."""
    return _NORM_DROP.sub("", _normalize(s))


def _lexicon(name: str) -> list[str]:
    """Phrases of lexicons/<name>.txt: the text before the first `|`, comments skipped."""
    out = []
    for line in (LEXICON_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if "#" in line:
            line = line[: line.index("#")]
        p = line.split("|")[0].strip()
        if p:
            out.append(_normalize(p))
    return out


class _Lex:
    def __init__(self):
        self.forbidden = _lexicon("forbidden")
        self.allow = _lexicon("allowlist")
        self.apology = _lexicon("apology")
        self.complaint = _lexicon("complaint")
        self.bargain = _lexicon("bargain")
        self.ordered = _lexicon("ordered")
        self.urge = _lexicon("urge_pay")
        self.question = _lexicon("question")
        self.ack = _lexicon("ack")
        self.ack_keys = {_norm_key(a) for a in self.ack} - {""}

    @staticmethod
    def has(text: str, phrases: list[str]) -> bool:
        t = _normalize(text)
        return any(p in t for p in phrases)

    def forbidden_in(self, text: str) -> list[str]:
        """Forbidden phrases in text, allow-listed words masked first (so 滚筒 is no 滚)."""
        t = _normalize(text)
        for a in self.allow:
            if a in t:
                t = t.replace(a, "□" * len(a))
        return [p for p in self.forbidden if p in t]


@lru_cache(maxsize=1)
def _lex() -> _Lex:
    return _Lex()


class _Blank(dict):
    def __missing__(self, key):
        return ""


# --------------------------------------------------------------------------- shops

CITIES = [("北京", 2), ("上海", 2), ("广州", 3), ("深圳", 3), ("杭州", 2), ("南京", 2), ("成都", 3),
          ("重庆", 3), ("武汉", 2), ("西安", 3), ("郑州", 2), ("长沙", 2), ("沈阳", 3), ("哈尔滨", 4),
          ("昆明", 4), ("南宁", 4), ("济南", 2), ("石家庄", 2), ("合肥", 2), ("乌鲁木齐", 6), ("兰州", 4),
          ("厦门", 3), ("青岛", 2), ("苏州", 1), ("宁波", 2), ("东莞", 3), ("太原", 3), ("贵阳", 4)]

# Questions every shop gets (each has a question cue; none has a bargain/complaint cue).
COMMON_TOPICS = [
    (["发什么快递？", "默认发哪家快递？", "能发顺丰吗？", "一般用什么快递发货？"],
     ["亲，默认发中通和韵达，需要顺丰的话备注一下，补个运费差价就行", "我们默认中通快递哦，偏远地区发邮政，{city}是正常发中通的",
      "可以发顺丰的亲，下单后联系我给您改成顺丰"]),
    (["几天能到{city}？", "发到{city}要几天？", "{city}多久能到？", "寄到{city}大概几天？"],
     ["亲，发{city}一般{d}天左右就到了", "正常{d}天左右能到{city}哦，具体以物流信息为准",
      "{city}的话{d}天左右，发出后物流信息会实时更新的"]),
    (["有现货吗？", "现在有货吗？", "什么时候能发出？", "这个有库存吗？"],
     ["有现货的亲，下午五点前下单当天就能发出", "现货充足的亲，48小时内发出", "有货的，仓库每天下午统一发一次快递"]),
    (["能开发票吗？", "可以开专票吗？", "发票怎么开？"],
     ["可以开的亲，下单时备注抬头和税号，电子发票会发到您邮箱", "专票也可以开的，确认收货后联系我们登记就行"]),
    (["支持七天无理由退换吗？", "不合适可以退换吗？"],
     ["支持的亲，收到货不影响二次销售都可以七天无理由退换", "可以的亲，本店商品都支持七天无理由，还送运费险"]),
]

SHOPS = [
    {
        "name": "大焊五金旗舰店", "code": "DH", "prefix": "大焊",
        "pre": [("小李", 5), ("阿敏", 3)], "after": [("老王", 4), ("小芳", 3)],
        "amount": (300.0, 2000.0),
        "products": [("ZX7-200家用电焊机", "焊机", 339, 599), ("ZX7-315双电压电焊机", "焊机", 699, 1299),
                     ("NB-270二保焊机", "焊机", 1199, 1999), ("WS-250氩弧焊机", "焊机", 899, 1799),
                     ("LGK-40等离子切割机", "切割机", 999, 1899), ("自动变光焊接面罩套装", "面罩", 300, 459),
                     ("J422焊条整箱20公斤", "焊条", 300, 420)],
        "gifts": ["一包焊条", "一副焊工手套", "一个手持面罩", "两片切割片"],
        "topics": {
            "焊机": [
                (["这款{p}能焊多厚的板子？", "{p}焊3毫米的铁板没问题吧？", "我想焊家里的铁门，这个够用吗？"],
                 ["亲，{p}焊2到6毫米的板子都没问题，家里焊铁门、防盗窗完全够用",
                  "可以的亲，3毫米铁板用3.2的焊条，电流调到110A左右就行", "够用的亲，焊铁门铁窗很轻松，新手也好上手"]),
                (["家里是220V的电，能用吗？", "{p}是单电压还是双电压？", "用家里的插座能带动吗？"],
                 ["亲，这款是220V和380V双电压自动切换，家用工地都能用", "家用220V可以直接用的，建议配4平方的电源线",
                  "可以的亲，普通家用插座就能带动，焊2.5的焊条很轻松"]),
                (["是纯铜芯的吗？", "{p}里面是铜的还是铝的？", "变压器是什么材质？"],
                 ["亲，我们家焊机都是纯铜变压器，可以拆机验货", "是纯铜的亲，比铝芯的散热好、更耐用，质量很靠谱"]),
                (["标配有哪些配件？", "配件都有什么？", "带不带焊钳和地线？"],
                 ["亲，标配焊钳、地线、手持面罩、敲渣锤和刷子，到手就能用", "配件齐全的亲，焊钳线3米、地线2米，另外配一个手持面罩"]),
                (["新手能学会吗？", "我没焊过，好上手吗？", "有没有教学视频？"],
                 ["亲，这款有热引弧和防粘功能，新手半天就能上手", "有的亲，店铺首页有教学视频，从引弧到收尾都讲得很清楚"]),
                (["暂载率多少？", "能连续焊多久？"],
                 ["亲，这款暂载率60%，正常焊一两个小时没问题", "连续焊接很稳定的，温度高了会自动保护，停一会儿就能继续"]),
            ],
            "切割机": [
                (["切割机能切多厚的不锈钢？", "{p}切10毫米的钢板行不行？"],
                 ["亲，{p}切不锈钢12毫米以内切口很平整", "可以的亲，10毫米钢板切起来很轻松，切口基本不用打磨"]),
                (["要配气泵吗？", "需要另外买气泵吗？"],
                 ["需要配气泵的亲，一般小型静音气泵就可以", "要配气泵的，店里有套餐带气泵，比单买划算"]),
                (["割嘴是易损件吗？", "电极割嘴多久换一次？"],
                 ["是易损件的亲，正常使用一套能用一两周，店里有配件卖", "看使用强度，一般切几百米换一次，标配送了两套"]),
            ],
            "面罩": [
                (["面罩是自动变光的吗？", "变光速度快不快？"],
                 ["是的亲，这款是真彩自动变光，0.1毫秒变光，不伤眼睛", "很快的亲，引弧瞬间就变暗，比手持面罩方便多了"]),
                (["能戴眼镜用吗？", "头箍能调大小吗？"],
                 ["可以的亲，面罩内部空间大，戴眼镜也不压", "头箍可以调节的，戴久了也不累"]),
                (["电池多久换一次？", "需要充电吗？"],
                 ["亲，太阳能加纽扣电池双供电，一般一年换一次电池", "不用充电的亲，有太阳能板自动补电"]),
            ],
            "焊条": [
                (["焊条是哪个牌子的？", "是正品大西洋吗？"],
                 ["亲，我们的是大西洋焊条，厂家直供，正品保证", "是正品的亲，每箱都有合格证和批次号"]),
                (["J422焊条能焊不锈钢吗？", "焊不锈钢用哪种焊条？"],
                 ["J422是碳钢焊条哦，焊不锈钢要用A102不锈钢焊条", "亲，不锈钢建议用A102，店里也有卖"]),
                (["2.5的和3.2的选哪个？", "焊条多粗合适？"],
                 ["亲，焊2毫米以下的薄板选2.5，3毫米以上选3.2的", "家用小焊机建议2.5和3.2各备一些"]),
            ],
        },
        "service": [
            (["{p}怎么调电流？", "焊2.5的焊条电流调多少？"],
             ["亲，焊2.5的焊条电流调70到90A，3.2的调100到130A", "电流旋钮顺时针是加大，薄板先从小电流试起"]),
            (["地线怎么接？", "焊钳线是接正极还是负极？"],
             ["亲，酸性焊条一般正接，焊钳接负极、地线接正极", "地线夹要夹在工件干净的位置，接触好了引弧更稳"]),
        ],
        "complaints": [
            (["焊机收到了，外壳摔坏了一块", "收到的{p}外壳压坏了，凹进去一大块", "包装箱破了，面罩镜片有划痕"],
             ["麻烦您拍几张破损位置和外包装的照片发给我", "您拍个照片给我看一下，我这边马上登记"],
             ["已经给您登记补发新的配件，顺丰发出，三天左右到", "给您两个方案：补偿50元，或者寄回来给您换新，您看哪种方便"]),
            (["焊机打不着火是怎么回事", "{p}插上电指示灯亮但是不出电", "用了两次就焊不上了", "一开机就跳闸，根本用不了"],
             ["麻烦您拍个视频，看一下面板指示灯和电流旋钮的状态", "您先检查一下地线夹是否夹紧、焊钳线有没有接反"],
             ["这是过热保护启动了，关机冷却十分钟就能恢复，如果还是不行直接给您换新", "已经给您申请换新了，快递员明天上门取件"]),
            (["少了个焊钳", "收到只有主机，少配件，地线没有", "焊条少发了一盒"],
             ["麻烦您把外箱的快递单和收到的东西拍照发一下", "我这边核对一下发货记录，您稍等"],
             ["核实是仓库漏发了，已经给您补发，单号稍后发您", "已经安排补发了，明天就能发出"]),
            (["我买的是315的，发来的是250的，型号不对", "发错了，我要的是J422焊条"],
             ["麻烦您发一下订单号和收到的实物照片", "我查一下发货记录，您把外箱标签拍给我看看"],
             ["确认是发错了，给您安排换货，寄回运费我们承担", "已经给您重新发正确的型号，原来那台等快递上门取"]),
            (["下单五天了还没到", "物流太慢了，三天都不动"],
             ["我这边帮您查一下物流", "麻烦提供一下订单号，我联系快递核实"],
             ["已经联系快递加急处理了，今天会有更新", "包裹卡在中转站了，已经催快递了，两天内给您送到"]),
        ],
        "closers": ["祝您生意兴隆，财源滚滚！有问题随时找我们", "有什么问题随时联系我们，祝您使用愉快",
                    "感谢您对大焊五金的支持，用着好记得给个好评哦"],
    },
    {
        "name": "美家电器专营店", "code": "MJ", "prefix": "美家",
        "pre": [("小周", 5), ("小吴", 4)], "after": [("阿杰", 4), ("莉莉", 3)],
        "amount": (200.0, 5000.0),
        "products": [("小天鹅10公斤滚筒洗衣机", "洗衣机", 1899, 3499), ("海尔8公斤波轮洗衣机", "洗衣机", 899, 1599),
                     ("格力1.5匹变频空调", "空调", 2699, 4599), ("美的大1匹挂机空调", "空调", 1899, 2999),
                     ("苏泊尔4L电饭煲", "电饭煲", 219, 459), ("九阳IH电饭煲", "电饭煲", 329, 699)],
        "gifts": ["一个收纳篮", "一套清洁剂", "一年延保", "一个不粘饭勺"],
        "topics": {
            "洗衣机": [
                (["滚筒洗衣机和波轮的哪个洗得干净？", "滚筒的好还是波轮的好？"],
                 ["亲，滚筒洗衣机洗得更干净也更省水，波轮的洗得快、价格实惠", "看需求哦，滚筒洗衣机不伤衣服，波轮洗床单被罩更方便"]),
                (["{p}有烘干功能吗？", "能烘干吗？"],
                 ["这款带蒸汽除菌，但没有烘干哦，需要烘干可以看看洗烘一体款", "有烘干的亲，冷凝式烘干，阴雨天也不怕"]),
                (["噪音大不大？", "晚上洗会不会吵？"],
                 ["噪音很小的亲，变频电机洗涤时只有46分贝左右", "不吵的亲，直驱电机很安静，晚上洗也不影响休息"]),
                (["能放进60公分的位置吗？", "机身尺寸是多少？"],
                 ["亲，机身深度56公分，60公分的位置可以放下", "尺寸是宽60深56高85，详情页有尺寸图可以参考"]),
                (["送货上门吗？包安装吗？", "需要自己安装吗？"],
                 ["送货上门的亲，本地师傅免费安装，只收材料费", "不用自己装的，送货师傅会帮您装好并试机"]),
            ],
            "空调": [
                (["{p}是几级能效？", "一晚上大概用多少电？"],
                 ["亲，这款是新一级能效，一晚上大概一度多电", "新一级能效的亲，变频运行很省电"]),
                (["15平米的房间够用吗？", "20平的客厅用几匹的？"],
                 ["15平米用1.5匹刚好，制冷制热都很快", "20平的客厅建议2匹或者柜机，效果更好"]),
                (["安装要另外收费吗？", "铜管是标配多长？"],
                 ["基础安装免费的亲，铜管超出3米按米收费", "标配3米铜管，一般卧室够用，超出部分师傅现场报价"]),
                (["是纯铜管吗？", "质量怎么样？"],
                 ["是纯铜管的亲，官方授权专营店，质量很靠谱，您放心", "整机六年保修，压缩机十年，质量可靠"]),
            ],
            "电饭煲": [
                (["{p}煮饭好吃吗？", "做出来的米饭香不香？"],
                 ["亲，这款是IH加热，米饭受热均匀，很多买家反馈煮饭很香", "很香的亲，有柴火饭模式，还能煮出锅巴"]),
                (["内胆是什么材质的？", "内胆会不会掉涂层？"],
                 ["内胆是球釜不粘内胆，好清洗", "涂层很耐用的亲，正常用木勺硅胶勺就行"]),
                (["有预约功能吗？", "能定时吗？"],
                 ["有24小时预约的亲，早上起来就有热粥喝", "可以定时的，晚上放好米设好时间就行"]),
                (["几个人用合适？", "三口之家选多大的？"],
                 ["4L适合3到6个人用", "三口之家选3L到4L都可以，偶尔来客人4L更合适"]),
            ],
        },
        "service": [
            (["洗衣机第一次用要注意什么？", "新空调第一次开要注意什么？"],
             ["亲，洗衣机第一次使用记得拆掉后面的运输螺栓哦", "空调第一次开先用制冷模式运行半小时，有点异味是正常的新机味"]),
            (["怎么预约安装？", "安装师傅什么时候上门？"],
             ["亲，签收后在订单页点预约安装，或者把地址发我帮您约", "一般签收后24小时内师傅会电话联系您约时间"]),
            (["电饭煲怎么设置预约？", "滚筒洗衣机怎么开童锁？"],
             ["亲，按预约键后用加减键调时间，再按开始就行", "长按温度和转速两个键三秒就能开童锁"]),
        ],
        "complaints": [
            (["滚筒洗衣机漏水，地上全是水", "洗衣机一洗衣服就漏水", "洗衣机脱水的时候不工作了"],
             ["麻烦您拍个视频发我看看漏水的位置", "您先看下进水管接口有没有拧紧，拍个照片给我"],
             ["已经给您派售后师傅上门检修，明天上午联系您", "这边给您登记换新，旧机师傅上门拉走"]),
            (["空调不制冷，开了半小时还是热风", "空调不制冷，外机也不转", "新买的空调不工作，遥控没反应"],
             ["麻烦您看一下外机有没有在转，拍个视频给我", "您把遥控调到制冷模式16度，拍一下显示屏"],
             ["已经给您预约了售后师傅，今天下午上门检查", "可能是缺氟，师傅上门免费加氟检修"]),
            (["电饭煲显示屏死机了，按什么都没反应", "电饭煲不加热了，米还是生的", "电饭煲用了一周就坏了"],
             ["您先拔掉电源等一分钟再插上试试", "麻烦拍一下显示屏和底部的铭牌给我"],
             ["给您直接换新，快递上门取件，运费我们出", "已经给您登记换新了，新机明天发出"]),
            (["洗衣机外壳有划痕", "空调外机侧面凹进去一块", "电饭煲外壳摔坏了"],
             ["麻烦您拍一下外壳和包装箱的照片", "您拍个照片发我，我给您登记"],
             ["给您两个方案：补偿100元，或者给您换新，您选一个", "已经给您申请了补偿，三个工作日内到账"]),
            (["约的安装师傅还没到，都等一上午了", "空调到了三天了还没来装，我要投诉"],
             ["我马上联系安装网点核实", "麻烦您提供一下订单号和联系电话"],
             ["已经催了网点，师傅一小时内联系您", "网点已经改约今天下午，师傅姓张，会先给您打电话"]),
            (["退款还没到账，都一周了", "凭什么不给退款，我都寄回去了"],
             ["我查一下退款进度", "麻烦发一下订单号，我看看仓库签收情况"],
             ["仓库已经签收了，今天给您退款，原路返回", "已经给您加急处理退款，24小时内到账"]),
        ],
        "closers": ["我们家的电器质量很靠谱，用着有问题随时联系我们", "感谢您选择美家电器，祝您生活愉快",
                    "有任何问题随时找我们，祝您使用愉快"],
    },
    {
        "name": "果乐零食铺", "code": "GL", "prefix": "果乐",
        "pre": [("糖糖", 5), ("小米", 4)], "after": [("阿强", 5)],
        "amount": (20.0, 200.0),
        "products": [("每日坚果礼盒30包", "礼盒", 69, 139), ("奶油味夏威夷果500g", "坚果", 29, 59),
                     ("巴旦木仁250g两袋", "坚果", 39, 69), ("碧根果500g", "坚果", 39, 69),
                     ("坚果大礼包1.5kg", "礼盒", 99, 199), ("盐焗开心果500g", "坚果", 45, 89)],
        "gifts": ["一个开果器", "两包小鱼干", "一个收纳罐", "一包芒果干"],
        "topics": {
            "坚果": [
                (["是今年的新货吗？", "生产日期是什么时候？", "是新鲜的吗？"],
                 ["亲，都是今年的新货，生产日期在十月份", "新鲜的亲，我们每周进货，不会放太久"]),
                (["保质期多久？", "能放多长时间？"],
                 ["保质期是9个月哦，开封后建议一周内吃完", "未开封能放9个月，开封后用密封夹夹好"]),
                (["夏威夷果好剥吗？", "壳好不好开？"],
                 ["夏威夷果开了口的，用附带的开果器一拧就开", "很好开的亲，每颗都有开口"]),
                (["甜不甜？", "是什么口味的？", "咸不咸？"],
                 ["是奶油味的，甜度适中，不腻", "微咸的亲，盐焗工艺，越吃越香"]),
                (["孕妇能吃吗？", "小孩能吃吗？"],
                 ["可以吃的亲，适量食用就好", "小朋友可以吃，三岁以下建议大人剥好碾碎"]),
                (["一袋多少克？", "是独立小包装吗？"],
                 ["一袋500克，密封袋装", "是独立小包装的亲，每包25克，方便携带"]),
            ],
            "礼盒": [
                (["礼盒有手提袋吗？", "送人有袋子吗？"],
                 ["都配手提袋的亲，送人很有面子", "有的亲，每个礼盒都配一个手提袋"]),
                (["{p}里面有几种坚果？", "里面都有什么？"],
                 ["亲，里面有夏威夷果、巴旦木、腰果、蔓越莓干等六种", "一共八种坚果果干，每天一包营养均衡"]),
                (["礼盒上是什么图案？", "包装好看吗？"],
                 ["今年的礼盒印的是财源滚滚福字，过年送礼很合适", "红色喜庆款，包装很上档次"]),
                (["能帮忙写贺卡吗？", "可以放贺卡吗？"],
                 ["可以的亲，下单时把祝福语备注给我们", "可以免费放贺卡，备注祝福语就行"]),
            ],
        },
        "service": [
            (["坚果开封后怎么保存？", "吃不完怎么放？"],
             ["开封后用密封夹夹好，放阴凉干燥处", "建议放进密封罐，避免受热受潮"]),
            (["我的快递到哪了？", "能查一下物流吗？"],
             ["亲，我帮您查一下，已经到{city}转运中心了，预计明天送达", "物流显示在派送中，今天就能收到"]),
        ],
        "complaints": [
            (["夏威夷果有点受潮，不脆了", "巴旦木有异味，一股哈喇味", "打开发现有几颗发霉了", "碧根果好多空壳，质量太差了"],
             ["麻烦您拍几张照片给我看一下", "您把包装背面的生产日期拍给我"],
             ["这边直接给您退款，不用寄回", "给您补发一袋新的，今天就发出"]),
            (["礼盒里少了一个小包", "买了两袋只收到一袋，漏发了"],
             ["麻烦您拍一下收到的东西", "我核对一下发货记录，您稍等"],
             ["核实是漏发了，马上给您补发", "已经给您退了少发那部分的钱"]),
            (["我要的是奶油味，发错成原味了", "口味发错了"],
             ["麻烦拍一下收到的包装给我", "我看一下订单备注"],
             ["确实是发错了，给您补发奶油味的，原味的不用退了", "给您补发正确口味，今天发出"]),
            (["快递太慢了，五天还没到", "怎么还没发货"],
             ["我帮您查一下物流", "麻烦发一下订单号"],
             ["已经联系快递加急了，明天能到", "仓库今天下午给您发出，单号稍后同步"]),
            (["礼盒压坏了，送人都没法送", "外包装破损了"],
             ["麻烦拍一下包装的照片", "您拍个照片发我"],
             ["给您补发一个新礼盒，顺丰发出", "补偿您20元，或者补发新的礼盒，您选一个"]),
        ],
        "closers": ["感谢支持果乐零食铺，祝您吃得开心", "有问题随时找我们，祝您生活愉快", "吃得满意记得来回购哦"],
    },
    {
        "name": "衣选服饰", "code": "YX", "prefix": "衣选",
        "pre": [("小雅", 5), ("阿琳", 4)], "after": [("木木", 4), ("小陈", 3)],
        "amount": (50.0, 600.0),
        "products": [("男款加厚连帽羽绒服", "羽绒服", 359, 599), ("女款长款白鸭绒羽绒服", "羽绒服", 429, 599),
                     ("轻薄短款羽绒服", "羽绒服", 239, 449), ("加绒连帽卫衣", "卫衣", 89, 199),
                     ("宽松圆领卫衣", "卫衣", 59, 149), ("情侣款卫衣", "卫衣", 99, 219)],
        "gifts": ["一双袜子", "一个收纳袋", "一张10元券", "一个钥匙扣"],
        "topics": {
            "羽绒服": [
                (["我身高{h}体重{w}斤，穿什么码？", "{h}的个子{w}斤，选L还是XL？", "尺码偏大还是偏小？"],
                 ["亲，根据您的身高体重建议选{size}码，喜欢宽松可以再大一码", "这款版型偏大，平时穿L的选M就可以",
                  "建议{size}码的亲，详情页有尺码表可以参考"]),
                (["充绒量多少？", "是白鸭绒还是灰鸭绒？", "含绒量多少？"],
                 ["亲，这款是90%白鸭绒，充绒量200克，零下15度都能穿", "是白鸭绒的，含绒量90%，很保暖"]),
                (["会不会钻毛？", "帽子能拆吗？"],
                 ["不会的亲，防钻绒面料加上双层内胆", "帽子是可拆卸的，拉链式的很方便"]),
                (["有没有黑色？", "还有别的颜色吗？"],
                 ["有黑色、藏青、卡其三个颜色", "黑色和米白都有现货的亲"]),
            ],
            "卫衣": [
                (["我身高{h}体重{w}斤，穿什么码？", "平时穿L，这款要选几码？"],
                 ["亲，建议选{size}码，宽松版型", "这款是正常码，平时穿L选L就行"]),
                (["卫衣是纯棉的吗？", "面料是什么？"],
                 ["是纯棉的亲，克重400克，厚实不透", "面料是纯棉毛圈，里面加绒，很暖和"]),
                (["洗了会缩水吗？", "能机洗吗？"],
                 ["建议冷水手洗或者机洗轻柔模式，不会缩水", "可以机洗的亲，翻面洗更好"]),
                (["有没有灰色？", "情侣款有哪些颜色？"],
                 ["有灰色的亲，还有白色和燕麦色", "情侣款有黑白两色，男女同款"]),
            ],
        },
        "service": [
            (["羽绒服能机洗吗？", "羽绒服怎么洗？"],
             ["建议手洗或者干洗哦，机洗容易结团", "用中性洗涤剂手洗，平铺晾干后拍一拍就蓬松了"]),
            (["可以换个尺码吗？", "想换大一码怎么弄？"],
             ["可以的亲，在订单页申请换货，选好新尺码寄回就行", "可以换的，寄回时在包裹里写上要换的尺码"]),
        ],
        "complaints": [
            (["尺码不对，标的L穿着像M", "尺码不对，穿着太小了"],
             ["麻烦您量一下衣长和胸围发我", "您拍一下领口的尺码标给我看看"],
             ["给您免费换大一码，运费我们出", "直接给您换货，快递上门取件"]),
            (["穿了一次就起球了", "卫衣洗了一次就掉色", "袖口开线了", "羽绒服钻毛钻得厉害，质量太差"],
             ["麻烦拍几张照片给我看一下", "您把问题位置拍清楚发我"],
             ["给您退货退款，运费我们承担", "给您补偿30元，或者退货退款，您选一个"]),
            (["颜色不对，我要的是黑色发来的是灰色", "发错颜色了"],
             ["麻烦拍一下收到的衣服和吊牌", "我查一下发货记录"],
             ["确认是发错了，给您重新发黑色的，灰色的快递上门取", "给您换成正确的颜色，今天发出"]),
            (["退款被拒了是什么意思", "退货寄回去一周了，退款还没到"],
             ["我查一下您的退货记录", "麻烦发一下退货单号"],
             ["仓库已经收到了，今天给您退款", "已经重新给您通过退款了，原路返回"]),
            (["好几天了还没发货", "物流太慢了，一直不动"],
             ["我帮您查一下", "麻烦提供一下订单号"],
             ["已经催仓库了，今天一定发出", "已经联系快递加急了，明天能到"]),
        ],
        "closers": ["感谢您的支持，穿着合适记得来个好评哦", "有问题随时找我们，祝您生活愉快", "欢迎下次再来逛逛衣选哦"],
    },
]

# --------------------------------------------------------------------------- common pools

C_OPENERS = ["在吗", "你好", "您好", "有人吗", "老板在吗", "hello", "亲", "在不在", "你好啊", "嗨"]
C_OPEN_PREFIX = ["", "你好，", "您好，", "在吗，", "老板，", "请问", "问一下，"]
C_QA_PREFIX = ["", "", "", "那", "还有，", "另外", "请问", "再问一下，", "对了，"]
C_ACKS = ["好的", "好的", "嗯嗯", "嗯", "收到", "谢谢", "好的呢", "ok", "感谢", "恩恩", "好的哦"]
C_THANKS = ["好的谢谢", "好的，谢谢啦", "收到，谢谢", "行，辛苦了", "好的，麻烦了", "明白了，谢谢"]
C_STATEMENTS = ["那我再看看", "行，我知道了", "好的我明白了", "那我对比一下再说", "好，我先收藏一下"]
C_CONSIDER = ["我再考虑考虑", "我再看看吧", "我跟家里人商量一下", "我再对比一下别家", "那我先想想"]
C_PRE_TAIL = ["对了", "还有个事", "另外", "我还想了解一下"]
C_NUDGES = ["在吗？", "亲？", "有人吗？", "人呢", "？", "在不在？"]
C_REASK = ["？", "？？", "亲？", "什么意思？", "能回答一下吗？", "问你呢"]
C_IMAGE = "[图片]"
C_BARGAIN = ["能便宜点吗？", "{p}能便宜点吗", "太贵了，能少点不", "有没有优惠？", "买两个能优惠点吗？", "包邮吗？",
             "能包邮不？", "最低多少钱？", "抹个零呗", "给个优惠吧老板", "有赠品吗？", "能打个折吗", "别家才卖{price}，你们有点贵",
             "可以便宜一点吗", "再便宜点呗，诚心要", "老板，有优惠吗"]
C_BARGAIN2 = ["再便宜一点吧", "抹零行不行", "真的不能少一点吗", "那送点什么吧", "再优惠一点就要了"]
C_ORDERED = ["好的，那我拍了", "已拍，麻烦尽快发货", "拍下了，帮我备注一下", "下单了，记得早点发", "刚下单了", "已下单，地址没问题",
             "行，已经拍了"]
C_PAID = ["已经付了", "已付款", "付款了", "已支付，麻烦早点发"]
C_COMPLAINT_OPEN_DETAIL = ["你们看看怎么处理", "太影响使用了", "急着用呢", "这让我怎么用", "麻烦给个说法"]
C_COMPLAINT_PROOF = ["[图片]", "[图片]", "照片发你了", "你看下图片", "视频发你了"]
C_COMPLAINT_QA = [
    (["那运费谁出？", "寄回的运费怎么算？"], ["运费我们承担的亲，您选择上门取件就行", "寄回运费我们出，您先垫付，备注后给您补"]),
    (["多久能处理好？", "什么时候能弄好？"], ["一般1到3个工作日处理好，我会一直跟进", "今天就给您处理，有进展我第一时间通知您"]),
    (["退款几天到账？", "钱什么时候退回来？"], ["退款原路返回，一般1到3天到账", "审核通过后24小时内到账"]),
    (["要我寄回去吗？", "旧的怎么办？"], ["不用您寄，快递员会上门取件", "旧的先留着，师傅上门时一起带走"]),
    (["新的什么时候能发出？", "补发的什么时候到？"], ["今天下午就能发出，单号稍后发您", "明天发出，大概{d}天到{city}"]),
]
C_SERVICE_COMMON = [
    (["我想改一下收货地址，可以吗？", "地址填错了，能改吗？"], ["可以的亲，发货前都可以改，您把新地址发我", "可以改的，您把正确的地址和电话发给我"]),
    (["发票什么时候开？", "电子发票在哪里看？"], ["亲，确认收货后24小时内开出，发到您邮箱", "订单详情页有电子发票，可以直接下载"]),
    (["可以七天无理由退货吗？", "不想要了能退吗？"], ["可以的亲，在订单页面申请退货，填写单号就行", "能退的亲，不影响二次销售就可以退"]),
]
C_SERVICE_DETAIL = ["新地址是{city}市人民路88号", "我发你订单截图", "[图片]", "就是这个订单"]
C_UNANSWERED_Q = ["那什么时候能发货？", "能发顺丰吗？", "还有其他颜色吗？", "大概几天能到？", "这个能开发票吗？",
                  "可以放心用吗？", "质保多久？", "有没有说明书？", "怎么联系售后？", "用的时候要注意什么？"]

A_GREET = ["您好，我是{prefix}客服{name}，很高兴为您服务~", "亲，在的，请问有什么可以帮您？", "您好亲，欢迎光临{shop}，我是{name}",
           "在的亲，您请说", "亲亲您好，{name}为您服务，请问您想了解哪款产品呢", "您好，欢迎光临{shop}，有什么可以帮您的吗",
           "亲，我是客服{name}，您有什么问题尽管问"]
A_GREET_SHORT = ["您好亲，", "亲，在的，", "您好，", "在的亲，", "亲亲您好，"]
A_GREET_AFTER = ["您好，我是售后客服{name}，请问遇到什么问题了？", "亲，售后{name}为您服务，请问有什么可以帮您",
                 "您好亲，我是{name}，请说一下您遇到的情况", "在的亲，售后这边，您说"]
A_BOT = ["您好，欢迎光临{shop}！我是智能助理店小蜜，人工客服正在赶来，请稍候~",
         "亲，欢迎光临{shop}，我是店小蜜，人工客服马上就到",
         "欢迎光临~{shop}客服正在接入中，您可以先描述一下问题哦",
         "您好，店小蜜为您服务，已为您转接人工客服，请稍候"]
A_BARGAIN = ["亲，这已经是活动价了，我给您申请{gift}吧", "亲亲，现在领券下单可以立减{c}元哦", "价格是统一定价的亲，我可以给您备注优先发货",
             "亲，两件以上可以享受满减，第二件打9折", "包邮的亲，偏远地区除外", "亲，现在下单送{gift}，性价比很高的",
             "这个价格已经很实惠了亲，我再帮您申请一个{c}元的券", "亲，店铺首页有满减券，领了再下单更划算",
             "现在是双十一预热价，比平时实惠不少的亲", "价格没法再调了亲，但可以送您{gift}"]
A_ORDER_ACK = ["收到亲，看到您的订单了，给您备注好了", "好的亲，请核对一下收货地址是否正确哦", "亲，地址和电话确认无误的话，我们会按顺序安排发出",
               "感谢您的支持，发货后物流信息会同步给您", "好的亲，已经给您备注了，仓库会优先处理"]
A_URGE = ["亲，看到您拍下了还没付款哦，订单已经为您保留，记得及时付款~", "亲亲，库存不多了，付款后今天发货哦",
          "亲，您的订单还未付款，完成付款后我们马上安排发货", "亲，订单还没付，今天下午四点前付款今天发货"]
A_PAID_ACK = ["好的亲，订单状态已经更新了，今天就给您安排", "好的亲，已经看到了，会按顺序发出", "收到亲，发货后给您留言"]
A_CONSIDER = ["好的亲，有需要随时联系我哦", "没问题的亲，考虑好了随时找我", "好的，有问题随时问我哦", "可以的亲，慢慢比较"]
A_FOLLOWUP = ["亲，考虑得怎么样了？今天下单给您备注优先发货哦", "亲，还在吗？活动马上结束了，需要的话我给您申请赠品",
              "亲，考虑好了吗？现在下单可以给您备注早点发", "亲亲，还有什么疑问吗？有需要随时找我",
              "亲，这款最近卖得很快，需要的话尽早下单哦"]
A_CLOSE = ["好的亲，有问题随时联系我们", "不客气的亲，祝您生活愉快", "感谢您的咨询，有需要随时找我哦", "好的，欢迎随时来问"]
A_APOLOGY = ["非常抱歉给您带来不便", "实在不好意思，给您添麻烦了", "很抱歉让您遇到这样的问题", "亲，真对不起，是我们的疏忽",
             "抱歉亲，是我们的失误", "非常抱歉，给您带来的不便我们深表歉意"]
A_SOOTHE = ["您别着急", "请您放心，一定给您处理好", "理解您的心情", "您先别着急，马上为您处理", "这个问题一定帮您解决"]
A_COMPLAINT_ACK = ["收到，我这边核实一下", "好的，我看一下", "收到了亲，稍等我核实一下", "照片收到了"]
A_COMPLAINT_CLOSE_OK = ["再次向您道歉，有问题随时联系我们", "给您添麻烦了，后续有问题直接找我"]
A_COMPLAINT_CLOSE = ["问题处理好之前我会一直跟进，您有事随时找我", "后续进展我会第一时间通知您", "有其他问题随时联系我们哦"]
A_TRANSFER = ["亲，这个问题我帮您转接售后同事处理哦", "亲，稍等，我把您转给售后专员"]
A_PREFIX = ["", "", "", "亲，", "亲亲，"]
A_SUFFIX = ["", "", "", "", "~", "哦", "[微笑]", "[愉快]", "哦~"]
EMOJI = ["[微笑]", "[憨笑]", "[OK]", "[可爱]", "[愉快]", "😊", "👌", "[呲牙]", "[握手]", "[玫瑰]"]
QUICK_REPLIES = ["亲，本店商品均为正品现货，下单后48小时内发出哦", "亲，收到货有任何问题随时联系我们，一定给您处理好",
                 "亲，本店支持七天无理由退换，请放心购买", "亲，关注店铺可以领取专属优惠券哦",
                 "亲，我们家是源头工厂直营，品质有保障的", "温馨提示：签收前请先验货，外包装有问题可以拒收",
                 "亲，有其他问题随时找我，看到第一时间回复您"]

# Forbidden phrases embed in a sentence: as a clause of their own (bounded by punctuation,
# so even 1–2 character entries are whole words) before or after the agent's words.
FORBIDDEN_PREFIX = {"硬拒议价", "不耐烦", "讥讽", "推诿"}


# --------------------------------------------------------------------------- validation

def _expansions(tpl: str, slot_values: dict[str, list[str]]) -> list[str]:
    """The template with each slot left blank, and with every value of each slot (others blank)."""
    out = [tpl.format_map(_Blank())]
    for key in re.findall(r"\{(\w+)\}", tpl):
        for v in slot_values.get(key, []):
            out.append(tpl.format_map(_Blank({key: v})))
    return out


def _slot_values() -> dict[str, list[str]]:
    vals: dict[str, list[str]] = {
        "city": [c for c, _ in CITIES], "d": ["1", "2", "3", "4", "5", "6", "7"], "c": ["5", "10", "20", "30", "50"],
        "h": ["155", "160", "165", "170", "175", "180", "185"], "w": ["90", "100", "110", "120", "130", "140", "160", "180"],
        "size": ["S", "M", "L", "XL", "2XL", "3XL"], "price": ["299", "1099", "49"],
    }
    for s in SHOPS:
        vals.setdefault("p", []).extend(p[0] for p in s["products"])
        vals.setdefault("gift", []).extend(s["gifts"])
        vals.setdefault("name", []).extend(n for n, _ in s["pre"] + s["after"])
        vals.setdefault("shop", []).append(s["name"])
        vals.setdefault("prefix", []).append(s["prefix"])
    return vals


@lru_cache(maxsize=1)
def validate_templates() -> bool:
    """Check every text pool against the lexicons; raise ValueError naming the template.

    Customer pools: cue words only where intended (complaint, bargaining, ordered).
    Agent pools: no forbidden phrase anywhere; apology and 催付 phrases only in their pools.
    """
    lx = _lex()
    vals = _slot_values()
    problems = []

    def check(pool, name, need=(), avoid=()):
        for tpl in pool:
            for text in _expansions(tpl, vals):
                for lex_name in need:
                    if not lx.has(text, getattr(lx, lex_name)):
                        problems.append(f"{name}: {text!r} lacks a {lex_name} cue")
                for lex_name in avoid:
                    if lex_name == "forbidden":
                        hit = lx.forbidden_in(text)
                    else:
                        hit = [p for p in getattr(lx, lex_name) if p in _normalize(text)]
                    if hit:
                        problems.append(f"{name}: {text!r} contains {lex_name} {hit}")

    cust_plain = ("complaint", "bargain", "ordered")
    agent_plain = ("forbidden", "apology", "urge")
    shop_c_q, shop_a, shop_c_complaint, shop_closers = [], [], [], []
    for s in SHOPS:
        for topics in s["topics"].values():
            for qs, ans in topics:
                shop_c_q += qs
                shop_a += ans
        for qs, ans in s["service"]:
            shop_c_q += qs
            shop_a += ans
        for cs, acts, sols in s["complaints"]:
            shop_c_complaint += cs
            shop_a += acts + sols
        shop_closers += s["closers"]
    common_q = [q for qs, _ in COMMON_TOPICS + C_COMPLAINT_QA + C_SERVICE_COMMON for q in qs]
    common_a = [a for _, ans in COMMON_TOPICS + C_COMPLAINT_QA + C_SERVICE_COMMON for a in ans]
    check(shop_c_q + common_q + C_UNANSWERED_Q + C_NUDGES, "customer question", need=("question",), avoid=cust_plain)
    check(C_OPENERS + C_OPEN_PREFIX + C_QA_PREFIX + C_THANKS + C_STATEMENTS + C_CONSIDER + C_PRE_TAIL + C_REASK
          + C_COMPLAINT_OPEN_DETAIL + C_COMPLAINT_PROOF + C_SERVICE_DETAIL, "customer text", avoid=cust_plain)
    check(C_THANKS + C_STATEMENTS + C_CONSIDER + C_PRE_TAIL + C_SERVICE_DETAIL + C_COMPLAINT_PROOF,
          "customer statement", avoid=("question",))
    check(C_BARGAIN + C_BARGAIN2, "customer bargaining", need=("bargain",), avoid=("complaint", "ordered"))
    check(shop_c_complaint, "customer complaint", need=("complaint",), avoid=("bargain",))
    check(C_ORDERED + C_PAID, "customer ordered", need=("ordered",), avoid=("complaint", "bargain"))
    for a in C_ACKS:
        if _norm_key(a) not in lx.ack_keys:
            problems.append(f"customer ack {a!r} is not an ack.txt phrase")
    check(shop_a + common_a + shop_closers + A_GREET + A_GREET_SHORT + A_GREET_AFTER + A_BARGAIN + A_ORDER_ACK
          + A_PAID_ACK + A_CONSIDER + A_FOLLOWUP + A_CLOSE + A_SOOTHE + A_COMPLAINT_ACK + A_COMPLAINT_CLOSE
          + A_TRANSFER + A_PREFIX + A_SUFFIX + QUICK_REPLIES, "agent text", avoid=agent_plain)
    check(A_APOLOGY + A_COMPLAINT_CLOSE_OK, "agent apology", need=("apology",), avoid=("forbidden", "urge"))
    check(A_URGE, "agent urge", need=("urge",), avoid=("forbidden", "apology"))
    for q in QUICK_REPLIES:
        if len(_norm_key(q)) < 10:
            problems.append(f"quick reply {q!r} shorter than 10 characters")
    for e in EMOJI:
        if _norm_key(e):
            problems.append(f"emoji {e!r} has words")
    if problems:
        raise ValueError("sample templates do not fit the lexicons:\n  " + "\n  ".join(problems))
    return True


@lru_cache(maxsize=1)
def _forbidden_choices() -> tuple:
    """(phrase, category, has_apology, has_urge) for every forbidden.txt entry."""
    lx = _lex()
    out = []
    for line in (LEXICON_DIR / "forbidden.txt").read_text(encoding="utf-8").splitlines():
        if "#" in line:
            line = line[: line.index("#")]
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        phrase = parts[0]
        cat = parts[1] if len(parts) > 1 else ""
        out.append((phrase, cat, lx.has(phrase, lx.apology), lx.has(phrase, lx.urge)))
    return tuple(out)


# --------------------------------------------------------------------------- conversation model

# A message while building: [role, text, msg_type, agent_id, hint, tag]
#   hint: timing ('slow_first', 'slow', 'followup_ok', 'followup_late', 'nudge')
#   tag:  marks for the ground truth ('complaint', 'bargain_A', 'rep2', 'emoji', 'tailq', 'forbidden')
# An exchange: [kind, customer messages, agent messages]; rendered in order, customer first.


class _Conv:
    __slots__ = ("rng", "shop", "slots", "agent", "agent2", "used", "ex", "order", "queue", "scenario",
                 "product", "max_qa")

    def __init__(self, rng, shop, scenario):
        self.rng = rng
        self.shop = shop
        self.scenario = scenario
        self.used: set[str] = set()
        self.ex: list = []
        self.order = None       # dict describing an order placed in the chat
        self.max_qa = 4

    # -- text picking
    def c(self, text, mtype="text", hint=None, tag=None):
        return ["customer", text, mtype, None, hint, tag]

    def a(self, text, mtype="text", hint=None, tag=None, agent=None):
        return ["agent", text, mtype, agent or self.agent, hint, tag]

    def fill(self, tpl):
        return tpl.format_map(self.slots) if "{" in tpl else tpl

    def agent_text(self, pool, decorate=True, agent=None):
        """An agent sentence not yet sent (near-same) in this chat."""
        rng = self.rng
        self.slots["name"] = (agent or self.agent).split(":", 1)[1]
        for attempt in range(12):
            t = self.fill(rng.choice(pool))
            if decorate and attempt < 8:
                pre = rng.choice(A_PREFIX)
                if pre and ("亲" in t[:8] or t.startswith(("您好", "在的", "好的", "不客气"))):
                    pre = ""
                suf = rng.choice(A_SUFFIX)
                if suf.startswith("哦") and t.endswith(("哦", "的", "吗", "呢", "吧", "~", "！", "。")):
                    suf = ""
                t = pre + t + suf
            k = _norm_key(t)
            if k not in self.used:
                self.used.add(k)
                return t
        # pools are large enough that this is rare: make it distinct with a prefix
        for pre in ("好的亲，", "亲，这边说明一下：", "补充一下，", "再跟您确认一下，"):
            k = _norm_key(pre + t)
            if k not in self.used:
                self.used.add(k)
                return pre + t
        return t

    def unique(self, make):
        """make() -> text; retried until its near-same key is new in this chat, then registered."""
        for _ in range(12):
            t = make()
            k = _norm_key(t)
            if k not in self.used:
                self.used.add(k)
                return t
        t = "补充一下，" + t
        self.used.add(_norm_key(t))
        return t

    def question(self, qs, prefix=True):
        rng = self.rng
        q = self.fill(rng.choice(qs))
        if prefix:
            q = rng.choice(C_QA_PREFIX) + q
        if q.endswith("？") and rng.random() < 0.35:
            bare = q[:-1]
            if _lex().has(bare, _lex().question):
                q = bare
            elif rng.random() < 0.5:
                q = bare + "?"
        return q


def _pick_weighted(rng, items):
    total = sum(w for _, w in items)
    x = rng.random() * total
    for v, w in items:
        x -= w
        if x < 0:
            return v
    return items[-1][0]


def _topics_for(shop, kind):
    return shop["topics"][kind] + COMMON_TOPICS


def _opening(cv: _Conv, qa_pool, after=False):
    """Exchange 0: the customer's first message(s) and the agent's greeting."""
    rng = cv.rng
    r = rng.random()
    greet_pool = A_GREET_AFTER if after else A_GREET
    if qa_pool is None or r < 0.45:
        cust = [cv.c(rng.choice(C_OPENERS))] if rng.random() < 0.9 else [cv.c(rng.choice(EMOJI), "emoji")]
        if rng.random() < 0.12:
            cust.append(cv.c(C_IMAGE, "image"))
        return ["open", cust, [cv.a(cv.agent_text(greet_pool, decorate=False))]], None
    qs, ans = qa_pool
    if r < 0.75:
        cust = [cv.c(rng.choice(C_OPENERS)), cv.c(cv.question(qs, prefix=False))]
    else:
        cust = [cv.c(rng.choice(C_OPEN_PREFIX) + cv.question(qs, prefix=False))]
    if rng.random() < 0.5:
        agents = [cv.a(cv.agent_text(greet_pool, decorate=False)), cv.a(cv.agent_text(ans))]
    else:
        agents = [cv.a(cv.unique(lambda: rng.choice(A_GREET_SHORT) + cv.fill(rng.choice(ans))))]
    return ["open", cust, agents], qa_pool


def _qa_exchanges(cv: _Conv, topics, n, skip=None):
    rng = cv.rng
    pool = [t for t in topics if t is not skip]
    rng.shuffle(pool)
    out = []
    for qs, ans in pool[:n]:
        cust = [cv.c(cv.question(qs))]
        agents = [cv.a(cv.agent_text(ans))]
        if cv.shop["code"] == "YX" and "码" in cust[0][1] and rng.random() < 0.4:
            agents.insert(0, cv.a(C_IMAGE, "image"))  # the size chart
        out.append(["qa", cust, agents])
    return out


def _ending_plain(cv: _Conv):
    """Clean end after an agent answer: leave, a bare acknowledgement, or thanks + closing."""
    rng = cv.rng
    r = rng.random()
    if r < 0.3:
        return []
    if r < 0.6:
        return [["end", [cv.c(rng.choice(C_ACKS))], []]]
    cust = [cv.c(rng.choice(C_THANKS if r < 0.85 else C_STATEMENTS))]
    if rng.random() < 0.12 and cust[0][1] in C_THANKS:
        return [["end", cust, [cv.a(rng.choice(EMOJI), "emoji")]]]  # emoji to a thank-you: fine
    pool = A_CLOSE + cv.shop["closers"]
    return [["end", cust, [cv.a(cv.agent_text(pool))]]]


def _tail_question(cv: _Conv):
    rng = cv.rng
    cust = []
    if rng.random() < 0.25:
        cust.append(cv.c(rng.choice(C_PRE_TAIL)))
    cust.append(cv.c(cv.question(C_UNANSWERED_Q, prefix=False), tag="tailq"))
    if rng.random() < 0.2:
        cust.append(cv.c(rng.choice(C_NUDGES)))
    return ["tail", cust, []]


def _build_presales(cv: _Conv, bargain: bool, will_order: bool, inj: set):
    rng = cv.rng
    shop = cv.shop
    topics = _topics_for(shop, cv.product[1])
    first = rng.choice(topics)
    ex0, used_topic = _opening(cv, first)
    ex = [ex0]
    n_qa = min(cv.max_qa, rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))
    ex += _qa_exchanges(cv, topics, n_qa, skip=used_topic)
    if bargain:
        ex.append(["bargain", [cv.c(cv.fill(rng.choice(C_BARGAIN)))], [cv.a(cv.agent_text(A_BARGAIN))]])
        if rng.random() < 0.35:
            ex.append(["bargain", [cv.c(rng.choice(C_BARGAIN2))], [cv.a(cv.agent_text(A_BARGAIN))]])
    if will_order:
        ex += _order_exchanges(cv, inj)
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        else:
            ex += _ending_plain(cv)
    elif bargain:
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        elif "bargain_followup_late" in inj:
            if rng.random() < 0.5:  # the customer's last words: "let me think"
                ex.append(["consider", [cv.c(rng.choice(C_CONSIDER))], [cv.a(cv.agent_text(A_CONSIDER))]])
            ex[-1][2] = ex[-1][2][:1]
            ex[-1][2][0][5] = "bargain_A"
            ex[-1][0] = "bargain_A"
            if rng.random() < 0.6:
                ex.append(["followup", [], [cv.a(cv.agent_text(A_FOLLOWUP), hint="followup_late")]])
        else:
            r = rng.random()
            if r < 0.35:
                ex.append(["end", [cv.c(rng.choice(C_ACKS))], []])
            else:
                if r < 0.7:
                    ex.append(["consider", [cv.c(rng.choice(C_CONSIDER))], [cv.a(cv.agent_text(A_CONSIDER))]])
                ex.append(["followup", [], [cv.a(cv.agent_text(A_FOLLOWUP), hint="followup_ok")]])
                if rng.random() < 0.3:
                    ex.append(["end", [cv.c(rng.choice(C_ACKS))], []])
    else:
        if "unanswered_question" in inj:
            ex.append(_tail_question(cv))
        else:
            ex += _ending_plain(cv)
    return ex


def _order_exchanges(cv: _Conv, inj: set):
    """The customer orders: the order is created just before the first message below."""
    rng = cv.rng
    late = "late_urge_to_pay" in inj
    mode = "late" if late else ("urged" if rng.random() < 0.25 else "paid")
    cv.order = {"mode": mode}
    r = rng.random()
    if r < 0.6:
        cust = [cv.c(rng.choice(C_ORDERED), tag="order")]
    elif r < 0.8:
        cust = [cv.c("", "order", tag="order")]  # the order card; text filled once the id is known
    else:
        cust = [cv.c(rng.choice(C_ORDERED), tag="order"), cv.c("", "order")]
    agents = [cv.a(cv.agent_text(A_ORDER_ACK))]
    out = [["order", cust, agents]]
    if mode == "urged":
        if rng.random() < 0.5:
            agents.append(cv.a(cv.agent_text(A_URGE, decorate=False)))
        else:
            out.append(["followup", [], [cv.a(cv.agent_text(A_URGE, decorate=False), hint="followup_ok")]])
    elif mode == "paid" and rng.random() < 0.4:
        out.append(["paid", [cv.c(rng.choice(C_PAID), tag="paid")], [cv.a(cv.agent_text(A_PAID_ACK))]])
    return out


def _build_complaint(cv: _Conv, inj: set):
    rng = cv.rng
    shop = cv.shop
    apologise = "missing_apology" not in inj
    cs, acts, sols = rng.choice(shop["complaints"])
    complaint = cv.c(cv.fill(rng.choice(cs)), tag="complaint")
    extra = []
    if rng.random() < 0.35:
        extra.append(cv.c(C_IMAGE, "image"))
    if rng.random() < 0.25:
        extra.append(cv.c(rng.choice(C_COMPLAINT_OPEN_DETAIL)))

    def first_reply(greet_prefix=""):
        parts = []
        if apologise:
            parts.append(rng.choice(A_APOLOGY))
        if rng.random() < 0.5 or not apologise:
            parts.append(rng.choice(A_SOOTHE))
        parts.append(cv.fill(rng.choice(acts)))
        return cv.unique(lambda: greet_prefix + "，".join(parts))

    ex = []
    transfer = rng.random() < 0.1
    if rng.random() < 0.5:  # greet first, then the complaint
        cust = [cv.c(rng.choice(C_OPENERS))]
        greeter = cv.agent2 if transfer else cv.agent
        ex.append(["open", cust, [cv.a(cv.agent_text(A_GREET_AFTER if not transfer else A_GREET, decorate=False,
                                                     agent=greeter), agent=greeter)]])
        agents = [cv.a(first_reply())]
        if transfer:
            agents.insert(0, cv.a(cv.agent_text(A_TRANSFER, decorate=False, agent=greeter), agent=greeter))
        ex.append(["complaint", [complaint] + extra, agents])
    else:  # the first message is the complaint
        if transfer:
            agents = [cv.a(cv.agent_text(A_TRANSFER, decorate=False, agent=cv.agent2), agent=cv.agent2),
                      cv.a(first_reply())]
        else:
            agents = [cv.a(first_reply(rng.choice(A_GREET_SHORT)))]
        ex.append(["open", [complaint] + extra, agents])
    proof = cv.c(rng.choice(C_COMPLAINT_PROOF), "image") if rng.random() < 0.5 else cv.c("", "order", tag="card")
    if proof[2] == "image" and proof[1] != C_IMAGE:
        proof[2] = "text"
    agents = [cv.a(cv.agent_text(A_COMPLAINT_ACK, decorate=False)), cv.a(cv.agent_text(sols))]
    ex.append(["proof", [proof], agents])
    for qs, ans in rng.sample(C_COMPLAINT_QA, min(cv.max_qa, rng.choice((0, 1, 1, 2)))):
        ex.append(["qa", [cv.c(cv.question(qs))], [cv.a(cv.agent_text(ans))]])
    if "unanswered_question" in inj:
        ex.append(_tail_question(cv))
        return ex
    r = rng.random()
    if r < 0.35:
        ex.append(["end", [cv.c(rng.choice(C_ACKS))], []])
    elif r < 0.85:
        pool = A_COMPLAINT_CLOSE + (A_COMPLAINT_CLOSE_OK if apologise else [])
        ex.append(["end", [cv.c(rng.choice(C_THANKS))], [cv.a(cv.agent_text(pool))]])
    return ex


def _build_service(cv: _Conv, inj: set):
    rng = cv.rng
    pool = cv.shop["service"] + C_SERVICE_COMMON
    first = rng.choice(pool)
    ex0, used = _opening(cv, first, after=True)
    ex = [ex0]
    rest = [t for t in pool if t is not first]
    cv.rng.shuffle(rest)
    if used is None:
        ex += _qa_exchanges(cv, rest[:1], 1)
        rest = rest[1:]
    if rng.random() < 0.4:
        ex.append(["detail", [cv.c(cv.fill(rng.choice(C_SERVICE_DETAIL)), tag="detail")],
                   [cv.a(cv.agent_text(A_COMPLAINT_ACK, decorate=False))]])
        if ex[-1][1][0][1] == C_IMAGE:
            ex[-1][1][0][2] = "image"
        elif ex[-1][1][0][1] == "就是这个订单" and rng.random() < 0.5:
            ex[-1][1].append(cv.c("", "order", tag="card"))
    ex += _qa_exchanges(cv, rest, min(cv.max_qa, rng.choice((0, 1, 1, 2))))
    if "unanswered_question" in inj:
        ex.append(_tail_question(cv))
    else:
        ex += _ending_plain(cv)
    return ex


# --------------------------------------------------------------------------- injections on exchanges

def _inject_emoji(cv: _Conv):
    """A question turn answered by emoji only; the customer asks again, then gets the answer."""
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex) if e[0] == "qa" and e[2] and e[2][0][2] == "text"]
    if not cands:
        return False
    i = rng.choice(cands)
    kind, cust, agents = cv.ex[i]
    emo = [cv.a(rng.choice(EMOJI), "emoji", tag="emoji")]
    if rng.random() < 0.2:
        emo.append(cv.a(rng.choice(EMOJI), "emoji"))
    cv.ex[i] = ["qa_emoji", cust, emo]
    cv.ex.insert(i + 1, ["reask", [cv.c(rng.choice(C_REASK))], agents])
    return True


def _inject_slow_response(cv: _Conv):
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex) if i > 0 and e[1] and e[2]]
    if not cands:
        return False
    i = rng.choice(cands)
    kind, cust, agents = cv.ex[i]
    # a nudge ("在吗？") asks: not before an emoji-only reply to a customer block that did not ask
    if rng.random() < 0.4 and any(m[2] != "emoji" for m in agents):
        cust.append(cv.c(rng.choice(C_NUDGES), hint="nudge"))
    agents[0][4] = "slow"
    return True


def _inject_slow_first(cv: _Conv):
    kind, cust, agents = cv.ex[0]
    if cv.rng.random() < 0.4:
        cust.append(cv.c(cv.rng.choice(C_NUDGES), hint="nudge"))
    agents[0][4] = "slow_first"


def _inject_repeat(cv: _Conv):
    rng = cv.rng
    cands = [i for i, e in enumerate(cv.ex)
             if e[2] and e[0] not in ("qa_emoji", "followup", "bargain_A") and e[2][-1][2] == "text"]
    if len(cands) < 2:
        return False
    i, j = sorted(rng.sample(cands, 2))
    q = rng.choice(QUICK_REPLIES)
    q2 = q if rng.random() < 0.5 else q.rstrip("哦") + rng.choice(("！", "~", "[微笑]", "哦~", "。"))
    if _norm_key(q2) != _norm_key(q):
        q2 = q
    cv.ex[i][2].append(cv.a(q))
    cv.ex[j][2].append(cv.a(q2, tag="rep2"))
    return True


def _inject_forbidden(cv: _Conv):
    rng = cv.rng
    choices = [f for f in _forbidden_choices()
               if not (f[2] and cv.scenario == "complaint") and not (f[3] and cv.order is not None)]
    cat_pref = {"bargain": ("硬拒议价",), "complaint": ("推诿", "责怪", "不耐烦"),
                "inquiry": ("不耐烦", "讥讽", "推诿", "命令"), "service": ("不耐烦", "推诿", "讥讽", "命令")}
    if rng.random() < 0.75:
        pref = [f for f in choices if f[1] in cat_pref[cv.scenario]]
        choices = pref or choices
    phrase, cat, _, _ = rng.choice(choices)
    def ok(m):  # not the emoji reply, not a repeated quick reply (it would stop repeating)
        return m[2] == "text" and m[5] != "rep2" and "[" not in m[1] and m[1] not in QUICK_REPLIES

    msgs = [m for e in cv.ex for m in e[2] if ok(m)]
    if cv.scenario == "bargain" and cat == "硬拒议价":
        msgs = [m for e in cv.ex if e[0] in ("bargain", "bargain_A") for m in e[2] if ok(m)] or msgs
    if not msgs:
        return False
    m = rng.choice(msgs)
    base = m[1].rstrip("。~！!哦")
    if cat in FORBIDDEN_PREFIX and rng.random() < 0.6:
        m[1] = f"{phrase}，{base}"
    else:
        m[1] = f"{base}，{phrase}！" if rng.random() < 0.5 else f"{base}。{phrase}"
    m[5] = "forbidden" if m[5] is None else m[5] + "+forbidden"
    return True


# --------------------------------------------------------------------------- timeline

def _think(rng):
    return min(120, 5 + int(rng.expovariate(1 / 28)))


def _timeline(msgs, start, rng):
    """Assign integer local seconds to the rendered messages (see the module docstring)."""
    times = []
    t = start
    round_start = None
    first_round = True
    prev_role = None
    for i, m in enumerate(msgs):
        role, hint = m[0], m[4]
        if i == 0:
            t = start
            round_start = t
        elif role == "bot":
            t += rng.randint(1, 2)
        elif role == "customer":
            if hint == "nudge":
                lo, hi = (15, 28) if first_round else (25, 55)
                t = max(t + 2, round_start + rng.randint(lo, hi))
            elif prev_role == "customer":
                t += rng.randint(2, 6) if first_round else rng.randint(2, 8)
            else:
                t += _think(rng)
            if round_start is None:
                round_start = t
        else:  # agent
            if round_start is not None:
                if first_round:
                    if hint == "slow_first":
                        t = max(t + 5, round_start + rng.randint(35, 200))
                    else:
                        t = max(t + 2, round_start + rng.randint(3, 25))
                    first_round = False
                elif hint == "slow":
                    t = max(t + 5, round_start + rng.randint(70, 400))
                else:
                    d = rng.randint(5, 20) if rng.random() < 0.8 else rng.randint(21, 40)
                    t = max(t + 1, min(t + d, round_start + 58))
                round_start = None
            elif hint == "followup_ok":
                t += rng.randint(60, 240)
            elif hint == "followup_late":
                t += rng.randint(330, 900)
            else:
                t += rng.randint(3, 15)
        if role != "bot":
            prev_role = role
        times.append(t)
    return times


# --------------------------------------------------------------------------- the generator

class _Clock:
    """Local seconds since the start date's midnight -> ISO-8601 with +08:00."""

    def __init__(self, start: date):
        self.start = start
        self.days: dict[int, str] = {}

    def iso(self, s: int) -> str:
        d, r = divmod(s, 86400)
        day = self.days.get(d)
        if day is None:
            day = self.days[d] = (self.start + timedelta(days=d)).isoformat()
        h, r = divmod(r, 3600)
        mi, se = divmod(r, 60)
        return f"{day}T{h:02d}:{mi:02d}:{se:02d}{TZ}"


HOUR_WEIGHTS = [(8, 2), (9, 5), (10, 9), (11, 9), (12, 6), (13, 6), (14, 8), (15, 9), (16, 8), (17, 6), (18, 5),
                (19, 7), (20, 10), (21, 11), (22, 9), (23, 4)]
NICKS = ["焊工老张", "小鱼儿", "爱吃坚果的猫", "阳光明媚", "静待花开", "奔跑的蜗牛", "lucky", "木子李", "糖果屋", "风一样的男子",
         "开心果", "大橙子", "追梦人", "小熊饼干", "星空下", "老陈五金", "jenny", "momo", "一只喵", "王师傅"]


def _amount(rng, shop, product):
    lo, hi = product[2], product[3]
    qty = 1
    if shop["code"] == "GL" and rng.random() < 0.35:
        qty = rng.choice((2, 2, 3))
    unit = rng.randint(int(lo), int(hi))
    unit = unit - unit % 10 + (9 if rng.random() < 0.8 else 8)
    if unit > hi:
        unit -= 10
    v = unit * qty
    if shop["code"] == "GL" and rng.random() < 0.6:
        v = v - 0.1  # x9.9
    a_lo, a_hi = shop["amount"]
    return round(min(max(float(v), a_lo), a_hi), 2)


def generate(out_dir, conversations: int = 300, seed: int = 7, start: str = "2026-11-01", days: int = 7,
             progress=None) -> dict:
    """Write chats.jsonl, orders.jsonl and ground_truth.jsonl into out_dir; return counts.
    `progress(n)` is called every 1,000 conversations (the CLI's progress bar)."""
    validate_templates()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    start_date = date.fromisoformat(str(start))
    clock = _Clock(start_date)
    days = max(1, int(days))
    n = int(conversations)
    width = max(6, len(str(n)))

    # conversation start times (local seconds), sorted so ids follow time
    starts = []
    for _ in range(n):
        d = rng.randrange(days)
        h = _pick_weighted(rng, HOUR_WEIGHTS)
        mi = rng.randrange(30) if h == 23 else rng.randrange(60)
        starts.append(d * 86400 + h * 3600 + mi * 60 + rng.randrange(60))
    starts.sort()

    agents_by_shop = []
    for s in SHOPS:
        agents_by_shop.append({
            "pre": [(f"{s['prefix']}:{nm}", w) for nm, w in s["pre"]],
            "after": [(f"{s['prefix']}:{nm}", w) for nm, w in s["after"]],
        })
    shop_weights = [(0, 3), (1, 3), (2, 2), (3, 3)]
    mix = list(MIX.items())

    counts = {r: 0 for r in RULE_IDS}
    n_msgs = 0
    orders_out: list[str] = []
    truth_out: list[str] = []
    cust_counter = 0
    order_counter = 0
    customers: list[str] = []
    last_end: dict[tuple[str, int], int] = {}
    # earlier chat orders per shop: (customer, order_id, created, product, amount)
    buyers_by_shop: list[list[tuple]] = [[] for _ in SHOPS]

    def new_customer():
        nonlocal cust_counter
        cust_counter += 1
        if rng.random() < 0.65:
            cid = f"tb{(cust_counter * 7919 + 104729) % 10**9:09d}"
        else:
            cid = f"{rng.choice(NICKS)}{cust_counter}"
        customers.append(cid)
        return cid

    def new_order_id(s):
        nonlocal order_counter
        order_counter += 1
        day = clock.iso(s)[:10].replace("-", "")[2:]
        return f"{day}{(order_counter * 982451653 + 12345) % 10**12:012d}"

    def order_line(oid, cust, shop, agent, created, paid, amount):
        return json.dumps({"order_id": oid, "customer_id": cust, "shop_id": shop["name"], "agent_id": agent,
                           "created_at": clock.iso(created), "paid_at": None if paid is None else clock.iso(paid),
                           "amount": amount}, ensure_ascii=False)

    f_chats = (out / "chats.jsonl").open("w", encoding="utf-8")
    buf: list[str] = []
    dumps = json.dumps
    try:
        for ci in range(n):
            if progress and ci % 1000 == 0:
                progress(ci)
            st = starts[ci]
            si = _pick_weighted(rng, shop_weights)
            shop = SHOPS[si]
            scenario = _pick_weighted(rng, mix)
            queue = "presales" if scenario in ("inquiry", "bargain") else "aftersales"
            pool = agents_by_shop[si]["pre" if queue == "presales" else "after"]
            product = rng.choice(shop["products"])

            # customer: new, a returning buyer (after-sales on an earlier order), or seen before
            cust = None
            past_order = past_amount = None
            if queue == "aftersales" and buyers_by_shop[si] and rng.random() < 0.35:
                cand = buyers_by_shop[si][rng.randrange(len(buyers_by_shop[si]))]
                if cand[2] < st - 86400 and last_end.get((cand[0], si), -10**9) < st - 3600:
                    cust, past_order, product, past_amount = cand[0], cand[1], cand[3], cand[4]
            if cust is None and customers and rng.random() < REUSE_SHARE:
                cand = customers[rng.randrange(len(customers))]
                if last_end.get((cand, si), -10**9) < st - 3600:
                    cust = cand
            if cust is None:
                cust = new_customer()

            # the chat's plan: which rules to inject (each at its rate among eligible chats)
            will_order = scenario in ORDER_SHARE and rng.random() < ORDER_SHARE[scenario]
            inj = set()
            for rule in ("forbidden_phrase", "repeated_quick_reply", "slow_first_response", "slow_response",
                         "emoji_only_reply", "unanswered_question"):
                if rng.random() < RATES[rule]:
                    inj.add(rule)
            if scenario == "complaint" and rng.random() < RATES["missing_apology"]:
                inj.add("missing_apology")
            if scenario == "bargain" and not will_order and rng.random() < RATES["bargain_followup_late"]:
                inj.add("bargain_followup_late")
            if will_order and rng.random() < RATES["late_urge_to_pay"]:
                inj.add("late_urge_to_pay")
            if "bargain_followup_late" in inj and "unanswered_question" in inj:
                inj.discard("unanswered_question" if rng.random() < 0.5 else "bargain_followup_late")

            slots = _Blank({
                "p": product[0], "shop": shop["name"], "prefix": shop["prefix"],
                "d": "", "city": "", "c": str(rng.choice((5, 10, 20, 30, 50))), "gift": rng.choice(shop["gifts"]),
                "h": str(rng.choice((155, 160, 165, 170, 175, 180, 185))),
                "w": str(rng.choice((90, 100, 110, 120, 130, 140, 160, 180))),
                "size": rng.choice(("S", "M", "L", "XL", "2XL", "3XL")),
                "price": str(int(product[2] * 0.85) // 10 * 10 + 9),
            })
            city, dd = rng.choice(CITIES)
            slots["city"], slots["d"] = city, str(dd + rng.choice((0, 0, 1)))

            for attempt in range(8):
                cv = _Conv(rng, shop, scenario)
                cv.max_qa = (4, 3, 2, 2, 1, 1, 0, 0)[attempt]
                cv.slots = slots
                cv.product = product
                cv.queue = queue
                cv.agent = _pick_weighted(rng, pool)
                other = agents_by_shop[si]["pre"]
                cv.agent2 = _pick_weighted(rng, other)
                if scenario == "inquiry":
                    cv.ex = _build_presales(cv, False, will_order, inj)
                elif scenario == "bargain":
                    cv.ex = _build_presales(cv, True, will_order, inj)
                elif scenario == "complaint":
                    cv.ex = _build_complaint(cv, inj)
                else:
                    cv.ex = _build_service(cv, inj)
                done = set(inj) & {"missing_apology", "bargain_followup_late", "late_urge_to_pay",
                                   "unanswered_question"}
                if "emoji_only_reply" in inj and _inject_emoji(cv):
                    done.add("emoji_only_reply")
                if "slow_first_response" in inj:
                    _inject_slow_first(cv)
                    done.add("slow_first_response")
                if "slow_response" in inj and _inject_slow_response(cv):
                    done.add("slow_response")
                if "repeated_quick_reply" in inj and _inject_repeat(cv):
                    done.add("repeated_quick_reply")
                if "forbidden_phrase" in inj and _inject_forbidden(cv):
                    done.add("forbidden_phrase")
                msgs = []
                for k, (kind, cm, am) in enumerate(cv.ex):
                    msgs.extend(cm)
                    if k == 0 and rng.random() < BOT_SHARE:
                        msgs.insert(1, ["bot", rng.choice(A_BOT).format_map(slots), "text", None, None, None])
                    msgs.extend(am)
                if 4 <= len(msgs) <= 20:
                    break
                # too long (or short): rebuild, with fewer question turns the next time round
            else:
                raise RuntimeError(f"could not build a conversation of 4-20 messages ({len(msgs)})")
            times = _timeline(msgs, st, rng)
            end = times[-1]
            chatted_here_before = (cust, si) in last_end
            last_end[(cust, si)] = end
            conv_id = f"{shop['code']}-{clock.iso(st)[:10].replace('-', '')}-{ci + 1:0{width}d}"

            # orders: the one placed in this chat, and the earlier one an after-sales chat is about
            card_order, card_amount = past_order, past_amount
            if cv.order is not None:
                k = next(i for i, m in enumerate(msgs) if m[5] == "order")
                lo = times[k - 1] + 1
                created = max(lo, times[k] - rng.randint(1, 4))
                mode = cv.order["mode"]
                if mode == "paid":
                    kp = next((i for i, m in enumerate(msgs) if m[5] == "paid"), None)
                    if kp is not None:
                        paid = max(created + 5, times[kp] - rng.randint(1, 4))
                        if paid - created > 850:
                            paid = created + rng.randint(10, 300)
                    else:
                        paid = created + rng.randint(10, 300)
                elif mode == "urged":
                    paid = None if rng.random() < 0.5 else created + rng.randint(400, 3000)
                else:
                    paid = None if rng.random() < 0.7 else created + rng.randint(1000, 7200)
                oid = new_order_id(created)
                amount = _amount(rng, shop, product)
                orders_out.append(order_line(oid, cust, shop, cv.agent if rng.random() < 0.5 else None,
                                             created, paid, amount))
                buyers_by_shop[si].append((cust, oid, created, product, amount))
                card_order, card_amount = oid, amount
            if queue == "aftersales" and past_order is None and not chatted_here_before:
                # an order from before this chat; this customer never chatted with this shop
                # before, and later chats start after this one: it lies in no chat
                created = st - rng.randint(86400, 8 * 86400)
                paid = created + rng.randint(10, 600)
                card_order = new_order_id(created)
                card_amount = _amount(rng, shop, product)
                orders_out.append(order_line(card_order, cust, shop, None if rng.random() < 0.5 else
                                             _pick_weighted(rng, agents_by_shop[si]["pre"]), created, paid, card_amount))

            # ground truth, by construction
            gt = []
            agent_seen = False
            for i, m in enumerate(msgs):
                seq = i + 1
                tag = m[5]
                if m[2] == "order" and not m[1]:
                    if card_order is None:
                        m[1], m[2] = C_IMAGE, "image"
                    else:
                        m[1] = f"订单号：{card_order}，商品：{product[0]}，实付：¥{card_amount:.2f}"
                if m[0] == "agent" and not agent_seen:
                    agent_seen = True
                    if m[4] == "slow_first":
                        gt.append(("slow_first_response", seq))
                if m[4] == "slow" and m[0] == "agent":
                    gt.append(("slow_response", seq))
                if not tag:
                    continue
                tags = tag.split("+")
                if "complaint" in tags and "missing_apology" in inj and not any(r == "missing_apology" for r, _ in gt):
                    gt.append(("missing_apology", seq))
                if "bargain_A" in tags:
                    gt.append(("bargain_followup_late", seq))
                if "rep2" in tags:
                    gt.append(("repeated_quick_reply", seq))
                if "emoji" in tags:
                    gt.append(("emoji_only_reply", seq))
                if "tailq" in tags:
                    gt.append(("unanswered_question", seq))
                if "forbidden" in tags:
                    gt.append(("forbidden_phrase", seq))
            if "late_urge_to_pay" in inj:
                gt.append(("late_urge_to_pay", None))
            for rule, seq in gt:
                counts[rule] += 1
                truth_out.append(dumps({"conversation_id": conv_id, "rule_id": rule, "message_seq": seq},
                                       ensure_ascii=False))

            # messages
            iso = clock.iso
            shop_name = shop["name"]
            for i, m in enumerate(msgs):
                buf.append(dumps({"conversation_id": conv_id, "seq": i + 1, "ts": iso(times[i]), "role": m[0],
                                  "agent_id": m[3], "customer_id": cust, "shop_id": shop_name, "queue": queue,
                                  "text": m[1], "msg_type": m[2]}, ensure_ascii=False))
            n_msgs += len(msgs)
            if len(buf) >= 50000:
                f_chats.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f_chats.write("\n".join(buf) + "\n")
    finally:
        f_chats.close()

    # orders placed without any chat (静默下单), by buyers who never chatted
    silent = max(1, len(orders_out) // 10) if n else 0
    for _ in range(silent):
        si = _pick_weighted(rng, shop_weights)
        shop = SHOPS[si]
        product = rng.choice(shop["products"])
        cust_counter += 1
        cust = f"tb{(cust_counter * 7919 + 104729) % 10**9:09d}"
        created = rng.randrange(days) * 86400 + rng.randint(8 * 3600, 23 * 3600 + 1800)
        paid = created + rng.randint(10, 600) if rng.random() < 0.85 else None
        orders_out.append(order_line(new_order_id(created), cust, shop, None, created, paid, _amount(rng, shop, product)))

    (out / "orders.jsonl").write_text("\n".join(orders_out) + ("\n" if orders_out else ""), encoding="utf-8")
    (out / "ground_truth.jsonl").write_text("\n".join(truth_out) + ("\n" if truth_out else ""), encoding="utf-8")
    return {"conversations": n, "messages": n_msgs, "orders": len(orders_out), "violations": counts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.sample", description="生成样例聊天、订单及标注 (sample data with ground truth)")
    ap.add_argument("--conversations", "-n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("data/generated"))
    ap.add_argument("--start", default="2026-11-01", help="first day, YYYY-MM-DD")
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args(argv)
    counts = generate(args.out, conversations=args.conversations, seed=args.seed, start=args.start, days=args.days)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
