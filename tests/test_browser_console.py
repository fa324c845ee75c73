"""The review console in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
log in, filter, open a conversation, see the highlighted span, confirm with `c`, dismiss
with a reason by keyboard, appeal as an agent, decide as a second reviewer; hostile chat
text never runs; no request leaves the machine."""

import os
import time
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")

from qc.review import Journal, User  # noqa: E402
from qc import findings as F  # noqa: E402
from qc.web.app import create_app  # noqa: E402

from .console_kit import PASSWORD, Server, build  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[1] / "docs"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("QC_BROWSER_OPTIONAL") == "1",
                                reason="Chromium not installed (apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    db = build(tmp_path_factory.mktemp("browser"))
    app = create_app(db, sync_s=0.2)
    with Server(app) as srv:
        srv.db, srv.app = db, app
        yield srv


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, console):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    pg.dialogs, pg.foreign = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("request", lambda r: None if r.url.startswith(console.url) else pg.foreign.append(r.url))
    yield pg
    ctx.close()


def log_in(pg, console, name):
    pg.goto(console.url + "/login")
    pg.fill("input[name=name]", name)
    pg.fill("input[name=password]", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_load_state()


def decision(console, fid):
    rows = console.app.state.journal.query(
        "SELECT decision, reason, reviewer FROM decisions WHERE finding_id = ? ORDER BY decided_at DESC LIMIT 1", [fid])
    return rows[0] if rows else None


def moved_on(pg, fid):
    """Wait until the page after a decision has loaded (the next item, by its address). No
    wait_for_function: the console's CSP forbids the eval it needs, as it should."""
    pg.wait_for_url(lambda url: f"f={fid}" not in url)
    pg.wait_for_load_state()


def selected_id(pg):
    return pg.locator(".finding.selected").get_attribute("data-finding")


def test_filter_open_highlight_confirm_and_dismiss_by_keyboard(page, console):
    log_in(page, console, "qc1")
    assert "质检队列" in page.title() and page.locator("table.queue tbody tr").count() > 0
    if os.environ.get("QC_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / "console-queue.png"))
    page.select_option("select[name=rule]", "forbidden_phrase")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state()
    assert "rule=forbidden_phrase" in page.url
    page.locator("a.open").first.click()
    page.wait_for_load_state()
    first = selected_id(page)
    hl = page.locator(f'mark.hl.sel[data-finding="{first}"]')
    assert hl.is_visible() and hl.inner_text().strip()
    if os.environ.get("QC_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / "console-conversation.png"))
    page.keyboard.press("c")
    moved_on(page, first)
    assert decision(console, first)[:2] == ("confirmed", None)
    assert "已保存" in page.locator(".flash").inner_text()
    second = selected_id(page)
    page.keyboard.press("d")
    assert page.locator(".finding.selected .dismiss-form.open").is_visible()
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    moved_on(page, second)
    reasons = console.app.state.config.review["dismiss_reasons"]
    assert decision(console, second)[:2] == ("dismissed", reasons[1])
    # j / k move along the queue
    here = page.url
    assert page.locator("body").get_attribute("data-next")
    page.keyboard.press("j")
    page.wait_for_url(lambda u: u != here)
    page.wait_for_load_state()
    there = page.url
    page.keyboard.press("k")
    page.wait_for_url(lambda u: u != there)
    assert page.foreign == [] and page.dialogs == []


def test_appeal_as_agent_decided_by_a_second_reviewer(browser, console):
    j = console.app.state.journal
    with console.app.state.wc.cursor() as cur:
        f = next(x for x in F.query(cur, F.Filter(agent="衣选:小雅")) if x.review_status == "pending")
    row = j.decide(User("qc1", "qc"), f, "confirm")
    console.app.state.wc.record(decisions=[tuple(row[k] for k in ("decision_id", "finding_id", "decision", "reviewer", "reason", "decided_at"))])

    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    log_in(pg, console, "xiaoya")
    assert "/my" in pg.url and f.conversation_id in pg.content()
    pg.goto(f"{console.url}/c/{f.conversation_id}?f={f.finding_id}")
    pg.fill(f"#f-{f.finding_id} .appeal-form input[name=reason_text]", "顾客已说不用回复了")
    pg.click(f"#f-{f.finding_id} .appeal-form button")
    pg.wait_for_load_state()
    assert decision(console, f.finding_id)[0] == "appealed"
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    log_in(pg, console, "qc1")                       # the confirmer may not decide it
    pg.goto(console.url + "/appeals")
    assert pg.locator(f"#a-{f.finding_id}").inner_text().count("须由他人裁定") == 1
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    log_in(pg, console, "qc2")
    pg.goto(console.url + "/appeals")
    pg.fill(f"#a-{f.finding_id} input[name=reason_text]", "顾客确已结束对话")
    pg.click(f"#a-{f.finding_id} button[value=uphold]")
    pg.wait_for_load_state()
    assert decision(console, f.finding_id) == ("appeal_upheld", "顾客确已结束对话", "qc2")
    ctx.close()


def test_hostile_chat_text_never_runs(page, console):
    log_in(page, console, "qc1")
    for conv in ("XSS-001", "XSS-002"):
        page.goto(f"{console.url}/c/{conv}")
        page.wait_for_load_state("networkidle")
        assert "<script>alert(1)</script>" in page.inner_text(".chat") or "<img src=x onerror=alert(1)>" in page.inner_text(".chat")
        assert page.locator(".chat script, .chat img").count() == 0
    assert page.dialogs == [] and page.foreign == []


def test_ten_decisions_by_keyboard(page, console):
    """Times a scripted reviewer deciding ten findings with the keyboard alone (the figure
    goes to the README; speed is asserted nowhere)."""
    log_in(page, console, "qc2")
    page.goto(console.url + "/queue?status=pending")
    page.locator("a.open").first.click()
    page.wait_for_load_state()
    done = []
    t0 = time.perf_counter()
    for i in range(10):
        fid = selected_id(page)
        done.append(fid)
        if i % 3 == 2:
            page.keyboard.press("d")
            page.keyboard.press("1")
            page.keyboard.press("Enter")
        else:
            page.keyboard.press("c")
        moved_on(page, fid)
    elapsed = time.perf_counter() - t0
    print(f"\n10 keyboard decisions in {elapsed:.1f} s")
    assert len(set(done)) == 10
    assert [decision(console, fid)[0] for fid in done] == ["dismissed" if i % 3 == 2 else "confirmed" for i in range(10)]
