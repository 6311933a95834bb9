"""Twilio voice webhooks: parse the request, call the flow walker, answer TwiML.

The walker (`hotline.ivr.engine`) returns call instructions and step storage commits
each step once; this edge renders them (`twiml.render`) and turns any failure into
the apology a caller hears instead of Twilio's "application error".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, request

from .. import webhook_input
from ..extensions import db
from ..ivr import engine
from ..ivr.call_status import record_call_status
from ..twilio_auth import twilio_signed
from ..unit_of_work import commit_once
from . import audio  # noqa: F401  (the recorded-prompt blueprint, registered by create_app)
from .twiml import render

bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")

#: The highest step number a call can reach (each step is one webhook; calls end long before).
MAX_STEP = 10_000
MAX_ATTEMPT = 100
#: Step arguments a node may carry in its step URL (StepTarget.args), each a short word.
STEP_ARGS = ("stage", "lang", "key", "rec", "code")


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
        return apology()


def call_params() -> webhook_input.Cleaned:
    """The form as the engine may use it: CallSid checked (or recovered from the signed string),
    RecordingSid too, numbers bounded, text cleaned; what was wrong is logged by field name."""
    cleaned = webhook_input.twilio_params(
        request.form, webhook_input.CALL_SID, optional=(webhook_input.RECORDING_SID,))
    if cleaned.flags:
        current_app.logger.warning("voice webhook %s: odd fields %s", request.path, cleaned.flags)
    return cleaned


def apology() -> Response:
    """The apology, from memory only (the flow loaded at start-up): no database, no Redis."""
    return twiml(render(engine.apology(current_app.extensions.get("hotline.flow"))))


def _unkeyed_call() -> Response:
    """No CallSid Twilio could have sent: nothing to key the call on, so nothing is stored; the
    caller (if there is one) hears the apology rather than an error."""
    return apology()


@bp.post("")
@twilio_signed
def incoming_call() -> Response:
    params = call_params()
    if "CallSid" not in params.values:
        return _unkeyed_call()
    return answer_safely(lambda: engine.answer_call(voice_menu(), params.values, render))


@dataclass
class StepArguments:
    """A step's key and arguments as a provider posts them back, checked: the node (text, 64
    characters), the step number `seq` (None when it is not one: nothing to key the step on),
    the attempt, and the node's short words (`STEP_ARGS`); `problems` says what was odd."""

    node: str
    seq: int | None
    attempt: int
    args: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def step_arguments(values: Mapping[str, Any]) -> StepArguments:
    """`node`, `n`, `attempt` and the STEP_ARGS from a step URL's query (Twilio) or the practice
    phone's posted step (hotline.staff.simulator_views): one check for both."""
    node, problems = webhook_input.clean_text(values.get("node", ""), 64)
    seq = webhook_input.bounded_int(str(values.get("n", "1")), min=1, max=MAX_STEP)
    attempt = webhook_input.bounded_int(str(values.get("attempt", "1")), min=1, max=MAX_ATTEMPT) or 1
    args = {}
    for name in STEP_ARGS:
        value, odd = webhook_input.clean_text(values.get(name, ""), 64)
        if value and not odd:
            args[name] = value
    return StepArguments(node, seq, attempt, args, problems)


@bp.post("/step")
@twilio_signed
def step() -> Response:
    params = call_params()
    answered = step_arguments(request.args)
    if answered.problems or answered.seq is None:
        current_app.logger.warning(
            "voice step with odd arguments: node %s, n %r", answered.problems, request.args.get("n", "")[:20])
    seq = answered.seq
    if "CallSid" not in params.values or seq is None:  # (CallSid, n) is the step's key
        return _unkeyed_call()
    return answer_safely(lambda: engine.continue_call(
        voice_menu(), params.values, answered.node, seq, answered.attempt, render, answered.args))


@bp.post("/status")
@twilio_signed
def call_status() -> Response:
    params = call_params()
    if "CallSid" in params.values:
        region = current_app.config["DEFAULT_REGION"]
        commit_once(lambda: record_call_status(params.values, region))
    return Response(status=204)


@bp.post("/fallback")
@twilio_signed
def fallback() -> Response:
    """Twilio's "primary handler fails" URL: an apology and a way forward, from memory only.

    It runs when the hotline could not answer (down, too slow, an error), so it touches
    neither the database nor Redis: the flow's `system_busy` prompt (loaded at start) in
    Vietnamese, then hang up.
    """
    return apology()
