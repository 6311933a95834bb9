"""The request page offers only what the person may do, and says when something was saved."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Staff, Ticket, utcnow
from hotline.staff import claims
from tests.staff_fixtures import *  # noqa: F403  (fixtures)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _held_by(world, username: str) -> Ticket:
    ticket = world.ticket(world.village_a)
    holder = db.session.scalar(select(Staff).where(Staff.username == username))
    claims.claim(ticket, holder)
    db.session.commit()
    return ticket


def test_no_release_call_or_outcome_on_a_request_someone_else_holds(world, login):
    ticket = _held_by(world, "lan")
    page = login("hung").get(f"/staff/t/{ticket.code}").get_data(as_text=True)
    assert 'id="release"' not in page and 'id="outcome-form"' not in page and 'id="call-back"' not in page
    assert 'id="held-by-other"' in page and "Nguyễn Thị Lan đang xử lý yêu cầu này" in page
    assert 'id="claim"' not in page  # nobody can take it over by a click either


def test_the_holder_and_a_lead_get_the_actions(world, login):
    ticket = _held_by(world, "lan")
    for username in ("lan", "thu"):
        page = login(username).get(f"/staff/t/{ticket.code}").get_data(as_text=True)
        assert 'id="release"' in page and 'id="outcome-form"' in page and 'id="call-back"' in page, username
        assert 'id="held-by-other"' not in page


def test_an_unclaimed_request_offers_the_claim_first(world, login):
    ticket = world.ticket(world.village_a)
    page = login("hung").get(f"/staff/t/{ticket.code}").get_data(as_text=True)
    assert 'id="claim"' in page and 'id="outcome-form"' not in page and 'id="release"' not in page


def test_a_note_a_flag_and_a_village_say_they_were_saved(world, login):
    ticket = _held_by(world, "lan")
    lan = login("lan")
    saved = lan.post(f"/staff/t/{ticket.code}/note", data={"text": "gọi lại sau 5 giờ chiều"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu ghi chú." in saved
    flagged = lan.post(f"/staff/t/{ticket.code}/elderly", data={"elderly": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu: đánh dấu người cao tuổi." in flagged
    unflagged = lan.post(f"/staff/t/{ticket.code}/elderly", data={"elderly": "0"},
                         follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu: bỏ đánh dấu người cao tuổi." in unflagged
    village = lan.post(f"/staff/t/{ticket.code}/village", data={"village_id": str(world.village_a.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Đã lưu thôn: Thôn 1." in village


def test_a_past_visit_date_says_it_is_in_the_past(world, login):
    ticket = _held_by(world, "lan")
    yesterday = utcnow().astimezone(TZ).date() - timedelta(days=1)
    page = login("lan").post(f"/staff/t/{ticket.code}/outcome",
                             data={"outcome": "home_visit", "visit_on": yesterday.isoformat()},
                             follow_redirects=True).get_data(as_text=True)
    assert "Ngày hẹn đã qua: hãy chọn hôm nay hoặc một ngày sau." in page
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).outcome is None
