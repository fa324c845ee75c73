"""The review console (质检工作台): FastAPI with server-rendered Jinja2 pages, offline.

Security model, in one place:
* Users and roles come from the review journal (`qc user add`); passwords are scrypt
  hashes; sessions are signed cookies (itsdangerous, via Starlette's SessionMiddleware),
  HttpOnly and SameSite=Lax; failed logins are rate-limited per name and per address.
* Every POST carries the session's CSRF token (a form field or the X-CSRF-Token header)
  and is refused without it.
* Every route checks the role, and every query carries the user's scope as bound
  parameters (queries.py): an agent reads only their own conversations, whatever the id.
* Chat text is hostile: Jinja2 autoescapes every value, no template marks text safe, and
  phone numbers and addresses are masked for the roles in config `review.mask_pii_roles`.
* No external request: CSS and JS are served from qc/web/static; a strict
  Content-Security-Policy allows nothing else (no inline script either).
"""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
import secrets
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from .. import findings as fl
from ..config import Config, load_config
from ..errors import QCError
from ..findings import STATUS_ZH
from ..pii import mask
from ..review import ACTION_ZH, CATEGORIES, SEVERITIES, Journal, NotAllowed, RateLimited, ReviewError, User, join_reason, rule_stats
from ..rules import RULES
from . import queries as q
from .workcopy import WorkCopy

HERE = Path(__file__).resolve().parent
SEV_ZH = {"redline": "红线", "high": "高", "medium": "中", "low": "低"}
ROLE_ZH = {"admin": "管理员", "qc": "质检", "lead": "组长", "agent": "客服"}
RULE_ZH = {r.id: r.name for r in RULES}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Forbidden(Exception):
    pass


class LoginRequired(Exception):
    pass


def segments(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[str, str | None]]:
    """Split a message into (piece, finding_id or None) so each flagged span is highlighted;
    overlapping spans keep the first."""
    out, pos = [], 0
    for s, e, fid in sorted(spans):
        s, e = max(s, pos), min(e, len(text))
        if s >= e:
            continue
        if s > pos:
            out.append((text[pos:s], None))
        out.append((text[s:e], fid))
        pos = e
    if pos < len(text):
        out.append((text[pos:], None))
    return out or [("", None)]


