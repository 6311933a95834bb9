"""The registry of node types: what each type of node is, and the contract every one keeps.

Node types register here (`@register`, in `nodes.py`); the flow checker (`flow.py`)
reads the registry to check a flow file and the walker (`engine.py`) to run one. Each
type declares
- `fields`: a JSON schema of its fields (checked with path-naming errors),
- `edges(node)`: where the call can go next and what the caller got on the way
  (a request, a person, a voice message, information) — the flow checker uses
  these to prove that no path is a dead end,
- `enter` (the call arrives at the node) and, for nodes that wait for the
  caller, `on_input` (the provider posts the answer).

`enter`/`on_input` return a `Turn`: the call instructions for the caller
(`instructions.py`) and the id of the node to continue with in the same document, or
None once the document waits for the caller or ends. They never see HTTP or TwiML.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .instructions import Instruction

if TYPE_CHECKING:
    from .context import CallContext
    from .definition import Flow

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


@dataclass(frozen=True, slots=True)
class Turn:
    """What a node does when the call reaches it, or when the caller answers it: what the
    caller hears or is asked, and where the call goes on within the same document (None:
    the document now waits for the caller, or the call ends)."""

    instructions: tuple[Instruction, ...] = ()
    next: str | None = None


def go(next_node: str | None, *instructions: Instruction) -> Turn:
    """Say/do `instructions`, then continue at `next_node` in the same document."""
    return Turn(instructions, next_node)


def wait(*instructions: Instruction) -> Turn:
    """End the document with `instructions` (a Gather, a Record, a Dial, a Hangup)."""
    return Turn(instructions, None)


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

    def enter(self, ctx: CallContext, node: dict[str, Any]) -> Turn:
        raise NotImplementedError

    def on_input(
        self, ctx: CallContext, node_id: str, node: dict[str, Any], digits: str | None, attempt: int,
    ) -> Turn:
        # A node that takes no input got a (stale) action: carry on from it.
        return go(node_id)


def waits_for_keys(node: dict[str, Any]) -> bool:
    return NODE_TYPES[node["type"]].waits(node)
