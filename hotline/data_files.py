"""Every data file under `ivr_flows/`: read by one YAML loader, checked by one schema per kind,
at start-up, with every problem naming its path.

Why one loader: PyYAML follows YAML 1.1, where `on`, `off`, `yes`, `no`, `y`, `n` are
booleans. The Vietnamese filler `ơn` ("làm ơn", please) folds to `on`; in a keyword list
it became `True` and "lam on tra cuu" stopped matching. Here words stay words: only
`true` and `false` (lowercase, as in JSON and YAML 1.2) are booleans. Two equal keys in
one mapping are refused (PyYAML silently keeps the last one).

Why at start-up: a broken file must stop `create_app` with a message an operator can act
on (`ivr_flows/staff.yaml › retries › max_attempts: expected an integer, got 'three'`),
not fail when a volunteer texts at night. `init_app` reads and checks every file, then
keeps the checked data in `app.extensions["hotline.data_files"]`; the modules that use a
file read it from there (`data("staff.yaml")`).

`main.yaml` is the exception: `hotline.ivr.flow` checks it (schema, node types, dead ends)
when the voice engine starts; it reads it with the same rules through `load_yaml`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import yaml
from flask import current_app

EXTENSION = "hotline.data_files"
#: The language every text must have; the one a caller hears when theirs has no text.
DEFAULT_LANGUAGE = "vi"

T = TypeVar("T")


# --- the loader ------------------------------------------------------------------------


class DuplicateKey(yaml.YAMLError):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


_BOOL = "tag:yaml.org,2002:bool"


class _KeysOnce:
    """PyYAML keeps the last of two equal keys; here the second is an error naming both lines."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                # A mapping with a `type` is a flow node: say "node", as the flow checker does.
                what = "node" if isinstance(value_node, yaml.MappingNode) and any(
                    getattr(k, "value", None) == "type" for k, _ in value_node.value
                ) else "key"
                raise DuplicateKey(f'{what} "{key}" defined twice (lines {seen[key]} and {line})')
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class DataLoader(_KeysOnce, yaml.SafeLoader):
    """SafeLoader where words stay words (only `true`/`false` are booleans) and a key may
    appear once per mapping."""


#: The same rules over libyaml's parser (about ten times faster; every create_app reads all files).
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):
    _FastLoader = type("_FastLoader", (_KeysOnce, yaml.CSafeLoader), {})

_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tf":
    _RESOLVERS.setdefault(_first, []).append((_BOOL, re.compile(r"^(?:true|false)$")))
for _loader in (DataLoader, _FastLoader):
    if _loader is not None:
        _loader.yaml_implicit_resolvers = _RESOLVERS  # type: ignore[attr-defined]


def parse_yaml(text: str) -> Any:
    """YAML text → data, by the rules above (raises DuplicateKey or another yaml.YAMLError).

    libyaml reads; when it finds an error, the pure-Python parser reads again so the message
    is PyYAML's, the same wherever libyaml is missing.
    """
    if _FastLoader is not None:
        try:
            return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader
        except DuplicateKey:
            raise
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=DataLoader)  # noqa: S506 - a SafeLoader


def load_yaml(path: Path | str) -> Any:
    """A YAML file → data, by the rules above (raises OSError, DuplicateKey, yaml.YAMLError)."""
    return parse_yaml(Path(path).read_text(encoding="utf-8"))


# --- languages -------------------------------------------------------------------------


def localized_in(texts: Mapping[str, T], language: str | None,
                 default: str = DEFAULT_LANGUAGE) -> tuple[T, str]:
    """(value, its language): the caller's language when it has a (non-empty) value, else the
    default language's. KeyError when the default has none either (the schemas prevent that)."""
    if language and texts.get(language):
        return texts[language], language
    return texts[default], default


def localized(texts: Mapping[str, T], language: str | None, default: str = DEFAULT_LANGUAGE) -> T:
    """The value in the caller's language, else in the default language."""
    return localized_in(texts, language, default)[0]


# --- errors ----------------------------------------------------------------------------


class DataFileError(ValueError):
    """One or more data files cannot be used; the message lists every problem, one a line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def display(path: Path | str) -> str:
    """The path as the operator typed it: relative to where the command runs when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def one_line(error: Exception) -> str:
    """A YAML error as `line 10, column 10: expected ',' or '}', but got ':'`."""
    mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
    if mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return " ".join(str(error).split())


