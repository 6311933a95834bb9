"""A voice flow as data: what `flow.load_flow` returns once the file passed every check.

Kept apart from the loader so the node types, the call context and the walker can all
speak of a `Flow` while the loader (which needs the node registry to check a file)
sits above them: the arrows only point one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
