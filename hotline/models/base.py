"""The declarative base every model derives from; the one column type for moments
(`UTCDateTime`, from hotline/sql_types.py).

Flask-SQLAlchemy builds `db.Model` at run time (a subclass of the project's `Base` with its
query helpers), which a type checker cannot see as a class; it sees `Base`, whose `Mapped`
columns it understands. No model uses the query helpers (`Model.query`), so the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .. import clock
from ..extensions import Base, db
from ..sql_types import UTCDateTime

__all__ = ["Model", "UTCDateTime", "utcnow"]

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def utcnow() -> datetime:
    """Now, from the hotline's one injectable clock (hotline.clock)."""
    return clock.now()
