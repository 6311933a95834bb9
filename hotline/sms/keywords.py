"""What a resident's SMS asks for, however it was typed.

The words are data (`ivr_flows/sms/keywords.yaml`: aliases, abbreviations, politeness,
small talk, sentence rules, each rule with its reason); this module is the rule that reads
a message against them. A newcomer extends the data; the steps, in order:

1. **Fold.** Accents removed (`đ`→`d`), case folded, punctuation and emoji dropped;
   letters and digits split apart, so `tracuu123456` reads as `tracuu 123456`. Spaces
   inside a keyword are optional (`tra cuu` = `tracuu`). Nothing left: `empty` (answered
   with help), or `smalltalk` when the message was emoji (👍, 🙏).
2. **Repair and expand.** Telex/VNI leftovers are undone by their known mapping
   (`hotline.sms.repair`: `giups` → `giup`, `tra cu7u1` → `tra cuu`), then texting
   abbreviations are read as what they stand for (`k`/`ko` → `khong`, `dc` → `duoc`,
   `j` → `gi`, `ntn` → `nhu the nao`, `e` → `em`, `h` → `gio`, `t7` → `thu bay`).
3. **Politeness.** "lam on", "cho hoi", "xin", "a" (ạ), "nhe", "voi", the speaker
   ("em", "chau", "con", "toi") and "please" are removed wherever they stand, from the
   message and from every alias and phrase alike: they never change an intent.
4. **Whole-message shortcuts.** Only a request code → `status`; only a phone number →
   `verify`; only a language name of 5+ letters (`english`, `tieng viet`) → `language`.
5. **Small talk.** A message made only of small-talk words ("ok", "cam on", "vang",
   "thank you", "chao xa") → `smalltalk`: a friendly reply, nothing opened.
6. **A keyword at the start** (after the start fillers: "xin chao", "toi muon" …): exact,
   the longest alias first, up to 4 words. When it is an exact alias of a specific intent
   with what it needs (a code after `huy`, a number after `kiem tra`), it wins here.
7. **Sentences.** Otherwise the sentence rules (`sentences:` in the data) are tried in
   order, each a set of phrases that must appear anywhere, with a reason: "0987654321 co
   phai so cua xa k" → `verify`, "e k can nua, huy giup e" → `cancel`, "ho so cua e den
   dau roi" → `status`, "ubnd xa o dau" → `address`, "t7 co lam k" → `hours`. A rule
   marked `unless_topic` steps aside when a procedure is named ("lam cccd o dau" is a
   request about VNeID, not an address question).
8. **The keyword at the start after all** (a generic one such as `giup`, or one without
   its code), then **typos** (rapidfuzz, optimal string alignment: a swap of neighbours is
   one edit): an alias of 4 letters or fewer must be exact (`huy`, `stop`, `tc` would
   otherwise collide with ordinary words); 5–8 letters allow 1 edit; 9 or more allow 2. A
   typo must keep the first letter. If the closest typo matches aliases of two intents,
   the message is ambiguous → `help`. A typo of a guarded action (`cancel`, `stop`), or a
   word one edit from a short one followed by a code (`huyy 123456`), → `help` with a
   "did you mean" hint and the code: an action is never taken on a guess.
9. **The rest of the message** after a keyword (per intent, `rest:` in the data): `code`
   takes the first digit run (`ma 123 456` → `123456`); a phone-shaped number after
   `status` means `verify` and a code after `verify` means `status`; `phone` takes a phone
   number; `language` a language name; `text` keeps the words; `none` (opt-out / opt-in)
   accepts only fillers after the keyword, so "dung roi" or "stop the scammers" are not
   opt-outs; `request` (help) turns into a new request when real words follow ("giup toi
   lam cccd").
10. **Anything else is a request** (`request`), with a topic when a topic word appears
    anywhere (`cccd` → `vneid`).

Besides the intent, a match says whether the message is clearly English (`english`: two or
more English words, more than Vietnamese ones), so replies follow the resident's language
and a bare `STOP` or `HELP` from a Vietnamese phone is answered in Vietnamese.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from ..data_files import WORDS, DataFileError, read_checked
from ..models.vocabulary import is_topic, known_topics
from .repair import is_syllable, repair_telex, repair_vni
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
    ADDRESS = "address"
    SMALLTALK = "smalltalk"


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
    rule: str | None = None  # the sentence rule that decided, if one did
    english: bool = False  # the message is clearly English (module docstring, last paragraph)


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
class _Sentence:
    """One sentence rule of the data (`sentences:`), its phrases as tuples of words."""

    name: str
    intent: Intent
    groups: list[list[tuple[str, ...]]]
    exclude: list[tuple[str, ...]]
    needs: str | None
    unless_topic: bool


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
    abbreviations: dict[str, list[str]] = field(default_factory=dict)
    polite_words: set[str] = field(default_factory=set)
    polite_phrases: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # first word →
    smalltalk: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # first word → phrases
    english: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)  # words the data knows: never Telex-repaired
    sentences: list[_Sentence] = field(default_factory=list)
    longest_phrase: int = 1
    #: phrase → the (rule, group) slots it satisfies (rule's `not` phrases as group -1)
    phrase_slots: dict[tuple[str, ...], list[tuple[int, int]]] = field(default_factory=dict)
    phrase_firsts: set[str] = field(default_factory=set)
    #: a word as typed → its repaired, expanded words (a bounded cache: words repeat a lot)
    _words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _last_topic: tuple[tuple[str, ...], str | None] | None = None
    glued_prefixes: set[str] = field(default_factory=set)  # `t` of `t7`: abbreviations with a digit
    short_guarded: list[_Alias] = field(default_factory=list)  # guarded aliases of ≤4 letters with a code

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
        kw._load_words(data)
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
                    text = "".join(kw.content(kw.normalise(fold(str(alias)))))
                    if not text:
                        problems.append(f"{path} › {language} › {alias!r}: no letters (or only politeness)")
                        continue
                    if text in kw.fillers:
                        problems.append(f"{path} › {language} › {alias!r}: also a filler word")
                    others = {a.intent for a in kw.aliases.get(text, [])} - {intent}
                    if others:
                        problems.append(
                            f"{path} › {language} › {alias!r}: also an alias of "
                            + ", ".join(sorted(others))
                        )
                    entry = _Alias(intent, text, language, rest, bool(spec.get("guarded")))
                    kw.aliases.setdefault(text, []).append(entry)
                    if entry.guarded and rest is Rest.CODE and 3 <= len(text) <= 4:
                        kw.short_guarded.append(entry)
        for code, names in (data.get("languages") or {}).items():
            for name in names or []:
                kw.languages[compact(str(name))] = str(code)
        for topic, words in (data.get("topics") or {}).items():
            if not is_topic(topic):
                problems.append(f"{where} › topics › {topic}: unknown topic (known: {known_topics()})")
            for word in words or []:
                kw.topics[compact(str(word))] = str(topic)
        kw._load_sentences(data.get("sentences") or [], f"{where} › sentences", problems)
        if problems:
            raise KeywordError(problems)
        kw.fuzzy_choices = [a for a in kw.aliases if max_typos(a) > 0]
        kw.topic_choices = [t for t in kw.topics if max_typos(t) > 0]
        kw.language_choices = [n for n in kw.languages if max_typos(n) > 0]
        return kw

    def _load_words(self, data: dict[str, Any]) -> None:
        """Abbreviations, politeness, small talk and English words (steps 2, 3 and 5)."""
        vocabulary: set[str] = set()
        for section in ("fillers", "languages", "topics", "politeness", "smalltalk"):
            for words in (data.get(section) or {}).values():
                for word in words or []:
                    vocabulary.update(tokens(str(word)))
                    vocabulary.add(compact(str(word)))
        for spec in (data.get("intents") or {}).values():
            for aliases in (spec.get("aliases") or {}).values():
                for alias in aliases or []:
                    vocabulary.update(tokens(str(alias)))
                    vocabulary.add(compact(str(alias)))
        for table in (data.get("abbreviations") or {}).values():
            for short, long in (table or {}).items():
                self.abbreviations[compact(str(short))] = tokens(str(long))
                letters = re.match(r"[a-z]+(?=[0-9]+$)", compact(str(short)))
                if letters:
                    self.glued_prefixes.add(letters.group(0))
                vocabulary.add(compact(str(short)))
                vocabulary.update(tokens(str(long)))
        self.english = {compact(str(w)) for w in data.get("english") or []}
        self.known = vocabulary | self.english
        for words in (data.get("politeness") or {}).values():
            for phrase in words or []:
                parts = tuple(self.normalise(fold(str(phrase))))
                if len(parts) == 1:
                    self.polite_words.add(parts[0])
                elif parts:
                    self.polite_phrases.setdefault(parts[0], []).append(parts)
        for words in (data.get("smalltalk") or {}).values():
            for phrase in words or []:
                parts = tuple(self.content(self.normalise(fold(str(phrase)))))
                if parts:
                    self.smalltalk.setdefault(parts[0], []).append(parts)
        for table in (self.polite_phrases, self.smalltalk):
            for phrases in table.values():
                phrases.sort(key=len, reverse=True)

    def _load_sentences(self, rules: list[Any], where: str, problems: list[str]) -> None:
        for number, rule in enumerate(rules):
            path = f"{where} › {rule.get('name') or number}"
            try:
                intent = Intent(rule.get("intent"))
            except ValueError:
                problems.append(f"{path}: unknown intent {rule.get('intent')!r}")
                continue
            groups: list[list[tuple[str, ...]]] = []
            written = ([rule["any"]] if rule.get("any") else []) + list(rule.get("all") or [])
            for group in written:
                phrases = [self._phrase(str(p), path, problems) for p in group]
                groups.append([p for p in phrases if p])
            if not groups:
                problems.append(f"{path}: no phrases (write any: or all:)")
            exclude = [self._phrase(str(p), path, problems) for p in rule.get("not") or []]
            self.sentences.append(_Sentence(
                str(rule.get("name") or number), intent, groups, [p for p in exclude if p],
                rule.get("needs"), bool(rule.get("unless_topic")),
            ))
            index = len(self.sentences) - 1
            for slot, group in enumerate(groups):
                for phrase in group:
                    self.phrase_slots.setdefault(phrase, []).append((index, slot))
            for phrase in exclude:
                self.phrase_slots.setdefault(phrase, []).append((index, -1))
            for phrase in [p for g in groups for p in g] + exclude:
                self.longest_phrase = max(self.longest_phrase, len(phrase))
                self.phrase_firsts.add(phrase[0])

    def _phrase(self, text: str, path: str, problems: list[str]) -> tuple[str, ...]:
        """A phrase read like a message (steps 1–3), so it matches what residents type."""
        parts = tuple(self.content(self.normalise(fold(text))))
        if not parts:
            problems.append(f"{path} › {text!r}: nothing left after politeness")
        return parts

    # --- reading a message (steps 1-3) -----------------------------------------------

    def normalise(self, folded: str) -> list[str]:
        """Steps 1–2: words of the folded text, Telex/VNI keys removed, abbreviations expanded."""
        words: list[str] = []
        raw = _TOKEN.findall(repair_vni(folded, self.known))
        cache, glued = self._words, self.glued_prefixes
        i, size = 0, len(raw)
        while i < size:
            word = raw[i]
            i += 1
            if word in glued and i < size and word + raw[i] in self.abbreviations:
                word += raw[i]  # `t7`: an abbreviation written with its digit
                i += 1
            found = cache.get(word)
            words.extend(found if found is not None else self._word(word))
        return words

    def _word(self, word: str) -> tuple[str, ...]:
        """One typed word repaired (Telex) and expanded (abbreviations); cached."""
        found = self._words.get(word)
        if found is None:
            fixed = repair_telex(word, self.known) if word[0].isalpha() else word
            long = self.abbreviations.get(fixed)
            found = tuple(long) if long else (fixed,)
            if len(self._words) > 50_000:
                self._words.clear()
            self._words[word] = found
        return found

    def content(self, words: list[str]) -> list[str]:
        """Step 3: the words without politeness and the speaker ("cho em hoi": the phrase
        "cho hoi" once "em" is gone, so phrases are removed before and after single words)."""
        kept = [w for w in self._without_phrases(words) if w not in self.polite_words]
        return self._without_phrases(kept)

    def _without_phrases(self, words: list[str]) -> list[str]:
        if self.polite_phrases.keys().isdisjoint(words):
            return words
        out: list[str] = []
        i = 0
        while i < len(words):
            for phrase in self.polite_phrases.get(words[i], ()):
                if tuple(words[i:i + len(phrase)]) == phrase:
                    i += len(phrase)
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def is_english(self, words: list[str]) -> bool:
        """Clearly English: 2+ English words, more than the Vietnamese ones (a word that is both,
        such as `can` or `me`, counts for neither)."""
        words = words[:40]  # the start of a long message says its language
        if sum(word in self.english for word in words) < 2:
            return False
        english = vietnamese = 0
        for word in words:
            if word.isdigit():
                continue
            syllable = is_syllable(word)
            if word in self.english:
                english += not syllable
            elif syllable:
                vietnamese += 1
        return english >= 2 and english > vietnamese

    # --- matching ------------------------------------------------------------------

    def match(self, text: str) -> Match:
        folded = fold(text)
        words = self.normalise(folded)
        if not words:
            if any(unicodedata.category(ch) == "So" for ch in folded):
                return Match(Intent.SMALLTALK)
            return Match(Intent.EMPTY)
        found = self._understand(words)
        found.english = self.is_english(words)
        return found

    def _understand(self, words: list[str]) -> Match:
        content = self.content(words)
        if not content:
            return Match(Intent.EMPTY)
        shortcut = self._whole_message(content)
        if shortcut is not None:
            return shortcut
        if self._is_smalltalk(content):
            return Match(Intent.SMALLTALK)
        found = self._keyword_scan(content, typos=False)
        if found is not None and _strong(found):
            return found
        sentence = self._sentence(content, words)
        if sentence is not None:
            return sentence
        if found is None:
            found = self._keyword_scan(content, typos=True)
        if found is not None:
            if _missing_argument(found):
                topic = self.topic_of(words)
                if topic:  # "huy the bhyt cu": about a procedure, not about a request
                    return Match(Intent.REQUEST, topic=topic)
            return found
        guarded = self._short_guarded_typo(content)
        if guarded is not None:
            return guarded
        return Match(Intent.REQUEST, topic=self.topic_of(words))

    def _keyword_scan(self, words: list[str], typos: bool) -> Match | None:
        """Steps 6 and 8: the keyword at the first word that is not a start filler."""
        start = 0
        while start < len(words):
            found = self._keyword_at(words, start, typos)
            if found is not None:
                return found
            if words[start] not in self.fillers:
                break
            start += 1
        return None

    def _is_smalltalk(self, words: list[str]) -> bool:
        i = 0
        while i < len(words):
            for phrase in self.smalltalk.get(words[i], ()):
                if tuple(words[i:i + len(phrase)]) == phrase:
                    i += len(phrase)
                    break
            else:
                return False
        return True

    def _sentence(self, content: list[str], words: list[str]) -> Match | None:
        """Step 7: the first sentence rule that holds (phrases looked up once, by index)."""
        hits: dict[int, set[int]] = {}
        slots, firsts, longest = self.phrase_slots, self.phrase_firsts, self.longest_phrase
        for i, word in enumerate(content):
            if word not in firsts:
                continue
            for n in range(1, min(longest, len(content) - i) + 1):
                for index, slot in slots.get(tuple(content[i:i + n]), ()):
                    hits.setdefault(index, set()).add(slot)
        if not hits:
            return None
        runs = digit_runs(content)
        phone = next((r for r in runs if is_phone_shaped(r)), None)
        code = next((r for r in runs if is_code_shaped(r)), None)
        for index in sorted(hits):
            rule, found = self.sentences[index], hits[index]
            if -1 in found or len(found) < len(rule.groups):
                continue
            if (rule.needs == "phone" and phone is None) or (rule.needs == "code" and code is None):
                continue
            topic = self.topic_of(words)  # kept for the message: asked once
            if rule.unless_topic and topic:
                continue
            match = Match(rule.intent, rule=rule.name, topic=topic)
            if rule.intent in (Intent.VERIFY,):
                match.phone = phone
            elif rule.intent in (Intent.STATUS, Intent.CANCEL):
                match.code = code
            elif rule.intent is Intent.LANGUAGE:
                match.language = self.last_language(content)
            return match
        return None

    def _short_guarded_typo(self, words: list[str]) -> Match | None:
        """`huyy 123456`, `hyu 123456`: one edit from a short guarded action, with a code → ask."""
        if len(words) < 2 or not words[0].isalpha() or len(words[0]) < 3:
            return None
        code = first_digit_run(words[1:])
        if not words[1].isdigit() or code is None or not is_code_shaped(code):
            return None
        for alias in self.short_guarded:
            if words[0][0] == alias.text[0] and OSA.distance(words[0], alias.text) == 1:
                return Match(Intent.HELP, typo=True, hint=alias.intent.value, alias=alias.text, code=code)
        return None

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

    def _keyword_at(self, words: list[str], start: int, typos: bool = True) -> Match | None:
        """The keyword starting at `start`, exact first, then (`typos`) within the typo rule."""
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
        return self._typo_at(words, spans) if typos else None

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
            code = first_digit_run(words[end:])
            return Match(
                Intent.HELP, typo=True, hint=alias.intent.value, alias=alias.text,
                code=code if code and is_code_shaped(code) else None,
            )
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

    def last_language(self, words: list[str]) -> str | None:
        """The last language named: "i dont read vietnamese, english pls" asks for English."""
        found = None
        for i in range(len(words)):
            for size in (2, 1):
                name = "".join(words[i:i + size])
                if len(name) >= 4 and name in self.languages:
                    found = self.languages[name]
                    break
        return found

    def topic_of(self, words: list[str]) -> str | None:
        """The procedure a message names (exact topic words first, then one typo); the last
        message's answer is kept, as several steps ask it of the same words."""
        key = tuple(words)
        last = self._last_topic
        if last is not None and last[0] == key:
            return last[1]
        topic = self._topic_of(words)
        self._last_topic = (key, topic)
        return topic

    def _topic_of(self, words: list[str]) -> str | None:
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


