"""The JSON API: per-user tokens, the same actions and the same team limits as the dashboard."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Staff, Ticket
from hotline.staff import accounts
from tests.staff_fixtures import *  # noqa: F403  (fixtures)


@pytest.fixture
def api(app, world):
    tokens = {}

    def as_user(username: str):
        if username not in tokens:
            staff = db.session.scalar(select(Staff).where(Staff.username == username))
            tokens[username] = accounts.new_api_token(staff, actor="test")
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens[username]}"}

        class Caller:
            def get(self, path):
                return client.get(path, headers=headers)

            def post(self, path, json=None):
                return client.post(path, json=json, headers=headers)

        return Caller()

    return as_user


def test_no_token_or_a_wrong_token_gets_401_json(app, world):
    client = app.test_client()
    response = client.get("/api/tickets")
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    response = client.get("/api/tickets", headers={"Authorization": "Bearer hl_forged"})
    assert response.status_code == 401


def test_list_claim_conflict_notes_and_release(world, api):
    ticket = world.ticket(world.village_a)
    listed = api("lan").get("/api/tickets").json
    assert [t["code"] for t in listed["tickets"]] == [ticket.code]
    assert listed["tickets"][0]["team"] == "T01" and listed["tickets"][0]["urgency"] == 2
    claimed = api("lan").post(f"/api/tickets/{ticket.code}/claim")
    assert claimed.status_code == 200 and claimed.json["assignee"] == "lan"
    conflict = api("hung").post(f"/api/tickets/{ticket.code}/claim")
    assert conflict.status_code == 409
    assert conflict.json["error"] == "taken" and conflict.json["holder"]["username"] == "lan"
    assert (
        api("lan").post(f"/api/tickets/{ticket.code}/notes", json={"text": "gọi lúc 9h"}).status_code == 201
    )
    empty = api("lan").post(f"/api/tickets/{ticket.code}/notes", json={"text": " "})
    assert empty.status_code == 400 and empty.json["error"] == "empty_note"
    assert api("hung").post(f"/api/tickets/{ticket.code}/release").status_code == 403
    assert api("lan").post(f"/api/tickets/{ticket.code}/release").json["assignee"] is None
    events = api("lan").get(f"/api/tickets/{ticket.code}").json["events"]
    assert [e["kind"] for e in events] == ["created", "claimed", "note", "released"]


def test_outcomes_through_the_api(world, api):
    ticket = world.ticket(world.village_a)
    caller = api("lan")
    bad = caller.post(f"/api/tickets/{ticket.code}/outcome", json={"outcome": "maybe"})
    assert bad.status_code == 400 and bad.json["error"] == "bad_outcome"
    assert (
        caller.post(f"/api/tickets/{ticket.code}/outcome", json={"outcome": "resolved"}).json["error"]
        == "not_yours"
    )
    caller.post(f"/api/tickets/{ticket.code}/claim")
    result = caller.post(f"/api/tickets/{ticket.code}/outcome", json={"outcome": "resolved", "note": "xong"})
    assert result.status_code == 200 and result.json["status"] == "resolved"
    assert caller.post(f"/api/tickets/{ticket.code}/claim").status_code == 409
    visit = world.ticket(world.village_a)
    caller.post(f"/api/tickets/{visit.code}/claim")
    wrong = caller.post(
        f"/api/tickets/{visit.code}/outcome", json={"outcome": "home_visit", "visit_on": "tomorrow"}
    )
    assert wrong.json["error"] == "bad_date"
    moved = caller.post(f"/api/tickets/{visit.code}/outcome", json={"outcome": "transferred", "team": "T02"})
    assert moved.json["team"] == "T02" and moved.json["assignee"] is None


def test_a_volunteer_cannot_read_or_change_another_teams_requests_through_the_api(world, api):
    other = world.ticket(world.village_b)
    caller = api("lan")
    assert other.code not in [t["code"] for t in caller.get("/api/tickets?status=active").json["tickets"]]
    assert caller.get(f"/api/tickets/{other.code}").status_code == 403
    for path, body in [
        ("claim", None),
        ("release", None),
        ("notes", {"text": "x"}),
        ("outcome", {"outcome": "resolved"}),
    ]:
        response = caller.post(f"/api/tickets/{other.code}/{path}", json=body)
        assert response.status_code == 403 and response.json["error"] == "forbidden", path
    db.session.expire_all()
    assert db.session.get(Ticket, other.id).assignee_id is None
    assert len(db.session.get(Ticket, other.id).events) == 1
    assert caller.get("/api/tickets/999999").status_code == 404
