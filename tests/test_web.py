"""The review console over HTTP (FastAPI's TestClient, no browser): roles and scope,
CSRF, hostile chat text, filters, rate limiting, decisions reaching the database."""

import re
import time
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
from fastapi.testclient import TestClient  # noqa: E402

from qc import findings as F  # noqa: E402
from qc import store  # noqa: E402
from qc.web.app import create_app  # noqa: E402

from .console_kit import PASSWORD, XSS_IMG, XSS_SCRIPT, build, csrf_of, login  # noqa: E402


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build(tmp_path_factory.mktemp("web"))


_CLIENTS = []


@pytest.fixture
def app(db):
    a = create_app(db, sync_s=0.2)
    yield a
    while _CLIENTS:
        _CLIENTS.pop().__exit__(None, None, None)


def client_as(app, name):
    """A logged-in browser session. The first one starts the app (its working copy and sync
    loop); the others share it, as browsers share one server."""
    c = TestClient(app)
    if not _CLIENTS:
        c.__enter__()
        _CLIENTS.append(c)
    else:
        c = TestClient(app)
    r = login(c, name)
    assert r.status_code == 303, r.text
    return c


def finding_ids(html):
    return re.findall(r'name="finding_id" value="([^"]+)"', html)


def live_status(db, fid):
    con = store.open_reader(db)
    try:
        return F.get(con, fid).review_status
    finally:
        con.close()


def wait_applied(app, timeout=10):
    deadline = time.monotonic() + timeout
    while app.state.journal.has_pending():
        assert time.monotonic() < deadline, "journal was not applied to the database"
        time.sleep(0.1)


