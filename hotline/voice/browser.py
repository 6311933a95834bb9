"""The browser phone's renderer: call instructions (`hotline.ivr.instructions`) → JSON.

The training simulator (`/staff/simulator`) plays Twilio's side in the browser: the
server walks the real flow with the real request code, and this module turns the
instructions into what the page needs to play them. It is the second renderer the
instructions were designed for, beside `twiml.py`:

| instruction | the page…                                                          |
|-------------|--------------------------------------------------------------------|
| `Prompt`    | plays its recording, else speech of its text; always shows the text |
| `Say`       | speaks the text and shows it                                       |
| `Play`      | plays the URL                                                      |
| `Pause`     | waits                                                              |
| `Gather`    | plays its prompts (a key cuts them), counts the silence down, posts the keys |
| `Record`    | records the microphone after a beep, counts down, uploads the take |
| `Dial`      | shows who would ring, never rings: the trainee says whether they answer |
| `Redirect`  | posts the next step at once                                        |
| `Hangup`    | ends the call                                                      |

A step is a `StepTarget` as plain values; the server checks it again when it comes back,
as it checks Twilio's step URLs. Nothing here can reach a phone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from flask import current_app, url_for

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
    Spoken,
    StepTarget,
)
from .twiml import BlankValues


def step(target: StepTarget) -> dict[str, Any]:
    return {"node": target.node, "seq": target.seq, "attempt": target.attempt, "args": dict(target.args)}


def speech_url(text: str, attributes: dict[str, str]) -> str:
    """Speech made on the server (espeak-ng) for a text with a language's voice hints."""
    return url_for("staff.simulator_speech", lang=attributes.get("language", "vi-VN"), text=text)


def _prompt(prompt: Prompt) -> dict[str, Any]:
    """The prompt's text in the caller's language is always shown; what is heard is its
    recording, else speech of the text the phone line would say (another language's when the
    caller's has no voice, as on the phone)."""
    flow = current_app.extensions["hotline.flow"]
    library = current_app.extensions["hotline.prompts"]
    values = BlankValues(prompt.values)
    shown, _ = flow.prompt_text(prompt.key, prompt.language)
    rendered = library.render(prompt.language, prompt.key, "")
    part: dict[str, Any] = {"text": shown.format_map(values), "language": prompt.language,
                            "prompt": prompt.key}
    if rendered.kind == "play":
        part["audio"] = rendered.value
    else:
        part["audio"] = speech_url(rendered.value.format_map(values), dict(rendered.attributes))
    return part


def _say(say: Say) -> dict[str, Any]:
    attributes = dict(say.attributes)
    return {"text": say.text, "language": attributes.get("language"),
            "audio": speech_url(say.text, attributes)}


def _spoken(item: Spoken) -> dict[str, Any]:
    if isinstance(item, Prompt):
        return _prompt(item)
    if isinstance(item, Say):
        return _say(item)
    if isinstance(item, Play):
        return {"text": "", "audio": item.url}
    return {"pause": item.seconds}


def render(instructions: Iterable[Instruction]) -> str:
    """The step as the page plays it: what is heard (`say`, in order), then what the call
    waits for (`then`: gather, record, dial, redirect, hangup; `end` when nothing follows)."""
    heard: list[dict[str, Any]] = []
    then: dict[str, Any] = {"kind": "end"}
    for instruction in instructions:
        if isinstance(instruction, (Prompt, Say, Play, Pause)):
            heard.append(_spoken(instruction))
        elif isinstance(instruction, Gather):
            heard.extend(dict(_spoken(p), interruptible=True) for p in instruction.prompts)
            then = {"kind": "gather", "step": step(instruction.action), "timeout": instruction.timeout,
                    "num_digits": instruction.num_digits, "finish_on_key": instruction.finish_on_key}
            break
        elif isinstance(instruction, Record):
            then = {"kind": "record", "step": step(instruction.action),
                    "max_seconds": instruction.max_seconds, "finish_on_key": instruction.finish_on_key}
            break
        elif isinstance(instruction, Dial):
            then = {"kind": "dial", "numbers": list(instruction.numbers),
                    "ring_seconds": instruction.ring_seconds,
                    "step": step(instruction.action) if instruction.action else None}
            break
        elif isinstance(instruction, Redirect):
            then = {"kind": "redirect", "step": step(instruction.target)}
            break
        elif isinstance(instruction, Hangup):
            then = {"kind": "hangup"}
            break
    return json.dumps({"say": heard, "then": then}, ensure_ascii=False)
