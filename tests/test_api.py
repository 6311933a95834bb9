"""The JSON API: per-user tokens, the same actions and the same team limits as the dashboard."""

from __future__ import annotations

import json

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
        headers = headers_ = {"Authorization": f"Bearer {tokens[username]}"}

        class Caller:
            headers = dict(headers_)

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


# --- JSON only --------------------------------------------------------------------------


def test_every_api_error_is_json_with_a_reason(app, world, api):
    client = app.test_client()
    unknown = client.get("/api/nothing-here")
    assert unknown.status_code == 404 and unknown.is_json and unknown.json["error"] == "not_found"
    wrong_method = client.delete("/api/tickets")
    assert wrong_method.status_code == 405 and wrong_method.json["error"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"]
    unsupported = client.post("/api/tickets/1/claim", data="x=1", headers=api("lan").headers | {
        "Content-Type": "application/x-www-form-urlencoded"})
    assert unsupported.status_code == 400 and unsupported.json["error"] == "bad_json"
    # Outside /api/ the app's pages keep their own (HTML) answers.
    assert not client.get("/staff/nothing-here").is_json


def test_an_unexpected_failure_in_the_api_is_a_json_500(app, world, api, monkeypatch):
    ticket = world.ticket(world.village_a)
    caller = api("lan")  # the token is made before the failure is planted
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 handler answers

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("hotline.staff.claims.claim", broken)
    response = caller.post(f"/api/tickets/{ticket.code}/claim")
    assert response.status_code == 500 and response.json["error"] == "internal_error"
    assert "disk" not in response.get_data(as_text=True)  # no internals in the answer
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id is None


@pytest.mark.parametrize("payload", [[1, 2], "hi", 3, None, True])
def test_a_body_that_is_not_a_json_object_is_a_400(world, api, payload, app):
    ticket = world.ticket(world.village_a)
    caller = api("lan")
    for path in ("notes", "outcome", "claim"):
        response = caller.post(f"/api/tickets/{ticket.code}/{path}", json=payload)
        if payload is None:  # `null` is no body at all: claim needs none, the others say what is missing
            assert response.status_code in (200, 400), path
            continue
        assert response.status_code == 400 and response.json["error"] == "bad_json", (path, payload)
    client = app.test_client()
    headers = caller.headers | {"Content-Type": "application/json"}
    broken = client.post(f"/api/tickets/{ticket.code}/notes", data="{not json", headers=headers)
    assert broken.status_code == 400 and broken.json["error"] == "bad_json"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("notes", {"text": ["a"]}, "text"),
        ("notes", {"text": {"a": 1}}, "text"),
        ("notes", {"text": 12}, "text"),
        ("outcome", {"outcome": "resolved", "note": ["a"]}, "note"),
        ("outcome", {"outcome": "transferred", "team": ["T02"]}, "team"),
        ("outcome", {"outcome": "home_visit", "visit_on": "2030-01-01", "volunteer": 5}, "volunteer"),
    ],
)
def test_fields_are_checked_by_type_and_nothing_is_stored(world, api, path, payload, field):
    ticket = world.ticket(world.village_a)
    caller = api("lan")
    caller.post(f"/api/tickets/{ticket.code}/claim")
    response = caller.post(f"/api/tickets/{ticket.code}/{path}", json=payload)
    assert response.status_code == 400 and response.json == {
        "error": "bad_argument", "field": field, "message": response.json["message"]
    }
    db.session.expire_all()
    assert [e.kind for e in db.session.get(Ticket, ticket.id).events] == ["created", "claimed"]


def test_an_outcome_that_is_not_a_string_is_a_bad_outcome(world, api):
    ticket = world.ticket(world.village_a)
    caller = api("lan")
    caller.post(f"/api/tickets/{ticket.code}/claim")
    response = caller.post(f"/api/tickets/{ticket.code}/outcome", json={"outcome": ["resolved"]})
    assert response.status_code == 400 and response.json["error"] == "bad_outcome"


# --- one meaning of `status` --------------------------------------------------------------


def test_status_means_the_requests_own_status_or_a_queue_view(world, api, app):
    waiting, held = world.ticket(world.village_a), world.ticket(world.village_a)
    caller = api("lan")
    caller.post(f"/api/tickets/{held.code}/claim")

    def codes(status):
        response = caller.get(f"/api/tickets?status={status}")
        assert response.status_code == 200, response.json
        return {t["code"] for t in response.json["tickets"]}

    assert codes("open") == {waiting.code}  # not the request someone holds
    assert codes("in_progress") == {held.code}
    assert codes("active") == {waiting.code, held.code}
    assert codes("unclaimed") == {waiting.code}
    assert codes("mine") == {held.code}
    assert codes("resolved") == set()
    unknown = caller.get("/api/tickets?status=opened")
    assert unknown.status_code == 400 and unknown.json["field"] == "status"
    # The command line reads the same words the same way.
    runner = app.test_cli_runner()
    done = runner.invoke(args=["tickets", "list", "--json", "--status", "open"])
    assert done.exit_code == 0, done.output
    assert {row["code"] for row in json.loads(done.output)} == {waiting.code}
    refused = runner.invoke(args=["tickets", "list", "--status", "opened"])
    assert refused.exit_code == 2 and "opened" in refused.output


def test_the_status_words_are_the_models_own():
    from hotline.models import TicketStatus
    from hotline.ticket_rows import OPEN_STATUSES, TICKET_STATUSES

    assert TICKET_STATUSES == tuple(s.value for s in TicketStatus)
    assert OPEN_STATUSES == TicketStatus.open_values()
