"""Every Twilio webhook proves it came from Twilio, or gets 403 and changes nothing.

The signature covers the URL Twilio requested, so it is checked against the
public URL (HOTLINE_PUBLIC_URL), or, behind a proxy, the URL rebuilt from the
proxy's forwarded headers (ProxyFix, applied in create_app). There is no
switch that turns the check off.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, request
from twilio.request_validator import RequestValidator


def public_url_of_request() -> str:
    base = current_app.config.get("PUBLIC_URL")
    if base:
        path = request.full_path if request.query_string else request.path
        return base.rstrip("/") + path
    return request.url


def request_is_from_twilio() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    return validator.validate(public_url_of_request(), request.form, signature)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not request_is_from_twilio():
            current_app.logger.warning("rejected unsigned or forged webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked
