"""Staff accounts: argon2 passwords, a login rate limit, per-user API tokens, sessions.

Failed logins are rows (not Redis keys) so the limit holds across every web
process and still works while Redis is down. Two limits, within
STAFF_LOGIN_WINDOW_MINUTES (docs/dashboard-security.md):

- **The account being guessed** is locked after STAFF_LOGIN_MAX_FAILURES failures, from
  any address: even the right password is refused until the window passes or an admin
  unlocks it (`unlock`, the admin's "Accounts" page).
- **The guessing address** is locked after STAFF_LOGIN_MAX_FAILURES_PER_ADDRESS failures:
  from then on it may not try again any account it has already failed on. A colleague on
  the same office network (one address behind the commune's router) whose account has not
  failed from there still gets in with the right password, so one person's typing cannot
  lock the whole office out, while a guesser spraying passwords across accounts gets one
  try per account.

A dashboard session is Flask's signed cookie, which the server cannot delete. So the
cookie names the staff member *and* their session nonce (`Staff.get_id()` is
"id:nonce"), and `load_session_user` accepts it only while the nonce is still the one
stored. Logging out or changing the password draws a new nonce: every cookie issued
before, on every device, stops working at once.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import LoginFailure, Role, Staff, utcnow
from ..models.staff import new_session_nonce
from . import audit

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so timing does not tell.
    Made on the first login, not at import: hashing takes a quarter of a second."""
    return _hasher.hash("not a password")


class LoginRefused(Exception):
    """Wrong credentials, or too many recent failures (`throttled`): `locked` says which
    limit, "account" or "address"."""

    def __init__(self, throttled: bool = False, locked: str | None = None):
        super().__init__(f"locked ({locked})" if throttled else "bad credentials")
        self.throttled = throttled
        self.locked = locked


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(staff: Staff, password: str) -> None:
    """A new password also ends every session opened with the old one."""
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    staff.password_hash = hash_password(password)
    end_sessions(staff)


def end_sessions(staff: Staff) -> None:
    """Every session cookie issued to `staff` so far stops working (logout, new password)."""
    staff.session_nonce = new_session_nonce()


def load_session_user(user_id: str) -> Staff | None:
    """Flask-Login's user loader: the active staff member whose current nonce the cookie
    carries; None (logged out) for a cookie from before a logout, or from an older release
    that stored the bare id."""
    number, _, nonce = user_id.partition(":")
    if not number.isascii() or not number.isdigit() or len(number) > 10 or not nonce:
        return None
    staff = db.session.get(Staff, int(number))
    if staff is None or not staff.active or not staff.session_nonce:
        return None
    return staff if secrets.compare_digest(staff.session_nonce, nonce) else None


def _window_start():
    return utcnow() - timedelta(minutes=int(current_app.config["STAFF_LOGIN_WINDOW_MINUTES"]))


def _failures(*conditions) -> int:
    return db.session.execute(
        select(func.count()).select_from(LoginFailure).where(
            LoginFailure.created_at >= _window_start(), *conditions
        )
    ).scalar_one()


def lock_reason(username: str, ip: str | None) -> str | None:
    """Why a login is refused before its password is checked: "account" (`username` is
    locked), "address" (`ip` is locked and has failed on `username`), or None."""
    if _failures(LoginFailure.username == username) >= int(current_app.config["STAFF_LOGIN_MAX_FAILURES"]):
        return "account"
    if ip and _failures(LoginFailure.ip == ip) >= int(
        current_app.config["STAFF_LOGIN_MAX_FAILURES_PER_ADDRESS"]
    ) and _failures(LoginFailure.ip == ip, LoginFailure.username == username):
        return "address"
    return None


def locked_usernames() -> list[str]:
    """The accounts locked now (for the admin's "Accounts" page)."""
    rows = db.session.execute(
        select(LoginFailure.username)
        .where(LoginFailure.created_at >= _window_start())
        .group_by(LoginFailure.username)
        .having(func.count() >= int(current_app.config["STAFF_LOGIN_MAX_FAILURES"]))
    )
    return sorted(row[0] for row in rows)


def unlock(username: str, actor: str) -> int:
    """Forget the failed logins on `username` (from every address): the account and every
    address's lock on it end at once. Returns how many were forgotten."""
    result = db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    audit.record(actor, "login_unlocked", username)
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(username: str, password: str, ip: str | None) -> Staff:
    """The staff member these credentials belong to; raises LoginRefused otherwise.

    A refusal writes nothing: the login fails, so its unit of work rolls back, and the
    edge counts the failure in a unit of its own (`record_failed_login`)."""
    username = username.strip().lower()
    locked = lock_reason(username, ip)
    if locked:
        raise LoginRefused(throttled=True, locked=locked)
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    try:
        _hasher.verify(staff.password_hash if staff and staff.password_hash else _dummy_hash(), password)
        ok = staff is not None and staff.password_hash is not None and staff.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or staff is None or staff.password_hash is None:
        raise LoginRefused()
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    if not staff.session_nonce:
        end_sessions(staff)  # a row from before session nonces: give it one to sign in with
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    audit.record(staff.username, "login")
    return staff


def record_failed_login(username: str, ip: str | None) -> None:
    """Count a refused login (wrong credentials) towards the limit, and audit it; old rows go."""
    username = username.strip().lower()[:64]
    db.session.execute(delete(LoginFailure).where(LoginFailure.created_at < _window_start()))
    db.session.add(LoginFailure(username=username, ip=ip))
    audit.record(username or "?", "login_failed")


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(staff: Staff, actor: str) -> str:
    """Issue a fresh token (the previous one stops working); shown once, stored hashed."""
    token = "hl_" + secrets.token_urlsafe(32)
    staff.api_token_hash = _token_digest(token)
    audit.record(actor, "api_token_issued", staff.username)
    return token


def staff_for_token(token: str) -> Staff | None:
    if not token:
        return None
    staff = db.session.scalar(select(Staff).where(Staff.api_token_hash == _token_digest(token)))
    return staff if staff is not None and staff.active else None


def create_staff(
    *,
    username: str,
    name: str,
    role: str = Role.VOLUNTEER,
    team_id: int | None = None,
    phone: str | None = None,
    password: str | None = None,
    actor: str = "cli",
) -> Staff:
    staff = Staff(username=username.strip().lower(), name=name, role=Role(role), team_id=team_id, phone=phone)
    if password:
        set_password(staff, password)
    db.session.add(staff)
    audit.record(actor, "staff_created", staff.username, role=str(role))
    return staff