# --- schemas ---------------------------------------------------------------------------

_TYPE_NAMES = {
    "string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "array": "a list", "object": "a mapping", "null": "nothing", "date": "a date like 2026-09-02",
}
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "date", lambda _, value: isinstance(value, dt.date) and not isinstance(value, dt.datetime)
)
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)


def _texts() -> dict[str, Any]:
    """A text per language (`{vi: "...", en: "..."}`); the default language's is required."""
    return texts_in(DEFAULT_LANGUAGE)


def texts_in(*languages: str) -> dict[str, Any]:
    """A text per language, where each of `languages` must have a non-empty one."""
    return {
        "type": "object", "required": list(languages),
        "propertyNames": {"pattern": r"^[a-z][a-z_]*$", "like": "vi, en, mnong"},
        "additionalProperties": {"type": "string"},
        **({"properties": {language: {"type": "string", "minLength": 1} for language in languages}}
           if len(languages) > 1 else {}),
    }


def _name(example: str) -> dict[str, str]:
    """Names that are also file names or code keys: lowercase letters, digits and `_`."""
    return {"pattern": r"^[a-z][a-z0-9_]*$", "like": example}


WORDS = {"type": ["array", "null"], "items": {"type": "string", "minLength": 1}}
_CLOCK = {"type": "string", "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$", "like": "08:00"}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

