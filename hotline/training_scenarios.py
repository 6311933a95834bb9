"""Training scenarios: the rehearsals of the browser phone, as data (`ivr_flows/training/*.yaml`).

Each file says who the simulated resident is (name, what they need, the language they
choose, whether they call from their own phone, a family phone or a withheld number),
the channel they use, a script for the trainee who plays them, and the checklist of
staff-side steps the trainer's page ticks from the request's timeline. docs/training.md
describes the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data_files import load_yaml, localized

#: The folder under FLOWS_DIR.
FOLDER = "training"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: dict[str, str]
    resident: dict[str, Any]
    need: dict[str, Any]
    channel: str
    script: tuple[dict[str, str], ...]
    checklist: tuple[str, ...]

    @property
    def withheld(self) -> bool:
        """The resident hides their number: the run gets none (the hotline cannot call back)."""
        return self.resident.get("number") == "withheld"

    def text(self, texts: dict[str, str], language: str | None) -> str:
        return localized(texts, language)


def load_scenarios(flows_dir: Path | str) -> dict[str, Scenario]:
    """Every scenario in `<flows_dir>/training/`, by file name (without .yaml), sorted."""
    scenarios = {}
    for path in sorted((Path(flows_dir) / FOLDER).glob("*.yaml")):
        data = load_yaml(path)
        scenarios[path.stem] = Scenario(
            name=path.stem,
            title=data["title"],
            resident=data["resident"],
            need=data.get("need") or {},
            channel=data.get("channel", "voice"),
            script=tuple(data.get("script") or ()),
            checklist=tuple(data.get("checklist") or ()),
        )
    return scenarios
