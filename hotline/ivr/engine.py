"""The flow walker: from a provider's voice webhook to the list of call instructions for it.

The edge (`hotline/voice/`) hands over the webhook's parameters and a `render` callable
(instructions → the provider's document); the walker runs the step — the answered
node's `on_input`, then each node's `enter` until one waits for the caller — renders
the instructions it collected, and step storage (`steps.py`) stores the rendered
document with the step, so a retry replays it byte for byte.

Nothing here speaks HTTP or TwiML; see docs/voice-flows.md for the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import office_hours
from ..phones import to_e164
from ..prompts import PromptLibrary
from .context import CallContext
from .definition import Flow, FlowError
from .flow import load_flow
from .instructions import Hangup, Instruction, Say
from .registry import NODE_TYPES
from .steps import Answer, CallState, RequestSummary, answer_step

#: Non-interactive nodes followed within one document before the walker gives up.
MAX_NODES_PER_STEP = 32
#: What a caller hears when the hotline itself failed and the flow has no `system_busy` text.
APOLOGY = "Xin lỗi, hệ thống đang bận. Vui lòng gọi lại sau ít phút."

Render = Callable[[Sequence[Instruction]], str]


@dataclass(frozen=True)
class VoiceMenu:
    """What a step needs from the app, bound once at start-up: the checked flow, how its
    prompts are heard, and how local numbers are read."""

    flow: Flow
    prompts: PromptLibrary
    region: str


def init_app(app: Any) -> None:
    """Load and check the flow (and the office hours) once; a broken one stops the app."""
    try:
        try:
            office_hours.init_app(app)
        except office_hours.OfficeHoursError as error:
            raise FlowError(error.problems) from error
        flow = load_flow(Path(app.config["FLOWS_DIR"]) / "main.yaml")
    except FlowError as error:
        app.logger.error("refusing to start: the voice flow is broken:\n%s", error)
        raise
    recordings = app.config.get("PROMPT_RECORDINGS_DIR") or Path(app.config["DATA_DIR"]) / "prompts"
    prompts = PromptLibrary(flow, app.config["AUDIO_DIR"], recordings)
    app.extensions["hotline.flow"] = flow
    app.extensions["hotline.prompts"] = prompts
    app.extensions["hotline.voice"] = VoiceMenu(flow, prompts, app.config["DEFAULT_REGION"])


def answer_call(menu: VoiceMenu, params: Mapping[str, str], render: Render) -> str:
    """The incoming-call webhook: step 0, the flow's start."""
    return run_step(menu, params, 0, menu.flow.start, None, 1, render)


def continue_call(
    menu: VoiceMenu, params: Mapping[str, str], node_id: str, seq: int, attempt: int, render: Render,
    args: Mapping[str, str] | None = None,
) -> str:
    """A step webhook: the caller's answer (keys, a recording, a dial status) to `node_id`."""
    digits = (params.get("Digits") or "").strip() or None
    return run_step(menu, params, seq, node_id, digits, attempt, render, args)


def run_step(
    menu: VoiceMenu, params: Mapping[str, str], seq: int, node_id: str, digits: str | None, attempt: int,
    render: Render, args: Mapping[str, str] | None = None,
) -> str:
    """One webhook, committed whole by step storage; a retry gets the stored document."""
    raw_from = params.get("From")

    def produce(call: CallState, open_request: RequestSummary | None) -> Answer:
        ctx = CallContext(flow=menu.flow, prompts=menu.prompts, call=call, next_seq=seq + 1,
                          node_id=node_id, params=params, open_request=open_request, args=dict(args or {}))
        instructions = walk(ctx, seq, node_id, digits, attempt)
        return Answer(render(instructions), ctx.durable)

    return answer_step(params.get("CallSid") or "", raw_from, to_e164(raw_from, menu.region),
                       params.get("To"), seq, node_id, digits, produce)


def walk(ctx: CallContext, seq: int, node_id: str, digits: str | None, attempt: int) -> list[Instruction]:
    """The instructions of one step: the answered node takes the caller's input, then the call
    follows the flow until a node waits for the caller or the call ends."""
    flow = ctx.flow
    instructions: list[Instruction] = []
    node = flow.nodes.get(node_id)
    if seq == 0 or node is None:
        # The call's first step, or a step URL from an older version of the flow.
        next_id: str | None = flow.start if node is None else node_id
    else:
        turn = NODE_TYPES[node["type"]].on_input(ctx, node_id, node, digits, attempt)
        instructions.extend(turn.instructions)
        next_id = turn.next
    follow(ctx, next_id, instructions)
    return instructions


def follow(ctx: CallContext, node_id: str | None, instructions: list[Instruction]) -> None:
    for _ in range(MAX_NODES_PER_STEP):
        if node_id is None:
            return
        ctx.node_id = node_id
        node = ctx.flow.nodes[node_id]
        turn = NODE_TYPES[node["type"]].enter(ctx, node)
        instructions.extend(turn.instructions)
        node_id = turn.next
    raise RuntimeError(f"flow {ctx.flow.name}: more than {MAX_NODES_PER_STEP} nodes without input")


def apology(flow: Flow | None) -> list[Instruction]:
    """What a caller hears when something inside the hotline failed: never silence."""
    text, attributes = APOLOGY, {"language": "vi-VN"}
    if flow is not None:
        try:
            text, language = flow.prompt_text("system_busy", flow.default_language)
            attributes = flow.say_attributes(language)
        except KeyError:
            pass
    return [Say(text, tuple(attributes.items())), Hangup()]
