"""Every Twilio webhook proves it came from Twilio, or gets 403 and changes nothing.

The signature covers the URL Twilio requested, so it is checked against a URL:
the public URL (HOTLINE_PUBLIC_URL) when it is set, which is the only way to tie a
signature to this install; else, behind proxies the operator declared
(HOTLINE_PROXY_COUNT, default 0), the URL rebuilt from their X-Forwarded-* headers
(ProxyFix, applied in create_app); else the URL the request names itself (its Host
header). `signature_url_description` says which, at start-up. There is no switch
that turns the check off.

The body is read only up to WEBHOOK_MAX_CONTENT_LENGTH: a larger request is refused
with 413 from its Content-Length, before any of it is read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, request
from twilio.request_validator import RequestValidator


def limit_webhook_body() -> None:
    """Provider webhooks are a few kilobytes: refuse (413) a larger body before reading it."""
    request.max_content_length = current_app.config["WEBHOOK_MAX_CONTENT_LENGTH"]


def public_url_of_request() -> str:
    base = current_app.config.get("PUBLIC_URL")
    if base:
        query = request.query_string.decode("utf-8", "replace")
        return base.rstrip("/") + request.path + (f"?{query}" if query else "")
    return request.url


def request_is_from_twilio() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    try:
        return validator.validate(public_url_of_request(), request.form, signature)
    except (ValueError, UnicodeError):  # a Host header with a port that is no number, and the like
        return False


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        limit_webhook_body()
        if not request_is_from_twilio():
            current_app.logger.warning("rejected unsigned or forged webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


def signature_url_description(app: Flask) -> str:
    """One sentence for operators: which URL Twilio signatures are checked against.

    Logged when the app starts; `hotline up` prints it too.
    """
    public = app.config.get("PUBLIC_URL")
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if public:
        return (f"Twilio signatures are checked against {public.rstrip('/')}/… (HOTLINE_PUBLIC_URL); "
                f"a request signed for any other URL is refused.")
    if hops:
        return (f"Twilio signatures are checked against the URL rebuilt from the X-Forwarded-* headers "
                f"of the {hops} proxy(ies) in front (HOTLINE_PROXY_COUNT={hops}); "
                f"set HOTLINE_PUBLIC_URL to pin it.")
    return ("Twilio signatures are checked against the URL each request names in its own Host header "
            "(no HOTLINE_PUBLIC_URL, no HOTLINE_PROXY_COUNT): a request signed for another host of the "
            "Twilio account can be accepted; set HOTLINE_PUBLIC_URL to the address Twilio calls.")
