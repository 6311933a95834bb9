"""What an admin does from the dashboard's settings pages, besides CSV imports: add a staff
account, set a new password, add a team or a village.

Each function checks its input and raises `Refused(field, reason)` before writing anything;
the page shows the reason in the admin's language (hotline/staff/admin_views.py). The
functions flush, never commit: the page's unit of work does.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, Staff, Team, Village
from ..phones import to_e164
from . import accounts, audit

#: Usernames are typed on a phone: lowercase letters, digits, dot, dash, underscore.
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: Team and village codes as the CSV imports use them (T01, V07, BON-BU-DANG…).
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class Refused(Exception):
    """An input the admin must change; `reason` is a key the page translates."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def add_account(
    *, username: str, name: str, role: str, team: Team | None, phone: str, password: str, actor: str
) -> Staff:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise Refused("username", "bad_username")
    if db.session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise Refused("username", "username_taken")
    if not name.strip() or len(name.strip()) > 120:
        raise Refused("name", "empty")
    if role not in {r.value for r in Role}:
        raise Refused("role", "bad_role")
    number = to_e164(phone) if phone.strip() else None
    if phone.strip() and number is None:
        raise Refused("phone", "bad_phone")
    if number and db.session.scalar(select(Staff.id).where(Staff.phone == number)) is not None:
        raise Refused("phone", "phone_taken")
    if len(password) < 8:
        raise Refused("password", "short_password")
    staff = accounts.create_staff(
        username=username, name=name.strip(), role=role, team_id=team.id if team else None,
        phone=number, password=password, actor=actor,
    )
    db.session.flush()
    return staff


def reset_password(staff: Staff, password: str, actor: str) -> None:
    """A new password; every session of the person ends (accounts.set_password), and the
    failed logins on the account are forgotten, so it is unlocked too."""
    if len(password) < 8:
        raise Refused("password", "short_password")
    accounts.set_password(staff, password)
    accounts.unlock(staff.username, actor)
    audit.record(actor, "password_reset", staff.username)


def add_team(*, code: str, name: str, actor: str) -> Team:
    code, name = code.strip(), name.strip()
    if not CODE.match(code):
        raise Refused("code", "bad_code")
    if db.session.scalar(select(Team.id).where(func.lower(Team.code) == code.lower())) is not None:
        raise Refused("code", "code_taken")
    if not name or len(name) > 120:
        raise Refused("name", "empty")
    team = Team(code=code, name=name)
    db.session.add(team)
    audit.record(actor, "team_added", code, name=name)
    db.session.flush()
    return team


def add_village(*, code: str, name: str, team: Team | None, actor: str) -> Village:
    code, name = code.strip(), name.strip()
    if not CODE.match(code):
        raise Refused("code", "bad_code")
    if db.session.scalar(select(Village.id).where(func.lower(Village.code) == code.lower())) is not None:
        raise Refused("code", "code_taken")
    if not name or len(name) > 120:
        raise Refused("name", "empty")
    village = Village(code=code, name=name, team_id=team.id if team else None)
    db.session.add(village)
    audit.record(actor, "village_added", code, name=name, team=team.code if team else None)
    db.session.flush()
    return village
