"""Bad lexicons and config fail at load, naming the file and the line or key."""

import pytest

from qc.config import load_config
from qc.errors import ConfigError
from qc.lexicon import parse_lexicon


def lex(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


@pytest.mark.parametrize("body,line,words", [
    ("已经很低了 | 硬拒议价 | medium\n爱买不买 | 骂人 | high\n", 2, "骂人"),          # unknown category
    ("# c\n | 推诿 | low\n", 2, "空词条"),                                          # empty phrase
    ("不议价 | 硬拒议价 | severe\n", 1, "severe"),                                   # unknown severity
    ("不议价 | 硬拒议价\n", 1, "字段数"),                                             # missing field
    ("不议价 | 硬拒议价 | low\n不议价 | 硬拒议价 | high\n", 2, "重复"),              # duplicate
])
def test_bad_forbidden_lexicon(tmp_path, body, line, words):
    p = lex(tmp_path, "forbidden.txt", body)
    with pytest.raises(ConfigError) as e:
        parse_lexicon(p)
    assert str(p) in str(e.value) and f"line {line}" in str(e.value) and words in str(e.value)


def test_good_lexicon_keeps_file_line(tmp_path):
    p = lex(tmp_path, "forbidden.txt", "# 注释\n\n不议价 | 硬拒议价 | medium  # 硬拒\n")
    lx = parse_lexicon(p)
    assert lx.entries[0].phrase == "不议价" and lx.entries[0].source == "lexicons/forbidden.txt:3"


@pytest.mark.parametrize("body,key", [
    ("rules:\n  slow_response: {limit_s: -5}\n", "rules.slow_response.limit_s"),
    ("rules:\n  no_such_rule: {}\n", "rules.no_such_rule"),
    ("rules:\n  slow_response: {limt_s: 5}\n", "rules.slow_response.limt_s"),
    ("timezone: Mars/Base\n", "timezone"),
    ("colour: red\n", "colour"),
    ("rules:\n  bargain_followup_late: {window_s: '5分钟'}\n", "rules.bargain_followup_late.window_s"),
    # checked against the rules' own declarations (qc/rules/<id>.py): bounds and types
    ("rules:\n  rude_tone: {high_threshold: 1.5}\n", "rules.rude_tone.high_threshold"),
    ("rules:\n  repeated_quick_reply: {min_chars: 2.5}\n", "rules.repeated_quick_reply.min_chars"),
])
def test_bad_config(tmp_path, body, key):
    p = tmp_path / "qc.yaml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}:{key}:")


def test_shipped_config_loads():
    cfg = load_config()
    assert cfg.rule_params("slow_first_response")["limit_s"] == 30
    assert cfg.rule_params("bargain_followup_late")["window_s"] == 300


def test_escaped_bar_is_part_of_a_pattern(tmp_path):
    # complaint_patterns.txt holds regex alternations: `\|` stays in the phrase, a bare `|`
    # separates fields (and a pattern file has none, so it is rejected)
    p = tmp_path / "complaint_patterns.txt"
    p.write_text("(?:为什么\\|为啥)不能\n", encoding="utf-8")
    assert parse_lexicon(p).phrases == ["(?:为什么|为啥)不能"]
    p.write_text("(?:为什么|为啥)不能\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="complaint_patterns.txt.*line 1"):
        parse_lexicon(p)


def test_shipped_patterns_compile_in_duckdb():
    # every regex lexicon is RE2 as DuckDB runs it; a bad entry would fail a whole inspection
    import duckdb

    from qc.inspect import whole_message_patterns

    con = duckdb.connect()
    for name, pat in whole_message_patterns().items():
        con.execute("SELECT regexp_matches('为什么几次都送不到', ?)", [pat]).fetchall()
    hit = con.execute("SELECT regexp_extract('为什么几次都送不到', ?)", [whole_message_patterns()["complaint_pattern"]]).fetchone()[0]
    assert hit == "为什么几次都送不到"
