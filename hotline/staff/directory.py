"""Who is staff: used by SMS commands from field volunteers and by "verify a number"."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Staff
from ..phones import to_e164


def staff_by_phone(phone_e164: str | None) -> Staff | None:
    """The active staff member registered with this number, or None."""
    if not phone_e164:
        return None
    phone = to_e164(phone_e164) or phone_e164
    return db.session.scalar(select(Staff).where(Staff.phone == phone, Staff.active.is_(True)))
