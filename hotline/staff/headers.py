"""Security headers on every response of the app (docs/dashboard-security.md).

Registered on the whole app, not on the dashboard's blueprint: the dashboard's scripts and
styles come from the app's `static` route and its recordings from a view, and a script
served without `nosniff` or a page framed by another site is exactly the gap a
blueprint-only hook would leave. The webhooks get the same few headers: no provider reads
them, and one rule with no exceptions cannot be forgotten by the next page someone adds.

The policy allows no inline script, no inline style and nothing from another origin: the
dashboard runs offline in a commune office, its JavaScript lives in
hotline/static/staff/*.js and its CSS in staff.css. A view may set its own value of any
of these headers; the hook only fills in what is missing.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from . import assets

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",  # the language switch returns to the Referer page
}
#: One year; sent only over HTTPS (a browser ignores it over HTTP, and a plain-HTTP
#: office install must stay reachable). No includeSubDomains: the commune's other
#: hosts are not ours to decide.
HSTS = "max-age=31536000"

#: Blueprints whose answers hold residents' personal data: never kept in a browser's or a
#: proxy's cache, so the back button after logout shows nothing.
PRIVATE_BLUEPRINTS = ("staff", "staff_admin", "api")


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.blueprint in PRIVATE_BLUEPRINTS and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


class SchemeSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session whose `Secure` flag follows the scheme the app is served
    on when SESSION_COOKIE_SECURE is "auto": over HTTPS (directly, or behind a proxy declared
    with PROXY_COUNT, whose X-Forwarded-Proto ProxyFix applies) the cookie is Secure; over
    plain HTTP on the office network it is not, since a browser never sends a Secure cookie
    back over HTTP and every login there would fail its CSRF check."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure(app)


def _is_auto(setting: object) -> bool:
    return isinstance(setting, str) and setting.strip().lower() == "auto"


def cookie_secure(app: Flask) -> bool:
    """Whether the session cookie set now is Secure (SESSION_COOKIE_SECURE: "auto", or forced)."""
    setting = app.config["SESSION_COOKIE_SECURE"]
    if _is_auto(setting):
        return has_request_context() and request.is_secure
    if isinstance(setting, str):
        return setting.strip().lower() in ("1", "true", "yes", "on")
    return bool(setting)


def cookie_secure_forced() -> bool:
    """The session cookie is Secure whatever the scheme: a plain-HTTP page cannot keep it."""
    return not _is_auto(current_app.config["SESSION_COOKIE_SECURE"]) and cookie_secure(current_app)


ONE_YEAR = 365 * 24 * 3600


def long_cache(response: Response) -> Response:
    """A stylesheet or script asked for under its current version (`?v=<hash>`, see
    hotline.staff.assets) is kept a year without revalidation: a phone on a slow link
    fetches it once per release. Any other static answer keeps Flask's revalidation."""
    if request.endpoint != "static" or response.status_code != 200:
        return response
    try:
        current = assets.version((request.view_args or {}).get("filename", ""))
    except OSError:
        return response
    if request.args.get("v") == current:
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.after_request(long_cache)
    app.session_interface = SchemeSessionInterface()
