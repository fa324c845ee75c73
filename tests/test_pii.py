"""PII recognisers: one test per kind, and what must stay readable."""

import pytest

from qc.pii import find, mask


@pytest.mark.parametrize("text,kind", [
    ("电话13812345678", "mobile"),
    ("电话 +86 138 1234 5678", "mobile"),
    ("手机138-1234-5678", "mobile"),
    ("8613812345678", "mobile"),
    ("手机１３８１２３４５６７８", "mobile"),
    ("座机0571-88886666", "landline"),
    ("(010)12345678", "landline"),
    ("身份证330106199001011234", "id_card"),
    ("身份证号33010619900101123X", "id_card"),
    ("收货地址：杭州市西湖区文三路88号3栋2单元501室", "address"),
    ("寄到浙江省杭州市西湖区文三路88号3栋501室，谢谢", "address"),
])
def test_each_kind_is_found_and_masked(text, kind):
    assert kind in {k for k, _, _ in find(text)}
    masked = mask(text)
    digits = "".join(c for c in text if c.isdigit())
    if kind != "address":
        assert digits not in "".join(c for c in masked if c.isdigit()) and "****" in masked or "**" in masked
    else:
        assert "〔地址已隐藏〕" in masked and "文三路" not in masked


@pytest.mark.parametrize("text", ["滚筒洗衣机", "订单号：261103000000012345，实付：¥1099.00", "杭州发货，上海仓今天发",
                                  "价格1299元", "2026-11-03 10:00:00", "焊机ZX7-250"])
def test_ordinary_text_stays_readable(text):
    assert mask(text) == text
