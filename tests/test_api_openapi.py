"""/api/openapi.json describes the API as it answers: every call below, successes and errors,
is checked against the served description with openapi-core (request and response)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.testing import MockRequest
from sqlalchemy import select

from hotline.extensions import db
from hotline.models import Staff
from hotline.staff import accounts
from tests.staff_fixtures import *  # noqa: F403  (fixtures)


@pytest.fixture
def described(app, world):
    """A client whose every answer is checked against the served description; it keeps the
    (path template, method, status) of each call so the test can show it covered them all."""
    client = app.test_client()
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.is_json
    spec = OpenAPI.from_dict(served.json)  # also validates the document itself
    tokens: dict[str, str] = {}
    seen: set[tuple[str, str, int]] = set()

    def call(method: str, path: str, user: str | None = "lan", **kwargs):
        headers = kwargs.pop("headers", {})
        if user is not None:
            if user not in tokens:
                staff = db.session.scalar(select(Staff).where(Staff.username == user))
                tokens[user] = accounts.new_api_token(staff, actor="test")
                db.session.commit()
            headers["Authorization"] = f"Bearer {tokens[user]}"
        response = client.open(path, method=method, headers=headers, **kwargs)
        bare, _, query = path.partition("?")
        openapi_request = MockRequest("http://localhost", method.lower(), bare, args=dict(parse_qsl(query)))
        result = spec.unmarshal_response(openapi_request, WerkzeugOpenAPIResponse(response))
        assert not result.errors, (method, path, response.status_code, response.json, result.errors)
        seen.add((_template(path), method.lower(), response.status_code))
        return response

    call.spec = served.json  # type: ignore[attr-defined]
    call.seen = seen  # type: ignore[attr-defined]
    return call


def _template(path: str) -> str:
    """The description's path for a called one: `/api/tickets/123/claim` → `/tickets/{code}/claim`."""
    parts = path.split("?")[0].removeprefix("/api").split("/")
    if len(parts) > 2 and parts[1] == "tickets":
        parts[2] = "{code}"
    return "/".join(parts)


def test_the_description_matches_every_answer(world, described):
    ticket, other = world.ticket(world.village_a), world.ticket(world.village_b)
    code = ticket.code
    described("get", "/api/openapi.json", user=None)
    assert described("get", "/api/tickets", user=None).status_code == 401
    assert described("get", "/api/tickets").status_code == 200
    assert described("get", "/api/tickets?status=in_progress&channel=voice&page=2").status_code == 200
    assert described("get", "/api/tickets?status=nope").status_code == 400
    assert described("get", f"/api/tickets/{code}").status_code == 200
    assert described("get", f"/api/tickets/{other.code}").status_code == 403
    assert described("get", "/api/tickets/999999").status_code == 404
    assert described("post", f"/api/tickets/{code}/release").status_code == 409
    assert described("post", f"/api/tickets/{code}/claim").status_code == 200
    assert described("post", f"/api/tickets/{code}/claim", user="hung").status_code == 409
    assert described("post", f"/api/tickets/{code}/claim", json=[1, 2]).status_code == 400
    assert described("post", f"/api/tickets/{other.code}/claim").status_code == 403
    assert described("post", "/api/tickets/999999/claim").status_code == 404
    assert described("post", f"/api/tickets/{code}/notes", json={"text": "gọi lúc 9h"}).status_code == 201
    assert described("post", f"/api/tickets/{code}/notes", json={"text": "x"}, user="minh").status_code == 403
    assert described("post", "/api/tickets/999999/notes", json={"text": "x"}).status_code == 404
    assert described("get", f"/api/tickets/{code}").json["events"][-1]["kind"] == "note"
    assert described("post", f"/api/tickets/{code}/release", user="hung").status_code == 403
    assert described("post", "/api/tickets/999999/release").status_code == 404
    assert described("post", f"/api/tickets/{code}/release").status_code == 200
    assert described("post", f"/api/tickets/{code}/claim").status_code == 200
    assert described("post", f"/api/tickets/{code}/outcome", json={"outcome": "resolved"},
                     user="hung").status_code == 403
    assert described("post", "/api/tickets/999999/outcome", json={"outcome": "resolved"}).status_code == 404
    visit = {"outcome": "home_visit", "visit_on": "2999-12-31", "volunteer": "nobody"}
    assert described("post", f"/api/tickets/{code}/outcome", json=visit).status_code == 400
    assert described("post", f"/api/tickets/{code}/outcome",
                     json={"outcome": "resolved", "note": "xong"}).status_code == 200
    assert described("post", f"/api/tickets/{code}/outcome", json={"outcome": "resolved"}).status_code == 409
    assert described("post", f"/api/tickets/{code}/notes", json={"text": ["a"]}).status_code == 400
    assert described("post", f"/api/tickets/{code}/release", json="hi").status_code == 400
    assert described("get", f"/api/tickets/{code}", user=None).status_code == 401
    for action in ("claim", "release", "notes", "outcome"):
        assert described("post", f"/api/tickets/{code}/{action}", user=None).status_code == 401

    # Every answer the description promises was produced by a real call above.
    promised = {
        (path, method, int(status))
        for path, operations in described.spec["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        for status in operation["responses"]
    }
    assert promised - described.seen == set()
