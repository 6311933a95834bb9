"""The node types a voice flow may use, each with a short example in its docstring.

Each registers itself in `registry.NODE_TYPES` (the contract is written there) and
returns call instructions (`instructions.py`) in a `Turn`; the docstrings are the node
reference in docs/voice-flows.md (`hotline flows reference` writes it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import codes
from .instructions import Dial, Gather, Hangup, Record, Redirect
from .registry import (
    INFORMATION,
    NODE_TYPES,
    PERSON,
    REQUEST,
    SECONDS,
    STRING,
    VOICE_MESSAGE,
    Edge,
    NodeType,
    Turn,
    go,
    register,
    wait,
)

if TYPE_CHECKING:
    from .context import CallContext
    from .definition import Flow
    from .instructions import Spoken
    from .steps import RequestSummary

__all__ = ["NODE_TYPES", "NodeType", "Edge", "Turn"]


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        return wait(self.gather(ctx, ctx.node_id, node, attempt=1))

    def gather(self, ctx: CallContext, node_id: str, node: dict[str, Any], attempt: int) -> Gather:
        if node.get("prompt_in_every_language"):
            prompts = ctx.prompt_in_every_language(node["prompt"])
        else:
            prompts = (ctx.prompt(node["prompt"]),)
        return Gather(
            action=ctx.step(node_id, attempt=attempt),
            timeout=node.get("timeout", self.DEFAULT_TIMEOUT_SECONDS),
            prompts=prompts,
            num_digits=1,
        )

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        options = {str(key): value for key, value in node["options"].items()}
        if digits == "*":
            return wait(self.gather(ctx, node_id, node, attempt))
        if digits in options:
            option = options[digits]
            if "language" in option:
                ctx.set_language(option["language"])
            if "topic" in option:
                ctx.values["topic"] = option["topic"]
            return go(option["goto"])
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            # Say why the call moves on, rather than a new menu without a word (a flow whose
            # prompts have no `too_many_tries` text moves on without it).
            if "too_many_tries" in ctx.flow.prompts.get(ctx.flow.default_language, {}):
                return go(node["on_failure"], ctx.prompt("too_many_tries"))
            return go(node["on_failure"])
        again = ctx.prompt("no_input" if not digits else "invalid_choice")
        return wait(again, self.gather(ctx, node_id, node, attempt + 1))


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        said: list[Spoken] = [ctx.prompt(node["prompt"])]
        if node.get("read_code"):
            said.extend(ctx.read_code())
        if node.get("information"):
            ctx.reached(INFORMATION)
        return go(node["next"], *said)


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        last = ctx.prompt(node["prompt"])
        ctx.call_finished()
        return wait(last, Hangup())


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        return go(node["target"])


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        if "language" in node:
            ctx.set_language(node["language"])
            return go(node["next"])
        known = ctx.call.language in ctx.flow.languages
        return go(node["next"] if known else node["unknown"])


@register
class CreateRequest(NodeType):
    """Put a callback request in the queue (and queue its confirmation SMS). A caller whose
    number is withheld cannot be called back: the request is still stored, and the call goes
    to `withheld` (when given) to offer what can work instead.

        request_callback:
          type: create_request
          reason: callback_requested
          topic: vneid     # optional; else the topic a menu option chose, if any
          next: request_created
          withheld: request_noted_no_number   # optional: callers without a number
    """

    name = "create_request"
    fields = {"reason": STRING, "topic": STRING, "next": STRING, "withheld": STRING}
    required = ("reason", "next")

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        edges = [Edge("next", node["next"], REQUEST)]
        if "withheld" in node:
            edges.append(Edge("withheld", node["withheld"], REQUEST))
        return edges

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        ctx.create_request(reason=node["reason"], topic=node.get("topic") or ctx.values.get("topic"))
        if ctx.call.phone is None and "withheld" in node:
            return go(node["withheld"])
        return go(node["next"])


@register
class VoiceMessage(NodeType):
    """Record a message after the beep; it becomes (or joins) a request with its audio.
    An empty message (silence, or # at once) makes the provider skip the Record's action and
    carry on with what follows it: a Redirect to the same step, which then goes to `on_failure`
    (a callback request with its code read back), so no call ends in silence.

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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        record = Record(
            action=ctx.step(ctx.node_id),
            max_seconds=node.get("max_seconds", self.DEFAULT_MAX_SECONDS),
            finish_on_key="#",
            status_callback=True,
        )
        return wait(ctx.prompt(node["prompt"]), record, Redirect(record.action))

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        if not ctx.params.get("RecordingSid"):
            return go(node["on_failure"])
        ctx.attach_voice_message()
        ctx.reached(VOICE_MESSAGE)
        return go(node["next"])


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        if not ctx.staff_numbers():
            return go(node["on_failure"])
        ring = self.ring(ctx, ctx.node_id, node, 0)
        return Turn((ctx.prompt(node["prompt"]), *ring.instructions), ring.next)

    def ring(self, ctx: CallContext, node_id: str, node: dict[str, Any], index: int) -> Turn:
        """The next person on duty (the `index`th), or `on_failure` once everyone was rung."""
        numbers = ctx.staff_numbers()
        if index >= len(numbers):
            return go(node["on_failure"])
        return wait(Dial(
            numbers=(numbers[index],),
            caller_id=ctx.call.to_number or None,
            ring_seconds=node.get("ring_seconds") or ctx.ring_seconds(),
            action=ctx.step(node_id, attempt=index + 1),
        ))

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        if ctx.params.get("DialCallStatus") in self.CONNECTED:
            ctx.reached(PERSON)
            ctx.call_finished()
            return wait(Hangup())
        return self.ring(ctx, node_id, node, attempt)


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        return go(node["open"] if ctx.office_open() else node["closed"])


@register
class RequestStatus(NodeType):
    """Read the status of a request, its code digit by digit.

    `by: caller` looks up the caller's open request by their number;
    `by: code` asks for a code on the keypad (ending with #), checks its check
    digit, and asks again (up to `tries`) when it is wrong or unknown.

    With `options_prompt`, the status is read once inside a key wait: any key cuts it
    short, 1 reads it again, 2 goes to `another` (e.g. to look up another code), any
    other key or silence goes on to `found`. Without it, the code is read twice and the
    call goes on at once.

        caller_status:
          type: request_status
          by: caller
          found: main_menu        # after hearing the status
          not_found: main_menu
          options_prompt: status_options   # "1 hear it again, 2 another code"
          another: status_by_code

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
        "timeout": SECONDS, "options_prompt": STRING, "another": STRING,
    }
    required = ("by", "found")
    DEFAULT_TRIES = 3

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        other = node.get("not_found") if node.get("by") == "caller" else node.get("on_failure")
        edges = [Edge("found", node["found"], INFORMATION)]
        if "another" in node:
            edges.append(Edge("another", node["another"], by_caller=True))
        if other:
            edges.append(Edge("not_found" if node.get("by") == "caller" else "on_failure", other))
        return edges

    def prompts(self, node: dict[str, Any]) -> list[str]:
        return [node[name] for name in ("prompt", "options_prompt") if name in node]

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        if ("another" in node) and "options_prompt" not in node:
            return ["another needs options_prompt (what tells the caller the keys)"]
        if node["by"] == "caller":
            return [] if "not_found" in node else ["by: caller needs not_found"]
        return [f"by: code needs {name}" for name in ("prompt", "on_failure") if name not in node]

    def waits(self, node: dict[str, Any]) -> bool:
        return node.get("by") == "code" or "options_prompt" in node

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        if node["by"] == "caller":
            request = ctx.caller_open_request()
            if request is None:
                return go(node["not_found"])
            return self.heard(ctx, ctx.node_id, node, request)
        return wait(self.gather(ctx, ctx.node_id, node, 1))

    def heard(self, ctx: CallContext, node_id: str, node: dict[str, Any], request: RequestSummary) -> Turn:
        """The status read out: at once (code twice), or once inside a key wait (any key cuts it)."""
        if "options_prompt" not in node:
            return go(node["found"], *ctx.read_status(request))
        said = (*ctx.read_status(request, once=True), ctx.prompt(node["options_prompt"]))
        return wait(Gather(action=ctx.step(node_id, stage="heard", code=request.code), timeout=5,
                           prompts=said, num_digits=1))

    def gather(self, ctx: CallContext, node_id: str, node: dict[str, Any], attempt: int) -> Gather:
        return Gather(
            action=ctx.step(node_id, attempt=attempt),
            timeout=node.get("timeout", 8),
            prompts=(ctx.prompt(node["prompt"]),),
            finish_on_key="#",
        )

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        if ctx.args.get("stage") == "heard":
            code = ctx.args.get("code", "")
            request = ctx.find_request(code) if digits == "1" and codes.is_valid_code(code) else None
            if request is not None:
                return self.heard(ctx, node_id, node, request)
            if digits == "2" and "another" in node:
                return go(node["another"])
            return go(node["found"])
        if node["by"] != "code":
            return go(node_id)
        if digits == "*":
            return wait(self.gather(ctx, node_id, node, attempt))
        code = (digits or "").replace("*", "")
        request = ctx.find_request(code) if codes.is_valid_code(code) else None
        if request is not None:
            return self.heard(ctx, node_id, node, request)
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            return go(node["on_failure"])
        if not code:
            again = ctx.prompt("no_input")
        else:
            again = ctx.prompt("code_unknown" if codes.is_valid_code(code) else "code_invalid")
        return wait(again, self.gather(ctx, node_id, node, attempt + 1))



# The recording booth's door lives in its own module (staff only); importing it registers it.
from . import booth  # noqa: E402, F401
