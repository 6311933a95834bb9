"""SMS: residents' keywords and requests by text, through Twilio or an Android phone's SIM.

`init_app` sets the SMS defaults, the staff pre-handler list
(`app.extensions["hotline.sms_prehandlers"]`: callables `(phone_e164, text) ->
reply | None` tried before resident keywords), checks the keyword data, and
registers the two webhooks.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

#: Settings (each can be set as HOTLINE_<NAME>); see README "SMS".
DEFAULTS = {
    "SMS_PROVIDER": None,  # "twilio" | "gateway"; unset: the gateway when configured, else Twilio
    "SMS_TWILIO_REPLY": "rest",  # "rest" (a queued job) or "twiml" (inline in the webhook answer)
    "SMS_UNICODE": False,  # True: keep accents (a segment then holds 70 characters, not 160)
    "SMS_REPEAT_REPLIES_PER_HOUR": 2,  # answers to the same text per number per hour (hotline.messaging)
    "SMS_REPLY_CEILING_PER_HOUR": 30,  # any replies per number per hour: a guard against loops
    "SMS_GATEWAY_URL": "https://api.sms-gate.app/3rdparty/v1",
    "SMS_GATEWAY_LOGIN": None,
    "SMS_GATEWAY_PASSWORD": None,
    "SMS_GATEWAY_SIGNING_KEY": None,  # the app's Settings → Webhooks → Signing Key
    "SMS_GATEWAY_MAX_SKEW": 300,  # seconds a signed webhook's timestamp may differ from now
}


def init_app(app: Flask) -> None:
    from ..config import local_secret
    from ..data_files import EXTENSION
    from . import views
    from .keywords import Keywords

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    if not app.config.get("SMS_GATEWAY_SIGNING_KEY"):
        # Like the Twilio token: checking is never off; a local key is kept in the data folder.
        app.config["SMS_GATEWAY_SIGNING_KEY"] = local_secret(
            Path(app.config["DATA_DIR"]), "sms_gateway_signing_key"
        )
        app.config["SMS_GATEWAY_SIGNING_KEY_IS_LOCAL"] = True
    app.extensions.setdefault("hotline.sms_prehandlers", [])
    # Indexed from the data the catalogue read and checked at start (hotline.data_catalog):
    # the file is not read a second time.
    app.extensions["hotline.sms_keywords"] = Keywords.from_data(
        app.extensions[EXTENSION]["sms/keywords.yaml"],
        str(Path(app.config["FLOWS_DIR"]) / "sms" / "keywords.yaml"),
    )
    app.register_blueprint(views.twilio_bp)
    app.register_blueprint(views.gateway_bp)