_OPEN_QUESTIONS = (Intent.REQUEST, Intent.HELP, Intent.EMPTY, Intent.HOURS, Intent.ADDRESS)


def _strong(found: Match) -> bool:
    """An exact keyword of a specific intent with what it needs wins before the sentence rules
    (the open questions `hours` and `address` leave the sentence to the rules: "where is my
    request" is about a request)."""
    if found.typo or found.intent in _OPEN_QUESTIONS:
        return False
    if found.intent is Intent.LANGUAGE:
        return found.language is not None
    return not _missing_argument(found)


def _missing_argument(found: Match) -> bool:
    """A keyword that needs a code or a number came without one (`huy`, `kiem tra`)."""
    return found.intent in (Intent.STATUS, Intent.CANCEL, Intent.VERIFY) and not (found.code or found.phone)


def digit_runs(words: list[str]) -> list[str]:
    """Every run of neighbouring digit groups: `['so', '0263', '3822', '123', 'ma', '4']` →
    `['02633822123', '4']`."""
    runs: list[str] = []
    current = ""
    for word in words:
        if word.isdigit():
            current += word
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


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
            "abbreviations": {
                "type": ["object", "null"],
                "additionalProperties": {
                    "type": ["object", "null"], "additionalProperties": {"type": "string", "minLength": 1},
                },
            },
            "politeness": words_per_name,
            "smalltalk": words_per_name,
            "english": WORDS,
            "sentences": {
                "type": ["array", "null"],
                "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["name", "intent", "why"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "intent": {"enum": [intent.value for intent in Intent]},
                        "why": {"type": "string", "minLength": 10},
                        "any": WORDS,
                        "all": {"type": "array", "items": WORDS},
                        "not": WORDS,
                        "needs": {"enum": ["phone", "code"]},
                        "unless_topic": {"type": "boolean"},
                    },
                },
            },
        },
    }
