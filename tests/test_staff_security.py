"""The dashboard's defences (docs/dashboard-security.md): stored data is never translated
(escaped, labelled from fixed tables), a session ends at logout even for a copied cookie,
every response carries the security headers, and bad input is a 400, never a 500.

Flask's TESTING mode propagates exceptions: a view that would answer 500 raises here.
"""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest
from babel.support import Translations
from jinja2 import nodes
from markupsafe import Markup
from sqlalchemy import select

from hotline.extensions import db
from hotline.ivr.call_status import callback_for_unfinished_call
from hotline.models import (
    Call,
    Channel,
    Outcome,
    Role,
    Staff,
    Team,
    Ticket,
    TicketEvent,
    TicketReason,
    TicketStatus,
    TranscriptionStatus,
)
from hotline.staff import accounts, labels
from hotline.staff.headers import CONTENT_SECURITY_POLICY
from hotline.staff.queue import STATUS_FILTERS
from hotline.staff.reports import DIMENSIONS, PERIODS
from hotline.tickets import create_ticket
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import PASSWORD, csrf_from, fresh_request_globals

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "hotline" / "templates"
MARKUP = "<img src=x onerror=alert(1)>"
FORMAT = "%(boom)s"


def staff(username: str) -> Staff:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def assert_escaped(html: str) -> None:
    assert "<img" not in html.lower() and "<i>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- stored data is never translated -----------------------------------------------------


def test_a_signed_recording_status_carrying_markup_shows_escaped(world, twilio, login):
    phone = "+84912555301"
    world.resident(phone, world.village_a)
    call = Call(call_sid="CA" + uuid.uuid4().hex, phone=phone, status="completed")
    db.session.add(call)
    callback_for_unfinished_call(call, "dropped_call")
    db.session.commit()
    code, call_sid = call.ticket.code, call.call_sid
    for status in (MARKUP, FORMAT):
        response = twilio.post(
            "/twilio/recording",
            {"CallSid": call_sid, "RecordingSid": "RE" + uuid.uuid4().hex, "RecordingStatus": status},
        )
        assert response.status_code == 204
    ticket = db.session.scalar(select(Ticket).where(Ticket.code == code))
    # The edge refuses a status Twilio never sends (hotline.webhook_input): nothing is stored…
    assert not any(MARKUP in e.kind or FORMAT in e.kind for e in ticket.events)
    # …and rows that hold such a kind anyway (older versions stored them) still show escaped.
    for status in (MARKUP, FORMAT):
        ticket.events.append(TicketEvent(kind=f"recording_{status}", message="a recording", actor="system"))
    db.session.commit()

    response = login("thu").get(f"/staff/t/{code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_escaped(html)
    assert "khác (recording_&lt;img src=x onerror=alert(1)&gt;)" in html
    assert "khác (recording_%(boom)s)" in html


def test_stored_keys_carrying_markup_show_escaped_on_every_page(world, login):
    ticket = world.ticket(world.village_a, topic=MARKUP + FORMAT, reason=MARKUP)
    ticket.channel = "<i>" + FORMAT + "</i>"
    ticket.events.append(TicketEvent(kind=MARKUP, message="a line", actor="system"))  # stored rows
    ticket.events.append(TicketEvent(kind=FORMAT, message="another line", actor="system"))
    db.session.commit()
    code = ticket.code
    lead = login("thu")
    for path in (
        f"/staff/t/{code}",
        "/staff/",
        "/staff/?partial=1",
        "/staff/reports?by=topic",
        "/staff/reports?by=channel",
    ):
        response = lead.get(path)
        assert response.status_code == 200, path
        assert "<i>" not in response.get_data(as_text=True), path
    assert_escaped(lead.get(f"/staff/t/{code}").get_data(as_text=True))
    assert_escaped(lead.get("/staff/").get_data(as_text=True))
    assert "&lt;i&gt;%(boom)s&lt;/i&gt;" in lead.get("/staff/reports?by=channel").get_data(as_text=True)

    # A closed request with an outcome and a status nobody planned for.
    ticket = db.session.get(Ticket, ticket.id)
    ticket.status, ticket.outcome = "<i>" + FORMAT + "</i>", FORMAT
    db.session.commit()
    page = lead.get(f"/staff/t/{code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "khác (&lt;i&gt;%(boom)s&lt;/i&gt;)" in html and "khác (%(boom)s)" in html


def test_a_staff_role_nobody_planned_for_shows_escaped(world, login):
    lead = login("thu")
    staff("thu").role = "<i>" + FORMAT + "</i>"
    db.session.commit()
    response = lead.get("/staff/")
    assert response.status_code == 200
    assert "khác (&lt;i&gt;%(boom)s&lt;/i&gt;)" in response.get_data(as_text=True)


def test_known_keys_read_vietnamese(world, login):
    ticket = world.ticket(world.village_a, topic="pension_allowance", reason="missed_call")
    html = login("thu").get(f"/staff/t/{ticket.code}").get_data(as_text=True)
    for words in ("lương hưu, trợ cấp xã hội", "cuộc gọi nhỡ", "mới", "tạo yêu cầu", "tổ trưởng"):
        assert words in html, words
    for key in ("pension_allowance", "missed_call", ">open<", ">created<", ">lead<"):
        assert key not in html, key


def test_label_is_plain_text_and_names_an_unknown_key(app):
    with app.test_request_context():
        known, unknown = labels.label("status", "resolved"), labels.label("kind", MARKUP)
        assert known == "đã giải quyết" and unknown == f"khác ({MARKUP})"
        assert type(known) is str and type(unknown) is str and not isinstance(unknown, Markup)
        assert labels.label("topic", None) == "—"
        assert labels.label("topic", ["not", "a", "key"]) == "khác (['not', 'a', 'key'])"


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        (labels.STATUSES, [s.value for s in TicketStatus]),
        (labels.REASONS, [r.value for r in TicketReason]),
        (labels.CHANNELS, [c.value for c in Channel]),
        (labels.ROLES, [r.value for r in Role]),
        (labels.OUTCOMES, [o.value for o in Outcome]),
        (labels.TRANSCRIPTION_STATUSES, [s.value for s in TranscriptionStatus]),
        (labels.QUEUE_FILTERS, list(STATUS_FILTERS)),
        (labels.DIMENSIONS, list(DIMENSIONS)),
        (labels.PERIODS, list(PERIODS)),
    ],
    ids=["status", "reason", "channel", "role", "outcome", "transcription", "filter", "by", "period"],
)
def test_every_key_of_an_enum_has_a_label(table, keys):
    assert [k for k in keys if k not in table] == []


