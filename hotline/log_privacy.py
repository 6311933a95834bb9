"""Logs that do not leak residents' data (Decree 13/2023/ND-CP): phone numbers masked
(`+84912345678` → `+84912***678`), configured secrets (the Twilio auth token, the session key,
the SMS gateway's password and signing key) replaced by `[secret]`, and no message body or transcript at info.

How: a log record factory (`logging.setLogRecordFactory`) masks every record as it is made,
in every logger of the process — the app's, RQ's, gunicorn's, werkzeug's, the libraries' —
whatever handler or formatter later writes it: the message is formatted and masked at once,
and an exception's traceback is formatted and masked into `exc_text` (which formatters reuse
rather than format again). Forked RQ work horses inherit the factory. SQL parameters never
reach a traceback (`hide_parameters`, set in config.py), and the Twilio library's request
dumps (which carry an SMS's To and Body) are kept below info.

Bodies and transcripts cannot be recognised by their shape, so none is passed to a log call:
the rule is kept by review and by tests/test_log_privacy.py, which greps the logs of a whole
journey (call, SMS, voice message with its transcript, claim and outcome) for every number
and text it used.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

#: A phone number in a log line: E.164 (also URL-encoded, `%2B84…`), or a Vietnamese number
#: written locally (`0912345678`, `0912 345 678`, `84912345678`). Not inside longer digit runs.
PHONE = re.compile(r"(?<![\w*])(?:(?:\+|%2B)\d{8,15}|(?:84|0)\d{8,10}|0\d{2,3}[ .]\d{3}[ .]\d{3,4})(?![\w*])")
#: Settings whose values are secrets: replaced wherever they appear in a log line.
SECRET_SETTING = re.compile(r"(TOKEN|PASSWORD|SECRET|_KEY)$")
SECRET_MASK = "[secret]"
#: Loggers of libraries that write request data (an SMS's number and body) at info.
CHATTY_LOGGERS = ("twilio.http_client",)

_secrets: set[str] = set()
_installed = False


def mask_phone(number: str) -> str:
    """Keep the country and network prefix and the last three digits: enough for a person to
    tell two callers apart in a log, not enough to call anyone."""
    lead = next((p for p in ("%2B", "+") if number.startswith(p)), "")
    digits = re.sub(r"\D", "", number[len(lead) :])
    keep = 5 if not digits.startswith("0") else 4  # 84 912 / 0 912
    return f"{lead}{digits[:keep]}***{digits[-3:]}"


def mask(text: str) -> str:
    """`text` with phone numbers masked and known secrets removed."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, SECRET_MASK)
    return PHONE.sub(lambda m: mask_phone(m.group(0)), text)


def add_secret(value: Any) -> None:
    if isinstance(value, str) and len(value) >= 8:
        _secrets.add(value)


def _masking_factory(previous):
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            record.msg, record.args = mask(record.getMessage()), None
        except Exception:  # a malformed call: logging reports it when the record is written
            return record
        if record.exc_info and not record.exc_text:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return record

    make_record.hotline_masking = True
    return make_record


def install() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed or getattr(logging.getLogRecordFactory(), "hotline_masking", False):
        _installed = True
        return
    logging.setLogRecordFactory(_masking_factory(logging.getLogRecordFactory()))
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    _installed = True


def init_app(app: Flask) -> None:
    """Learn this app's secrets, then mask (create_app's step `protect_logs`)."""
    for name, value in app.config.items():
        if SECRET_SETTING.search(name):
            add_secret(value)
    install()
