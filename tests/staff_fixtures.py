"""Fixtures for the response team's tests: teams, villages, staff, requests, logged-in clients."""

from __future__ import annotations

import functools
import re
from datetime import timedelta

import flask_babel
import pytest
from flask import g

from hotline.extensions import db
from hotline.models import Resident, Role, Team, Ticket, Village, utcnow
from hotline.staff import accounts
from hotline.tickets import create_ticket

#: Fixtures a test module gets with `from tests.staff_fixtures import *`.
__all__ = ["world", "login"]

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """argon2 is slow on purpose: hash the shared test password once per session."""
    return accounts.hash_password(PASSWORD)


class World:
    """Two teams with a village each, and a volunteer, a lead and an admin.

    Attributes are looked up by id on each access, so they stay usable after a worker
    run or a request has closed the session that loaded them.
    """

    def __init__(self):
        team_a = Team(code="T01", name="Tổ 1")
        team_b = Team(code="T02", name="Tổ 2")
        village_a = Village(code="V01", name="Thôn 1", team=team_a)
        village_b = Village(code="V02", name="Bon Bu Dăng", team=team_b)
        db.session.add_all([team_a, team_b, village_a, village_b])
        db.session.flush()
        rows = {
            "team_a": team_a,
            "team_b": team_b,
            "village_a": village_a,
            "village_b": village_b,
            "vol_a": self.person("lan", "Nguyễn Thị Lan", Role.VOLUNTEER, team_a, "+84911000001"),
            "vol_a2": self.person("hung", "Trần Văn Hùng", Role.VOLUNTEER, team_a, "+84911000003"),
            "vol_b": self.person("minh", "Lê Văn Minh", Role.VOLUNTEER, team_b, "+84911000002"),
            "lead_a": self.person("thu", "Phạm Thu", Role.LEAD, team_a, "+84911000004"),
            "admin": self.person("admin", "Quản trị", Role.ADMIN, None, None),
        }
        db.session.commit()
        self._rows = {name: (type(row), row.id) for name, row in rows.items()}

    def __getattr__(self, name):
        rows = self.__dict__.get("_rows", {})
        if name not in rows:
            raise AttributeError(name)
        model, row_id = rows[name]
        return db.session.get(model, row_id)

    def person(self, username, name, role, team, phone):
        staff = accounts.create_staff(
            username=username,
            name=name,
            role=role,
            team_id=team.id if team else None,
            phone=phone,
            actor="test",
        )
        staff.password_hash = password_hash()
        return staff

    def resident(self, phone: str, village: Village) -> Resident:
        resident = Resident(phone=phone, village_id=village.id)
        db.session.add(resident)
        db.session.flush()
        return resident

    def ticket(
        self,
        village: Village | None = None,
        *,
        phone: str | None = None,
        reason: str = "callback_requested",
        age_minutes: int = 0,
        topic: str | None = None,
        channel: str = "voice",
        elderly: bool = False,
    ) -> Ticket:
        self.count = getattr(self, "count", 0) + 1
        phone = phone or f"+8491{1000000 + self.count:07d}"
        if village is not None and db.session.query(Resident).filter_by(phone=phone).first() is None:
            self.resident(phone, village)
        ticket = create_ticket(phone=phone, channel=channel, reason=reason, topic=topic, language="vi")
        ticket.created_at = utcnow() - timedelta(minutes=age_minutes)
        ticket.elderly = elderly
        db.session.commit()
        return ticket


@pytest.fixture
def world(app):
    return World()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match[1]


def fresh_request_globals() -> None:
    """The `app` fixture keeps one app context open, so `g` outlives a request; in production
    every request has its own. Forget what Flask-Login and Flask-WTF cached in `g`."""
    for name in ("_login_user", "csrf_token"):
        g.pop(name, None)
    flask_babel.refresh()


class StaffClient:
    """A test client logged in as one staff member, posting forms with the CSRF token."""

    def __init__(self, app, username: str, password: str = PASSWORD):
        self.client = app.test_client()
        self.token = csrf_from(self.get("/staff/login").get_data(as_text=True))
        response = self.post("/staff/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf_from(self.get("/staff/").get_data(as_text=True))

    def get(self, path, **kw):
        fresh_request_globals()
        return self.client.get(path, **kw)

    def post(self, path, data=None, **kw):
        fresh_request_globals()
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kw)


@pytest.fixture
def login(app):
    def make(username: str, password: str = PASSWORD) -> StaffClient:
        return StaffClient(app, username, password)

    return make
