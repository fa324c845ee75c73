"""The HTML reports in headless Chromium: they render, the charts are there and drawn, the
page loads nothing from anywhere (one self-contained file), hostile text stays text."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qc.cli import app

from .test_reports import sample_db  # noqa: F401 — the shared fixture

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("kind, args, charts", [
    ("agent", ["report", "agent", "衣选:小雅"], 3),       # trend, by rule, quadrant
    ("team", ["report", "team"], 5),                     # distribution, quadrant, heat-map, trend, problems
])
def test_report_renders_offline_with_charts(browser, sample_db, kind, args, charts):  # noqa: F811
    db, d = sample_db
    out = d / f"{kind}.html"
    r = runner.invoke(app, args + ["--period", "2026-11", "--db", str(db), "--out", str(out)])
    assert r.exit_code == 0, r.output
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests, dialogs = [], []
    page.on("request", lambda q: requests.append(q.url))
    page.on("dialog", lambda x: (dialogs.append(x.message), x.dismiss()))
    page.goto(out.as_uri())
    page.wait_for_load_state("networkidle")
    svgs = page.locator("svg.chart")
    assert svgs.count() >= charts
    for i in range(svgs.count()):
        box = svgs.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80          # drawn, not collapsed
    assert page.locator("svg.chart text").count() > 10                    # labelled
    assert requests == [out.as_uri()], requests                           # nothing else was fetched
    assert dialogs == [] and page.locator("body script").count() == 0
    assert "质检" in page.title()
    if os.environ.get("QC_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"report-{kind}.png"), full_page=True)
    page.close()
