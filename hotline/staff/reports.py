"""Reports: requests received, processed and handled on time, per team, village, procedure
or channel, per day, week or month (local time). The figures the commune reports upward
come straight from here, so the page, the CSV and the tests share one function.

A request is *processed* once closed (resolved, or cancelled as a wrong number);
it was *on time* when it closed before its due time (arrival + the on-time target).
Rows are grouped in Python so days and weeks follow the commune's time zone the same
way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from .. import clock, training
from ..extensions import db
from ..models import Staff, Team, Ticket, TicketStatus, Village
from . import access, display, forms
from .labels import label

DIMENSIONS = ("none", "team", "village", "topic", "channel")
PERIODS = ("day", "week", "month")
CLOSED = (TicketStatus.RESOLVED.value, TicketStatus.CANCELLED.value)


@dataclass
class ReportParams:
    start: date
    end: date
    by: str = "none"
    period: str = "week"
    staff: Staff | None = None
    #: The real requests; a trainer may ask for the training space's (hotline.training).
    space: str = training.REAL

    @classmethod
    def from_args(cls, args, staff: Staff | None) -> ReportParams:
        """Absent or empty arguments mean the last 30 days by week; a malformed one raises
        forms.BadInput (400)."""
        today = clock.today(ZoneInfo(current_app.config["TIMEZONE"]))
        end = forms.optional_date(args, "end") or today
        start = forms.optional_date(args, "start") or end - timedelta(days=29)
        if start > end:
            start, end = end, start
        return cls(
            start=start,
            end=end,
            by=forms.choice(args, "by", DIMENSIONS, "none"),
            period=forms.choice(args, "period", PERIODS, "week"),
            staff=staff,
            space=training.space_for(staff, args),
        )

    def as_args(self) -> dict[str, str]:
        """The query arguments that give these parameters back (the CSV link)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by": self.by,
            "period": self.period,
            **({"space": self.space} if self.space != training.REAL else {}),
        }


@dataclass
class Row:
    period: str
    group: str
    received: int = 0
    processed: int = 0
    on_time: int = 0

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.processed if self.processed else None


@dataclass
class Report:
    params: ReportParams
    rows: list[Row] = field(default_factory=list)
    totals: Row = field(default_factory=lambda: Row("total", "total"))
    target_hours: float = 48


def period_of(day: date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def build(params: ReportParams) -> Report:
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    since = datetime.combine(params.start, time(0), tzinfo=tz)
    until = datetime.combine(params.end + timedelta(days=1), time(0), tzinfo=tz)
    team = aliased(Team)
    village = aliased(Village)
    query = (
        select(
            Ticket.created_at,
            Ticket.closed_at,
            Ticket.due_at,
            Ticket.status,
            Ticket.topic,
            Ticket.channel,
            team.name,
            village.name,
        )
        .outerjoin(team, team.id == Ticket.team_id)
        .outerjoin(village, village.id == Ticket.village_id)
        .where(Ticket.created_at >= since, Ticket.created_at < until)
    )
    if params.staff is not None:
        query = query.where(access.visible_clause(params.staff, params.space))
    else:
        query = query.where(training.space_clause(Ticket, params.space))
    groups: dict[tuple[str, str], Row] = {}
    totals = Row("total", "total")
    dims = {
        "none": lambda r: "",
        "team": lambda r: r[6] or "—",
        "village": lambda r: r[7] or "—",
        "topic": lambda r: r[4] or "—",
        "channel": lambda r: r[5],
    }
    key_of = dims[params.by]
    for r in db.session.execute(query):
        created, closed, due, status = r[0], r[1], r[2], r[3]
        key = (period_of(created.astimezone(tz).date(), params.period), key_of(r))
        row = groups.get(key) or groups.setdefault(key, Row(*key))
        processed = status in CLOSED
        on_time = processed and closed is not None and due is not None and closed <= due
        for target in (row, totals):
            target.received += 1
            target.processed += processed
            target.on_time += on_time
    rows = [groups[k] for k in sorted(groups)]
    return Report(
        params=params, rows=rows, totals=totals, target_hours=float(current_app.config["STAFF_ON_TIME_HOURS"])
    )


#: Characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
#: return, start one in some programs): such a cell gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_HEADERS = {
    "period": _l("Period"),
    "team": _l("Team"),
    "village": _l("Village"),
    "topic": _l("Procedure"),
    "channel": _l("Channel"),
    "none": _l("Group"),
    "received": _l("Received"),
    "processed": _l("Processed"),
    "on_time": _l("On time"),
    "on_time_share": _l("On time (%)"),
}


def safe_cell(value: object) -> str:
    """A cell Excel or LibreOffice shows as text, never runs: `=HYPERLINK(…)` → `'=HYPERLINK(…)`."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def group_name(report: Report, group: str) -> str:
    """A row's group as the reader names it (procedures and channels have labels)."""
    if report.params.by in ("topic", "channel") and group != "—":
        return label(report.params.by, group)
    return group


def as_csv(report: Report) -> str:
    """The report as Excel opens it: UTF-8 with a byte-order mark (so Vietnamese letters
    survive), headers, periods and groups in the reader's language, shares as percentages
    with the reader's decimal mark, and every cell safe from formula injection."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    columns = ["period", report.params.by, "received", "processed", "on_time", "on_time_share"]
    writer.writerow([safe_cell(CSV_HEADERS[c]) for c in columns])
    for row in report.rows:
        writer.writerow(csv_row(row, display.period(row.period), group_name(report, row.group)))
    total = _("Total")
    writer.writerow(csv_row(report.totals, total, total if report.params.by != "none" else ""))
    return out.getvalue()


def csv_row(row: Row, period: str, group: str) -> list[str]:
    share = "" if row.on_time_share is None else display.percent(row.on_time_share)
    return [safe_cell(v) for v in (period, group, row.received, row.processed, row.on_time, share)]


def bar_chart_svg(report: Report, width: int = 760, height: int = 240) -> str:
    """Received and processed per period as inline SVG: no script and no CDN (offline office)."""
    per_period: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in report.rows:
        values = per_period[row.period]
        values[0] += row.received
        values[1] += row.processed
        values[2] += row.on_time
    periods = sorted(per_period)
    if not periods:
        return ""
    top = max(max(v[0], v[1]) for v in per_period.values()) or 1
    title = _("received and processed per period")
    pad, base = 36, height - 36
    slot = (width - pad - 10) / len(periods)
    bar = max(min(slot / 3, 40), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}">',
        f'<line x1="{pad}" y1="{base}" x2="{width - 5}" y2="{base}" stroke="#555"/>',
        f'<text x="4" y="16" font-size="11">{top}</text>',
    ]
    for i, period in enumerate(periods):
        received, processed, on_time = per_period[period]
        name = display.period(period)
        x = pad + i * slot + slot / 2 - bar
        for j, (value, colour) in enumerate(((received, "#2a6fb0"), (processed, "#3a9b5c"))):
            h = (base - 20) * value / top
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(name)}: {value}</title></rect>'
            )
        share = f"{100 * on_time / processed:.0f}%" if processed else ""
        parts.append(
            f'<text x="{x + bar:.1f}" y="{base + 14}" font-size="10" text-anchor="middle">'
            f"{escape(name)}</text>"
        )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{base + 28}" font-size="10" text-anchor="middle" '
            f'fill="#3a9b5c">{share}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