SCHEMAS: dict[str, dict[str, Any]] = {
    # prompts/<language>.yaml: prompt name → text (the name is also the recording's file name).
    "prompts": {
        "type": "object", "propertyNames": _name("main_menu"), "additionalProperties": {"type": "string"},
    },
    "office_hours": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "timezone": {"type": "string"},
            "hours": {
                "type": "object", "propertyNames": {"enum": list(_WEEKDAYS)},
                "additionalProperties": {
                    "type": ["array", "null"],
                    "items": {"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$",
                              "like": "07:00-11:30"},
                },
            },
            "holidays": {"type": ["array", "null"], "items": {"type": "date"}},
            "address": {"type": "string"},
            "ring_seconds": {"type": "integer", "minimum": 1},
            "on_duty": {"type": ["array", "null"], "items": {"type": "string"}},
        },
    },
    "official_numbers": {
        "type": "object", "required": ["version"], "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "numbers": {
                "type": ["array", "null"],
                "items": {
                    "type": "object", "required": ["number"], "additionalProperties": False,
                    "properties": {"number": {"type": "string"}, "name": {"type": "string"}},
                },
            },
        },
    },
    # sms_templates.yaml and sms/replies.yaml: template name → text per language.
    "sms_templates": {
        "type": "object", "propertyNames": _name("request_created"), "additionalProperties": _texts(),
    },
    "staff": {
        "type": "object", "additionalProperties": False,
        "required": ["version", "urgency", "retries", "visit_reminder_time", "sms_commands", "sms_replies"],
        "properties": {
            "version": {"const": 1},
            "urgency": {
                "type": "object", "additionalProperties": False,
                "required": ["elderly", "per_attempt", "reasons"],
                "properties": {
                    "elderly": {"type": "integer"},
                    "per_attempt": {"type": "integer"},
                    "reasons": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
            "retries": {
                "type": "object", "additionalProperties": False,
                "required": ["max_attempts", "first_delay_hours", "next_morning"],
                "properties": {
                    "max_attempts": {"type": "integer", "minimum": 1},
                    "first_delay_hours": {"type": "number", "minimum": 0},
                    "next_morning": _CLOCK,
                },
            },
            "visit_reminder_time": _CLOCK,
            "sms_commands": {
                "type": "object", "additionalProperties": False, "required": ["claim", "done", "visit"],
                "properties": {
                    command: {
                        "type": "object", "additionalProperties": False, "required": ["keywords", "usage"],
                        "properties": {
                            "keywords": {"type": "array", "minItems": 1,
                                         "items": {"type": "string", "minLength": 1}},
                            "usage": _texts(),
                        },
                    }
                    for command in ("claim", "done", "visit")
                },
            },
            "sms_replies": {
                "type": "object", "additionalProperties": _texts(),
                "required": ["claimed", "already_yours", "held_by", "done", "visit", "unknown_code",
                             "not_allowed", "closed", "bad_date"],
            },
        },
    },
}


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


def _quoting_hint(wanted: list[str], value: Any) -> str:
    """YAML decides types by the look of a value: quotes are what an operator changes."""
    if "string" in wanted and isinstance(value, int | float | bool | dt.date):
        return " (write it in quotes)"
    if "date" in wanted and isinstance(value, str):
        return " (write it without quotes)"
    return ""


def _path(where: str, parts: Any) -> str:
    return "".join([where, *(f" › {part}" for part in parts)])


def schema_problems(data: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Every place `data` breaks `schema`, one readable line each, sorted by path."""
    found: list[tuple[list[str], str]] = []
    for error in _Validator(schema).iter_errors(data):
        at = [str(part) for part in error.absolute_path]
        value, rule = error.instance, error.validator_value
        if list(error.relative_schema_path)[-2:-1] == ["propertyNames"]:
            # A key's name broke the rule: jsonschema reports it at the mapping, the name as the value.
            found.append(([*at, str(value)], _name_problem(error)))
        elif error.validator == "type":
            wanted = [rule] if isinstance(rule, str) else list(rule)
            names = " or ".join(_TYPE_NAMES[t] for t in wanted)
            found.append((at, f"expected {names}, got {_show(value)}{_quoting_hint(wanted, value)}"))
        elif error.validator == "required":
            found.extend(([*at, name], "missing") for name in rule if name not in value)
        elif error.validator == "additionalProperties":
            known = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
            extra = [name for name in value if name not in error.schema.get("properties", {})]
            found.extend(([*at, str(name)], f"unknown field (known: {known})") for name in extra)
        elif error.validator == "enum":
            found.append((at, f"unknown value {_show(value)} (known: {', '.join(map(str, rule))})"))
        elif error.validator == "const":
            found.append((at, f"expected {_show(rule)}, got {_show(value)}"))
        elif error.validator == "pattern":
            found.append((at, f"{_show(value)} is not like {error.schema.get('like', rule)}"))
        elif error.validator in ("minItems", "minProperties", "minLength"):
            found.append((at, "must not be empty"))
        elif error.validator == "minimum":
            found.append((at, f"expected at least {rule}, got {_show(value)}"))
        else:  # a rule without a wording of its own: jsonschema's
            found.append((at, error.message))
    return sorted(f"{_path(where, at)}: {message}" for at, message in found)


def _name_problem(error: jsonschema.ValidationError) -> str:
    rule = error.validator_value
    if error.validator == "enum" and isinstance(rule, list):
        return f"unknown name (known: {', '.join(map(str, rule))})"
    if error.validator == "pattern" and isinstance(error.schema, Mapping):
        return f"not a name like {error.schema.get('like', rule)}"
    return error.message


# --- reading one file ------------------------------------------------------------------

#: (data, where, region) → problems beyond the schema; each lives with the code that uses the file.
Check = Callable[[Any, str, str], list[str]]


def read_checked(
    path: Path | str, schema: dict[str, Any], check: Check | None = None, *,
    where: str | None = None, region: str = "VN",
) -> Any:
    """Read one file and check it: its data, or DataFileError listing every problem.

    An empty file is an empty mapping (what the schema then says about it is the error).
    """
    where = where or display(path)
    try:
        data = load_yaml(path)
    except DuplicateKey as error:
        raise DataFileError([f"{where}: {error.message}"]) from error
    except (OSError, yaml.YAMLError) as error:
        raise DataFileError([f"{where}: cannot read: {one_line(error)}"]) from error
    if data is None:
        data = {}
    problems = schema_problems(data, schema, where)
    if not problems and check is not None:
        problems = check(data, where, region)
    if problems:
        raise DataFileError(problems)
    return data


# --- the checked data, kept by the app (hotline.data_catalog.init_app) --------------------


def data(name: str) -> Any:
    """The checked data of one file (`"staff.yaml"`, `"sms/keywords.yaml"`); KeyError when the
    file is optional and absent."""
    return current_app.extensions[EXTENSION][name]


def has(name: str) -> bool:
    return name in current_app.extensions[EXTENSION]