def test_login_required_and_wrong_password(app):
    with TestClient(app) as c:
        r = c.get("/queue", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = login(c, "qc1", "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_wrong_passwords_are_rate_limited(app):
    app.state.journal.add_user("qc_locked", "qc", PASSWORD)
    with TestClient(app) as c:
        for _ in range(5):
            assert login(c, "qc_locked", "nope-nope").status_code == 401
        # the sixth try is refused even with the right password
        r = login(c, "qc_locked", PASSWORD)
        assert r.status_code == 429 and "登录失败次数过多" in r.text
        assert login(c, "qc1").status_code == 303        # other users on the same address still get in


def test_hostile_text_is_escaped_and_sits_in_the_highlight(app):
    c = client_as(app, "qc1")
    for conv in ("XSS-001", "XSS-002"):
        html = c.get(f"/c/{conv}").text
        assert XSS_SCRIPT not in html and XSS_IMG not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img src=x onerror=alert(1)&gt;" in html
        assert re.search(r'<mark class="hl[^"]*" data-finding="[0-9a-f]+">', html), "the flagged span is highlighted"
    # no inline script may run at all: the CSP forbids it
    csp = c.get("/c/XSS-001").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_phone_and_address_masked_for_lead_not_for_qc(app):
    qc = client_as(app, "qc1").get("/c/XSS-001").text
    lead = client_as(app, "lead_yx").get("/c/XSS-001").text
    assert "13812345678" in qc and "文三路88号" in qc
    assert "13812345678" not in lead and "文三路88号" not in lead and "138****5678" in lead


def test_agent_cannot_read_another_agents_conversation(app):
    c = client_as(app, "aqiang")          # 果乐:阿强
    assert c.get("/c/XSS-001").status_code == 403           # 衣选:小雅's chat
    assert c.get("/c/NO-SUCH-CONV").status_code == 403      # same answer: ids are not probed
    assert c.get("/queue").status_code == 403
    mine = c.get("/my")
    assert mine.status_code == 200 and "XSS-001" not in mine.text
    # appealing someone else's finding by posting its id is refused
    qc = client_as(app, "qc1")
    fid = finding_ids(qc.get("/c/XSS-001").text)[0]
    r = c.post("/decide", data={"csrf": csrf_of(mine.text), "finding_id": fid, "action": "appeal", "reason_text": "x"})
    assert r.status_code == 403
    # a lead sees only their shop
    lead = client_as(app, "lead_yx")
    assert lead.get("/c/GL-20261101-000018").status_code == 403
    assert "果乐零食铺" not in lead.get("/queue?status=all").text.split("<tbody>")[1]


def test_post_without_csrf_token_is_refused(app, db):
    c = client_as(app, "qc1")
    fid = finding_ids(c.get("/c/XSS-002").text)[0]
    before = live_status(db, fid)
    r = c.post("/decide", data={"finding_id": fid, "action": "confirm"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post("/decide", data={"finding_id": fid, "action": "confirm", "csrf": "forged"})
    assert r.status_code == 403
    assert app.state.journal.query("SELECT count(*) FROM decisions WHERE finding_id = ?", [fid])[0][0] == 0
    assert live_status(db, fid) == before


def test_sql_metacharacters_in_filters_are_harmless(app):
    c = client_as(app, "qc1")
    for v in ("' OR 1=1 --", "x'); DROP TABLE findings; --", "%", "衣选服饰' --"):
        r = c.get("/queue", params={"shop": v, "agent": v, "rule": v, "day": v, "status": v})
        assert r.status_code == 200
        assert "没有符合条件的会话" in r.text or "共 0 个会话" in r.text
    assert "共 0 个会话" not in c.get("/queue").text     # findings still there


def test_filters_counts_and_pagination(app):
    c = client_as(app, "qc1")
    html = c.get("/queue", params={"rule": "forbidden_phrase", "status": "all"}).text
    total = int(re.search(r"共 (\d+) 个会话", html).group(1))
    assert total > 0
    rows = re.findall(r'<a class="open" href="/c/([^"?]+)', html)
    assert len(rows) == min(total, 50)
    # every listed conversation has a forbidden_phrase finding, and the queue is most severe first
    con = app.state.wc
    with con.cursor() as cur:
        have = {r[0] for r in cur.execute("SELECT DISTINCT conversation_id FROM findings WHERE rule_id = 'forbidden_phrase'").fetchall()}
    assert set(rows) <= have
    sev = re.findall(r'<tr class="sev-(\w+)">', html)
    order = {"redline": 4, "high": 3, "medium": 2, "low": 1}
    assert [order[s] for s in sev] == sorted((order[s] for s in sev), reverse=True)


def test_confirm_dismiss_reach_the_database_and_the_scores(app, db):
    c = client_as(app, "qc1")
    html = c.get("/c/XSS-001").text
    fid = finding_ids(html)[0]
    r = c.post("/decide", data={"csrf": csrf_of(html), "finding_id": fid, "action": "dismiss",
                                "reason_preset": "误判：语境不符", "reason_text": "顾客在开玩笑", "filters": "status=pending"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/c/")      # the next pending item opens
    # the page says saved only after the journal has it
    row = app.state.journal.query("SELECT decision, reason, reviewer FROM decisions WHERE finding_id = ?", [fid])
    assert row == [("dismissed", "误判：语境不符 — 顾客在开玩笑", "qc1")]
    assert "已驳回" in c.get(f"/c/XSS-001?f={fid}").text          # the working copy shows it at once
    wait_applied(app)
    assert live_status(db, fid) == "dismissed"
    audit = app.state.journal.audit()
    assert any(a["action"] == "dismiss" and a["target"] == fid and a["actor"] == "qc1" and '"pending"' in a["before"] for a in audit)
    # a dismissal without a reason is refused, nothing stored
    fid2 = finding_ids(c.get("/c/XSS-002").text)[0]
    r = c.post("/decide", data={"csrf": csrf_of(html), "finding_id": fid2, "action": "dismiss"})
    assert "驳回需要" in r.text
    assert app.state.journal.query("SELECT count(*) FROM decisions WHERE finding_id = ?", [fid2])[0][0] == 0


def test_appeal_needs_a_second_reviewer(app, db):
    qc1, qc2, agent = client_as(app, "qc1"), client_as(app, "qc2"), client_as(app, "xiaoya")
    html = qc1.get("/c/XSS-002").text
    fid = finding_ids(html)[0]
    qc1.post("/decide", data={"csrf": csrf_of(html), "finding_id": fid, "action": "confirm"})
    page = agent.get(f"/c/XSS-002?f={fid}").text
    assert "申诉" in page
    agent.post("/decide", data={"csrf": csrf_of(page), "finding_id": fid, "action": "appeal", "reason_text": "顾客要求看详情页"})
    appeals = qc1.get("/appeals").text
    assert fid in appeals and "须由他人裁定" in appeals
    r = qc1.post("/decide", data={"csrf": csrf_of(appeals), "finding_id": fid, "action": "uphold"})
    assert r.status_code == 403
    appeals2 = qc2.get("/appeals").text
    qc2.post("/decide", data={"csrf": csrf_of(appeals2), "finding_id": fid, "action": "uphold", "reason_text": "话术可接受"})
    wait_applied(app)
    assert live_status(db, fid) == "appeal_upheld"


def test_manual_finding_and_spot_check(app, db):
    c = client_as(app, "qc1")
    html = c.get("/c/GL-20261101-000018").text
    r = c.post("/manual", data={"csrf": csrf_of(html), "conversation_id": "GL-20261101-000018", "message_seq": "2",
                                "rule_id": "manual", "severity": "high", "category": "态度类", "note": "语气生硬"},
               follow_redirects=False)
    fid = r.headers["location"].split("f=")[1]
    wait_applied(app)
    con = store.open_reader(db)
    f = F.get(con, fid)
    con.close()
    assert (f.source, f.message_seq, f.severity, f.category, f.review_status) == ("manual", 2, "high", "态度类", "confirmed")
    sample = c.get("/sample?day=2026-11-02").text
    assert "<td>随机</td>" in sample and "<td>风险</td>" in sample
    conv = re.search(r'<td><a href="/c/([^"]+)">', sample).group(1)
    c.post("/sample/pass", data={"csrf": csrf_of(sample), "conversation_id": conv})
    wait_applied(app)
    con = store.open_reader(db)
    assert con.execute("SELECT drawn_by FROM spot_checks WHERE conversation_id = ?", [conv]).fetchall() == [("qc1",)]
    con.close()


def test_roles_on_routes(app):
    agent, lead = client_as(app, "xiaoya"), client_as(app, "lead_yx")
    for path in ("/sample", "/appeals", "/audit", "/stats", "/reports"):
        assert agent.get(path).status_code == 403
    assert lead.get("/audit").status_code == 403 and lead.get("/sample").status_code == 403
    assert lead.get("/stats").status_code == 200
    page = lead.get("/reports/view", params={"kind": "team", "period": "2026-11", "team": "果乐零食铺"}).text
    assert "衣选服饰" in page and "果乐零食铺" not in page        # a lead's report is their shop, whatever the link says
    admin = client_as(app, "admin")
    assert admin.get("/audit").status_code == 200 and "登录" in admin.get("/audit").text
