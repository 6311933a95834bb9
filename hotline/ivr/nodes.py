"""The registry of node types a flow may use.

Each type says which other nodes it can lead to (for the checker), which
prompts it speaks, and what it does when the call enters it and, for
interactive nodes, when the caller answers. `enter` returns the id of the node
to continue with in the same TwiML document, or None once the document waits
for the caller (a Gather) or ends the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from twilio.twiml.voice_response import VoiceResponse

if TYPE_CHECKING:
    from .engine import CallContext
    from .flow import Flow

NODE_TYPES: dict[str, NodeType] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    NODE_TYPES[cls.name] = cls()
    return cls


class NodeType:
    name = ""
    #: Fields that must be present, beyond `type`.
    required: tuple[str, ...] = ()

    def targets(self, node: dict[str, Any]) -> Iterator[tuple[str, str]]:
        for key in ("next", "on_failure"):
            if key in node:
                yield key, node[key]

    def prompts(self, node: dict[str, Any]) -> list[str]:
        return [node["prompt"]] if "prompt" in node else []

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        return [f"missing field {name!r}" for name in self.required if name not in node]

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        raise NotImplementedError

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None,
        attempt: int, response: VoiceResponse,
    ) -> str | None:
        raise NotImplementedError(f"{self.name} nodes take no input")


@register
class Menu(NodeType):
    """Speak a prompt and wait for one key.

        main_menu:
          type: menu
          prompt: main_menu
          options:
            "1": {goto: request_callback}
            "2": {language: vi, goto: main_menu}
          on_failure: request_callback   # after `tries` wrong keys or silences
    """

    name = "menu"
    required = ("prompt", "options", "on_failure")
    DEFAULT_TRIES = 3
    DEFAULT_TIMEOUT_SECONDS = 6

    def targets(self, node: dict[str, Any]) -> Iterator[tuple[str, str]]:
        yield from super().targets(node)
        for key, option in (node.get("options") or {}).items():
            if "goto" in option:
                yield f"option {key}", option["goto"]

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        problems = super().check(node, flow)
        for key, option in (node.get("options") or {}).items():
            if str(key) not in "0123456789#" or len(str(key)) != 1:
                problems.append(f"option {key}: keys are single digits or #")
            if not isinstance(option, dict) or "goto" not in option:
                problems.append(f"option {key}: needs a goto")
            elif "language" in option and option["language"] not in flow.languages:
                problems.append(f"option {key}: unknown language {option['language']!r}")
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
            return option["goto"]
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            return node["on_failure"]
        ctx.speak(response, "no_input" if not digits else "invalid_choice")
        return self.gather(ctx, node_id, node, response, attempt + 1)


@register
class Say(NodeType):
    """Speak a prompt, then continue.

        request_created:
          type: say
          prompt: request_created    # may use {code}
          next: goodbye
    """

    name = "say"
    required = ("prompt", "next")

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.speak(response, node["prompt"])
        return node["next"]


@register
class Goodbye(NodeType):
    """Speak a last prompt and hang up.

        goodbye:
          type: goodbye
          prompt: goodbye
    """

    name = "goodbye"
    required = ("prompt",)

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.speak(response, node["prompt"])
        response.hangup()
        ctx.call_finished()
        return None


@register
class CreateRequest(NodeType):
    """Put a callback request in the queue and queue its confirmation SMS.

        request_callback:
          type: create_request
          reason: callback_requested
          topic: vneid          # optional: the procedure asked about
          next: request_created
    """

    name = "create_request"
    required = ("reason", "next")

    def prompts(self, node: dict[str, Any]) -> list[str]:
        return []

    def enter(self, ctx: CallContext, node: dict[str, Any], response: VoiceResponse) -> str | None:
        ctx.create_request(reason=node["reason"], topic=node.get("topic"))
        return node["next"]


@register
class VoiceMessage(NodeType):
    """Record a message after the beep; it becomes (or joins) a request with its audio.

        leave_message:
          type: voice_message
          prompt: leave_message       # "speak after the beep, press # when done"
          max_seconds: 120
          next: message_received     # after a recording
          on_failure: request_callback   # nothing was recorded
    """

    name = "voice_message"
    required = ("prompt", "next", "on_failure")
    DEFAULT_MAX_SECONDS = 120

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
        return node["next"]
