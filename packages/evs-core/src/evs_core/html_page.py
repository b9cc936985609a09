"""Self-contained HTML: one page shell, inline SVG charts, escaping helpers.

Every HTML file evs writes (the eval ``report.html``, perf's ``report.html``, the arena
leaderboard) is built from :func:`page`, so they share one look. Pages are self-contained:
inline CSS, inline SVG, no script, no external resource, so they open from disk on a laptop
offline and send no request. Every piece of user data goes through :func:`esc`: a model output
containing HTML or a script shows as text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

#: Colours of chart series, in order.
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")

STYLE = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);
 background:var(--bg);margin:0 auto;max-width:1180px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid var(--line);
 padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
.meta{color:var(--muted);margin:0 0 16px}
table{border-collapse:collapse;margin:8px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}td.num{text-align:right}
.chart{display:inline-block;margin:6px 12px 6px 0;vertical-align:top}
.sample{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:6px 10px}
.sample.ok{border-left:4px solid var(--ok)}.sample.bad{border-left:4px solid var(--bad)}
.sample .head{font-weight:600;margin-bottom:4px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--soft);padding:6px 8px;border-radius:4px;
 margin:4px 0;max-height:360px;overflow:auto;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.warn{color:var(--bad);font-weight:600}.muted{color:var(--muted)}
details>summary{cursor:pointer;color:var(--muted)}
nav a{margin-right:12px}
"""


def esc(value: object) -> str:
    """``value`` as HTML text (quotes included): nothing a model wrote is ever markup."""
    return html.escape("" if value is None else str(value), quote=True)


def clip(text: object, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    s = "" if text is None else str(text)
    if len(s) <= limit:
        return s
    return s[:limit] + f"\n… [{len(s) - limit} more characters in the reviews file]"


def page(title: str, body: str, subtitle: str = "") -> str:
    """A complete HTML document in evs's look. ``body`` is trusted HTML built with :func:`esc`."""
    sub = f"<p class='meta'>{subtitle}</p>" if subtitle else ""
    # The CSP forbids every network fetch and every script: the file is inert when opened.
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>{sub}{body}</body></html>")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped unless they are :class:`Raw`."""
    num = set(numeric)
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = " class='num'" if i in num else ""
            cells.append(f"<td{cls}>{cell if isinstance(cell, Raw) else esc(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


class Raw(str):
    """HTML that is already safe (built by these helpers); :func:`table` does not escape it."""


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def svg_bars(items: Sequence[tuple[str, float, float | None, float | None]], title: str = "",
             width: int = 560, lo_bound: float = 0.0, hi_bound: float = 1.0) -> str:
    """Horizontal bars ``(label, value, ci_low, ci_high)`` with 95 % interval whiskers."""
    if not items:
        return ""
    bar, gap, left, top = 18, 8, 180, 26 if title else 8
    height = top + len(items) * (bar + gap) + 24
    span = (hi_bound - lo_bound) or 1.0

    def x(v: float) -> float:
        return left + (min(max(v, lo_bound), hi_bound) - lo_bound) / span * (width - left - 50)

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img'>"]
    if title:
        out.append(f"<text x='{width / 2}' y='16' text-anchor='middle' font-weight='600'>{esc(title)}</text>")
    for i, (label, value, lo, hi) in enumerate(items):
        y = top + i * (bar + gap)
        colour = PALETTE[i % len(PALETTE)]
        out.append(f"<text x='{left - 6}' y='{y + bar - 4}' text-anchor='end' font-size='12'>{esc(label[:28])}</text>")
        out.append(f"<rect x='{left}' y='{y}' width='{max(x(value) - left, 0.5):.1f}' height='{bar}' "
                   f"fill='{colour}' opacity='0.75'/>")
        if lo is not None and hi is not None:
            yc = y + bar / 2
            out.append(f"<line x1='{x(lo):.1f}' x2='{x(hi):.1f}' y1='{yc}' y2='{yc}' stroke='#111' stroke-width='1.5'/>")
            for v in (lo, hi):
                out.append(f"<line x1='{x(v):.1f}' x2='{x(v):.1f}' y1='{yc - 5}' y2='{yc + 5}' stroke='#111'/>")
        out.append(f"<text x='{x(value) + 4:.1f}' y='{y + bar - 4}' font-size='11'>{value:.3f}</text>")
    axis_y = top + len(items) * (bar + gap) + 4
    out.append(f"<line x1='{left}' x2='{x(hi_bound):.1f}' y1='{axis_y}' y2='{axis_y}' stroke='#999'/>")
    for t in range(6):
        v = lo_bound + span * t / 5
        out.append(f"<text x='{x(v):.1f}' y='{axis_y + 14}' text-anchor='middle' font-size='10' "
                   f"fill='#59636e'>{v:g}</text>")
    out.append("</svg>")
    return "<div class='chart'>" + "".join(out) + "</div>"


def svg_radar(axes: Sequence[str], series: dict[str, Sequence[float | None]], size: int = 380,
              title: str = "") -> str:
    """A radar chart of scores in 0..1 on ``axes`` (three or more), one polygon per series."""
    if len(axes) < 3 or not series:
        return ""
    cx = cy = size / 2
    r = size / 2 - 70
    n = len(axes)

    def point(i: int, v: float) -> tuple[float, float]:
        a = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * v * math.cos(a), cy + r * v * math.sin(a)

    height = size + 18 * len(series)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{height}' role='img'>"]
    if title:
        out.append(f"<text x='{cx}' y='16' text-anchor='middle' font-weight='600'>{esc(title)}</text>")
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in (point(i, ring) for i in range(n)))
        out.append(f"<polygon points='{pts}' fill='none' stroke='#d1d9e0'/>")
    for i, name in enumerate(axes):
        px, py = point(i, 1.12)
        anchor = "middle" if abs(px - cx) < 8 else ("start" if px > cx else "end")
        out.append(f"<text x='{px:.1f}' y='{py:.1f}' text-anchor='{anchor}' font-size='11'>{esc(name[:22])}</text>")
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in
                       (point(i, min(max(v or 0.0, 0.0), 1.0)) for i, v in enumerate(values)))
        out.append(f"<polygon points='{pts}' fill='{colour}' fill-opacity='0.15' stroke='{colour}' stroke-width='2'/>")
        out.append(f"<rect x='10' y='{size + 18 * k - 9}' width='10' height='10' fill='{colour}'/>"
                   f"<text x='26' y='{size + 18 * k}' fill='{colour}' font-size='12'>{esc(name[:60])}</text>")
    out.append("</svg>")
    return "<div class='chart'>" + "".join(out) + "</div>"
