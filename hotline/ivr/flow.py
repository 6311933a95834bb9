"""Load a flow file, check it against the schema and semantically.

The checker reads the node registry (`registry.NODE_TYPES`, filled by `nodes`): each
type's schema, its edges and its own checks.

Every error names its path, e.g.
`ivr_flows/main.yaml › node "menu" › option 3: unknown target "stauts"`.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..data_files import DuplicateKey
from ..data_files import load_yaml as read_yaml  # words stay words: `on`/`no` are not booleans
from ..models.vocabulary import is_topic, known_topics
from . import nodes  # noqa: F401  (registers the built-in node types)
from .definition import Flow, FlowError
from .registry import INFORMATION, NODE_TYPES

SUPPORTED_VERSIONS = (1,)

FLOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "flow", "default_language", "languages", "start", "nodes"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer"},
        "flow": {"type": "string"},
        "default_language": {"type": "string"},
        "languages": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "say": {
                        "type": "object",
                        "properties": {"language": {"type": "string"}, "voice": {"type": "string"}},
                    },
                },
            },
        },
        "start": {"type": "string"},
        "nodes": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"type": "string"}},
            },
        },
    },
}


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_prompts(flows_dir: Path, languages: list[str]) -> dict[str, dict[str, str]]:
    prompts: dict[str, dict[str, str]] = {}
    for language in languages:
        path = flows_dir / "prompts" / f"{language}.yaml"
        prompts[language] = (read_yaml(path) or {}) if path.exists() else {}
    return prompts


def load_flow(path: Path | str) -> Flow:
    """The flow in `path`, checked against every registered node type (its fields, its
    targets, its prompts) and proven free of dead ends; else FlowError listing each problem."""
    path = Path(path)
    where = _display(path)
    try:
        data = read_yaml(path)
    except DuplicateKey as error:
        raise FlowError([f"{where}: {error.message}"]) from error
    except (OSError, yaml.YAMLError) as error:
        raise FlowError([f"{where}: cannot read: {_one_line(error)}"]) from error

    problems = [
        f"{where}{_json_path(error.absolute_path)}: {error.message}"
        for error in sorted(
            jsonschema.Draft202012Validator(FLOW_SCHEMA).iter_errors(data), key=str
        )
    ]
    if problems:
        raise FlowError(problems)
    if data["version"] not in SUPPORTED_VERSIONS:
        raise FlowError([f"{where} › version {data['version']}: unsupported (known: 1)"])

    try:
        prompts = load_prompts(path.parent, list(data["languages"]))
    except (OSError, yaml.YAMLError) as error:
        raise FlowError([f"{where} › prompts: cannot read: {_one_line(error)}"]) from error
    flow = Flow(
        name=data["flow"],
        version=data["version"],
        path=path,
        default_language=data["default_language"],
        languages=data["languages"],
        start=data["start"],
        nodes=data["nodes"],
        prompts=prompts,
    )
    problems = check_flow(flow, NODE_TYPES, where)
    if problems:
        raise FlowError(problems)
    return flow


def _one_line(error: Exception) -> str:
    mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(error).split())


def _json_path(parts: Any) -> str:
    rendered = "".join(f' › "{part}"' for part in parts)
    return rendered


#: Prompts the engine speaks itself (repeats, codes, statuses): every language needs them.
ENGINE_PROMPTS = (
    "no_input", "invalid_choice", "system_busy", "your_code_is", "code_again",
    "status_open", "status_in_progress", "status_resolved", "status_cancelled",
    "code_invalid", "code_unknown", *(f"digit_{digit}" for digit in range(10)),
)


def check_flow(flow: Flow, node_types: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if flow.default_language not in flow.languages:
        problems.append(f'{where} › default_language: unknown language "{flow.default_language}"')
    if flow.start not in flow.nodes:
        problems.append(f'{where} › start: unknown node "{flow.start}"')
    for language in flow.languages:
        for prompt in ENGINE_PROMPTS:
            if prompt not in flow.prompts.get(language, {}):
                problems.append(f'{where} › language "{language}": prompt "{prompt}" has no text')
    for node_id, node in flow.nodes.items():
        here = f'{where} › node "{node_id}"'
        node_type = node_types.get(node["type"])
        if node_type is None:
            problems.append(f'{here}: unknown type "{node["type"]}" (known: {", ".join(sorted(node_types))})')
            continue
        if "voice" not in node_type.channels:
            problems.append(f'{here}: type "{node["type"]}" is not allowed in a voice flow')
            continue
        schema_errors = sorted(
            jsonschema.Draft202012Validator(node_type.schema()).iter_errors(node), key=str
        )
        if schema_errors:
            problems.extend(f"{here}{_json_path(e.absolute_path)}: {e.message}" for e in schema_errors)
            continue
        for field_name, target in node_type.targets(node):
            if target not in flow.nodes:
                problems.append(f'{here} › {field_name}: unknown target "{target}"')
        for prompt in node_type.prompts(node):
            for language in flow.languages:
                if prompt not in flow.prompts.get(language, {}):
                    problems.append(f'{here}: prompt "{prompt}" has no {language} text')
        problems.extend(f"{here} › {problem}" for problem in _unknown_topics(node))
        problems.extend(f"{here} › {problem}" for problem in node_type.check(node, flow))
    if not problems:
        problems.extend(prove_no_dead_ends(flow, node_types, where))
    return problems


def _unknown_topics(node: dict[str, Any]) -> list[str]:
    """A topic a node sets (its own, or a menu option's) must be one of hotline.models.Topic,
    the list SMS, the dashboard and the reports share."""
    found = [("topic", node["topic"])] if "topic" in node else []
    options = node.get("options")
    if isinstance(options, dict):
        found += [(f"option {key}", option["topic"]) for key, option in options.items()
                  if isinstance(option, dict) and "topic" in option]
    return [f'{place}: unknown topic "{value}" (known: {known_topics()})'
            for place, value in found if not is_topic(value)]


NO_OUTCOME = "without a request, a person, a voice message or information"


def prove_no_dead_ends(flow: Flow, node_types: dict[str, Any], where: str) -> list[str]:
    """Every path from the start reaches a request, a person, a voice message, or information
    followed by a way back (a node that waits for keys) before the call ends; and silence
    never goes round in circles (a call that would never end).

    A hang-up is not an edge here: the engine turns a call that drops before any of these
    into a `dropped_call` request from Twilio's status callback.
    """

    def edges(node_id: str):
        node = flow.nodes[node_id]
        return node_types[node["type"]].edges(node)

    def waits(node_id: str) -> bool:
        node = flow.nodes[node_id]
        return node_types[node["type"]].waits(node)

    def leads_back(node_id: str) -> bool:
        seen, stack = set(), [node_id]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if waits(current):
                return True
            stack.extend(edge.target for edge in edges(current) if edge.target is not None)
        return False

    problems: list[str] = []
    start = (flow.start, False)
    parent: dict[tuple[str, bool], tuple[tuple[str, bool], str] | None] = {start: None}
    queue = deque([start])
    dead_ends: set[str] = set()
    while queue:
        state = queue.popleft()
        node_id, got = state
        for edge in edges(node_id):
            achieved = got or (
                edge.achieves is not None
                and (edge.achieves != INFORMATION or (edge.target is not None and leads_back(edge.target)))
            )
            if edge.target is None:
                if not achieved and node_id not in dead_ends:
                    dead_ends.add(node_id)
                    path = _render_path(parent, state)
                    problems.append(
                        f'{where} › node "{node_id}": dead end: {path} ends the call {NO_OUTCOME}'
                    )
                continue
            following = (edge.target, achieved)
            if following not in parent:
                parent[following] = (state, edge.label)
                queue.append(following)

    # Silence (and everything the caller does not choose) must not loop.
    reachable = sorted({node_id for node_id, _ in parent})
    colour: dict[str, int] = {}

    def visit(node_id: str, trail: list[str]) -> list[str] | None:
        colour[node_id] = 1
        for edge in edges(node_id):
            if edge.by_caller or edge.target is None:
                continue
            if colour.get(edge.target) == 1:
                return [*trail[trail.index(edge.target):], edge.target]
            if edge.target not in colour:
                found = visit(edge.target, [*trail, edge.target])
                if found:
                    return found
        colour[node_id] = 2
        return None

    for node_id in reachable:
        if node_id not in colour:
            cycle = visit(node_id, [node_id])
            if cycle:
                problems.append(
                    f'{where} › node "{cycle[0]}": without a key the call goes round in circles: '
                    + " → ".join(cycle)
                )
    return problems


def _render_path(parent, state) -> str:
    """`choose_language [option 1] → main_menu [option 3] → goodbye`: how the call got there."""
    names, labels = [state[0]], []
    while parent[state] is not None:
        state, label = parent[state]
        names.append(state[0])
        labels.append(label)
    names.reverse()
    labels.reverse()
    return " → ".join(
        f"{name} [{labels[index]}]" if index < len(labels) else name for index, name in enumerate(names)
    )
