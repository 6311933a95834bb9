"""Training scenarios: the rehearsals of the browser phone, as data (`ivr_flows/training/*.yaml`).

Each file says who the simulated resident is (name, what they need, the language they
choose, whether they call from their own phone, a family phone or a withheld number),
the channel they use, a script for the trainee who plays them, and the checklist of
staff-side steps the trainer's page ticks from the request's timeline. docs/training.md
describes the fields.

Checked like every data file (hotline.data_catalog, at start-up and by `hotline flows
check`): the schema (`scenario_schema`: texts in Vietnamese and English, a known topic,
steps from `Step`), then what only code can say (`check`: a resident who hides their
number can neither text nor be called back). A broken file names its path and field:
`ivr_flows/training/x.yaml › need › topic: unknown value 'pension' (known: …)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from flask import current_app

from .data_files import DataFileError, display, localized, read_checked, texts_in
from .models.vocabulary import Topic

#: The folder under FLOWS_DIR.
FOLDER = "training"
#: The data kind of a scenario file (hotline.data_catalog).
KIND = "training_scenario"
#: Where the app keeps the scenarios, by name (read once at start-up).
EXTENSION = "hotline.training_scenarios"
#: A scenario's name is its file name: it is stored on each run (`TrainingRun.scenario`, 64 chars).
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: A scenario's texts are read by Vietnamese and English-speaking trainers alike.
LANGUAGES = ("vi", "en")
NUMBERS = ("own", "family", "withheld")
CHANNELS = ("voice", "sms")


class Step(StrEnum):
    """One line of a scenario's checklist, ticked from the run's requests' timelines
    (hotline.training_progress says what ticks each)."""

    REQUEST_OPENED = "request_opened"  # the resident's call or text opened a request
    VOICE_MESSAGE_LEFT = "voice_message_left"
    TRANSCRIPT_ARRIVED = "transcript_arrived"
    SMS_RECEIVED = "sms_received"
    CLAIMED = "claimed"  # from here on: the trainee's own actions
    CALLED_BACK = "called_back"
    NOTE_WRITTEN = "note_written"
    OUTCOME_RECORDED = "outcome_recorded"
    OUTCOME_RESOLVED = "outcome_resolved"
    VISIT_BOOKED = "visit_booked"


#: Steps that need the hotline to know the resident's number.
NEEDS_NUMBER = {Step.CALLED_BACK: "the hotline cannot call back a withheld number",
                Step.SMS_RECEIVED: "a withheld number cannot text"}


def scenario_schema() -> dict[str, Any]:
    texts = texts_in(*LANGUAGES)
    return {
        "type": "object", "additionalProperties": False,
        "required": ["title", "resident", "need", "channel", "script", "checklist"],
        "properties": {
            "title": texts,
            "resident": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "about", "language", "number"],
                "properties": {
                    "name": texts,
                    "about": texts,
                    "language": {"type": "string", "pattern": r"^[a-z][a-z_]*$", "like": "vi, mnong"},
                    "number": {"enum": list(NUMBERS)},
                    "elderly": {"type": "boolean"},
                },
            },
            "need": {
                "type": "object", "additionalProperties": False, "required": ["topic"],
                "properties": {"topic": {"enum": [topic.value for topic in Topic]}},
            },
            "channel": {"enum": list(CHANNELS)},
            "script": {"type": "array", "minItems": 1, "items": texts},
            "checklist": {"type": "array", "minItems": 1, "items": {"enum": [step.value for step in Step]}},
        },
    }


def check(data: Any, where: str, region: str = "VN") -> list[str]:
    """What the schema cannot say: a step listed twice; what a withheld number rules out."""
    problems = []
    seen: set[str] = set()
    for index, step in enumerate(data["checklist"]):
        if step in seen:
            problems.append(f"{where} › checklist › {index}: {step} listed twice")
        seen.add(step)
    if data["resident"]["number"] == "withheld":
        if data["channel"] == "sms":
            problems.append(f"{where} › channel: a resident who hides their number cannot text (use voice)")
        for index, step in enumerate(data["checklist"]):
            if step in NEEDS_NUMBER:
                why = NEEDS_NUMBER[Step(step)]
                problems.append(f"{where} › checklist › {index}: {step} is impossible: {why}")
    return problems


def name_problem(path: Path) -> str | None:
    """A scenario file whose name cannot be a scenario's name (`TrainingRun.scenario`)."""
    if NAME.match(path.stem):
        return None
    return (f"{display(path)}: not a scenario name like vneid-elderly-mnong "
            "(lowercase letters, digits, - and _)")


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

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(Step(step) for step in self.checklist)

    def text(self, texts: dict[str, str], language: str | None) -> str:
        return localized(texts, language)

    @classmethod
    def from_data(cls, name: str, data: dict[str, Any]) -> Scenario:
        return cls(
            name=name,
            title=data["title"],
            resident=data["resident"],
            need=data["need"],
            channel=data["channel"],
            script=tuple(data["script"]),
            checklist=tuple(data["checklist"]),
        )


def files(flows_dir: Path | str) -> list[Path]:
    return sorted((Path(flows_dir) / FOLDER).glob("*.yaml"))


def read(path: Path | str, *, where: str | None = None) -> dict[str, Any]:
    """One scenario file, checked: its data, or DataFileError listing every problem."""
    problem = name_problem(Path(path))
    if problem:
        raise DataFileError([problem])
    return read_checked(path, scenario_schema(), check, where=where)


def from_checked(checked: dict[str, Any]) -> dict[str, Scenario]:
    """The scenarios among the checked data files (`{"training/x.yaml": {...}}`), by name, sorted."""
    prefix = f"{FOLDER}/"
    return {
        Path(name).stem: Scenario.from_data(Path(name).stem, data)
        for name, data in sorted(checked.items()) if name.startswith(prefix)
    }


def loaded() -> dict[str, Scenario]:
    """The scenarios as checked at start-up (hotline.data_catalog fills EXTENSION)."""
    return current_app.extensions[EXTENSION]


def load_scenarios(flows_dir: Path | str) -> dict[str, Scenario]:
    """Every scenario in `<flows_dir>/training/`, by file name (without .yaml), sorted; each
    file checked (DataFileError lists every problem of every file)."""
    found, problems = {}, []
    for path in files(flows_dir):
        try:
            found[path.stem] = Scenario.from_data(path.stem, read(path))
        except DataFileError as error:
            problems.extend(error.problems)
    if problems:
        raise DataFileError(problems)
    return found
