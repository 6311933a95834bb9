"""The Twilio renderer: call instructions (`hotline.ivr.instructions`) → a TwiML document.

The only place the hotline writes TwiML, with twilio's builders (never string
formatting): the voice webhooks render what the flow walker produced, the apology when
something failed, and the staff callback's bridge (`hotline.staff.telephony`). URLs are
made here, at the edge: a `StepTarget` becomes the step webhook's URL (`url_for`), a
`Prompt` its recording's URL under the public base URL (or its text with the language's
voice), a `Record`'s status callback the recording webhook.

| instruction | TwiML |
|-------------|-------|
| `Prompt`    | `<Play>` of `audio/<language>/<key>.wav` when recorded, else `<Say>` of its text |
| `Say`       | `<Say language=… voice=…>` |
| `Play`      | `<Play>` |
| `Pause`     | `<Pause length=…>` |
| `Gather`    | `<Gather action=… method="POST" actionOnEmptyResult="true" …>` with its prompts inside |
| `Record`    | `<Record action=… playBeep="true" trim="trim-silence" recordingStatusCallback=…>` |
| `Dial`      | `<Dial …><Number>…</Number></Dial>` |
| `Redirect`  | `<Redirect method="POST">` |
| `Hangup`    | `<Hangup/>` |

Another voice provider (or a browser phone simulator) is another module like this one:
a function from the same instruction list to its own wire format, and the webhooks
that call it. The flow, its nodes and the walker stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, has_request_context, request, url_for
from twilio.twiml.voice_response import VoiceResponse

from ..ivr.instructions import (
    Dial,
    Gather,
    Hangup,
    Instruction,
    Pause,
    Play,
    Prompt,
    Record,
    Redirect,
    Say,
    StepTarget,
)


def public_base_url() -> str:
    """Where Twilio fetches recordings: the public URL, or the one the proxy forwarded."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base
    return request.url_root if has_request_context() else ""


def step_url(target: StepTarget) -> str:
    values: dict[str, Any] = {"node": target.node, "n": target.seq, "attempt": target.attempt,
                              **dict(target.args)}
    return url_for("voice.step", **values)


class BlankValues(dict):
    """Prompt placeholders with no value read as nothing rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


def _prompt(verb: Any, prompt: Prompt) -> None:
    """Play the prompt's recording, else say its text with the language's voice."""
    library = current_app.extensions["hotline.prompts"]
    rendered = library.render(prompt.language, prompt.key, public_base_url())
    if rendered.kind == "play":
        verb.play(rendered.value)
    else:
        verb.say(rendered.value.format_map(BlankValues(prompt.values)), **dict(rendered.attributes))


def _say(verb: Any, say: Say) -> None:
    verb.say(say.text, **dict(say.attributes))


def _play(verb: Any, play: Play) -> None:
    verb.play(play.url)


def _pause(verb: Any, pause: Pause) -> None:
    verb.pause(length=pause.seconds)


def _gather(response: Any, gather: Gather) -> None:
    verb = response.gather(
        num_digits=gather.num_digits,
        action=step_url(gather.action),
        method="POST",
        finish_on_key=gather.finish_on_key,
        timeout=gather.timeout,
        action_on_empty_result=True,
    )
    for spoken in gather.prompts:
        RENDERERS[type(spoken)](verb, spoken)


def _record(response: Any, record: Record) -> None:
    callback = url_for("recordings.recording_status") if record.status_callback else None
    response.record(
        action=step_url(record.action),
        method="POST",
        max_length=record.max_seconds,
        finish_on_key=record.finish_on_key,
        play_beep=True,
        trim="trim-silence",
        recording_status_callback=callback,
        recording_status_callback_method="POST" if callback else None,
        recording_status_callback_event="completed" if callback else None,
    )


def _dial(response: Any, dial: Dial) -> None:
    verb = response.dial(
        action=step_url(dial.action) if dial.action else None,
        method="POST" if dial.action else None,
        timeout=dial.ring_seconds,
        caller_id=dial.caller_id,
        answer_on_bridge=True if dial.answer_on_bridge else None,
    )
    for number in dial.numbers:
        verb.number(number)


def _redirect(response: Any, redirect: Redirect) -> None:
    response.redirect(step_url(redirect.target), method="POST")


def _hangup(response: Any, hangup: Hangup) -> None:
    response.hangup()


#: One rendering per instruction type (tests/test_voice_twiml.py checks none is missing).
RENDERERS: dict[type, Callable[[Any, Any], None]] = {
    Prompt: _prompt, Say: _say, Play: _play, Pause: _pause, Gather: _gather, Record: _record,
    Dial: _dial, Redirect: _redirect, Hangup: _hangup,
}


def render(instructions: Iterable[Instruction]) -> str:
    """The TwiML document for `instructions`, in order."""
    response = VoiceResponse()
    for instruction in instructions:
        RENDERERS[type(instruction)](response, instruction)
    return str(response)