def test_every_topic_the_flows_can_set_has_a_label():
    import yaml

    menu = (ROOT / "ivr_flows" / "main.yaml").read_text(encoding="utf-8")
    topics = set(re.findall(r"\btopic:\s*([a-z_]+)", menu))
    sms = yaml.safe_load((ROOT / "ivr_flows" / "sms" / "keywords.yaml").read_text(encoding="utf-8"))
    topics |= set(sms["topics"])
    assert len(topics) > 8
    assert sorted(topics - set(labels.TOPICS)) == []


def test_every_label_is_translated_in_the_compiled_catalogue():
    """The .mo is committed: a label added to the .po but not compiled would read English."""
    catalogue = Translations.load(str(ROOT / "hotline" / "translations"), ["vi"])
    msgids = {label._args[0] for table in labels.GROUPS.values() for label in table.values()}
    msgids.add("other (%(value)s)")
    untranslated = sorted(m for m in msgids if catalogue.gettext(m) == m and m != "SMS")
    assert untranslated == []


TRANSLATORS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l", "lazy_gettext", "lazy_ngettext"}


def template_violations(templates: Path) -> list[str]:
    """Calls of a translation function in templates whose message is not a literal."""
    from jinja2 import Environment

    env = Environment(extensions=["jinja2.ext.i18n"])
    found = []
    for path in sorted(templates.rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            name = getattr(call.node, "name", None)
            if name in TRANSLATORS and not (call.args and isinstance(call.args[0], nodes.Const)):
                found.append(f"{path.relative_to(templates)}:{call.lineno}")
    return found


def python_violations(package: Path) -> list[str]:
    """The same in Python code (migrations aside)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
            if name not in TRANSLATORS:
                continue
            first = call.args[0] if call.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                found.append(f"{path.relative_to(package)}:{call.lineno}")
    return found


def test_no_template_translates_a_variable():
    """`_(x)` with anything but a literal would mark stored data safe and %-format it."""
    assert template_violations(TEMPLATES) == []


def test_no_python_code_translates_a_variable():
    assert python_violations(ROOT / "hotline") == []


def test_the_translation_guards_find_a_variable(tmp_path):
    (tmp_path / "bad.html").write_text("{{ _('fine') }}\n{{ _(e.kind) }} {{ gettext(x ~ 'y') }}", "utf-8")
    (tmp_path / "bad.py").write_text("_('fine')\n_(kind)\ngettext(f'{x}')\nflask_babel.gettext(x)\n", "utf-8")
    assert template_violations(tmp_path) == ["bad.html:2", "bad.html:2"]
    assert python_violations(tmp_path) == ["bad.py:2", "bad.py:3", "bad.py:4"]


# --- a session ends at logout -------------------------------------------------------------


def cookie_of(client) -> str:
    return client.get_cookie("session").value


def client_with(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def get(client, path, **kw):
    fresh_request_globals()
    return client.get(path, **kw)


def test_a_cookie_copied_before_logout_is_refused_after(app, world, login):
    lead = login("thu")
    copied = cookie_of(lead.client)
    assert get(client_with(app, copied), "/staff/").status_code == 200
    other_device = login("thu")

    assert lead.post("/staff/logout").status_code == 302
    replay = client_with(app, copied)
    response = get(replay, "/staff/")
    assert response.status_code == 302 and response.location.startswith("/staff/login")
    fetch = get(replay, "/staff/?partial=1", headers={"X-Requested-With": "fetch"})
    assert fetch.status_code == 401 and fetch.json["error"] == "unauthorized"
    assert get(replay, "/api/tickets").status_code == 401  # the API never takes a cookie
    # Logout ends the person's sessions on every device.
    assert other_device.get("/staff/").status_code == 302
    # Logging in again gives a new session; the copied cookie stays dead.
    again = login("thu")
    assert again.get("/staff/").status_code == 200
    assert get(client_with(app, copied), "/staff/").status_code == 302
    # The login page says why, in Vietnamese.
    login_page = get(replay, "/staff/login").get_data(as_text=True)
    assert "Hãy đăng nhập để xem trang này." in login_page


def test_a_new_password_ends_the_old_sessions(app, world, login):
    volunteer = login("lan")
    copied = cookie_of(volunteer.client)
    accounts.set_password(staff("lan"), "a brand new password")
    db.session.commit()
    assert get(client_with(app, copied), "/staff/").status_code == 302
    assert volunteer.get("/staff/").status_code == 302


def test_a_signed_cookie_naming_only_the_id_is_refused(app, world, login):
    """What a session from before nonces carried, or a forger who guessed the format."""
    lead = login("thu")
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie_of(lead.client))
    assert data["_user_id"] == f"{staff('thu').id}:{staff('thu').session_nonce}"
    for user_id in (str(staff("thu").id), f"{staff('thu').id}:", f"{staff('thu').id}:{'0' * 32}", "x:y"):
        forged = serializer.dumps({**data, "_user_id": user_id})
        assert get(client_with(app, forged), "/staff/").status_code == 302, user_id


def test_a_deactivated_account_is_logged_out(app, world, login):
    volunteer = login("lan")
    staff("lan").active = False
    db.session.commit()
    assert volunteer.get("/staff/").status_code == 302


def login_with_next(app, target: str):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    fresh_request_globals()
    form = {"username": "thu", "password": PASSWORD, "csrf_token": token}
    return client, client.post("/staff/login", query_string={"next": target}, data=form)


@pytest.mark.parametrize(
    "target", ["https://evil.example/staff/", "//evil.example/staff/", "/staff/\\evil", "/staff/\r\nX: y"]
)
def test_login_never_redirects_to_another_site(app, world, target):
    _, response = login_with_next(app, target)
    assert response.status_code == 302 and response.location == "/staff/"


def test_login_returns_to_the_page_asked_for_and_the_language_switch_stays_home(app, world):
    client, response = login_with_next(app, "/staff/reports?by=team")
    assert response.location == "/staff/reports?by=team"
    fresh_request_globals()
    token = csrf_from(client.get("/staff/").get_data(as_text=True))
    for referrer, back in (
        ("https://evil.example/staff/", "/staff/"),
        ("http://localhost/staff/reports?by=team", "/staff/reports?by=team"),
    ):
        fresh_request_globals()
        response = client.post(
            "/staff/lang", data={"lang": "vi", "csrf_token": token}, headers={"Referer": referrer}
        )
        assert response.status_code == 302 and response.location == back, referrer


# --- security headers ------------------------------------------------------------------


def assert_security_headers(response, *, secure: bool = False) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    policy = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert ("Strict-Transport-Security" in headers) is secure


def test_every_dashboard_page_carries_the_security_headers(app, world, login, tmp_path):
    ticket = world.ticket(world.village_a)
    code = ticket.code
    lead, admin = login("thu"), login("admin")
    pages = {
        "/staff/login": 200,
        "/staff/": 200,
        "/staff/?partial=1": 200,
        f"/staff/t/{code}": 200,
        "/staff/reports": 200,
        "/staff/reports.csv": 200,
        "/staff/t/000000": 404,
        "/staff/?team=x": 400,
    }
    for path, status in pages.items():
        response = lead.get(path)
        assert response.status_code == status, path
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store", path
    response = admin.get("/staff/admin")
    assert response.status_code == 200
    assert_security_headers(response)
    forbidden = lead.get("/staff/admin")
    assert forbidden.status_code == 403
    assert_security_headers(forbidden)
    for path in ("/static/staff/staff.js", "/static/staff/staff.css", "/healthz", "/api/tickets"):
        assert_security_headers(app.test_client().get(path))


def test_hsts_only_over_https(app, world):
    fresh_request_globals()
    assert_security_headers(app.test_client().get("/staff/login"), secure=False)
    fresh_request_globals()
    secure = app.test_client().get("/staff/login", base_url="https://hotline.example.org")
    assert_security_headers(secure, secure=True)
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_webhooks_carry_the_headers_too(twilio):
    response = twilio.post("/twilio/voice", {"CallSid": "CA" + uuid.uuid4().hex, "From": "+84912555302"})
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_templates_hold_no_inline_script_or_style():
    """What the policy would block: script bodies, on* handlers, style attributes and blocks."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path
        assert not re.search(r"\sstyle\s*=|<style", text, re.I), path
        assert "javascript:" not in text.lower(), path


# --- bad input is a 400, never a 500 ---------------------------------------------------------

TOO_BIG = "9" * 30


@pytest.fixture
def lead(world, login):
    return login("thu")


def bad_get_cases():
    return [
        ("/staff/?team=x", 400),
        (f"/staff/?team={TOO_BIG}", 400),
        ("/staff/?team=2147483648", 400),
        ("/staff/?village=²", 400),
        ("/staff/?village=-1", 400),
        ("/staff/?page=0", 400),
        ("/staff/?page=1.5", 400),
        ("/staff/?status=everything", 400),
        ("/staff/?channel=fax", 400),
        ("/staff/?topic=" + "x" * 65, 400),
        ("/staff/?topic=%00", 400),
        ("/staff/?partial=1&team=x", 400),
        ("/staff/reports?start=2026-13-01", 400),
        ("/staff/reports?end=yesterday", 400),
        ("/staff/reports?start=0001-01-01", 400),
        ("/staff/reports?end=9999-12-31", 400),
        ("/staff/reports?by=everything", 400),
        ("/staff/reports?period=year", 400),
        ("/staff/reports.csv?start=x", 400),
        ("/staff/reports.csv?by=x", 400),
        ("/staff/reports?endpoint=x&_external=1&_scheme=javascript&_anchor=a&_method=GET", 200),
        ("/staff/reports.csv?endpoint=x&_external=1", 200),
        ("/staff/t/%00", 400),
        ("/staff/t/" + "1" * 300, 404),
        (f"/staff/t/{{code}}/voice/{TOO_BIG}", 404),
        ("/staff/t/{code}?x=%00", 400),
    ]


@pytest.mark.parametrize(("path", "status"), bad_get_cases())
def test_bad_query_arguments_are_400(world, lead, path, status):
    code = world.ticket(world.village_a).code
    response = lead.get(path.format(code=code))
    assert response.status_code == status
    if status == 400:
        assert "Có giá trị không hợp lệ" in response.get_data(as_text=True)


def test_page_links_never_echo_url_builder_arguments(world, lead):
    for _ in range(51):
        create_ticket(phone=None, channel="sms", reason="sms", topic="vneid")
    tickets = db.session.scalars(select(Ticket)).all()
    for ticket in tickets:
        ticket.team_id = world.team_a.id
    db.session.commit()
    response = lead.get("/staff/?page=2&endpoint=x&_external=1&_scheme=javascript&_anchor=a&topic=vneid")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/staff/?status=active&amp;topic=vneid&amp;page=1"' in html
    assert "javascript" not in html and "#a" not in html
    report = lead.get("/staff/reports?_external=1&_scheme=javascript&start=2026-01-01&end=2026-01-31")
    assert 'href="/staff/reports.csv?start=2026-01-01&amp;end=2026-01-31&amp;by=none&amp;period=week"' in (
        report.get_data(as_text=True)
    )


def bad_post_cases():
    """(path, form, expected status, flash a redirect carries)."""
    return [
        ("/staff/t/{code}/reassign", {"staff_id": "x"}, 400, None),
        ("/staff/t/{code}/reassign", {"staff_id": TOO_BIG}, 400, None),
        ("/staff/t/{code}/reassign", {"staff_id": ""}, 302, "Hãy chọn người."),
        ("/staff/t/{code}/outcome", {"outcome": "maybe"}, 400, None),
        ("/staff/t/{code}/outcome", {}, 302, "Hãy chọn kết quả."),
        ("/staff/t/{code}/outcome", {"outcome": "home_visit", "visit_on": "soon"}, 302, "Hãy chọn ngày"),
        ("/staff/t/{code}/outcome", {"outcome": "home_visit", "visit_on": "9999-12-31"}, 302,
         "Hãy chọn ngày"),
        ("/staff/t/{code}/outcome", {"outcome": "home_visit", "visit_on": "2030-01-01", "volunteer_id": "x"},
         400, None),
        ("/staff/t/{code}/outcome", {"outcome": "transferred", "team_id": "x"}, 400, None),
        ("/staff/t/{code}/outcome", {"outcome": "transferred", "team_id": ""}, 302, "Hãy chọn tổ."),
        ("/staff/t/{code}/outcome", {"outcome": "resolved", "note": "a\x00b"}, 400, None),
        ("/staff/t/{code}/outcome", {"outcome": "resolved", "note": "x" * 4001}, 400, None),
        ("/staff/t/{code}/village", {"village_id": "x"}, 400, None),
        ("/staff/t/{code}/village", {"village_id": "0"}, 400, None),
        ("/staff/t/{code}/village", {"village_id": ""}, 302, "Hãy chọn thôn."),
        ("/staff/t/{code}/note", {"text": "a\x00b"}, 400, None),
        ("/staff/lang", {"lang": "klingon"}, 400, None),
        ("/staff/claim-next?x=%00", {}, 400, None),
    ]


@pytest.mark.parametrize(("path", "form", "status", "flash"), bad_post_cases())
def test_bad_form_values_are_400_or_a_flash(world, lead, path, form, status, flash):
    ticket = world.ticket(world.village_a)
    code = ticket.code
    events_before = len(ticket.events)
    response = lead.post(path.format(code=code), data=form)
    assert response.status_code == status
    if flash:
        assert flash in lead.get(response.location).get_data(as_text=True)
    if status == 400:
        assert "Có giá trị không hợp lệ" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Ticket, ticket.id).events) == events_before


