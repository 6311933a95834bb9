"""What a resident's SMS asks for, however it was typed.

The keywords are data (`ivr_flows/sms/keywords.yaml`); this module is the rule
that reads a message against them. The rule, in order:

1. **Fold.** Accents removed (`đ`→`d`), case folded, punctuation and emoji
   dropped; letters and digits split apart, so `tracuu123456` reads as
   `tracuu 123456`. Spaces inside a keyword are optional (`tra cuu` = `tracuu`).
2. **Whole-message shortcuts.** Nothing left → `empty` (answered with help).
   Only a request code → `status`; only a phone number → `verify`; only a
   language name of 5+ letters (`english`, `tieng viet`) → `language`.
3. **Find the keyword** at the first word that is not a filler ("xin chao",
   "toi muon", "please": listed in the data, skipped at the start only). The
   keyword may span up to 4 words. An exact alias beats a typo; among exact
   aliases the longest wins.
4. **Typos** (rapidfuzz, optimal string alignment: a swap of neighbours is one
   edit): an alias of 4 letters or fewer must be exact (`huy`, `stop`, `tc`
   would otherwise collide with ordinary words); 5–8 letters allow 1 edit;
   9 or more allow 2. A typo must keep the first letter. If the closest typo
   matches aliases of two intents, the message is ambiguous → `help`. A typo of
   a guarded action (`cancel`, `stop`) → `help` with a "did you mean" hint: an
   action is never taken on a guess.
5. **The rest of the message** (per intent, `rest:` in the data): `code` takes
   the first digit run (`ma 123 456` → `123456`); a phone-shaped number after
   `status` means `verify` and a code after `verify` means `status`; `phone`
   takes a phone number; `language` a language name; `text` keeps the words;
   `none` (opt-out / opt-in) accepts only fillers after the keyword, so
   "dung roi" or "stop the scammers" are not opt-outs; `request` (help) turns
   into a new request when real words follow ("giup toi lam cccd").
6. **Anything else is a request** (`request`), with a topic when a topic word
   appears anywhere (`cccd` → `vneid`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..data_files import WORDS, DataFileError, read_checked
from ..models.vocabulary import is_topic, known_topics
from .text import fold

#: Longest keyword, in words.
MAX_KEYWORD_WORDS = 4
_TOKEN = re.compile(r"[a-z]+|[0-9]+")


class Intent(StrEnum):
    EMPTY = "empty"
    HELP = "help"
    REQUEST = "request"
    CALLBACK = "callback"
    STATUS = "status"
    CANCEL = "cancel"
    HOURS = "hours"
    VERIFY = "verify"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"


class Rest(StrEnum):
    """What may follow a keyword (see the module docstring, step 5)."""

    CODE = "code"
    PHONE = "phone"
    LANGUAGE = "language"
    TEXT = "text"
    NONE = "none"
    REQUEST = "request"
    IGNORE = "ignore"


def max_typos(alias: str) -> int:
    """The bounded typo rule: short words must be exact so they never collide."""
    if len(alias) <= 4:
        return 0
    if len(alias) <= 8:
        return 1
    return 2


def tokens(text: str) -> list[str]:
    """Lowercase letter runs and digit runs: `TraCứu123456!` → `['tracuu', '123456']`."""
    return _TOKEN.findall(fold(text))


def compact(phrase: str) -> str:
    return "".join(tokens(phrase))


def is_phone_shaped(digits: str) -> bool:
    """Phone numbers: `0…` of 9–11 digits, `84…` of 11–12, or anything 10+ long."""
    return (
        (digits.startswith("0") and 9 <= len(digits) <= 11)
        or (digits.startswith("84") and len(digits) in (11, 12))
        or len(digits) >= 10
    )


def is_code_shaped(digits: str) -> bool:
    return 6 <= len(digits) <= 12 and not is_phone_shaped(digits)


@dataclass
class Match:
    intent: Intent
    code: str | None = None
    phone: str | None = None  # digits as typed; the caller turns them into E.164
    language: str | None = None  # the language asked for (LANGUAGE intent)
    topic: str | None = None
    alias: str | None = None
    alias_language: str | None = None  # vi/en: the language the keyword was written in
    typo: bool = False
    hint: str | None = None  # the guarded keyword a typo looked like


class KeywordError(DataFileError):
    """Keyword data that cannot be matched against (an alias of two intents, a filler alias…)."""


@dataclass
class _Alias:
    intent: Intent
    text: str  # compact
    language: str
    rest: Rest
    guarded: bool


@dataclass
class Keywords:
    """The loaded keyword data, indexed for matching."""

    aliases: dict[str, list[_Alias]] = field(default_factory=dict)
    fillers: set[str] = field(default_factory=set)
    languages: dict[str, str] = field(default_factory=dict)  # compact name → code
    topics: dict[str, str] = field(default_factory=dict)  # compact word → topic
    fuzzy_choices: list[str] = field(default_factory=list)
    topic_choices: list[str] = field(default_factory=list)
    language_choices: list[str] = field(default_factory=list)

    # --- loading -------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Keywords:
        """Read and check the file (`hotline.data_files`: words stay words, so the filler `on`
        of "lam on" is not `True`); DataFileError names every problem."""
        return cls.from_data(read_checked(path, keywords_schema()), str(path))

    @classmethod
    def from_data(cls, data: Any, where: str = "keywords") -> Keywords:
        """Index the data and check it; every problem names its path."""
        problems: list[str] = []
        kw = cls()
        if not isinstance(data, dict) or data.get("version") != 1:
            raise KeywordError([f"{where}: expected a mapping with version: 1"])
        for words in (data.get("fillers") or {}).values():
            for word in words or []:
                kw.fillers.add(compact(str(word)))
        for name, spec in (data.get("intents") or {}).items():
            path = f"{where} › intent {name!r}"
            try:
                intent = Intent(name)
            except ValueError:
                problems.append(f"{path}: unknown intent (known: {', '.join(Intent)})")
                continue
            try:
                rest = Rest(spec.get("rest", "ignore"))
            except ValueError:
                problems.append(f"{path} › rest: unknown value {spec.get('rest')!r}")
                continue
            for language, aliases in (spec.get("aliases") or {}).items():
                for alias in aliases or []:
                    text = compact(str(alias))
                    if not text:
                        problems.append(f"{path} › {language} › {alias!r}: no letters")
                        continue
                    if text in kw.fillers:
                        problems.append(f"{path} › {language} › {alias!r}: also a filler word")
                    others = {a.intent for a in kw.aliases.get(text, [])} - {intent}
                    if others:
                        problems.append(
                            f"{path} › {language} › {alias!r}: also an alias of "
                            + ", ".join(sorted(others))
                        )
                    kw.aliases.setdefault(text, []).append(
                        _Alias(intent, text, language, rest, bool(spec.get("guarded")))
                    )
        for code, names in (data.get("languages") or {}).items():
            for name in names or []:
                kw.languages[compact(str(name))] = str(code)
        for topic, words in (data.get("topics") or {}).items():
            if not is_topic(topic):
                problems.append(f"{where} › topics › {topic}: unknown topic (known: {known_topics()})")
            for word in words or []:
                kw.topics[compact(str(word))] = str(topic)
        if problems:
            raise KeywordError(problems)
        kw.fuzzy_choices = [a for a in kw.aliases if max_typos(a) > 0]
        kw.topic_choices = [t for t in kw.topics if max_typos(t) > 0]
        kw.language_choices = [n for n in kw.languages if max_typos(n) > 0]
        return kw

    # --- matching ------------------------------------------------------------------

    def match(self, text: str) -> Match:
        words = tokens(text)
        if not words:
            return Match(Intent.EMPTY)
        shortcut = self._whole_message(words)
        if shortcut is not None:
            return shortcut
        start = 0
        while start < len(words):
            found = self._keyword_at(words, start)
            if found is not None:
                return found
            if words[start] not in self.fillers:
                break
            start += 1
        return Match(Intent.REQUEST, topic=self.topic_of(words))

    def _whole_message(self, words: list[str]) -> Match | None:
        if all(w.isdigit() for w in words):
            digits = "".join(words)
            if is_code_shaped(digits):
                return Match(Intent.STATUS, code=digits)
            if is_phone_shaped(digits):
                return Match(Intent.VERIFY, phone=digits)
            return None
        joined = "".join(words)
        if len(joined) >= 5 and joined in self.languages:
            return Match(Intent.LANGUAGE, language=self.languages[joined])
        return None

    def _keyword_at(self, words: list[str], start: int) -> Match | None:
        """The keyword starting at `start`, exact first, then within the typo rule."""
        exact: list[tuple[int, _Alias]] = []
        spans: list[tuple[str, int]] = []
        joined = ""
        for end in range(start, min(start + MAX_KEYWORD_WORDS, len(words))):
            if words[end].isdigit():
                break
            joined += words[end]
            spans.append((joined, end + 1))
            for alias in self.aliases.get(joined, []):
                exact.append((end + 1, alias))
        # Longest exact alias first; the first whose rest fits wins.
        for end, alias in sorted(exact, key=lambda item: -len(item[1].text)):
            found = self._with_rest(alias, words[end:], typo=False)
            if found is not None:
                return found
        return self._typo_at(words, spans)

    def _typo_at(self, words: list[str], spans: list[tuple[str, int]]) -> Match | None:
        best: list[tuple[int, int, _Alias]] = []  # (distance, end, alias)
        for span, end in spans:
            if len(span) < 4:
                continue
            for choice, distance, _ in process.extract(
                span, self.fuzzy_choices, scorer=OSA.distance, score_cutoff=2, limit=None
            ):
                if choice[0] != span[0] or distance > max_typos(choice) or distance == 0:
                    continue
                for alias in self.aliases[choice]:
                    best.append((int(distance), end, alias))
        if not best:
            return None
        closest = min(d for d, _, _ in best)
        candidates = [(end, alias) for d, end, alias in best if d == closest]
        intents = {alias.intent for _, alias in candidates}
        if len(intents) > 1:
            return Match(Intent.HELP, typo=True)
        end, alias = max(candidates, key=lambda item: len(item[1].text))
        if alias.guarded:
            return Match(Intent.HELP, typo=True, hint=alias.intent.value, alias=alias.text)
        return self._with_rest(alias, words[end:], typo=True)

    def _with_rest(self, alias: _Alias, rest: list[str], *, typo: bool) -> Match | None:
        match = Match(alias.intent, alias=alias.text, alias_language=alias.language, typo=typo)
        meaningful = [w for w in rest if w not in self.fillers]
        if alias.rest is Rest.NONE:
            return match if not meaningful else None
        if alias.rest is Rest.REQUEST:
            if [w for w in meaningful if not w.isdigit()]:
                match.intent = Intent.REQUEST
                match.topic = self.topic_of(rest)
            return match
        if alias.rest is Rest.TEXT:
            match.topic = self.topic_of(rest)
            return match
        if alias.rest in (Rest.CODE, Rest.PHONE):
            digits = first_digit_run(rest)
            if digits and is_phone_shaped(digits):
                match.phone = digits
                if match.intent is Intent.STATUS:
                    match.intent = Intent.VERIFY
            elif digits:
                match.code = digits
                if match.intent is Intent.VERIFY:
                    match.intent = Intent.STATUS
            return match
        if alias.rest is Rest.LANGUAGE:
            match.language = self.language_of(rest)
            return match
        return match

    def language_of(self, words: list[str]) -> str | None:
        """The first language name in `words` ("tieng anh", "en", "englsh")."""
        for i in range(len(words)):
            for size in (2, 1):
                name = "".join(words[i:i + size])
                if name in self.languages:
                    return self.languages[name]
        words = [w for w in words if w not in self.fillers]
        if words:
            found = process.extractOne(
                "".join(words[:2]), self.language_choices, scorer=OSA.distance, score_cutoff=1
            )
            if found and found[1] <= max_typos(found[0]):
                return self.languages[found[0]]
        return None

    def topic_of(self, words: list[str]) -> str | None:
        letters = [w for w in words if not w.isdigit()]
        for size in (4, 3, 2, 1):
            for i in range(len(letters) - size + 1):
                joined = "".join(letters[i:i + size])
                if joined in self.topics:
                    return self.topics[joined]
        for word in letters:
            if len(word) < 5:
                continue
            found = process.extractOne(word, self.topic_choices, scorer=OSA.distance, score_cutoff=2)
            if found and found[1] <= max_typos(found[0]) and found[0][0] == word[0]:
                return self.topics[found[0]]
        return None


def first_digit_run(words: list[str]) -> str | None:
    """`['ma', '123', '456', 'nhe']` → `'123456'`: neighbouring digit groups join up."""
    run: list[str] = []
    for word in words:
        if word.isdigit():
            run.append(word)
        elif run:
            break
    return "".join(run) or None


def keywords_schema() -> dict[str, Any]:
    """The JSON schema of ivr_flows/sms/keywords.yaml (intent and rest names from the enums)."""
    words_per_name = {"type": ["object", "null"], "additionalProperties": WORDS}
    return {
        "type": "object", "required": ["version", "intents"], "additionalProperties": False,
        "properties": {
            "version": {"const": 1},
            "fillers": words_per_name,
            "intents": {
                "type": "object", "propertyNames": {"enum": [intent.value for intent in Intent]},
                "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "rest": {"enum": [rest.value for rest in Rest]},
                        "guarded": {"type": "boolean"},
                        "aliases": words_per_name,
                    },
                },
            },
            "languages": words_per_name,
            "topics": words_per_name,
        },
    }
