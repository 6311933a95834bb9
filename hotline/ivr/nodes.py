"""The registry of node types a flow may use, each with a short example.

Each type declares
- `fields`: a JSON schema of its fields (checked with path-naming errors),
- `edges(node)`: where the call can go next and what the caller got on the way
  (a request, a person, a voice message, information) — the flow checker uses
  these to prove that no path is a dead end,
- `enter` (the call arrives at the node) and, for nodes that wait for the
  caller, `on_input` (Twilio posts the answer).

`enter`/`on_input` return the id of the node to continue with in the same
TwiML document, or None once the document waits for the caller or ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twilio.twiml.voice_response import VoiceResponse

from .. import codes

if TYPE_CHECKING:
    from .engine import CallContext
    from .flow import Flow

NODE_TYPES: dict[str, NodeType] = {}

#: What a caller can get out of a call; a path must reach one before it ends.
REQUEST, PERSON, VOICE_MESSAGE, INFORMATION = "request", "person", "voice_message", "information"

STRING = {"type": "string", "minLength": 1}
SECONDS = {"type": "integer", "minimum": 1, "maximum": 600}


def register(cls: type[NodeType]) -> type[NodeType]:
    NODE_TYPES[cls.name] = cls()
    return cls


@dataclass(frozen=True)
class Edge:
    """One way out of a node. `target` None: the call ends here. `by_caller`: chosen with a key."""

    label: str
    target: str | None
    achieves: str | None = None
    by_caller: bool = False


class NodeType:
    name = ""
    fields: dict[str, Any] = {}
    required: tuple[str, ...] = ()
    #: Waits for keys, so the caller can choose another way (a "way back").
    waits_for_keys = False
    #: Where the type can run: every type here drives a call; an SMS-only type would say ("sms",).
    channels: tuple[str, ...] = ("voice",)

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"type": {"const": self.name}, **self.fields},
            "required": ["type", *self.required],
            "additionalProperties": False,
        }

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("next", node["next"])] if "next" in node else []

    def targets(self, node: dict[str, Any]) -> Iterator[tuple[str, str]]:
        for edge in self.edges(node):
            if edge.target is not None:
                yield edge.label, edge.target

    def prompts(self, node: dict[str, Any]) -> list[str]:
        return [node["prompt"]] if "prompt" in node else []

    def waits(self, node: dict[str, Any]) -> bool:
        return self.waits_for_keys

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        return []

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        raise NotImplementedError

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        # A node that takes no input got a (stale) action: carry on from it.
        return node_id


@register
class Menu(NodeType):
    """Speak a prompt and wait for one key (Gather). `*` repeats, a wrong key says so
    and repeats, silence repeats; after `tries` the call goes to `on_failure`.

        main_menu:
          type: menu
          prompt: main_menu
          options:
            "1": {goto: procedure_menu}
            "2": {language: mnong, goto: main_menu}   # also sets the caller's language
            "3": {topic: vneid, goto: request_callback} # remembered for create_request
          on_failure: offer_help   # after 3 tries (the prompt and two repeats)
          prompt_in_every_language: false   # true: the prompt in each language in turn
    """

    name = "menu"
    waits_for_keys = True
    fields = {
        "prompt": STRING,
        "options": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["goto"],
                "properties": {"goto": STRING, "language": STRING, "topic": STRING},
                "additionalProperties": False,
            },
        },
        "on_failure": STRING,
        "tries": {"type": "integer", "minimum": 1, "maximum": 5},
        "timeout": SECONDS,
        "prompt_in_every_language": {"type": "boolean"},
    }
    required = ("prompt", "options", "on_failure")
    DEFAULT_TRIES = 3
    DEFAULT_TIMEOUT_SECONDS = 6

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        edges = [
            Edge(f"option {key}", option["goto"], by_caller=True)
            for key, option in node["options"].items()
        ]
        edges.append(Edge("on_failure", node["on_failure"]))
        return edges

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        problems = []
        for key, option in node["options"].items():
            if len(str(key)) != 1 or str(key) not in "0123456789#":
                problems.append(f"option {key}: keys are single digits or # (* repeats the menu)")
            if "language" in option and option["language"] not in flow.languages:
                problems.append(f"option {key}: unknown language \"{option['language']}\"")
        return problems

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        return self.gather(ctx, ctx.node_id, node, response, attempt=1)

    def gather(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], response: VoiceResponse,
        attempt: int,
    ) -> None:
        gather = response.gather(
            num_digits=1,
            action=ctx.step_url(node_id, attempt=attempt),
            method="POST",
            timeout=node.get("timeout", self.DEFAULT_TIMEOUT_SECONDS),
            action_on_empty_result=True,
        )
        if node.get("prompt_in_every_language"):
            ctx.speak_in_every_language(gather, node["prompt"])
        else:
            ctx.speak(gather, node["prompt"])
        return None

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        options = {str(key): value for key, value in node["options"].items()}
        if digits == "*":
            return self.gather(ctx, node_id, node, response, attempt)
        if digits in options:
            option = options[digits]
            if "language" in option:
                ctx.set_language(option["language"])
            if "topic" in option:
                ctx.values["topic"] = option["topic"]
            return option["goto"]
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            return node["on_failure"]
        ctx.speak(response, "no_input" if not digits else "invalid_choice")
        return self.gather(ctx, node_id, node, response, attempt + 1)


@register
class Say(NodeType):
    """Say/play a prompt (its recording when there is one, else text-to-speech), then continue.

        info_hours:
          type: say
          prompt: info_hours
          information: true   # counts as information heard (needs a way back after it)
          read_code: false    # true: then read the request's code, digit by digit, twice
          next: info_menu
    """

    name = "say"
    fields = {
        "prompt": STRING, "next": STRING, "information": {"type": "boolean"},
        "read_code": {"type": "boolean"},
    }
    required = ("prompt", "next")

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("next", node["next"], INFORMATION if node.get("information") else None)]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.speak(response, node["prompt"])
        if node.get("read_code"):
            ctx.read_code(response)
        if node.get("information"):
            ctx.reached(INFORMATION)
        return node["next"]


@register
class Goodbye(NodeType):
    """Speak a last prompt and hang up.

        goodbye:
          type: goodbye
          prompt: goodbye
    """

    name = "goodbye"
    fields = {"prompt": STRING}
    required = ("prompt",)

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("hang up", None)]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.speak(response, node["prompt"])
        response.hangup()
        ctx.call_finished()
        return None


@register
class GoTo(NodeType):
    """Continue at another node (e.g. to share one ending between menus).

        back_to_menu:
          type: goto
          target: main_menu
    """

    name = "goto"
    fields = {"target": STRING}
    required = ("target",)

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("target", node["target"])]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        return node["target"]


@register
class SetLanguage(NodeType):
    """Set the call's language (and remember it for the caller's next call), or branch on
    the language remembered from an earlier call.

        use_mnong:            # set
          type: set_language
          language: mnong
          next: main_menu

        greeting:             # branch
          type: set_language
          remembered: true
          next: welcome_back         # a language is known: it is used
          unknown: choose_language   # first call (or a withheld number)
    """

    name = "set_language"
    fields = {"language": STRING, "remembered": {"const": True}, "next": STRING, "unknown": STRING}
    required = ("next",)

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        edges = [Edge("next", node["next"])]
        if "unknown" in node:
            edges.append(Edge("unknown", node["unknown"]))
        return edges

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        if ("language" in node) == ("remembered" in node):
            return ["give either language or remembered: true"]
        if "remembered" in node and "unknown" not in node:
            return ["remembered: true needs unknown (where a first-time caller goes)"]
        if "language" in node and node["language"] not in flow.languages:
            return [f"language: unknown language \"{node['language']}\""]
        return []

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        if "language" in node:
            ctx.set_language(node["language"])
            return node["next"]
        known = ctx.call.language in ctx.flow.languages
        return node["next"] if known else node["unknown"]


@register
class CreateRequest(NodeType):
    """Put a callback request in the queue (and queue its confirmation SMS).

        request_callback:
          type: create_request
          reason: callback_requested
          topic: vneid     # optional; else the topic a menu option chose, if any
          next: request_created
    """

    name = "create_request"
    fields = {"reason": STRING, "topic": STRING, "next": STRING}
    required = ("reason", "next")

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("next", node["next"], REQUEST)]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.create_request(reason=node["reason"], topic=node.get("topic") or ctx.values.get("topic"))
        return node["next"]


@register
class VoiceMessage(NodeType):
    """Record a message after the beep; it becomes (or joins) a request with its audio.

        leave_message:
          type: voice_message
          prompt: leave_message       # "speak after the beep, press # when done"
          max_seconds: 120
          next: message_received      # after a recording
          on_failure: request_callback   # nothing was recorded
    """

    name = "voice_message"
    fields = {"prompt": STRING, "next": STRING, "on_failure": STRING, "max_seconds": SECONDS}
    required = ("prompt", "next", "on_failure")
    DEFAULT_MAX_SECONDS = 120

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("recorded", node["next"], VOICE_MESSAGE), Edge("on_failure", node["on_failure"])]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.speak(response, node["prompt"])
        response.record(
            action=ctx.step_url(ctx.node_id),
            method="POST",
            max_length=node.get("max_seconds", self.DEFAULT_MAX_SECONDS),
            finish_on_key="#",
            play_beep=True,
            trim="trim-silence",
            recording_status_callback=ctx.recording_callback_url(),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        return None

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        if not ctx.params.get("RecordingSid"):
            return node["on_failure"]
        ctx.attach_voice_message()
        ctx.reached(VOICE_MESSAGE)
        return node["next"]


@register
class ConnectPerson(NodeType):
    """Ring the staff on duty one after another (Dial, each for `ring_seconds`), following
    Twilio's DialCallStatus; when nobody answers, or nobody is on duty, go to `on_failure`.

        connect_staff:
          type: connect_person
          prompt: connecting
          ring_seconds: 20      # default: ring_seconds in office_hours.yaml
          on_failure: nobody_free
    """

    name = "connect_person"
    fields = {"prompt": STRING, "on_failure": STRING, "ring_seconds": SECONDS}
    required = ("prompt", "on_failure")
    CONNECTED = {"completed", "answered"}

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("answered", None, PERSON), Edge("on_failure", node["on_failure"])]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        if not ctx.staff_numbers():
            return node["on_failure"]
        ctx.speak(response, node["prompt"])
        return self.ring(ctx, ctx.node_id, node, response, 0)

    def ring(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], response: VoiceResponse, index: int
    ) -> str | None:
        numbers = ctx.staff_numbers()
        if index >= len(numbers):
            return node["on_failure"]
        dial = response.dial(
            action=ctx.step_url(node_id, attempt=index + 1),
            method="POST",
            timeout=node.get("ring_seconds") or ctx.ring_seconds(),
            caller_id=ctx.call.to_number or None,
        )
        dial.number(numbers[index])
        return None

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        if ctx.params.get("DialCallStatus") in self.CONNECTED:
            ctx.reached(PERSON)
            response.hangup()
            ctx.call_finished()
            return None
        return self.ring(ctx, node_id, node, response, attempt)


@register
class OfficeHoursBranch(NodeType):
    """Branch on the commune's office hours and holidays (ivr_flows/office_hours.yaml).

        person:
          type: office_hours
          open: connect_staff
          closed: closed_now
    """

    name = "office_hours"
    fields = {"open": STRING, "closed": STRING}
    required = ("open", "closed")

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        return [Edge("open", node["open"]), Edge("closed", node["closed"])]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        return node["open"] if ctx.office_open() else node["closed"]


@register
class RequestStatus(NodeType):
    """Read the status of a request, its code digit by digit.

    `by: caller` looks up the caller's open request by their number;
    `by: code` asks for a code on the keypad (ending with #), checks its check
    digit, and asks again (up to `tries`) when it is wrong or unknown.

        caller_status:
          type: request_status
          by: caller
          found: main_menu        # after hearing the status
          not_found: main_menu

        status_by_code:
          type: request_status
          by: code
          prompt: enter_code
          found: main_menu
          on_failure: offer_help  # after `tries` wrong codes or silences
    """

    name = "request_status"
    fields = {
        "by": {"enum": ["caller", "code"]}, "prompt": STRING, "found": STRING,
        "not_found": STRING, "on_failure": STRING, "tries": {"type": "integer", "minimum": 1, "maximum": 5},
        "timeout": SECONDS,
    }
    required = ("by", "found")
    DEFAULT_TRIES = 3

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        other = node.get("not_found") if node.get("by") == "caller" else node.get("on_failure")
        edges = [Edge("found", node["found"], INFORMATION)]
        if other:
            edges.append(Edge("not_found" if node.get("by") == "caller" else "on_failure", other))
        return edges

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        if node["by"] == "caller":
            return [] if "not_found" in node else ["by: caller needs not_found"]
        return [f"by: code needs {name}" for name in ("prompt", "on_failure") if name not in node]

    def waits(self, node: dict[str, Any]) -> bool:
        return node.get("by") == "code"

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        if node["by"] == "caller":
            request = ctx.caller_open_request()
            if request is None:
                return node["not_found"]
            ctx.read_status(response, request)
            return node["found"]
        return self.gather(ctx, ctx.node_id, node, response, 1)

    def gather(self, ctx: CallContext, node_id: str, node: dict[str, Any], response: VoiceResponse,
               attempt: int) -> None:
        gather = response.gather(
            action=ctx.step_url(node_id, attempt=attempt),
            method="POST",
            finish_on_key="#",
            timeout=node.get("timeout", 8),
            action_on_empty_result=True,
        )
        ctx.speak(gather, node["prompt"])
        return None

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        if node["by"] != "code":
            return node_id
        if digits == "*":
            return self.gather(ctx, node_id, node, response, attempt)
        code = (digits or "").replace("*", "")
        request = ctx.find_request(code) if codes.is_valid_code(code) else None
        if request is not None:
            ctx.read_status(response, request)
            return node["found"]
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            return node["on_failure"]
        if not code:
            ctx.speak(response, "no_input")
        else:
            ctx.speak(response, "code_unknown" if codes.is_valid_code(code) else "code_invalid")
        return self.gather(ctx, node_id, node, response, attempt + 1)


def waits_for_keys(node: dict[str, Any]) -> bool:
    return NODE_TYPES[node["type"]].waits(node)
