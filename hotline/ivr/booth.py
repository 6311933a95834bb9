"""The recording booth: a staff member calls from their registered phone, enters their PIN,
and records the prompts a language still lacks, one after another, in one sitting.

    staff:                 (caller ID = an active staff account with a PIN and a role in `roles`)
      PIN + #  ──wrong ×3──▶ "ended and logged" (audit: booth_pin_locked), hang up
        │ # alone or silence ─▶ `next` (the residents' menu, as for everyone else)
        ▼
      language menu: "M'Nông, 38 prompts to record, press 2 …"  (* stops)
        ▼
      for each prompt missing in that language, in the order of the Vietnamese file:
        "Prompt 3 of 38, M'Nông. Text: <the script>. Speak after the beep, # when done."
        <Record> → played back → 1 keep · 2 again · 3 skip · * stop
        (no sound: "nothing heard", record again)

Kept takes are fetched, converted to 8 kHz mono and put live by the worker
(`hotline.prompt_recordings.store`); who recorded what and when is in `prompt_recordings`.
Every later stage checks that the call passed the PIN (its outcome is `booth`) and that
the caller is still staff with the right role. The booth speaks Vietnamese, from
`ivr_flows/booth.yaml` (never recorded). Its state rides in the step URL (`stage`,
`lang`, `key`, `rec`: Twilio signs it with the rest).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import prompt_recordings
from ..data_files import load_yaml
from ..prompts import PromptSource
from .instructions import Gather, Hangup, Instruction, Play, Record, Redirect, Say, Spoken
from .registry import STRING, Edge, NodeType, Turn, go, register, wait

if TYPE_CHECKING:
    from ..models import Staff
    from .context import CallContext
    from .definition import Flow

#: The texts the booth needs (ivr_flows/booth.yaml); the checker refuses a file without one.
TEXTS = ("pin", "pin_wrong", "pin_locked", "choose_language", "language_option", "stop_option",
         "prompt_intro", "after_beep", "review", "kept", "skipped", "nothing_heard", "all_done", "stopped")
#: The call's outcome once the PIN was right: later stages check it; no dropped-call request.
IN_BOOTH = "booth"
MAX_TAKE_SECONDS = 30
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@functools.cache
def _texts(path: Path) -> dict[str, str]:
    data = load_yaml(path) if path.exists() else None
    return {str(key): str(value) for key, value in (data or {}).items()}


def booth_texts(flow: Flow) -> dict[str, str]:
    return _texts(flow.path.parent / "booth.yaml")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@register
class RecordingBooth(NodeType):
    """The door of the recording booth: staff calling from their registered phone (an active
    account with a PIN, `hotline users pin USER`, and a role in `roles`) are asked for their
    PIN and then record the prompts their language lacks (1 keep, 2 again, 3 skip, * stop);
    everyone else goes on to `next` at once, hearing nothing. Staff who press # alone or
    say nothing go on too. Three wrong PINs end the call (audited). Texts: ivr_flows/booth.yaml.

        staff_door:
          type: recording_booth
          roles: [lead, admin]
          next: greeting
    """

    name = "recording_booth"
    fields = {
        "roles": {"type": "array", "minItems": 1, "items": {"enum": ["volunteer", "lead", "admin"]}},
        "next": STRING,
        "tries": {"type": "integer", "minimum": 1, "maximum": 5},
    }
    required = ("roles", "next")
    DEFAULT_TRIES = 3

    def edges(self, node: dict[str, Any]) -> list[Edge]:
        # The booth's own steps (staff only) end in a hang-up by design; callers go to `next`.
        return [Edge("not staff, or # at the PIN", node["next"])]

    def check(self, node: dict[str, Any], flow: Flow) -> list[str]:
        texts = booth_texts(flow)
        path = flow.path.parent / "booth.yaml"
        return [f"{path.name}: text \"{key}\" is missing" for key in TEXTS if key not in texts]

    # --- speaking ----------------------------------------------------------------------

    def voice(self, ctx: CallContext) -> tuple[tuple[str, str], ...]:
        return tuple(ctx.flow.say_attributes(ctx.flow.default_language).items())

    def say(self, ctx: CallContext, text_key: str, /, **values: Any) -> Say:
        text = booth_texts(ctx.flow)[text_key].format_map(_Blank({k: str(v) for k, v in values.items()}))
        return Say(text, tuple(ctx.flow.say_attributes(ctx.flow.default_language).items()))

    def pin_gather(self, ctx: CallContext, node_id: str, attempt: int) -> Gather:
        return Gather(action=ctx.step(node_id, attempt, stage="pin"), timeout=6,
                      prompts=(self.say(ctx, "pin"),), finish_on_key="#")

    def languages(self, ctx: CallContext) -> list[str]:
        return list(ctx.flow.languages)

    def missing(self, ctx: CallContext, language: str) -> list[str]:
        """The prompts `language` still lacks, in the order of the Vietnamese file."""
        held = prompt_recordings.in_hand(language)
        return [key for key in ctx.prompts.keys()
                if key not in held and ctx.prompts.source(language, key) != PromptSource.RECORDED]

    def language_menu(self, ctx: CallContext, node_id: str, *before: Instruction) -> Turn:
        said: list[Spoken] = [self.say(ctx, "choose_language")]
        for index, language in enumerate(self.languages(ctx), start=1):
            name = ctx.flow.languages[language].get("name", language)
            said.append(self.say(ctx, "language_option", name=name, missing=len(self.missing(ctx, language)),
                                 key=index))
        said.append(self.say(ctx, "stop_option"))
        gather = Gather(action=ctx.step(node_id, stage="lang"), timeout=8, prompts=tuple(said), num_digits=1)
        return wait(*before, gather)

    def record(self, ctx: CallContext, node_id: str, language: str, key: str, *before: Instruction) -> Turn:
        keys = ctx.prompts.keys()
        name = ctx.flow.languages[language].get("name", language)
        script, _ = ctx.flow.prompt_text(key, language)
        target = ctx.step(node_id, stage="take", lang=language, key=key)
        return wait(
            *before,
            self.say(ctx, "prompt_intro", number=keys.index(key) + 1, total=len(keys), language=name),
            Say(PLACEHOLDER.sub("…", script), self.voice(ctx)),
            self.say(ctx, "after_beep"),
            Record(action=target, max_seconds=MAX_TAKE_SECONDS, finish_on_key="#", status_callback=False),
            Redirect(target),  # no sound: Twilio skips the action and carries on here
        )

    def next_prompt(self, ctx: CallContext, node_id: str, language: str, after: str | None,
                    *before: Instruction) -> Turn:
        keys = ctx.prompts.keys()
        start = keys.index(after) + 1 if after in keys else 0
        missing = set(self.missing(ctx, language))
        for key in keys[start:]:
            if key in missing:
                return self.record(ctx, node_id, language, key, *before)
        name = ctx.flow.languages[language].get("name", language)
        return self.language_menu(ctx, node_id, *before, self.say(ctx, "all_done", language=name))

    def review(self, ctx: CallContext, node_id: str, language: str, key: str, sid: str, url: str | None,
               attempt: int, *before: Instruction) -> Turn:
        heard: list[Spoken] = [Play(url)] if url else []
        gather = Gather(action=ctx.step(node_id, attempt, stage="review", lang=language, key=key, rec=sid),
                        timeout=8, prompts=(*heard, self.say(ctx, "review")), num_digits=1)
        return wait(*before, gather)

    def stop(self, ctx: CallContext) -> Turn:
        ctx.call_finished()
        return wait(self.say(ctx, "stopped"), Hangup())

    # --- the call ----------------------------------------------------------------------

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        if ctx.call.staff_role not in node["roles"]:
            return go(node["next"])
        return wait(self.pin_gather(ctx, ctx.node_id, 1))

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        staff = prompt_recordings.booth_staff(ctx.call.phone, node["roles"])
        stage = ctx.args.get("stage")
        if stage == "pin":
            return self.check_pin(ctx, node_id, node, staff, digits, attempt)
        if staff is None or ctx.call.outcome != IN_BOOTH:
            return go(node["next"])  # a step URL without the PIN behind it opens nothing
        ctx.durable = True
        language, key = ctx.args.get("lang", ""), ctx.args.get("key", "")
        if stage == "lang":
            languages = self.languages(ctx)
            if digits == "*":
                return self.stop(ctx)
            if digits and digits.isdigit() and 1 <= int(digits) <= len(languages):
                return self.next_prompt(ctx, node_id, languages[int(digits) - 1], None)
            return self.language_menu(ctx, node_id)
        if language not in ctx.flow.languages or key not in ctx.prompts.keys():
            return self.language_menu(ctx, node_id)
        if stage == "take":
            sid = ctx.params.get("RecordingSid")
            if not sid:
                return self.record(ctx, node_id, language, key, self.say(ctx, "nothing_heard"))
            duration = ctx.params.get("RecordingDuration") or ""
            take = prompt_recordings.phone_take(
                staff=staff, language=language, prompt=key, recording_sid=sid,
                recording_url=ctx.params.get("RecordingUrl"),
                duration=int(duration) if duration.isdigit() else None, call_sid=ctx.call.call_sid)
            return self.review(ctx, node_id, language, key, sid, take.recording_url, 1)
        if stage == "review":
            kept = prompt_recordings.take_by_sid(ctx.args.get("rec"))
            if kept is None or kept.language != language or kept.prompt != key:
                return self.language_menu(ctx, node_id)
            if digits == "1":
                prompt_recordings.keep(kept, staff)
                return self.next_prompt(ctx, node_id, language, key, self.say(ctx, "kept"))
            if digits == "2":
                prompt_recordings.discard(kept)
                return self.record(ctx, node_id, language, key)
            if digits == "3":
                prompt_recordings.discard(kept)
                return self.next_prompt(ctx, node_id, language, key, self.say(ctx, "skipped"))
            if digits == "*" or attempt >= node.get("tries", self.DEFAULT_TRIES):
                prompt_recordings.discard(kept)
                return self.stop(ctx)
            return self.review(ctx, node_id, language, key, kept.recording_sid or "", kept.recording_url,
                               attempt + 1)
        return self.language_menu(ctx, node_id)

    def check_pin(self, ctx: CallContext, node_id: str, node: dict[str, Any], staff: Staff | None,
                  digits: str | None, attempt: int) -> Turn:
        if not (digits or "").strip("#"):
            return go(node["next"])  # # alone or silence: the residents' menu
        ctx.durable = True
        if staff is not None and prompt_recordings.check_pin(staff, digits):
            ctx.call.change("outcome", IN_BOOTH)
            prompt_recordings.booth_entered(staff, ctx.call.call_sid)
            return self.language_menu(ctx, node_id)
        if attempt >= node.get("tries", self.DEFAULT_TRIES):
            ctx.call.change("outcome", IN_BOOTH)  # no dropped-call request for a staff phone
            prompt_recordings.pin_locked(staff, ctx.call.phone, ctx.call.call_sid)
            ctx.call_finished()
            return wait(self.say(ctx, "pin_locked"), Hangup())
        return wait(self.say(ctx, "pin_wrong"), self.pin_gather(ctx, node_id, attempt + 1))
