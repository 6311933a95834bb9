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
    return list(csv.DictReader(io.StringIO(csv_text)))


def test_totals_and_groups_come_from_one_function(world, login):
    seed(world)
    admin = login("admin")
    page = admin.get("/staff/reports?start=2026-11-01&end=2026-11-30&by=team&period=week").get_data(
        as_text=True
    )
    assert 'id="total-received">5<' in page and 'id="total-processed">4<' in page
    assert 'id="total-on-time">75.0%' in page
    # Nothing is fetched from another host (the office may have no internet): every src/href is
    # local. (Searching the page for "cdn" failed whenever a random CSRF token contained it.)
    assert "<svg" in page
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    response = admin.get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=team&period=week")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    table = rows(response.get_data(as_text=True))
    assert table == [
        {
            "period": "2026-W45",
            "team": "Tổ 1",
            "received": "3",
            "processed": "2",
            "on_time": "1",
            "on_time_share": "0.5000",
        },
        {
            "period": "2026-W46",
            "team": "Tổ 2",
            "received": "2",
            "processed": "2",
            "on_time": "2",
            "on_time_share": "1.0000",
        },
        {
            "period": "total",
            "team": "total",
            "received": "5",
            "processed": "4",
            "on_time": "3",
            "on_time_share": "0.7500",
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
    assert [(r["period"], r["channel"], r["received"]) for r in table] == [
        ("2026-10", "voice", "1"),
        ("2026-11", "sms", "2"),
        ("2026-11", "voice", "3"),
        ("total", "total", "6"),
    ]
    mine = rows(
        login("lan")
        .get("/staff/reports.csv?start=2026-11-01&end=2026-11-30&by=village&period=day")
        .get_data(as_text=True)
    )
    assert {r["village"] for r in mine} == {"Thôn 1", "total"}
    assert mine[-1]["received"] == "3"


def test_the_on_time_target_is_configurable(app_factory):
    from tests.staff_fixtures import World

    app = app_factory(STAFF_ON_TIME_HOURS=24)
    with app.app_context():
        world = World()
        ticket = world.ticket(world.village_a)
        assert ticket.due_at - ticket.created_at == timedelta(hours=24)
        db.session.remove()
