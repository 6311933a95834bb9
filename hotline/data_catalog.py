"""The catalogue of data files under `ivr_flows/`: which files exist, of which kind, and the
checks beyond the schema that each kind gets from the code that uses it.

Kept apart from `hotline.data_files` (the loader and the schemas) so that the modules that
use a file import the loader, and only this catalogue imports them: no import cycle.
`init_app` reads every file at start-up; a broken one stops the app, naming each problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import directory, messaging, office_hours, training_scenarios
from .data_files import EXTENSION, SCHEMAS, Check, DataFileError, display, read_checked
from .sms import keywords
from .staff import rules


def _check_office_hours(data: Any, where: str, region: str) -> list[str]:
    try:
        office_hours.parse(data, where, region)
    except office_hours.OfficeHoursError as error:
        return list(error.problems)
    return []


def _check_official_numbers(data: Any, where: str, region: str) -> list[str]:
    return directory.check(data, where, region)


def _check_templates(data: Any, where: str, region: str) -> list[str]:
    return messaging.check_templates(data, where)


def _check_staff(data: Any, where: str, region: str) -> list[str]:
    return rules.check(data, where)


def _check_keywords(data: Any, where: str, region: str) -> list[str]:
    try:
        keywords.Keywords.from_data(data, where)
    except keywords.KeywordError as error:
        return list(error.problems)
    return []


CHECKS: dict[str, Check] = {
    "office_hours": _check_office_hours,
    "official_numbers": _check_official_numbers,
    "sms_templates": _check_templates,
    "staff": _check_staff,
    "sms_keywords": _check_keywords,
    training_scenarios.KIND: training_scenarios.check,
}


@dataclass(frozen=True)
class DataFile:
    name: str  # relative to the flows folder
    kind: str
    required: bool = True


#: The data files besides main.yaml (hotline.ivr.flow), prompts/<language>.yaml and the training
#: scenarios, training/<name>.yaml (one per file found).
FILES = (
    DataFile("office_hours.yaml", "office_hours"),
    DataFile("official_numbers.yaml", "official_numbers", required=False),
    DataFile("sms_templates.yaml", "sms_templates"),
    DataFile("sms/replies.yaml", "sms_templates"),
    DataFile("sms/keywords.yaml", "sms_keywords"),
    DataFile("staff.yaml", "staff"),
    DataFile("booth.yaml", "prompts", required=False),  # what the recording booth says to staff
)
FLOW_FILE = "main.yaml"


def kind_of(name: str) -> str | None:
    """The kind of a file by its name under the flows folder; None for main.yaml and strangers."""
    for known in FILES:
        if known.name == name:
            return known.kind
    if name.endswith(".yaml") and name.count("/") == 1:
        folder = name.partition("/")[0]
        if folder == "prompts":
            return "prompts"
        if folder == training_scenarios.FOLDER:
            return training_scenarios.KIND
    return None


def schema(kind: str) -> dict[str, Any]:
    if kind == "sms_keywords":
        return keywords.keywords_schema()
    if kind == training_scenarios.KIND:
        return training_scenarios.scenario_schema()
    return SCHEMAS[kind]


def read(path: Path | str, kind: str, *, where: str | None = None, region: str = "VN") -> Any:
    """Read one file of a known kind and check it: its data, or DataFileError listing every problem."""
    return read_checked(path, schema(kind), CHECKS.get(kind), where=where, region=region)


def read_all(flows_dir: Path | str, region: str = "VN") -> dict[str, Any]:
    """Every data file in the flows folder, checked: `{"staff.yaml": {...}, "prompts/vi.yaml": ...}`.

    All files are read before failing, so one start-up lists every problem of every file.
    """
    flows_dir = Path(flows_dir)
    files = [*FILES, *(DataFile(f"prompts/{path.name}", "prompts")
                       for path in sorted((flows_dir / "prompts").glob("*.yaml")))]
    scenarios = training_scenarios.files(flows_dir)
    files += [DataFile(f"{training_scenarios.FOLDER}/{path.name}", training_scenarios.KIND)
              for path in scenarios]
    checked: dict[str, Any] = {}
    problems: list[str] = [problem for path in scenarios
                           if (problem := training_scenarios.name_problem(path)) is not None]
    for file in files:
        path = flows_dir / file.name
        if not file.required and not path.exists():
            continue
        try:
            checked[file.name] = read(path, file.kind, region=region)
        except DataFileError as error:
            problems.extend(error.problems)
    problems.extend(_defined_twice(checked, flows_dir))
    if problems:
        raise DataFileError(problems)
    return checked


def _defined_twice(checked: dict[str, Any], flows_dir: Path) -> list[str]:
    """Both template files feed one namespace: a name in both would silently shadow one text."""
    first, second = "sms_templates.yaml", "sms/replies.yaml"
    if first not in checked or second not in checked:
        return []
    return [
        f"{display(flows_dir / second)} › {name}: also defined in {display(flows_dir / first)}"
        for name in checked[second] if name in checked[first]
    ]


# --- the app ---------------------------------------------------------------------------


def init_app(app) -> None:
    """Read and check every data file; a broken one stops the app, naming each problem."""
    try:
        checked = read_all(app.config["FLOWS_DIR"], app.config.get("DEFAULT_REGION", "VN"))
    except DataFileError as error:
        app.logger.error("refusing to start: a data file under ivr_flows/ is broken:\n%s", error)
        raise
    app.extensions[EXTENSION] = checked
    app.extensions[training_scenarios.EXTENSION] = training_scenarios.from_checked(checked)


