"""The declarative base every model derives from.

Flask-SQLAlchemy builds `db.Model` at run time (a subclass of the project's `Base` with its
query helpers), which a type checker cannot see as a class; it sees `Base`, whose `Mapped`
columns it understands. No model uses the query helpers (`Model.query`), so the two agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..extensions import Base, db

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
