"""Twilio voice webhooks: parse the request, call the flow walker, answer TwiML.

The walker (`hotline.ivr.engine`) returns call instructions and step storage commits
each step once; this edge renders them (`twiml.render`) and turns any failure into
the apology a caller hears instead of Twilio's "application error".
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, request

from ..extensions import db
from ..ivr import engine
from ..ivr.call_status import record_call_status
from ..twilio_auth import twilio_signed
from . import audio  # noqa: F401  (the recorded-prompt blueprint, registered by create_app)
from .twiml import render
from .units import commit_once

bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")


def twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def voice_menu() -> engine.VoiceMenu:
    return current_app.extensions["hotline.voice"]


def answer_safely(produce: Callable[[], str]) -> Response:
    """Twilio plays "application error" on any failure; a caller hears an apology instead."""
    try:
        return twiml(produce())
    except Exception:
        current_app.logger.exception("voice webhook failed: %s", request.path)
        db.session.rollback()
        return twiml(render(engine.apology(current_app.extensions.get("hotline.flow"))))


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else default


@bp.post("")
@twilio_signed
def incoming_call() -> Response:
    return answer_safely(lambda: engine.answer_call(voice_menu(), request.form, render))


@bp.post("/step")
@twilio_signed
def step() -> Response:
    node_id = request.args.get("node", "")
    seq = _int_arg("n", 1)
    attempt = _int_arg("attempt", 1)
    return answer_safely(
        lambda: engine.continue_call(voice_menu(), request.form, node_id, seq, attempt, render))


@bp.post("/status")
@twilio_signed
def call_status() -> Response:
    region = current_app.config["DEFAULT_REGION"]
    commit_once(lambda: record_call_status(request.form, region))
    return Response(status=204)
