"""Undo Telex and VNI leftovers: the keys a phone without a Vietnamese keyboard leaves in words.

Residents who learnt to type Vietnamese with an input method (Telex or VNI) keep typing its
keys on a phone that has none, so the marks stay in the word as letters or digits:
`giups` (giúp), `huyr` (hủy), `tra cuwu` (tra cứu), `tra cu7u1` (tra cứu), `goij laij`
(gọi lại). Matching works on words without accents (`hotline.sms.text.fold`), so repair
means *removing* those keys. It is a known mapping, applied only where it is safe:

**VNI** (`repair_vni`, on the folded text before it is split into words): one or two digits
1–9 glued after letters in a word that starts with at least two letters, and not part of a
longer number, are VNI keys (1–5 tones, 6–8 vowel marks, 9 đ) and are removed: `cu7u1` →
`cuu`, `giu1p` → `giup`, `kie63m` → `kiem`.
`tracuu123456` keeps its code (a run of digits), `t7` (Saturday) keeps its digit (one
letter), and words the keyword data knows with their digit (`muc2`) are left alone.

**Telex** (`repair_telex`, per word): only for a word the keyword data does not know
(`hours`, `is`, `this` are known English; `dd`/`aa` never occur in a known word), and
only when what is left is a well-formed Vietnamese syllable (onset, vowel group, final
consonant), so an English word is never cut into a Vietnamese one:

- a tone key after the onset — `s` sắc, `f` huyền, `r` hỏi, `x` ngã, `j` nặng — is removed:
  `giups` → `giup`, `huyr` → `huy`, `goij` → `goi`, `vieejt` → `viet`;
- `w` after the onset (ư, ơ, ă) is removed: `cuwu` → `cuu`, `tuw` → `tu`, `batws` → `bat`;
- a doubled `aa`, `ee`, `oo` (â, ê, ô) and `dd` (đ) become single: `ddi` → `di`.
"""

from __future__ import annotations

import re
from collections.abc import Container

_VNI = re.compile(r"(?<=[a-z])[1-9]{1,2}(?![0-9])")
_VNI_WORD = re.compile(r"(?<![a-z0-9])[a-z]{2,}[1-9][a-z0-9]*")
_GLUED = re.compile(r"[a-z][1-9]")
_MARKS = re.compile(r"(?<=a)a|(?<=e)e|(?<=o)o|(?<=d)d")
_ONSET = re.compile(r"ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx]")
_KEYS = str.maketrans("", "", "sfrxjw")

#: Vowel groups of a Vietnamese syllable, accents removed (ươ → uo, iê → ie, …).
_VOWELS = (
    "a e i o u y ai ao au ay eo eu ia ie iu oa oe oi oo ua ue ui uo uu uy ya ye yeu ieu "
    "oai oay oeo uay uoi uou uya uye uyu uoi ua"
).split()
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?"
    r"(?:" + "|".join(sorted(set(_VOWELS), key=len, reverse=True)) + r")"
    r"(?:ng|nh|ch|[cmnpt])?"
)


def is_syllable(word: str) -> bool:
    """`giup`, `nguoi`, `cuu` are; `hour`, `thank`, `statu` are not."""
    return _SYLLABLE.fullmatch(word) is not None


def repair_vni(folded: str, known: Container[str]) -> str:
    """Remove VNI digits glued inside or after a word (see the module docstring)."""
    if _GLUED.search(folded) is None:
        return folded

    def fix(word: re.Match[str]) -> str:
        text = word.group(0)
        if text in known:
            return text
        return _VNI.sub("", text)

    return _VNI_WORD.sub(fix, folded)


def repair_telex(word: str, known: Container[str]) -> str:
    """The word without Telex keys, or the word itself when it is known or no syllable remains.

    After the onset (`tr`, `gi`, `ngh`, …) a folded Vietnamese syllable has no `s`, `f`, `r`,
    `x`, `j` or `w`: there they can only be Telex keys (tones, and `w` for ư/ơ/ă), so they
    are removed wherever they were typed (`vieejt` → `viet`, `hurys` → `huy`)."""
    if word in known or not word.isalpha() or len(word) < 2:
        return word
    fixed = _MARKS.sub("", word)
    onset = _ONSET.match(fixed)
    start = onset.end() if onset else 0
    fixed = fixed[:start] + fixed[start:].translate(_KEYS)
    if fixed != word and fixed and is_syllable(fixed):
        return fixed
    return word
