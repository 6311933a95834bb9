"""The queue page, claims, release/reassign, the request page, and who may see what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import AuditEntry, EventKind, Staff, Ticket, TicketEvent
from hotline.staff import claims
from hotline.staff.queue import QueueFilters, queue_page
from hotline.tickets import add_event
from tests.staff_fixtures import *  # noqa: F403  (fixtures)


def codes_on(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-code="(\d+)"', html)


def staff(username: str) -> Staff:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def test_new_requests_are_routed_to_the_team_of_the_residents_village(world):
    ticket = world.ticket(world.village_b)
    assert ticket.village_id == world.village_b.id and ticket.team_id == world.team_b.id
    assert (ticket.due_at - ticket.created_at).total_seconds() == pytest.approx(48 * 3600, abs=5)


def test_the_queue_puts_urgent_and_old_requests_first(world, login):
    sms_new = world.ticket(world.village_a, reason="sms", age_minutes=5)
    sms_old = world.ticket(world.village_a, reason="sms", age_minutes=50)
    callback = world.ticket(world.village_a, reason="callback_requested", age_minutes=1)
    elderly = world.ticket(world.village_a, reason="sms", age_minutes=2, elderly=True)
    tried = world.ticket(world.village_a, reason="sms", age_minutes=3)
    tried.attempts = 2
    db.session.commit()
    html = login("lan").get("/staff/").get_data(as_text=True)
    # elderly (3) > tried twice (2) and callback (2, newer) > sms by age
    assert codes_on(html) == [elderly.code, tried.code, callback.code, sms_old.code, sms_new.code]
    assert "47 giờ" in html  # time left before the on-time target


def test_filters_pagination_and_the_partial_refresh(world, login):
    for minutes in range(60):
        world.ticket(
            world.village_a,
            reason="sms",
            age_minutes=minutes,
            topic="vneid" if minutes % 2 else "bhyt",
            channel="sms" if minutes % 3 else "voice",
        )
    client = login("thu")
    page1 = codes_on(client.get("/staff/").get_data(as_text=True))
    page2 = codes_on(client.get("/staff/?page=2").get_data(as_text=True))
    assert len(page1) == 50 and len(page2) == 10 and not set(page1) & set(page2)
    only = client.get("/staff/?topic=vneid&channel=sms&partial=1").get_data(as_text=True)
    assert "<html" not in only  # rows only, for the in-place refresh
    expected = db.session.scalars(select(Ticket.code).where(Ticket.topic == "vneid", Ticket.channel == "sms"))
    assert sorted(codes_on(only)) == sorted(expected)


def test_claim_then_another_volunteer_is_told_who_has_it(app, world, login):
    ticket = world.ticket(world.village_a)
    lan, hung = login("lan"), login("hung")
    assert lan.post(f"/staff/t/{ticket.code}/claim").status_code == 302
    page = hung.post(f"/staff/t/{ticket.code}/claim", follow_redirects=True).get_data(as_text=True)
    assert "Nguyễn Thị Lan đã nhận yêu cầu này." in page
    db.session.expire_all()
    assert ticket.assignee.username == "lan" and ticket.status == "in_progress"
    assert [e.kind for e in ticket.events].count("claimed") == 1
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "claim")).actor == "lan"


def test_claim_next_gives_the_most_urgent_request(world, login):
    world.ticket(world.village_a, reason="sms", age_minutes=30)
    urgent = world.ticket(world.village_a, reason="callback_requested", age_minutes=1, elderly=True)
    world.ticket(world.village_b, reason="callback_requested", age_minutes=90, elderly=True)
    response = login("lan").post("/staff/claim-next")
    assert response.location.endswith(f"/staff/t/{urgent.code}")


def test_release_and_reassign(world, login):
    ticket = world.ticket(world.village_a)
    lan = login("lan")
    lan.post(f"/staff/t/{ticket.code}/claim")
    # Another volunteer may neither release nor reassign it.
    hung = login("hung")
    assert "Hãy nhận yêu cầu trước" in hung.post(
        f"/staff/t/{ticket.code}/release", follow_redirects=True
    ).get_data(as_text=True)
    hung.post(f"/staff/t/{ticket.code}/reassign", data={"staff_id": world.vol_a2.id})
    db.session.expire_all()
    assert ticket.assignee.username == "lan"
    # The lead can reassign within the team, but not to another team's volunteer.
    lead = login("thu")
    lead.post(f"/staff/t/{ticket.code}/reassign", data={"staff_id": world.vol_b.id})
    db.session.expire_all()
    assert ticket.assignee.username == "lan"
    lead.post(f"/staff/t/{ticket.code}/reassign", data={"staff_id": world.vol_a2.id})
    db.session.expire_all()
    assert ticket.assignee.username == "hung"
    login("hung").post(f"/staff/t/{ticket.code}/release")
    db.session.expire_all()
    assert ticket.assignee_id is None and ticket.status == "open"
    kinds = [e.kind for e in ticket.events]
    assert kinds == ["created", "claimed", "reassigned", "released"]


def test_the_request_page_shows_the_whole_timeline(world, login):
    ticket = world.ticket(world.village_a)
    # Kinds older versions wrote (add_event takes only an EventKind now): stored rows.
    ticket.events.append(TicketEvent(kind="call_step", message="pressed 1", data={"digits": "1"}))
    ticket.events.append(
        TicketEvent(kind="transcribed", message="xin chào tôi cần làm căn cước", data={"confidence": 0.83})
    )
    add_event(ticket, EventKind.SMS_SENT, "SMS sent", data={"body": "Xa da nhan yeu cau"})
    db.session.commit()
    lan = login("lan")
    lan.post(f"/staff/t/{ticket.code}/note", data={"text": "Bà cụ nghe kém, nói to"})
    html = lan.get(f"/staff/t/{ticket.code}").get_data(as_text=True)
    for text in ("phím 1", "độ tin cậy 83%", "Xa da nhan yeu cau", "Bà cụ nghe kém, nói to", "tạo yêu cầu"):
        assert text in html


# --- roles -----------------------------------------------------------------------------


def test_a_volunteer_cannot_see_or_change_another_teams_requests(world, login):
    other = world.ticket(world.village_b)
    mine = world.ticket(world.village_a)
    lan = login("lan")
    assert codes_on(lan.get("/staff/").get_data(as_text=True)) == [mine.code]
    assert lan.get(f"/staff/t/{other.code}").status_code == 403
    for action, data in [
        ("claim", {}),
        ("release", {}),
        ("note", {"text": "x"}),
        ("outcome", {"outcome": "resolved"}),
        ("village", {"village_id": world.village_a.id}),
        ("elderly", {"elderly": "1"}),
        ("callback", {}),
    ]:
        assert lan.post(f"/staff/t/{other.code}/{action}", data=data).status_code == 403, action
    db.session.expire_all()
    assert other.assignee_id is None and other.status == "open" and len(other.events) == 1
    assert lan.get(f"/staff/?team={world.team_b.id}").status_code == 200
    assert codes_on(lan.get(f"/staff/?team={world.team_b.id}").get_data(as_text=True)) == []


def test_leads_see_unrouted_requests_and_route_them(world, login):
    unrouted = world.ticket(None, phone="+84988000999")
    assert unrouted.team_id is None
    assert unrouted.code not in codes_on(login("lan").get("/staff/").get_data(as_text=True))
    lead = login("thu")
    assert unrouted.code in codes_on(lead.get("/staff/").get_data(as_text=True))
    lead.post(f"/staff/t/{unrouted.code}/village", data={"village_id": world.village_b.id})
    db.session.expire_all()
    assert unrouted.team_id == world.team_b.id
    assert lead.get(f"/staff/t/{unrouted.code}").status_code == 403  # now team 2's request


def test_only_admins_reach_settings(world, login):
    assert login("thu").get("/staff/admin").status_code == 403
    admin = login("admin")
    assert admin.get("/staff/admin").status_code == 200
    admin.post(
        f"/staff/admin/staff/{world.vol_a.id}",
        data={"role": "lead", "team_id": world.team_b.id, "phone": "0912 000 555", "active": "1"},
    )
    db.session.expire_all()
    assert world.vol_a.role == "lead" and world.vol_a.team_id == world.team_b.id
    assert world.vol_a.phone == "+84912000555"


def test_claim_function_reports_the_holder(world):
    ticket = world.ticket(world.village_a)
    claims.claim(ticket, staff("lan"))
    with pytest.raises(claims.ClaimError) as error:
        claims.claim(db.session.get(Ticket, ticket.id), staff("hung"))
    assert error.value.reason == "taken" and error.value.holder.username == "lan"
    assert claims.claim(db.session.get(Ticket, ticket.id), staff("lan")).already_yours
    page = queue_page(staff("lan"), QueueFilters(status="mine"))
    assert [t.code for t in page.tickets] == [ticket.code]
