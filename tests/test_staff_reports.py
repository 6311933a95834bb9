"""Reports: received, processed and on time, per team/village/procedure/channel and period; CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.extensions import db
from hotline.models import Ticket
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def make(
    world,
    village,
    day: str,
    *,
    hours_to_close: float | None,
    topic="vneid",
    channel="voice",
    status="resolved",
) -> Ticket:
    created = datetime.fromisoformat(day).replace(hour=9, tzinfo=TZ)
    ticket = world.ticket(village, topic=topic, channel=channel)
    ticket.created_at = created
    ticket.due_at = created + timedelta(hours=48)
    if hours_to_close is not None:
        ticket.status = status
        ticket.closed_at = created + timedelta(hours=hours_to_close)
    db.session.commit()
    return ticket


def seed(world):
    a, b = world.village_a, world.village_b
    make(world, a, "2026-11-02", hours_to_close=5)  # on time
    make(world, a, "2026-11-03", hours_to_close=60)  # late
    make(world, a, "2026-11-03", hours_to_close=None)  # still open
    make(world, b, "2026-11-10", hours_to_close=1, topic="bhyt", channel="sms")  # on time
    make(world, b, "2026-11-11", hours_to_close=2, status="cancelled", channel="sms")  # wrong number, on time
    make(world, b, "2026-10-31", hours_to_close=1)  # before the range


def rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text.removeprefix("\ufeff"))))


def test_totals_and_groups_come_from_one_function(world, login):
    seed(world)
    admin = login("admin")
    page = admin.get("/staff/reports?start=2026-11-01&end=2026-11-30&by=team&period=week").get_data(
        as_text=True
    )
    assert 'id="total-received">5<' in page and 'id="total-processed">4<' in page
    assert 'id="total-on-time">75,0%' in page  # the Vietnamese decimal comma
    # Nothing is fetched from another host (the office may have no internet): every src/href is
    # local. (Searching the page for "cdn" failed whenever a random CSRF token contained it.)
    assert "<svg" in page
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    response = admin.get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=team&period=week")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff") and response.mimetype_params["charset"] == "utf-8"  # Excel reads UTF-8
    table = rows(body)
    assert table == [
        {
            "Kỳ": "Tuần 45, 2026",
            "Tổ": "Tổ 1",
            "Tiếp nhận": "3",
            "Đã xử lý": "2",
            "Đúng hạn": "1",
            "Tỷ lệ đúng hạn (%)": "50,0",
        },
        {
            "Kỳ": "Tuần 46, 2026",
            "Tổ": "Tổ 2",
            "Tiếp nhận": "2",
            "Đã xử lý": "2",
            "Đúng hạn": "2",
            "Tỷ lệ đúng hạn (%)": "100,0",
        },
        {
            "Kỳ": "Tổng cộng",
            "Tổ": "Tổng cộng",
            "Tiếp nhận": "5",
            "Đã xử lý": "4",
            "Đúng hạn": "3",
            "Tỷ lệ đúng hạn (%)": "75,0",
        },
    ]


def test_by_channel_per_month_and_volunteers_see_only_their_team(world, login):
    seed(world)
    admin = login("admin")
    table = rows(
        admin.get("/staff/reports.csv?start=2026-10-01&end=2026-11-30&by=channel&period=month").get_data(
            as_text=True
        )
    )
    assert [(r["Kỳ"], r["Kênh"], r["Tiếp nhận"]) for r in table] == [
        ("Tháng 10, 2026", "cuộc gọi", "1"),
        ("Tháng 11, 2026", "tin nhắn SMS", "2"),
        ("Tháng 11, 2026", "cuộc gọi", "3"),
        ("Tổng cộng", "Tổng cộng", "6"),
    ]
    mine = rows(
        login("lan")
        .get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=village&period=day")
        .get_data(as_text=True)
    )
    assert {r["Thôn"] for r in mine} == {"Thôn 1", "Tổng cộng"}
    assert mine[0]["Kỳ"] == "02/11/2026"  # dd/mm/yyyy
    assert mine[-1]["Tiếp nhận"] == "3"


def test_the_on_time_target_is_configurable(app_factory):
    from tests.staff_fixtures import World

    app = app_factory(STAFF_ON_TIME_HOURS=24)
    with app.app_context():
        world = World()
        ticket = world.ticket(world.village_a)
        assert ticket.due_at - ticket.created_at == timedelta(hours=24)
        db.session.remove()


def test_csv_cells_that_start_a_formula_are_neutralised_and_english_reads_english(world, login):
    """A village or team named like a formula (an admin's import, or an attacker's) opens in a
    spreadsheet as text, never as a formula; an English reader gets English headers and a
    decimal point."""
    world.village_a.name = '=HYPERLINK("http://evil.example","x")'
    world.team_a.name = "+SUM(1)"
    world.village_b.name = "@cmd"
    world.team_b.name = "-2+3"
    db.session.commit()
    make(world, world.village_a, "2026-11-02", hours_to_close=5)
    make(world, world.village_b, "2026-11-03", hours_to_close=5)
    admin = login("admin")
    by_village = rows(admin.get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=village&period=month")
                      .get_data(as_text=True))
    assert sorted(r["Thôn"] for r in by_village) == [
        "'=HYPERLINK(\"http://evil.example\",\"x\")", "'@cmd", "Tổng cộng"]
    by_team = rows(admin.get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=team&period=month")
                   .get_data(as_text=True))
    assert sorted(r["Tổ"] for r in by_team) == ["'+SUM(1)", "'-2+3", "Tổng cộng"]
    for row in by_village + by_team:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values()), row

    admin.post("/staff/lang", data={"lang": "en"})
    english = rows(admin.get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=topic&period=week")
                   .get_data(as_text=True))
    assert list(english[0]) == ["Period", "Procedure", "Received", "Processed", "On time", "On time (%)"]
    assert english[0]["Period"] == "Week 45, 2026" and english[0]["Procedure"] == "VNeID electronic identity"
    assert english[-1]["On time (%)"] == "100.0"
