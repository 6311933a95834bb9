"""Load a flow file, check it against the schema and semantically.

Every error names its path, e.g.
`ivr_flows/main.yaml › node "menu" › option 3: unknown target "stauts"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

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


class FlowError(ValueError):
    """A flow file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Flow:
    name: str
    version: int
    path: Path
    default_language: str
    languages: dict[str, dict[str, Any]]
    start: str
    nodes: dict[str, dict[str, Any]]
    prompts: dict[str, dict[str, str]] = field(default_factory=dict)

    def prompt_text(self, key: str, language: str | None) -> tuple[str, str]:
        """(text, language it is in): falls back to the default language's text."""
        for lang in (language, self.default_language):
            if lang and key in self.prompts.get(lang, {}):
                return self.prompts[lang][key], lang
        raise KeyError(f"prompt {key!r} has no text")

    def say_attributes(self, language: str) -> dict[str, str]:
        return dict(self.languages.get(language, {}).get("say") or {})


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_prompts(flows_dir: Path, languages: list[str]) -> dict[str, dict[str, str]]:
    prompts: dict[str, dict[str, str]] = {}
    for language in languages:
        path = flows_dir / "prompts" / f"{language}.yaml"
        prompts[language] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return prompts


def load_flow(path: Path | str) -> Flow:
    from .nodes import NODE_TYPES  # the registry knows which fields each type needs

    path = Path(path)
    where = _display(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FlowError([f"{where}: cannot read: {error}"]) from error

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

    flow = Flow(
        name=data["flow"],
        version=data["version"],
        path=path,
        default_language=data["default_language"],
        languages=data["languages"],
        start=data["start"],
        nodes=data["nodes"],
        prompts=load_prompts(path.parent, list(data["languages"])),
    )
    problems = check_flow(flow, NODE_TYPES, where)
    if problems:
        raise FlowError(problems)
    return flow


def _json_path(parts: Any) -> str:
    rendered = "".join(f' › "{part}"' for part in parts)
    return rendered


def check_flow(flow: Flow, node_types: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if flow.default_language not in flow.languages:
        problems.append(f"{where} › default_language: unknown language {flow.default_language!r}")
    if flow.start not in flow.nodes:
        problems.append(f'{where} › start: unknown node "{flow.start}"')
    for node_id, node in flow.nodes.items():
        here = f'{where} › node "{node_id}"'
        node_type = node_types.get(node["type"])
        if node_type is None:
            problems.append(f'{here}: unknown type "{node["type"]}"')
            continue
        for field_name, target in node_type.targets(node):
            if target not in flow.nodes:
                problems.append(f'{here} › {field_name}: unknown target "{target}"')
        for prompt in node_type.prompts(node):
            for language in flow.languages:
                if prompt not in flow.prompts.get(language, {}):
                    problems.append(f'{here}: prompt "{prompt}" has no {language} text')
        problems.extend(f"{here} › {problem}" for problem in node_type.check(node, flow))
    return problems
