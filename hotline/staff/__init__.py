"""The response team's dashboard: accounts, the callback queue, claims, outcomes, reports.

`init_app` binds Flask-Login and Flask-Babel, registers the dashboard and API
blueprints, adds the security headers to every response of the app, routes new
requests to teams, and adds the field volunteers' SMS commands to the SMS
pipeline's pre-handlers.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from .languages import LANGUAGES

login_manager = LoginManager()
babel = Babel()

#: Settings of this area, overridable as HOTLINE_<NAME> like every other setting.
DEFAULTS = {
    "STAFF_ON_TIME_HOURS": 48,  # the on-time target, from a request's arrival
    "STAFF_LOGIN_MAX_FAILURES": 5,  # per account, within the window (hotline.staff.accounts)
    "STAFF_LOGIN_MAX_FAILURES_PER_ADDRESS": 20,  # per address: then it may not retry those accounts
    "STAFF_LOGIN_WINDOW_MINUTES": 15,
    "STAFF_QUEUE_REFRESH_SECONDS": 20,
}


def select_locale() -> str:
    """Vietnamese first: the person's own choice, else their profile, else Vietnamese."""
    chosen = session.get("lang") if request else None
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return "vi"


def init_app(app: Flask) -> None:
    from . import accounts, assets, display, headers, refresh, routing  # noqa: F401  (routing registers the before_flush hook)
    from .sms_commands import handle_staff_sms

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "vi")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIMEZONE"])

    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = _l("Log in to see this page.")  # Flask-Login's default is English
    login_manager.needs_refresh_message = _l("Log in again to continue.")
    login_manager.session_protection = "strong"

    login_manager.user_loader(accounts.load_session_user)  # "id:nonce": logout ends the cookie

    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["localtime"] = display.localtime
    app.jinja_env.filters["day"] = display.day
    app.jinja_env.filters["phone"] = display.phone
    app.jinja_env.filters["period"] = display.period
    app.jinja_env.filters["percent"] = display.percent
    app.jinja_env.globals["fingerprint"] = refresh.fingerprint  # a queue row's data-v
    app.jinja_env.globals["get_locale"] = get_locale  # the reader's language, for texts kept as data
    assets.init_app(app)  # asset_url(); headers.long_cache sets the year-long cache
    app.extensions.setdefault("hotline.sms_prehandlers", []).append(handle_staff_sms)

    from .. import api
    from . import (
        admin_views,
        prompts_views,  # noqa: F401  (the Prompts page's routes, on the dashboard's blueprint)
        simulator_views,  # noqa: F401  (the browser phone, on the dashboard's blueprint)
        trainer_views,  # noqa: F401  (the trainer's page, on the dashboard's blueprint)
    )
    from .views import bp, login_needed

    login_manager.unauthorized_handler(login_needed)
    headers.init_app(app)  # the whole app's responses, not only the dashboard's

    from .privacy_views import bp as privacy_bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_views.bp)  # accounts, teams and villages from the browser
    app.register_blueprint(privacy_bp)  # residents' data: retention, backups, export
    api.init_app(app)  # the JSON API, and JSON for every error under /api/

