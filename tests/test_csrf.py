"""CSRF: Flask-WTF's CSRFProtect guards every POST of the app, except the blueprints listed
here, whose callers prove who they are another way (hotline/__init__.py: protect_forms)."""

from __future__ import annotations

import logging

from hotline.extensions import db
from tests.staff_fixtures import *  # noqa: F403
from tests.staff_fixtures import csrf_from, fresh_request_globals

#: The only blueprints whose POSTs need no CSRF token, and why. A new one goes here only
#: with a reason as good as these.
EXEMPT = {
    "voice": "Twilio's voice webhooks: X-Twilio-Signature",
    "recordings": "Twilio's recording status callback: X-Twilio-Signature",
    "sms_twilio": "Twilio's SMS webhooks: X-Twilio-Signature",
    "sms_gateway": "SMS Gateway for Android: its signature headers",
    "api": "the JSON API: a staff member's bearer token, which a browser never sends by itself",
}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FRIENDLY = "Biểu mẫu đã hết hạn. Tải lại trang rồi thử lại."


def refused_for_csrf(caplog, client, method: str, url: str, **request) -> tuple[bool, object]:
    """Did CSRFProtect refuse this request? It logs each refusal (flask_wtf.csrf, INFO)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="flask_wtf.csrf"):
        fresh_request_globals()
        response = client.open(url, method=method, **request)
    refused = any(record.name == "flask_wtf.csrf" for record in caplog.records)
    return refused, response


def test_every_post_route_needs_the_csrf_token_unless_its_blueprint_is_exempt(app, world, login, caplog):
    ticket = world.ticket(world.village_a)
    admin = login("admin")
    values = {"code": ticket.code, "village_id": world.village_a.id, "staff_id": world.vol_a.id, "take_id": 1}
    urls = app.url_map.bind("localhost")
    seen_blueprints = set()
    checked = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & UNSAFE):
            missing = rule.arguments - values.keys()
            assert not missing, f"{rule.rule}: give the test a value for {missing}"
            url = urls.build(rule.endpoint, {name: values[name] for name in rule.arguments}, method=method)
            blueprint = rule.endpoint.rpartition(".")[0]
            seen_blueprints.add(blueprint)
            refused, response = refused_for_csrf(caplog, admin.client, method, url, data={})
            where = f"{method} {rule.rule}"
            if blueprint in EXEMPT:
                assert not refused, f"{where} is exempt ({EXEMPT[blueprint]}) but was refused"
            else:
                assert refused and response.status_code == 400, f"{where} took a post without a token"
            checked.append((method, rule.rule, refused))
    db.session.rollback()
    assert EXEMPT.keys() <= seen_blueprints, "the exempt list names a blueprint with no POST route"
    assert any(refused for *_, refused in checked) and not all(refused for *_, refused in checked)
    # The dashboard's forms are among the protected ones, the providers' webhooks among the exempt.
    assert ("POST", "/staff/t/<code>/claim", True) in checked
    assert ("POST", "/twilio/voice", False) in checked
    assert ("POST", "/sms-gateway/webhook", False) in checked


def test_a_post_without_a_token_gets_the_friendly_page_and_changes_nothing(app, world, login, caplog):
    ticket = world.ticket(world.village_a)
    volunteer = login("lan")
    claim = f"/staff/t/{ticket.code}/claim"
    refused, response = refused_for_csrf(caplog, volunteer.client, "POST", claim, data={})
    assert refused and response.status_code == 400
    assert FRIENDLY in response.get_data(as_text=True)
    db.session.expire_all()
    assert ticket.assignee_id is None


def test_the_token_of_another_session_is_refused_and_the_header_works_for_fetch(app, world, login, caplog):
    ticket = world.ticket(world.village_a)
    volunteer = login("lan")
    stranger = app.test_client()  # another browser: the attacker's own session and token
    fresh_request_globals()
    their_token = csrf_from(stranger.get("/staff/login").get_data(as_text=True))
    assert their_token != volunteer.token
    refused, response = refused_for_csrf(caplog, volunteer.client, "POST", f"/staff/t/{ticket.code}/claim",
                                         data={"csrf_token": their_token})
    assert refused and response.status_code == 400
    db.session.expire_all()
    assert ticket.assignee_id is None

    # The queue's fetch() calls send the page's token in a header instead of the form.
    refused, response = refused_for_csrf(caplog, volunteer.client, "POST", f"/staff/t/{ticket.code}/claim",
                                         headers={"X-CSRFToken": volunteer.token})
    assert not refused and response.status_code in (200, 302), response.status_code
    db.session.expire_all()
    assert ticket.assignee_id == world.vol_a.id

