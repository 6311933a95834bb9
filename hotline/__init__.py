"""hotline: a voice and SMS hotline for a rural commune's public-service teams.

Nothing is imported here at module level: `hotline --help` imports this package (for
hotline/cli.py) and should not pay for flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(
    test_config: dict | None = None, *, only_config: bool = False, require_database: bool = False
) -> Flask:
    """The app, step by step. `only_config` stops after the configuration: a command that only
    reads rows (`hotline tickets list`, hotline/cli.py) opens its own Core connection and starts
    in a fraction of the time. `require_database`: a command that works on rows raises
    config.NoDatabase, having created nothing, when there is no migrated database
    (hotline/cli.py says so in one line)."""
    from flask import Flask

    from .config import load_config

    app = Flask(__name__, instance_relative_config=False)
    load_config(app, test_config, require_database=require_database)
    if require_database:
        check_database(app)
    if only_config:
        protect_logs(app)
        return app
    register_database(app)
    register_extensions(app)
    register_blueprints(app)
    protect_forms(app)
    register_commands(app)
    trust_proxy(app)
    protect_logs(app)  # last: it learns every secret the steps above set (the SMS gateway's key)
    return app


def protect_logs(app: Flask) -> None:
    """Phone numbers masked and secrets removed from every log line (hotline/log_privacy.py)."""
    from . import log_privacy

    log_privacy.init_app(app)


def register_database(app: Flask) -> None:
    from .extensions import db, drop_closed_connections, tune_sqlite

    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
        drop_closed_connections(db.engine)


def check_database(app: Flask) -> None:
    """The database answers and has been migrated (an empty SQLite file, a PostgreSQL database
    nobody upgraded, or one that does not answer are each one line, not a traceback). A Core
    engine of its own: the config-only commands never load Flask-SQLAlchemy."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    from .config import NoDatabase, no_database_message

    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    where = engine.url.render_as_string(hide_password=True)
    try:
        migrated = inspect(engine).has_table("alembic_version")
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise NoDatabase(f"cannot reach the database {where}: {first_line}") from None
    finally:
        engine.dispose()
    if not migrated:
        raise NoDatabase(no_database_message(where))


def register_extensions(app: Flask) -> None:
    from . import data_catalog, queueing, transcription
    from .extensions import db, migrate
    from .ivr import engine

    data_catalog.init_app(app)  # every file under ivr_flows/, checked: a broken one stops here
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    queueing.init_app(app)
    engine.init_app(app)
    transcription.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import health, home, metrics, recordings, sms, staff, voice

    app.register_blueprint(home.bp)  # `/`: the dashboard or a short landing page; the favicon
    app.register_blueprint(health.bp)
    metrics.init_app(app)  # /metrics and the webhook latency histograms
    app.register_blueprint(voice.bp)
    app.register_blueprint(voice.audio.bp)
    app.register_blueprint(recordings.bp)
    sms.init_app(app)
    staff.init_app(app)  # the response team's dashboard and JSON API


def protect_forms(app: Flask) -> None:
    """Every POST (PUT, PATCH, DELETE) needs the session's CSRF token, except from callers that
    prove who they are another way: the providers' webhooks sign each request, the JSON API
    sends a staff member's bearer token (tests/test_csrf.py holds the same list)."""
    from . import api, recordings, voice
    from .extensions import csrf
    from .sms import views as sms_views

    csrf.init_app(app)
    for blueprint in (voice.bp, recordings.bp, sms_views.twilio_bp, sms_views.gateway_bp, api.bp):
        csrf.exempt(blueprint)


def register_commands(app: Flask) -> None:
    """The `hotline` commands that run in the app, on app.cli too: app.test_cli_runner() finds
    the same commands as the console script."""
    from .cli import app_commands

    for name, command in app_commands():
        app.cli.add_command(command, name)


def trust_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* headers only from the proxies the operator declared (PROXY_COUNT,
    default 0): they decide the URL signatures are checked against (without PUBLIC_URL) and
    the client address login limits count. Undeclared, anyone could send them."""
    import logging

    from werkzeug.middleware.proxy_fix import ProxyFix

    from .twilio_auth import signature_url_description

    hops = app.config["PROXY_COUNT"]
    if isinstance(hops, str) and hops.isascii() and hops.isdigit():
        hops = int(hops)
    if not isinstance(hops, int) or isinstance(hops, bool) or hops < 0:
        raise ValueError(f"HOTLINE_PROXY_COUNT must be a whole number of proxies (0 or more), not {hops!r}")
    app.config["PROXY_COUNT"] = hops
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    # Only PUBLIC_URL ties signatures to this install (a proxy usually passes the client's Host on).
    pinned = bool(app.config.get("PUBLIC_URL"))
    app.logger.log(logging.INFO if pinned else logging.WARNING, signature_url_description(app))


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent / "migrations"
