"""Call instructions: what a call step asks the voice provider to do, as plain values.

Nodes and the flow walker produce a list of these; a renderer at the voice edge turns
the list into the provider's wire format (Twilio's TwiML: `hotline/voice/twiml.py`).
Nothing here knows about HTTP, URLs or XML, so a second voice provider (or a browser
phone simulator) needs a renderer, not a rewrite of the menu.

The set, in the order a caller meets them:

| instruction | the caller…                                             | TwiML |
|-------------|---------------------------------------------------------|-------|
| `Prompt`    | hears a flow prompt (its recording, else its text)      | `<Play>` or `<Say>` |
| `Say`       | hears a text already chosen, with voice hints           | `<Say>` |
| `Play`      | hears an audio file at a URL                            | `<Play>` |
| `Pause`     | hears silence (between the digits of a code)            | `<Pause>` |
| `Gather`    | is asked for keys while its prompts play                | `<Gather>` |
| `Record`    | leaves a message after the beep                         | `<Record>` |
| `Dial`      | is connected to a number (rings it)                     | `<Dial><Number>` |
| `Redirect`  | (nothing) the call continues at another step at once    | `<Redirect>` |
| `Hangup`    | is hung up on                                           | `<Hangup>` |

Where the provider posts the caller's answer is a `StepTarget` (the node that asked,
the call's next step number, the attempt), never a URL: the renderer makes the URL.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (name, value) pairs: a prompt's placeholder values, or a text's voice hints.
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class StepTarget:
    """Where the answer to a Gather/Record/Dial (or a Redirect) goes: the node that asked,
    the step number the answer will carry (each answer is a new, idempotent step), and
    which attempt at that node it answers (menus count their repeats), and what else the
    node needs to know when the answer comes back (`args`: the recording booth's stage,
    language and prompt; short words, carried in the step's signed URL)."""

    node: str
    seq: int
    attempt: int = 1
    args: Pairs = ()


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt of the flow by key, in a language: the renderer plays its recording when
    there is one, else says its text with the language's voice (placeholders in the text,
    like `{code}`, are filled from `values`; a missing one reads as nothing)."""

    key: str
    language: str
    values: Pairs = ()


@dataclass(frozen=True, slots=True)
class Say:
    """A text already chosen (e.g. the apology when the hotline itself failed), with the
    voice hints the flow gives its language (`language`, `voice`)."""

    text: str
    attributes: Pairs = ()


@dataclass(frozen=True, slots=True)
class Play:
    """An audio file the provider fetches from a URL it can reach."""

    url: str


@dataclass(frozen=True, slots=True)
class Pause:
    """Silence for `seconds` (between the digits of a code)."""

    seconds: int


#: What a Gather may speak while it waits for keys.
Spoken = Prompt | Say | Play | Pause


@dataclass(frozen=True, slots=True)
class Gather:
    """Speak `prompts` and wait up to `timeout` seconds for keys: `num_digits` of them, or
    until `finish_on_key`. The answer (or silence: no digits) goes to `action`."""

    action: StepTarget
    timeout: int
    prompts: tuple[Spoken, ...] = ()
    num_digits: int | None = None
    finish_on_key: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """Record the caller after a beep, up to `max_seconds` or `finish_on_key`, silence
    trimmed. The provider posts the result to `action`; with `status_callback` it also
    reports the finished recording to the recording webhook (whichever comes first files
    the voice message)."""

    action: StepTarget
    max_seconds: int
    finish_on_key: str = "#"
    status_callback: bool = True


@dataclass(frozen=True, slots=True)
class Dial:
    """Ring `numbers` (together) for `ring_seconds`, showing `caller_id`. With an `action`
    the provider posts how it went (DialCallStatus) there; `answer_on_bridge` keeps the
    caller's line ringing until the other side answers (the staff callback uses it)."""

    numbers: tuple[str, ...]
    caller_id: str | None = None
    ring_seconds: int | None = None
    action: StepTarget | None = None
    answer_on_bridge: bool = False


@dataclass(frozen=True, slots=True)
class Redirect:
    """Continue the call at another step without waiting for the caller."""

    target: StepTarget


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call."""


Instruction = Prompt | Say | Play | Pause | Gather | Record | Dial | Redirect | Hangup

#: Every instruction type, in the order of the table above (the renderer covers each one).
INSTRUCTION_TYPES: tuple[type, ...] = (Prompt, Say, Play, Pause, Gather, Record, Dial, Redirect, Hangup)
