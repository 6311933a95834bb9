"""hotline: a voice and SMS hotline for a rural commune's public-service teams."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    load_config(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    trust_proxy(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import data_catalog, queueing, transcription
    from .extensions import db, drop_closed_connections, migrate, tune_sqlite
    from .ivr import engine

    data_catalog.init_app(app)  # every file under ivr_flows/, checked: a broken one stops here
    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
        drop_closed_connections(db.engine)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    queueing.init_app(app)
    engine.init_app(app)
    transcription.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import health, metrics, recordings, sms, staff, voice

    app.register_blueprint(health.bp)
    metrics.init_app(app)  # /metrics and the webhook latency histograms
    app.register_blueprint(voice.bp)
    app.register_blueprint(voice.audio.bp)
    app.register_blueprint(recordings.bp)
    sms.init_app(app)
    staff.init_app(app)  # the response team's dashboard and JSON API


def register_commands(app: Flask) -> None:
    from . import commands

    commands.init_app(app)


def trust_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* headers only from the proxies the operator declared (PROXY_COUNT,
    default 0): they decide the URL signatures are checked against (without PUBLIC_URL) and
    the client address login limits count. Undeclared, anyone could send them."""
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