def create_app(db: str | Path, config: Config | None = None, sync_s: float = 2.0, start_sync: bool = True) -> FastAPI:
    db = Path(db)
    config = config or load_config()
    rv = config.review
    journal = Journal.open(db)
    wc = WorkCopy(db, journal, sync_s=sync_s)
    @asynccontextmanager
    async def lifespan(_app):
        if start_sync:
            wc.start()
        else:
            wc.sync(force=True, wait_s=15)
        try:
            yield
        finally:
            wc.stop()

    app = FastAPI(title="客服质检工作台", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.wc, app.state.journal, app.state.config = wc, journal, config
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals.update(SEV_ZH=SEV_ZH, STATUS_ZH=STATUS_ZH, ROLE_ZH=ROLE_ZH, RULE_ZH=RULE_ZH, ACTION_ZH=ACTION_ZH,
                       GROUP_ZH=q.STATUS_GROUP_ZH, SEVERITIES=SEVERITIES,
                       LABEL_ZH={"complaint": "投诉", "bargain": "议价", "rude": "不耐烦"}, CATEGORIES=CATEGORIES, RULES=RULES)

    def fmt_gap(s):
        if s is None:
            return ""
        s = float(s)
        return f"{s:.0f} 秒" if s < 120 else f"{s / 60:.1f} 分钟"

    env.filters["gap"] = fmt_gap
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ------------------------------------------------------------------ helpers

    def user_of(request: Request) -> User:
        name = request.session.get("user")
        u = journal.user(name) if name else None
        if u is None:
            raise LoginRequired()
        return u

    def require(request: Request, *roles: str) -> User:
        u = user_of(request)
        if roles and u.role not in roles:
            raise Forbidden()
        return u

    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = secrets.token_urlsafe(24)
        return tok

    async def form_checked(request: Request) -> dict:
        form = dict(await request.form())
        sent = form.get("csrf") or request.headers.get("x-csrf-token") or ""
        want = request.session.get("csrf") or ""
        if not want or not hmac.compare_digest(str(sent), want):
            raise CSRFError()
        return form

    def masker(u: User):
        if u.role in rv["mask_pii_roles"]:
            return mask
        return lambda s: s

    def render(request: Request, name: str, u: User | None, status_code: int = 200, **ctx) -> HTMLResponse:
        flash = request.session.pop("flash", None)
        return templates.TemplateResponse(request, name, {"user": u, "csrf": csrf_token(request), "flash": flash,
                                                          "m": masker(u) if u else (lambda s: s), **ctx},
                                          status_code=status_code)

    def ip_of(request: Request) -> str:
        return request.client.host if request.client else "-"

    def current(cur, u: User, finding_id: str) -> fl.Finding:
        f = fl.get(cur, finding_id)
        if f is None:
            raise NotFound()
        s, p = q.scope_sql(u)
        ok = cur.execute(f"SELECT count(*) FROM findings f WHERE f.finding_id = ? AND {s}", [finding_id] + p).fetchone()[0]
        if not ok:
            raise Forbidden()
        return f

    # ------------------------------------------------------------------ errors

    class CSRFError(Exception):
        pass

    class NotFound(Exception):
        pass

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc):  # noqa: ANN202
        if request.method == "GET":
            return RedirectResponse("/login?" + urlencode({"next": str(request.url.path) + ("?" + request.url.query if request.url.query else "")}), 303)
        return HTMLResponse("请先登录", 401)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc):  # noqa: ANN202
        return render(request, "error.html", _maybe_user(request), 403, title="无权访问", message="您的角色无权查看或操作此内容。")

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, exc):  # noqa: ANN202
        return render(request, "error.html", _maybe_user(request), 403, title="请求已拒绝",
                      message="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")

    @app.exception_handler(NotFound)
    async def _nf(request: Request, exc):  # noqa: ANN202
        return render(request, "error.html", _maybe_user(request), 404, title="未找到", message="没有这个会话或问题。")

    @app.exception_handler(QCError)
    async def _qc(request: Request, exc):  # noqa: ANN202
        return render(request, "error.html", _maybe_user(request), 503, title="暂时无法完成", message=str(exc))

    def _maybe_user(request):
        try:
            return user_of(request)
        except LoginRequired:
            return None

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # noqa: ANN202
        resp = await call_next(request)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    # ------------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):  # noqa: A002
        return render(request, "login.html", None, next=next if next.startswith("/") and not next.startswith("//") else "/")

    @app.post("/login")
    async def login(request: Request):  # noqa: ANN202
        form = await form_checked(request)
        nxt = form.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        try:
            u = journal.login(str(form.get("name", "")), str(form.get("password", "")), ip_of(request))
        except RateLimited as exc:
            return render(request, "login.html", None, 429, error=str(exc).split(" (")[0], next=nxt)
        except ReviewError as exc:
            return render(request, "login.html", None, 401, error=str(exc).split(" (")[0], next=nxt)
        request.session.clear()
        request.session["user"] = u.name
        request.session["csrf"] = secrets.token_urlsafe(24)     # a new token per session
        return RedirectResponse(nxt, 303)

    @app.post("/logout")
    async def logout(request: Request):  # noqa: ANN202
        await form_checked(request)
        request.session.clear()
        return RedirectResponse("/login", 303)

    @app.get("/")
    def home(request: Request):  # noqa: ANN202
        u = user_of(request)
        if u.role == "agent":
            return RedirectResponse("/my", 303)
        if u.role == "lead":
            return RedirectResponse("/queue?status=all", 303)
        return RedirectResponse("/queue", 303)

    # ------------------------------------------------------------------ queue

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request):  # noqa: ANN202
        u = require(request, "admin", "qc", "lead")
        flt = q.QueueFilter.from_query(request.query_params)
        with wc.cursor() as cur:
            rows, total = q.queue(cur, u, flt, rv["page_size"])
            counts = q.facet_counts(cur, u, flt)
            choices = q.choices(cur, u)
        pages = max(1, -(-total // rv["page_size"]))
        qs = lambda **o: urlencode(flt.params(**o))  # noqa: E731
        return render(request, "queue.html", u, rows=rows, total=total, flt=flt, counts=counts, choices=choices,
                      pages=pages, qs=qs, filter_qs=urlencode(flt.params(page=1)))

    # ------------------------------------------------------------------ conversation

    @app.get("/c/{conversation_id}", response_class=HTMLResponse)
    def conversation_page(request: Request, conversation_id: str, f: str | None = None):  # noqa: ANN202
        u = user_of(request)
        flt = q.QueueFilter.from_query(request.query_params)
        with wc.cursor() as cur:
            if not q.can_read_conversation(cur, u, conversation_id):
                # the same answer whether the conversation exists or not: ids are not probed
                raise Forbidden()
            t = fl.transcript(cur, conversation_id)
            if t is None:
                raise NotFound()
            if u.role == "agent":      # an agent sees their own findings in a shared conversation
                t.findings = [x for x in t.findings if x.agent_id == u.agent_id]
            elif u.role == "lead":
                t.findings = [x for x in t.findings if x.shop_id == u.team]
            selected = next((x for x in t.findings if x.finding_id == f), None)
            if selected is None and u.reviews:
                selected = next((x for x in t.findings if x.review_status == "pending"), None)
            nb = q.neighbours(cur, u, flt, selected.finding_id if selected else None, conversation_id) if u.role != "agent" else {}
            spot = bool(q.spot_checked(cur, [conversation_id]))
        by_seq: dict = {}
        for x in t.findings:
            by_seq.setdefault(x.message_seq, []).append(x)
        pieces = {}
        for msg in t.messages:
            spans = [(x.span_start, x.span_end, x.finding_id) for x in by_seq.get(msg.seq, []) if x.span_start is not None]
            pieces[msg.seq] = segments(msg.text, spans)
        filter_qs = urlencode(flt.params(page=1))

        def link(item):
            if not item:
                return None
            return f"/c/{item['conversation_id']}?" + urlencode({"f": item["finding_id"], **flt.params(page=1)})

        return render(request, "conversation.html", u, t=t, by_seq=by_seq, pieces=pieces, selected=selected,
                      prev_url=link(nb.get("prev")), next_url=link(nb.get("next")),
                      next_pending_url=link(nb.get("next_pending")), filter_qs=filter_qs, spot=spot,
                      reasons=rv["dismiss_reasons"], day=t.day.isoformat())

    # ------------------------------------------------------------------ decisions

    @app.post("/decide")
    async def decide(request: Request):  # noqa: ANN202
        form = await form_checked(request)
        u = user_of(request)
        fid = str(form.get("finding_id", ""))
        action = str(form.get("action", ""))
        reason = join_reason(form.get("reason_preset"), form.get("reason_text"))
        back = str(form.get("back") or "")
        with wc.cursor() as cur:
            f = current(cur, u, fid)
            try:
                row = journal.decide(u, f, action, reason, ip_of(request))
            except NotAllowed:
                raise Forbidden() from None
            except ReviewError as exc:
                request.session["flash"] = {"kind": "error", "text": str(exc).split(" (")[0]}
                return RedirectResponse(_safe(back) or f"/c/{f.conversation_id}?f={fid}", 303)
        wc.record(decisions=[(row["decision_id"], row["finding_id"], row["decision"], row["reviewer"], row["reason"], row["decided_at"])])
        request.session["flash"] = {"kind": "ok", "text": f"已保存：{ACTION_ZH[action]} {fid}"}
        if action == "appeal" or u.role == "agent":
            return RedirectResponse(_safe(back) or "/my", 303)
        if action in ("uphold", "reject"):
            return RedirectResponse("/appeals", 303)
        # after a decision the next pending item of the same queue opens
        flt = q.QueueFilter.from_query(_qs_dict(form.get("filters")))
        with wc.cursor() as cur:
            nb = q.neighbours(cur, u, flt, fid, f.conversation_id)
        nxt = nb.get("next_pending")
        if nxt:
            return RedirectResponse(f"/c/{nxt['conversation_id']}?" + urlencode({"f": nxt["finding_id"], **flt.params(page=1)}), 303)
        request.session["flash"] = {"kind": "ok", "text": f"已保存：{ACTION_ZH[action]} {fid}。当前队列已全部审完。"}
        return RedirectResponse("/queue?" + urlencode(flt.params(page=1)), 303)

    def _qs_dict(s) -> dict:
        from urllib.parse import parse_qsl
        return dict(parse_qsl(str(s or "")))

    def _safe(url: str) -> str | None:
        return url if url.startswith("/") and not url.startswith("//") else None

    @app.post("/manual")
    async def manual(request: Request):  # noqa: ANN202
        form = await form_checked(request)
        u = user_of(request)
        conv = str(form.get("conversation_id", ""))
        seq = form.get("message_seq")
        rule_id = str(form.get("rule_id") or "manual")
        if rule_id != "manual" and rule_id not in RULE_ZH:
            rule_id = "manual"
        with wc.cursor() as cur:
            if not q.can_read_conversation(cur, u, conv):
                raise Forbidden()
            try:
                seq_i = int(seq) if seq not in (None, "") else None
            except ValueError:
                seq_i = None
            if seq_i is not None and not cur.execute("SELECT count(*) FROM messages WHERE conversation_id = ? AND seq = ?",
                                                     [conv, seq_i]).fetchone()[0]:
                raise NotFound()
        default_cat = next((r.category for r in RULES if r.id == rule_id), "能力类")
        try:
            fid = journal.add_manual(u, conv, seq_i, rule_id, str(form.get("severity") or "medium"),
                                     str(form.get("category") or default_cat), form.get("note"), ip_of(request))
        except NotAllowed:
            raise Forbidden() from None
        except ReviewError as exc:
            request.session["flash"] = {"kind": "error", "text": str(exc).split(" (")[0]}
            return RedirectResponse(f"/c/{conv}", 303)
        _, manual_rows, _ = journal.pending()
        decisions = journal.query("SELECT decision_id, finding_id, decision, reviewer, reason, decided_at FROM decisions WHERE finding_id = ?", [fid])
        wc.record(decisions=decisions, manual=[m for m in manual_rows if m[0] == fid])
        request.session["flash"] = {"kind": "ok", "text": f"已添加人工问题 {fid}"}
        return RedirectResponse(f"/c/{conv}?f={fid}", 303)

    # ------------------------------------------------------------------ spot checks

    @app.get("/sample", response_class=HTMLResponse)
    def sample_page(request: Request, day: str | None = None):  # noqa: ANN202
        u = require(request, "admin", "qc")
        with wc.cursor() as cur:
            days = [r[0].isoformat() for r in cur.execute("SELECT DISTINCT day FROM conversations ORDER BY 1 DESC LIMIT 60").fetchall()]
            if day not in days:
                day = days[0] if days else date.today().isoformat()
            limit_s = float(config.rule_params("slow_response")["limit_s"])
            rows = q.sample(cur, u, day, rv["sample_rate"], rv["sample_risk_per_agent"], limit_s * rv["near_miss_share"], limit_s)
            done = q.spot_checked(cur, [r["conversation_id"] for r in rows])
        return render(request, "sample.html", u, rows=rows, done=done, day=day, days=days, rate=rv["sample_rate"],
                      risk=rv["sample_risk_per_agent"])

    @app.post("/sample/pass")
    async def sample_pass(request: Request):  # noqa: ANN202
        form = await form_checked(request)
        u = require(request, "admin", "qc")
        conv = str(form.get("conversation_id", ""))
        with wc.cursor() as cur:
            row = cur.execute("SELECT strftime(day, '%Y-%m') FROM conversations WHERE conversation_id = ?", [conv]).fetchone()
        if not row:
            raise NotFound()
        journal.spot_pass(u, conv, row[0], ip_of(request))
        spots = journal.query("SELECT conversation_id, period, drawn_by, drawn_at FROM spot_checks WHERE conversation_id = ?", [conv])
        wc.record(spots=spots)
        request.session["flash"] = {"kind": "ok", "text": f"已记录抽检通过：{conv}"}
        return RedirectResponse(_safe(str(form.get("back") or "")) or "/sample", 303)

    # ------------------------------------------------------------------ appeals

    @app.get("/my", response_class=HTMLResponse)
    def my_page(request: Request, status: str | None = None):  # noqa: ANN202
        u = require(request, "agent")
        with wc.cursor() as cur:
            rows = fl.query(cur, fl.Filter(agent=u.agent_id), limit=500)
        rows = sorted(rows, key=lambda f: (f.review_status != "confirmed", -fl.SEVERITY_ORDER.get(f.severity, 0), str(f.day)))
        return render(request, "my.html", u, rows=rows)

    @app.get("/appeals", response_class=HTMLResponse)
    def appeals_page(request: Request):  # noqa: ANN202
        u = require(request, "admin", "qc")
        with wc.cursor() as cur:
            rows = fl.query(cur, fl.Filter(status="appealed"), limit=500)
        confirmers = {f.finding_id: journal.last_reviewer(f.finding_id, ("confirmed",)) for f in rows}
        return render(request, "appeals.html", u, rows=rows, confirmers=confirmers)

    # ------------------------------------------------------------------ measured precision, audit

    @app.get("/stats", response_class=HTMLResponse)
    def stats_page(request: Request):  # noqa: ANN202
        u = require(request, "admin", "qc", "lead")
        with wc.cursor() as cur:
            stats = rule_stats(cur)
        return render(request, "stats.html", u, stats=stats)

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, page: int = 1):  # noqa: ANN202
        u = require(request, "admin")
        page = max(1, page)
        return render(request, "audit.html", u, rows=journal.audit(200, (page - 1) * 200), page=page)

    # ------------------------------------------------------------------ reports (leads)

    @app.get("/reports", response_class=HTMLResponse)
    def reports_page(request: Request):  # noqa: ANN202
        u = require(request, "admin", "qc", "lead")
        with wc.cursor() as cur:
            periods = [r[0] for r in cur.execute("SELECT DISTINCT strftime(day, '%Y-%m') FROM conversations ORDER BY 1 DESC").fetchall()]
            s, p = q.scope_sql(u)
            agents = [r[0] for r in cur.execute(f"SELECT DISTINCT agent_id FROM messages f WHERE agent_id IS NOT NULL AND {s} ORDER BY 1", p).fetchall()]
            shops = [u.team] if u.role == "lead" else [r[0] for r in cur.execute("SELECT DISTINCT shop_id FROM conversations ORDER BY 1").fetchall()]
        return render(request, "reports.html", u, periods=periods, agents=agents, shops=shops)

    @app.get("/reports/view", response_class=HTMLResponse)
    def report_view(request: Request, kind: str, period: str, agent: str | None = None, team: str | None = None):  # noqa: ANN202
        from ..reports import agent_report_html, team_report_html
        from ..scorecard import scorecard

        u = require(request, "admin", "qc", "lead")
        try:
            y, mth = period.split("-")
            period = f"{int(y):04d}-{int(mth):02d}"
        except ValueError:
            raise NotFound() from None
        if u.role == "lead":
            team = u.team
        with wc.cursor() as cur:
            rows = scorecard(cur, period, team=team)
            if kind == "agent":
                if not agent or not any(r["agent_id"] == agent for r in rows):
                    raise NotFound()
                page = agent_report_html(cur, rows, agent, period)
            else:
                page = team_report_html(cur, rows, period, team)
        return HTMLResponse(page)

    @app.get("/healthz")
    def healthz():  # noqa: ANN202
        return JSONResponse({"ok": True, "copies": wc.copies, "last_sync": wc.last_sync, "last_error": wc.last_error,
                             "pending": journal.has_pending()})

    @app.get("/favicon.ico")
    def favicon():  # noqa: ANN202
        return Response(status_code=204)

    app.add_middleware(SessionMiddleware, secret_key=journal.secret(), session_cookie="qc_session",
                       max_age=12 * 3600, same_site="lax", https_only=False)
    return app
