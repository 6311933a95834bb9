"""Extensions created once, unbound; `create_app` binds them.

`migrate` (Flask-Migrate, so Alembic) and `csrf` (Flask-WTF) are created on first use
(a module `__getattr__`): a command that needs only the database (`hotline tickets list`)
does not import them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_migrate import Migrate
    from flask_wtf.csrf import CSRFProtect

    migrate: Migrate
    csrf: CSRFProtect


def __getattr__(name: str):
    """`migrate` and `csrf`, created the first time they are asked for, then kept here."""
    if name == "migrate":
        from flask_migrate import Migrate

        globals()["migrate"] = Migrate()
    elif name == "csrf":
        from flask_wtf.csrf import CSRFProtect

        globals()["csrf"] = CSRFProtect()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return globals()[name]


def tune_sqlite(engine) -> None:
    """WAL lets the web, relay and worker processes read while one of them writes."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def drop_closed_connections(engine) -> None:
    """A pooled PostgreSQL connection the server has closed (a restart, an idle timeout) has
    something to read on its socket: the pool replaces it before use. This replaces
    pool_pre_ping, which cost every request three round trips with psycopg (BEGIN, SELECT 1,
    ROLLBACK); a connection that dies after the check fails its statement, and the voice
    webhooks run such a step again (hotline.ivr.engine.run_step)."""
    import select

    from sqlalchemy import event, exc

    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection, _record, _proxy) -> None:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
        if readable:
            raise exc.DisconnectionError("the database server closed this connection")
