import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests explore new random inputs on every developer run; CI (.ci/run sets
# HYPOTHESIS_PROFILE=ci) replays a fixed sequence so a landing never depends on luck.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

from qc import store


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "qc.duckdb")
    yield c
    c.close()


def write_jsonl(path: Path, rows, encoding="utf-8"):
    path.write_bytes("\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode(encoding) + b"\n")
    return path


@pytest.fixture
def chat_rows():
    """A short, realistic pre-sales chat of 大焊五金旗舰店."""
    return [
        {"conversation_id": "dh-001", "ts": "2026-11-03 10:00:00", "role": "customer", "customer_id": "tb_王先生",
         "shop_id": "大焊五金旗舰店", "text": "你好，这款ZX7-250焊机能焊不锈钢吗？"},
        {"conversation_id": "dh-001", "ts": "2026-11-03 10:00:01", "role": "bot", "shop_id": "大焊五金旗舰店",
         "text": "您好，欢迎光临大焊五金旗舰店，客服马上为您服务~"},
        {"conversation_id": "dh-001", "ts": "2026-11-03 10:00:15", "role": "agent", "agent_id": "大焊:小李",
         "shop_id": "大焊五金旗舰店", "text": "亲，可以的，配不锈钢焊条就能焊"},
        {"conversation_id": "dh-001", "ts": "2026-11-03 10:00:40", "role": "customer", "customer_id": "tb_王先生",
         "shop_id": "大焊五金旗舰店", "text": "好的，谢谢"},
    ]
