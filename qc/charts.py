"""Charts for the reports, drawn with matplotlib as inline SVG.

Why SVG with text kept as text (`svg.fonttype: none`): the report is one offline HTML file
that a lead opens on their own computer; the browser draws the Chinese labels with that
computer's fonts (the family list below), so nothing has to embed a CJK font and nothing is
fetched. matplotlib escapes every label it writes, so agent ids or rule names from data
cannot inject markup. No pyplot: `Figure` objects are independent (safe in the console's
threads) and leave no global state behind.
"""

from __future__ import annotations

import io
import logging
import re

FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
         "Hiragino Sans GB", "DejaVu Sans"]
BLUE, RED, GREY = "#4472c4", "#c00000", "#888888"

_configured = False


def _figure(w: float, h: float):
    global _configured
    import matplotlib
    from matplotlib.figure import Figure

    if not _configured:
        matplotlib.rcParams.update({"svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": FONTS,
                                    "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
                                    "svg.hashsalt": "qc"})          # stable ids: the same data, the same file
        # the fonts are the viewer's: matplotlib need not find them here
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        _configured = True
    return Figure(figsize=(w, h), dpi=96)


def _svg(fig, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    s = re.sub(r"<metadata>.*?</metadata>", "", s, flags=re.S)
    return s.replace("<svg ", f'<svg role="img" aria-label="{_attr(label)}" class="chart" ', 1)


def _attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _empty() -> str:
    return "<p class=muted>（无数据）</p>"


def bars(items: list[tuple[str, float]], label: str, fmt: str = "{:.0f}", color: str = BLUE) -> str:
    """Horizontal bars, largest on top."""
    if not items:
        return _empty()
    items = list(items)[::-1]
    fig = _figure(6.2, 0.34 * len(items) + 0.7)
    ax = fig.add_subplot()
    ys = range(len(items))
    ax.barh(list(ys), [v for _, v in items], color=color, height=0.6)
    ax.set_yticks(list(ys), [k for k, _ in items])
    for y, (_, v) in zip(ys, items):
        ax.text(v, y, " " + fmt.format(v), va="center", fontsize=9)
    ax.set_xlim(0, max(v for _, v in items) * 1.18 or 1)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return _svg(fig, label)


def line(series: dict[str, list[tuple[str, float]]], label: str, lo: float | None = 0, hi: float | None = 100,
         band: list[tuple[str, float, float]] | None = None, ylabel: str = "") -> str:
    """Lines over days; `band` = (day, low, high) shaded (e.g. the team's middle half)."""
    if not any(series.values()):
        return _empty()
    fig = _figure(6.6, 2.4)
    ax = fig.add_subplot()
    days = sorted({d for pts in series.values() for d, _ in pts} | {d for d, _, _ in (band or [])})
    x = {d: i for i, d in enumerate(days)}
    if band:
        ax.fill_between([x[d] for d, _, _ in band], [a for _, a, _ in band], [b for _, _, b in band],
                        color=GREY, alpha=0.2, linewidth=0, label="团队中间 50%")
    colors = [RED, BLUE, "#548235", "#7030a0", "#bf8f00"]
    for i, (name, pts) in enumerate(series.items()):
        if pts:
            ax.plot([x[d] for d, _ in pts], [v for _, v in pts], marker="o", markersize=3, linewidth=1.8,
                    color=colors[i % len(colors)], label=name)
    step = max(1, len(days) // 8)
    ax.set_xticks(range(0, len(days), step), [d[5:] for d in days[::step]])
    if lo is not None or hi is not None:
        ax.set_ylim(lo, hi)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return _svg(fig, label)


def histogram(values: list[float], label: str, xlabel: str, bins: int = 10, lo: float = 0, hi: float = 100) -> str:
    if not values:
        return _empty()
    fig = _figure(5.6, 2.3)
    ax = fig.add_subplot()
    ax.hist(values, bins=bins, range=(lo, hi), color=BLUE, edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("人数")
    return _svg(fig, label)


def quadrant(rows: list[dict], label: str, highlight: str | None = None) -> str:
    """合格 (x: total / max points) × 合适 (y: 态度类 findings per 100 conversations; lower is
    better, so the axis is inverted: the good corner is top right). The dashed lines are the
    bars each agent was judged by (their team's, median over the shown agents)."""
    if not rows:
        return _empty()
    fig = _figure(6.2, 4.2)
    ax = fig.add_subplot()
    xs = [r.get("pay_share") or 0 for r in rows]
    ys = [r.get("attitude_per_100") or 0 for r in rows]
    colors = [RED if r["agent_id"] == highlight else BLUE for r in rows]
    ax.scatter(xs, ys, c=colors, s=[60 if r["agent_id"] == highlight else 30 for r in rows], zorder=3)
    many = len(rows) > 25
    for r, x, y in zip(rows, xs, ys):
        if not many or r["agent_id"] == highlight:
            ax.annotate(str(r["agent_id"]).split(":")[-1], (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8)
    qbar = _median([r.get("qualified_bar") for r in rows])
    fbar = _median([r.get("fitting_bar") for r in rows])
    if qbar is not None:
        ax.axvline(qbar, color=GREY, linestyle="--", linewidth=1)
    if fbar is not None:
        ax.axhline(fbar, color=GREY, linestyle="--", linewidth=1)
    ax.set_xlim(min(xs + [qbar or 1]) - 0.05, max(xs + [qbar or 0]) + 0.05)
    top = max(ys + [fbar or 0, 1]) * 1.1
    ax.set_ylim(top, 0)       # fewer attitude findings = higher up
    ax.set_xlabel("总分 / 满分 →（合格）")
    ax.set_ylabel("态度类问题 / 百会话（越上越合适）")
    for tx, ty, text, ha in ((0.99, 0.98, "合格且合适", "right"), (0.01, 0.98, "合适但不合格", "left"),
                             (0.99, 0.02, "合格但不合适", "right"), (0.01, 0.02, "不合格也不合适", "left")):
        ax.text(tx, ty, text, transform=ax.transAxes, ha=ha, va="top" if ty > 0.5 else "bottom", fontsize=9, color=GREY)
    return _svg(fig, label)


def heatmap(rows_: list[str], cols: list[str], counts: dict, label: str) -> str:
    """Counts per (row, column), darker = more; every cell labelled."""
    if not rows_ or not cols:
        return _empty()
    import numpy as np

    m = np.array([[counts.get((r, c), 0) for c in cols] for r in rows_], dtype=float)
    fig = _figure(0.75 * len(cols) + 2.2, 0.3 * len(rows_) + 1.6)
    ax = fig.add_subplot()
    ax.imshow(m, cmap="Reds", aspect="auto", vmin=0, vmax=max(1.0, m.max()))
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(rows_)), rows_)
    top = m.max() or 1
    for i in range(len(rows_)):
        for j in range(len(cols)):
            if m[i, j]:
                ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > top * 0.6 else "black")
    ax.spines[:].set_visible(False)
    return _svg(fig, label)


def _median(xs):
    xs = sorted(x for x in xs if x is not None)
    return None if not xs else xs[len(xs) // 2]