def test_bad_login_and_admin_values_are_400(app, world, login):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    fresh_request_globals()
    response = client.post("/staff/login", data={"username": "thu\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 400

    admin = login("admin")
    village, person = world.village_a, staff("lan")
    cases = [
        (f"/staff/admin/village/{village.id}", {"team_id": "x"}, 400),
        (f"/staff/admin/village/{village.id}", {"team_id": "999999"}, 400),
        (f"/staff/admin/village/{TOO_BIG}", {"team_id": ""}, 404),
        (f"/staff/admin/staff/{person.id}", {"role": "king"}, 400),
        (f"/staff/admin/staff/{person.id}", {"role": "volunteer", "team_id": "x"}, 400),
        (f"/staff/admin/staff/{person.id}", {"role": "volunteer", "phone": "0" * 41}, 400),
        (f"/staff/admin/staff/{TOO_BIG}", {"role": "volunteer"}, 404),
    ]
    for path, form, status in cases:
        assert admin.post(path, data=form).status_code == status, (path, form)
    db.session.expire_all()
    assert staff("lan").role == Role.VOLUNTEER and world.village_a.team_id == world.team_a.id


def test_a_csv_import_holding_nul_is_refused_with_a_message(world, login):
    import io

    admin = login("admin")
    response = admin.post(
        "/staff/admin/import",
        data={"kind": "teams", "file": (io.BytesIO(b"code,name\nT09,T\x00 9\n"), "teams.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "Tệp không phải văn bản UTF-8" in admin.get(response.location).get_data(as_text=True)
    assert db.session.scalar(select(Team).where(Team.code == "T09")) is None


# --- the JSON API -----------------------------------------------------------------------------


@pytest.fixture
def api(app, world):
    token = accounts.new_api_token(staff("thu"), actor="test")
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    class Caller:
        def get(self, path):
            return client.get(path, headers=headers)

        def post(self, path, **kw):
            return client.post(path, headers=headers, **kw)

    return Caller()


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/tickets?team=x", "team"),
        (f"/api/tickets?village={TOO_BIG}", "village"),
        ("/api/tickets?status=everything", "status"),
        ("/api/tickets?channel=fax", "channel"),
        ("/api/tickets?page=-2", "page"),
        ("/api/tickets?topic=%00", "topic"),
        ("/api/tickets/%00", "code"),
    ],
)
def test_api_bad_query_arguments_are_400_json(api, path, field):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json["error"] == "bad_argument" and response.json["field"] == field


@pytest.mark.parametrize(
    ("action", "payload", "error"),
    [
        ("notes", [1, 2], "bad_json"),
        ("notes", "a string", "bad_json"),
        ("notes", {"text": {"a": 1}}, "bad_argument"),
        ("notes", {"text": 5}, "bad_argument"),
        ("notes", {"text": "a\u0000b"}, "bad_argument"),
        ("outcome", {"outcome": "resolved", "note": 5}, "bad_argument"),
        ("outcome", {"outcome": "resolved", "note": "a\u0000b"}, "bad_argument"),
        ("outcome", {"outcome": ["resolved"]}, "bad_outcome"),
        ("outcome", {"outcome": "home_visit", "visit_on": "9999-12-31"}, "bad_date"),
        ("outcome", {"outcome": "home_visit", "visit_on": 20300101}, "bad_date"),
        ("outcome", {"outcome": "home_visit", "visit_on": "2030-01-01", "volunteer": ["x"]}, "bad_argument"),
        ("outcome", {"outcome": "transferred", "team": {"code": "T02"}}, "bad_argument"),
    ],
)
def test_api_bad_bodies_are_400_json(world, api, action, payload, error):
    code = world.ticket(world.village_a).code
    response = api.post(f"/api/tickets/{code}/{action}", json=payload)
    assert response.status_code == 400 and response.json["error"] == error


def test_api_body_that_is_not_json_is_400(world, api):
    code = world.ticket(world.village_a).code
    response = api.post(f"/api/tickets/{code}/notes", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "bad_json"


# --- the migration ------------------------------------------------------------------------------


def test_the_migration_gives_every_account_its_own_nonce(empty_database_url, redis_url, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from tests.conftest import make_app

    app = make_app(tmp_path, empty_database_url, redis_url)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0006")
        for username in ("a", "b"):
            db.session.execute(
                text("INSERT INTO staff (username, name, role, language, active, created_at) "
                     "VALUES (:u, :u, 'volunteer', 'vi', true, CURRENT_TIMESTAMP)"),
                {"u": username},
            )
        db.session.commit()
        upgrade(directory=directory)
        nonces = db.session.execute(text("SELECT session_nonce FROM staff")).scalars().all()
        assert len(nonces) == 2 and len(set(nonces)) == 2 and all(len(n) == 32 for n in nonces)
        db.session.remove()
        downgrade(directory=directory, revision="0006")
        columns = db.session.execute(text("SELECT * FROM staff")).keys()
        assert "session_nonce" not in columns
        db.session.remove()
        db.engine.dispose()


def test_a_recording_is_cached_by_this_browser_only(app, world, login):
    from hotline.models import Transcription
    from hotline.voicemail import record_voice_message

    ticket = record_voice_message(
        call_sid=None, from_number="+84912555303", recording_sid="RE" + uuid.uuid4().hex,
        recording_url="https://api.twilio.com/rec/x", duration=1, language="vi",
    )
    row = db.session.scalar(select(Transcription).where(Transcription.ticket_id == ticket.id))
    row.audio_path = "recordings/x.wav"
    db.session.commit()
    path = Path(app.config["DATA_DIR"]) / "recordings" / "x.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    response = login("thu").get(f"/staff/t/{ticket.code}/voice/{row.voice_message_id}")
    assert response.status_code == 200
    assert_security_headers(response)
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "public" not in cache
