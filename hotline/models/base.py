"""The declarative base every model derives from, and the one column type for moments.

Flask-SQLAlchemy builds `db.Model` at run time (a subclass of the project's `Base` with its
query helpers), which a type checker cannot see as a class; it sees `Base`, whose `Mapped`
columns it understands. No model uses the query helpers (`Model.query`), so the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, TypeDecorator

from .. import clock
from ..extensions import Base, db

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def utcnow() -> datetime:
    """Now, from the hotline's one injectable clock (hotline.clock)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both SQLite (which forgets the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use hotline.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
