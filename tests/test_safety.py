"""qc.safety.for_sheet: the spreadsheet cell every report writes chat text through."""

from qc.safety import for_sheet


def test_formulas_are_quoted_and_xml_illegal_characters_replaced():
    assert for_sheet("=HYPERLINK(\"http://x\",\"点我退款\")") == "'=HYPERLINK(\"http://x\",\"点我退款\")"
    assert for_sheet("@SUM(A1)") == "'@SUM(A1)" and for_sheet("-1元秒杀") == "'-1元秒杀"
    assert for_sheet("亲\x07在吗\x1b[31m") == "亲\ufffd在吗\ufffd[31m"
    assert for_sheet("\x00=1+1") == "\ufffd=1+1"          # replaced first: no longer leads
    assert for_sheet("好的\t稍等\n马上") == "好的\t稍等\n马上"  # tab and newline are legal inside
    assert for_sheet(27) == 27 and for_sheet(None) is None
