"""Shared set-up for the review-console tests: the bundled sample plus two hostile
conversations, and one user per role."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from qc import store
from qc.ingest import ingest_paths
from qc.inspect import inspect
from qc.paths import SAMPLE_DIR
from qc.review import Journal

from .conftest import write_jsonl

PASSWORD = "质检-secret-2026"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"

# Two conversations whose agent text is hostile and also trips forbidden_phrase (不议价,
# 自己看), so the hostile text sits inside a highlighted span on the review page.
HOSTILE = [
    {"conversation_id": "XSS-001", "ts": "2026-11-20 10:00:00", "role": "customer", "customer_id": "tb_黑客",
     "shop_id": "衣选服饰", "queue": "presales",
     "text": "这件羽绒服能便宜点吗？电话13812345678，地址杭州市西湖区文三路88号3栋501室"},
    {"conversation_id": "XSS-001", "ts": "2026-11-20 10:00:20", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
     "queue": "presales", "text": f"{XSS_SCRIPT}亲，不议价哦"},
    {"conversation_id": "XSS-002", "ts": "2026-11-20 11:00:00", "role": "customer", "customer_id": "tb_黑客2",
     "shop_id": "衣选服饰", "queue": "presales", "text": f"{XSS_IMG}尺码怎么选"},
    {"conversation_id": "XSS-002", "ts": "2026-11-20 11:00:15", "role": "agent", "agent_id": "衣选:小雅", "shop_id": "衣选服饰",
     "queue": "presales", "text": f"自己看详情页 {XSS_IMG}"},
]

USERS = {
    "admin": ("admin", None, None),
    "qc1": ("qc", None, None),
    "qc2": ("qc", None, None),
    "lead_yx": ("lead", "衣选服饰", None),
    "xiaoya": ("agent", None, "衣选:小雅"),
    "aqiang": ("agent", None, "果乐:阿强"),
}


def build(d: Path) -> Path:
    db = d / "qc.duckdb"
    con = store.connect(db)
    ingest_paths(con, [SAMPLE_DIR / "chats.jsonl", SAMPLE_DIR / "orders.jsonl", write_jsonl(d / "hostile.jsonl", HOSTILE)])
    inspect(con)
    con.close()
    j = Journal.open(db)
    for name, (role, team, agent) in USERS.items():
        j.add_user(name, role, PASSWORD, team=team, agent_id=agent)
    return db


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, name: str, password: str = PASSWORD):
    tok = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": tok, "name": name, "password": password, "next": "/"}, follow_redirects=False)


class Server:
    """The console served by uvicorn on a free port in a thread (browser tests)."""

    def __init__(self, app):
        import socket

        import uvicorn

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("console did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=15)
